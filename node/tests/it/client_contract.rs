//! The client contract as a third-party wallet meets it from the .proto files alone (issue 12):
//! what a client written in another language, with its own gRPC stack, finds on the wire.

use crate::common;

use common::*;

/// The service a wallet looks for by reflection.
const API_SERVICE: &str = "vchain.v1.VchainApi";

/// A plain gRPC channel to `node`, as any client opens one.
async fn channel(node: &TestNode) -> tonic::transport::Channel {
    let endpoint = format!("http://{}", node.node.as_ref().expect("running").grpc_addr);
    tonic::transport::Channel::from_shared(endpoint)
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_reflection_answers_both_v1_and_v1alpha() {
    let node = TestNode::start().await;
    let channel = channel(&node).await;

    // Both versions, with their own generated types: one check, written once.
    macro_rules! lists_the_api {
        ($version:ident) => {{
            use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
            use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
            use tonic_reflection::pb::$version::ServerReflectionRequest;
            let version = stringify!($version);
            let request = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let mut answers = ServerReflectionClient::new(channel.clone())
                .server_reflection_info(tokio_stream::iter(vec![request]))
                .await
                .unwrap_or_else(|e| panic!("{version} reflection is served: {e:?}"))
                .into_inner();
            let answer = answers
                .message()
                .await
                .expect("answer")
                .expect("one answer");
            let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
                panic!("{version} answered {answer:?}");
            };
            assert!(
                list.service.iter().any(|s| s.name == API_SERVICE),
                "{version} lists {:?}",
                list.service
            );
        }};
    }
    lists_the_api!(v1);
    // Many clients (grpcio's among them) still ask v1alpha only.
    lists_the_api!(v1alpha);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_transaction_body_is_refused_as_malformed() {
    let mut node = TestNode::start().await;
    let mut transaction = node
        .sign(
            "bank-a-admin",
            vchain_proto::v1::transaction_body::Operation::FreezeAccount(
                vchain_proto::v1::FreezeAccount {
                    account_id: "foundry".into(),
                    reason: "empty".into(),
                },
            ),
        )
        .await;
    transaction.body = Vec::new();
    let status = node
        .submit_tx(transaction)
        .await
        .expect_err("an empty body is refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert_eq!(error_code(&status), "MALFORMED", "{status:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mempool_nonce_conflict_carries_its_rule_code() {
    // No block for a minute: both transactions meet in the mempool.
    let mut node = TestNode::start_with(|c| c.block_interval_ms = 60_000).await;
    let freeze = |reason: &str| {
        vchain_proto::v1::transaction_body::Operation::FreezeAccount(
            vchain_proto::v1::FreezeAccount {
                account_id: "foundry".into(),
                reason: reason.into(),
            },
        )
    };
    let nonce = node.next_nonce("bank-b-admin").await;
    let first = node.sign_with_nonce("bank-b-admin", nonce, freeze("first"));
    let second = node.sign_with_nonce("bank-b-admin", nonce, freeze("second"));
    let send = |transaction| {
        let mut api = node.api.clone();
        async move {
            api.submit_transaction(vchain_proto::v1::SubmitTransactionRequest {
                transaction: Some(transaction),
                wait_for_commit: false,
                timeout_ms: 0,
            })
            .await
        }
    };
    send(first).await.expect("the first is admitted");
    let status = send(second).await.expect_err("the nonce is taken");
    assert_eq!(status.code(), tonic::Code::AlreadyExists, "{status:?}");
    assert_eq!(error_code(&status), "NONCE_TAKEN", "{status:?}");
    node.stop().await;
}

/// A request in a shape the node's .proto does not have: field 1 of `SubmitTransactionRequest`
/// is a message, here a number, as a wallet with a stale or wrong schema would send.
#[derive(Clone, PartialEq, prost::Message)]
struct WrongShape {
    #[prost(uint64, tag = "1")]
    transaction: u64,
}

/// A request of any size: field 1 as opaque bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct Opaque {
    #[prost(bytes = "vec", tag = "1")]
    transaction: Vec<u8>,
}

/// Sends `request` to `method` of the API as raw protobuf, whatever its shape.
async fn raw_call<M: prost::Message + Default + Send + Sync + 'static>(
    node: &TestNode,
    method: &'static str,
    request: M,
) -> tonic::Status {
    let mut grpc =
        tonic::client::Grpc::new(channel(node).await).max_encoding_message_size(64 << 20);
    grpc.ready().await.expect("ready");
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
    let codec =
        tonic_prost::ProstCodec::<M, vchain_proto::v1::SubmitTransactionResponse>::default();
    grpc.unary(tonic::Request::new(request), path, codec)
        .await
        .expect_err("the node refuses it")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_request_is_malformed_and_an_oversized_one_too_large() {
    let node = TestNode::start().await;
    let submit = "/vchain.v1.VchainApi/SubmitTransaction";

    let undecodable = raw_call(&node, submit, WrongShape { transaction: 7 }).await;
    // The caller's fault, not the node's: INVALID_ARGUMENT, not tonic's INTERNAL.
    assert_eq!(
        undecodable.code(),
        tonic::Code::InvalidArgument,
        "{undecodable:?}"
    );
    assert_eq!(error_code(&undecodable), "MALFORMED", "{undecodable:?}");

    let oversized = Opaque {
        transaction: vec![0; vchain_node::GRPC_MESSAGE_BYTES_MAX + 1],
    };
    let too_large = raw_call(&node, submit, oversized).await;
    assert_eq!(
        too_large.code(),
        tonic::Code::InvalidArgument,
        "{too_large:?}"
    );
    assert_eq!(error_code(&too_large), "TOO_LARGE", "{too_large:?}");

    let unknown = raw_call(
        &node,
        "/vchain.v1.VchainApi/NoSuchMethod",
        Opaque::default(),
    )
    .await;
    assert_eq!(unknown.code(), tonic::Code::Unimplemented, "{unknown:?}");
    assert_eq!(error_code(&unknown), "UNSUPPORTED", "{unknown:?}");

    // The node still serves after all three.
    let status = node
        .api
        .clone()
        .get_status(vchain_proto::v1::GetStatusRequest {})
        .await;
    assert!(status.is_ok(), "{status:?}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_served_with_its_commit_certificate_when_it_has_one() {
    use ed25519_dalek::{Signer, SigningKey};
    use prost::Message;
    use vchain_contracts::commit_certificate::{statement, verify, Validators};
    use vchain_proto::v1::get_block_request::Selector;
    use vchain_proto::v1::{CommitCertificate, CommitSignature, GetBlockRequest};

    let mut node = TestNode::start().await;
    // A solo chain: no views, and no block carries a certificate.
    let status = node.status().await;
    assert_eq!(
        (status.consensus.as_str(), status.consensus_view),
        ("solo", 0)
    );
    let block_at = |node: &TestNode, height: u64| {
        let request = node.audited(
            GetBlockRequest {
                selector: Some(Selector::Height(height)),
            },
            "GetBlock",
        );
        let mut api = node.api.clone();
        async move { api.get_block(request).await.expect("block").into_inner() }
    };
    let genesis = block_at(&node, 0).await;
    assert_eq!(genesis.certificate, None);

    // A certificate attached to block 0 in the node's ledger (as a Raft chain will certify
    // after applying, issue 14) is served with the block, and a client verifies it with the
    // validators that signed it.
    let keys: Vec<SigningKey> = (1..=4u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let validators = Validators::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| (format!("v{i}"), k.verifying_key().to_bytes())),
    )
    .expect("validators");
    let hash: [u8; 32] = genesis.block_hash.as_slice().try_into().expect("32 bytes");
    let signed = statement(&node.genesis.chain_id, 0, 0, &hash);
    let certificate = CommitCertificate {
        height: 0,
        view: 0,
        block_hash: hash.to_vec(),
        signatures: [0usize, 1, 3]
            .iter()
            .map(|&i| CommitSignature {
                node_id: format!("v{i}"),
                signature: keys[i].sign(&signed).to_bytes().to_vec(),
            })
            .collect(),
    };
    node.node
        .as_ref()
        .expect("running")
        .chain
        .ledger
        .store_certificate(0, &certificate.encode_to_vec())
        .expect("attached");
    let served = block_at(&node, 0).await;
    assert_eq!(served.certificate.as_ref(), Some(&certificate));
    assert_eq!(
        verify(
            &node.genesis.chain_id,
            &validators,
            served.certificate.as_ref().expect("certificate")
        ),
        Ok(())
    );
    // Asked for by hash, the same.
    let by_hash = node
        .api
        .get_block(node.audited(
            GetBlockRequest {
                selector: Some(Selector::Hash(hash.to_vec())),
            },
            "GetBlock",
        ))
        .await
        .expect("block")
        .into_inner();
    assert_eq!(by_hash.certificate, Some(certificate));
    node.stop().await;
}
