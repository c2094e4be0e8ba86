//! Rule codes for the refusals gRPC itself makes before a handler of the node runs: a request
//! that does not decode, one larger than the node takes, a method or compression the node does
//! not serve. tonic answers these with a bare status (an undecodable request even as INTERNAL,
//! as if the node had failed); this layer gives each the node's `x-vchain-error-code` and the
//! status that code always carries (docs/errors.md: an undecodable or oversized request is the
//! caller's fault, INVALID_ARGUMENT), so every refusal a client meets carries a code.
//!
//! A response that already names a code (every handler's refusal does) passes unchanged.

use tonic::codegen::http::{HeaderValue, Response};
use tonic::{Code, Status};
use vchain_proto::v1::ErrorCode;
use vchain_proto::ERROR_CODE_METADATA;

/// The gRPC status header of a trailers-only answer (a refusal before any message).
const GRPC_STATUS: &str = "grpc-status";
/// How prost's decode errors begin (tonic-prost passes them on as INTERNAL).
const DECODE_ERROR_PREFIX: &str = "failed to decode Protobuf message";
/// tonic's answer to a unary call whose body held no message.
const MISSING_MESSAGE: &str = "Missing request message.";

/// Adds the rule code (and, for an undecodable request, the status) to a refusal gRPC made
/// before the node's handler ran. Used with `tower::util::MapResponseLayer`.
///
/// Such a refusal is a trailers-only answer whose [`Status`] tonic keeps in the response's
/// extensions (`Status::into_http`; the headers carry the message percent-encoded), or, for a
/// method a generated service does not know, just a `grpc-status` header.
pub(crate) fn code_transport_refusal<B>(mut response: Response<B>) -> Response<B> {
    if response.headers().contains_key(ERROR_CODE_METADATA) {
        return response;
    }
    // A generated service answers an unknown method with the status header alone.
    let from_headers = || {
        response
            .headers()
            .get(GRPC_STATUS)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i32>().ok())
            .map(|code| (Code::from_i32(code), String::new()))
    };
    let refusal = match response.extensions().get::<Status>() {
        Some(status) => Some((status.code(), status.message().to_owned())),
        None => from_headers(),
    };
    let Some((code, new_status)) = refusal.and_then(|(status, message)| classify(status, &message))
    else {
        return response;
    };
    let headers = response.headers_mut();
    if let Some(new_status) = new_status {
        headers.insert(GRPC_STATUS, HeaderValue::from(new_status as i32));
    }
    headers.insert(
        ERROR_CODE_METADATA,
        HeaderValue::from_static(code.as_str_name()),
    );
    response
}

/// The code of a transport refusal, and the status it should carry instead (if any).
fn classify(status: Code, message: &str) -> Option<(ErrorCode, Option<Code>)> {
    match status {
        Code::Internal
            if message.starts_with(DECODE_ERROR_PREFIX) || message == MISSING_MESSAGE =>
        {
            Some((ErrorCode::Malformed, Some(Code::InvalidArgument)))
        }
        // tonic's limit on a decoded message (GRPC_MESSAGE_BYTES_MAX): the status every other
        // TOO_LARGE refusal carries (docs/errors.md), not tonic's OUT_OF_RANGE.
        Code::OutOfRange if message.contains("message length too large") => {
            Some((ErrorCode::TooLarge, Some(Code::InvalidArgument)))
        }
        // An unknown method or service, or a compression the node does not accept.
        Code::Unimplemented => Some((ErrorCode::Unsupported, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: Status) -> Response<()> {
        code_transport_refusal(status.into_http())
    }

    fn code(response: &Response<()>) -> Option<&str> {
        response
            .headers()
            .get(ERROR_CODE_METADATA)
            .and_then(|v| v.to_str().ok())
    }

    #[test]
    fn an_undecodable_request_is_malformed_and_the_callers_fault() {
        let response = refusal(Status::internal(
            "failed to decode Protobuf message: SubmitTransactionRequest.transaction: invalid wire type",
        ));
        assert_eq!(code(&response), Some("MALFORMED"));
        assert_eq!(response.headers()[GRPC_STATUS], "3");
        let empty = refusal(Status::internal(MISSING_MESSAGE));
        assert_eq!(code(&empty), Some("MALFORMED"));
    }

    #[test]
    fn an_oversized_request_is_too_large() {
        let response = refusal(Status::out_of_range(
            "Error, decoded message length too large: found 20000000 bytes, the limit is: 16777216 bytes",
        ));
        assert_eq!(code(&response), Some("TOO_LARGE"));
        assert_eq!(response.headers()[GRPC_STATUS], "3");
    }

    #[test]
    fn an_unknown_method_is_unsupported() {
        let response = refusal(Status::unimplemented(""));
        assert_eq!(code(&response), Some("UNSUPPORTED"));
        // As a generated service answers it: the status header, no Status kept.
        let mut bare = Response::new(());
        bare.headers_mut()
            .insert(GRPC_STATUS, HeaderValue::from(Code::Unimplemented as i32));
        assert_eq!(code(&code_transport_refusal(bare)), Some("UNSUPPORTED"));
    }

    #[test]
    fn a_node_failure_and_a_coded_refusal_are_left_as_they_are() {
        let response = refusal(Status::internal("storage failed"));
        assert_eq!(code(&response), None);
        assert_eq!(response.headers()[GRPC_STATUS], "13");
        let mut coded = Status::unimplemented("");
        coded
            .metadata_mut()
            .insert(ERROR_CODE_METADATA, "NONCE_TAKEN".parse().expect("ascii"));
        assert_eq!(code(&refusal(coded)), Some("NONCE_TAKEN"));
    }

    #[test]
    fn a_successful_answer_gets_no_code() {
        let response = code_transport_refusal(Response::new(()));
        assert!(response.headers().is_empty());
    }
}
