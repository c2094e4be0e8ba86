//! Rules an independent wallet checks over gRPC: the status and rule code a refusal carries.

use crate::common;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_are_readable_by_every_authenticated_reader() {
    let mut node = TestNode::start().await;
    let proposal_id = node.propose_longer_grace().await;
    // Suppliers of either bank, a core enterprise and a financier: none is a party to it.
    for reader in ["gearbox", "foundry", "carmaker", "bank-b-factoring"] {
        let request = read_as(
            &node,
            reader,
            GetProposalRequest {
                proposal_id: proposal_id.clone(),
            },
            "GetProposal",
        );
        let got = node
            .api
            .get_proposal(request)
            .await
            .unwrap_or_else(|status| panic!("{reader}: {status:?}"))
            .into_inner();
        assert_eq!(got.proposal.expect("proposal").id, proposal_id);
        let request = read_as(
            &node,
            reader,
            ListProposalsRequest {
                open_only: true,
                ..ListProposalsRequest::default()
            },
            "ListProposals",
        );
        let list = node
            .api
            .list_proposals(request)
            .await
            .unwrap_or_else(|status| panic!("{reader}: {status:?}"))
            .into_inner();
        assert_eq!(list.proposals.len(), 1, "{reader}");
    }
    // Authenticated means a live credential: a revoked reader is refused.
    let serial = account(&mut node, "castings").await.certificate_serial;
    node.ok(
        "bank-a-admin",
        Operation::RevokeCertificate(RevokeCertificate {
            serial,
            reason: "key compromise".into(),
        }),
    )
    .await;
    let request = read_as(
        &node,
        "castings",
        GetProposalRequest { proposal_id },
        "GetProposal",
    );
    let status = node
        .api
        .get_proposal(request)
        .await
        .expect_err("revoked reader");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    node.stop().await;
}
