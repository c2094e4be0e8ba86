//! What the explorer answers when it cannot show what was asked: the HTTP status, a
//! machine-readable code (the node's rule code when the node refused, e.g. `NOT_A_PARTY`, or one
//! of the explorer's own) and the words, as `{"error": {...}}`. The UI shows them as they are, so
//! a refusal is never a blank page.
//!
//! Owns: the error type and its mapping from gRPC. Must not depend on: the node client.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vchain_wallet::Refusal;

/// The explorer's own codes (the node's rule codes come from `ErrorCode`).
pub(crate) mod codes {
    /// A path or query parameter that is not what the endpoint takes.
    pub(crate) const BAD_REQUEST: &str = "BAD_REQUEST";
    /// No such page.
    pub(crate) const NO_SUCH_PAGE: &str = "NO_SUCH_PAGE";
    /// The node did not answer within the call timeout.
    pub(crate) const NODE_TIMEOUT: &str = "NODE_TIMEOUT";
    /// The node could not be reached.
    pub(crate) const NODE_UNAVAILABLE: &str = "NODE_UNAVAILABLE";
    /// The node answered something the explorer cannot use.
    pub(crate) const BAD_NODE_ANSWER: &str = "BAD_NODE_ANSWER";
    /// More requests at once than the explorer serves.
    pub(crate) const BUSY: &str = "BUSY";
    /// More live subscribers than the explorer keeps.
    pub(crate) const TOO_MANY_SUBSCRIBERS: &str = "TOO_MANY_SUBSCRIBERS";
    /// The request took longer than the explorer's request timeout.
    pub(crate) const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// A `Host` header naming another server (DNS rebinding).
    pub(crate) const WRONG_HOST: &str = "WRONG_HOST";
}

/// An answer that is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// The node's rule code or one of [`codes`].
    pub(crate) code: String,
    /// The gRPC status name when the node answered, e.g. `PermissionDenied`.
    pub(crate) grpc: Option<String>,
    /// What failed and why, for people.
    pub(crate) message: String,
}

impl ApiError {
    /// An explorer-side error.
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            grpc: None,
            message: message.into(),
        }
    }

    /// A bad parameter.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }

    /// The node answered something unusable.
    pub(crate) fn bad_node(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, codes::BAD_NODE_ANSWER, message)
    }

    /// The node could not be reached.
    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::NODE_UNAVAILABLE,
            message,
        )
    }

    /// No answer within `after`.
    pub(crate) fn node_timeout(what: String, after: Duration) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            codes::NODE_TIMEOUT,
            format!(
                "{what}: the node did not answer within {} s",
                after.as_secs()
            ),
        )
    }

    /// The node refused `what`: its rule code (or, without one, the gRPC status) is the code.
    pub(crate) fn refused(what: String, refusal: &Refusal) -> Self {
        let status = http_status(refusal.status, refusal.broke_off);
        let code = match refusal.code {
            Some(code) => code.as_str_name().to_owned(),
            None if refusal.broke_off => codes::NODE_UNAVAILABLE.to_owned(),
            None => grpc_name(refusal.status).to_owned(),
        };
        Self {
            status,
            code,
            grpc: Some(grpc_name(refusal.status).to_owned()),
            message: format!("{what}: {refusal}"),
        }
    }

    /// Whether this is the node saying there is no such record.
    pub(crate) fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// The `{"error": ...}` document.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        json!({ "error": {
            "status": self.status.as_u16(),
            "code": self.code,
            "grpc": self.grpc,
            "message": self.message,
        }})
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.to_json().to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The HTTP status for a node's gRPC status: the reader's refusals are 4xx (they are answers
/// about the record or the reader), the node's troubles 5xx.
pub(crate) fn http_status(code: tonic::Code, broke_off: bool) -> StatusCode {
    use tonic::Code;
    if broke_off {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    match code {
        Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
            StatusCode::BAD_REQUEST
        }
        Code::NotFound => StatusCode::NOT_FOUND,
        // The reader is who the explorer signs as: a refusal of it is a refusal to see.
        Code::PermissionDenied | Code::Unauthenticated => StatusCode::FORBIDDEN,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::ResourceExhausted | Code::Unavailable | Code::Cancelled => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Ok | Code::Unknown | Code::Unimplemented | Code::Internal | Code::DataLoss => {
            StatusCode::BAD_GATEWAY
        }
    }
}

/// gRPC status names as gRPC spells them.
fn grpc_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::DataLoss => "DATA_LOSS",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vchain_proto::v1::ErrorCode;

    /// The rule code names the node's refusals carry.
    fn rule(code: ErrorCode) -> String {
        code.as_str_name().to_owned()
    }

    fn refusal(status: tonic::Code, code: Option<ErrorCode>) -> Refusal {
        Refusal {
            status,
            code,
            message: "NOT_A_PARTY: castings may not read voucher V000000000002".into(),
            tx_hash: None,
            height: None,
            broke_off: false,
        }
    }

    #[test]
    fn a_refusal_keeps_the_nodes_rule_code_and_becomes_a_4xx() {
        let e = ApiError::refused(
            "getting voucher V000000000002".into(),
            &refusal(tonic::Code::PermissionDenied, Some(ErrorCode::NotAParty)),
        );
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert_eq!(e.code, rule(ErrorCode::NotAParty));
        assert_eq!(e.grpc.as_deref(), Some("PERMISSION_DENIED"));
        assert!(e
            .message
            .starts_with("getting voucher V000000000002: NOT_A_PARTY"));
        let doc = e.to_json();
        assert_eq!(doc["error"]["status"], 403);
        assert_eq!(doc["error"]["code"], "NOT_A_PARTY");
    }

    #[test]
    fn without_a_rule_code_the_grpc_status_is_the_code() {
        let e = ApiError::refused(
            "getting block 9".into(),
            &refusal(tonic::Code::NotFound, None),
        );
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.code, "NOT_FOUND");
        assert!(e.is_not_found());
        let mut broke = refusal(tonic::Code::Unknown, None);
        broke.broke_off = true;
        let e = ApiError::refused("getting block 9".into(), &broke);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code, codes::NODE_UNAVAILABLE);
    }

    #[test]
    fn the_nodes_troubles_are_5xx_the_readers_4xx() {
        use tonic::Code;
        for code in [Code::Unavailable, Code::ResourceExhausted, Code::Cancelled] {
            assert_eq!(http_status(code, false), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert_eq!(
            http_status(Code::DeadlineExceeded, false),
            StatusCode::GATEWAY_TIMEOUT
        );
        for code in [
            Code::Internal,
            Code::Unknown,
            Code::DataLoss,
            Code::Unimplemented,
        ] {
            assert_eq!(http_status(code, false), StatusCode::BAD_GATEWAY);
        }
        for code in [Code::PermissionDenied, Code::Unauthenticated] {
            assert_eq!(http_status(code, false), StatusCode::FORBIDDEN);
        }
        assert_eq!(
            http_status(Code::InvalidArgument, false),
            StatusCode::BAD_REQUEST
        );
        let timeout = ApiError::node_timeout("x".into(), Duration::from_secs(3));
        assert_eq!(timeout.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(timeout.code, codes::NODE_TIMEOUT);
    }
}
