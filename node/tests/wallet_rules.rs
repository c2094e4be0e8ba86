//! Rules an independent wallet checks over gRPC: the status and rule code a refusal carries.

mod common;

use common::*;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;

async fn account(node: &mut TestNode, account_id: &str) -> Account {
    let request = node.audited(
        GetAccountRequest {
            account_id: account_id.into(),
        },
        "GetAccount",
    );
    node.api
        .get_account(request)
        .await
        .expect("account")
        .into_inner()
        .account
        .expect("account")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_revoked_certificate_is_a_failed_precondition_not_unauthenticated() {
    let mut node = TestNode::start().await;
    let serial = account(&mut node, "castings").await.certificate_serial;
    let revoke = Operation::RevokeCertificate(RevokeCertificate {
        serial,
        reason: "key compromise".into(),
    });
    node.ok("bank-a-admin", revoke.clone()).await;
    let status = node
        .submit("bank-a-admin", revoke)
        .await
        .expect_err("already listed");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(error_code(&status), "CERTIFICATE_ALREADY_REVOKED");
    node.stop().await;
}

