//! `vchain proposal ...`: submitting, voting on, reading and listing governance proposals.

use anyhow::{anyhow, Context as _};
use serde_json::json;
use vchain_proto::v1::submit_proposal::Action;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    AddConsensusNode, AddOrganisation, AdminAccount, GetProposalRequest, GetStatusRequest,
    ListProposalsRequest, RemoveConsensusNode, RemoveOrganisation, RotateOrganisationCa,
    ScheduleRulesUpgrade, SetChainParams, SubmitProposal, VoteOnProposal,
};

use crate::args::{ParamChanges, ProposalAction, ProposalCmd};
use crate::{json, render};

use super::{hex32, read_certificate, Ctx, Out};

impl Ctx {
    pub(super) async fn proposal(&self, cmd: ProposalCmd) -> anyhow::Result<Out> {
        let (tx, text, action) = match cmd {
            ProposalCmd::Get { proposal_id } => return self.get_proposal(&proposal_id).await,
            ProposalCmd::List { open } => return self.list_proposals(open).await,
            ProposalCmd::Vote {
                tx,
                proposal_id,
                approve,
                reject,
            } => {
                // clap makes exactly one of the two present.
                debug_assert!(approve != reject);
                let op = Operation::VoteOnProposal(VoteOnProposal {
                    proposal_id,
                    approve,
                });
                return self.submit(&tx, op).await;
            }
            ProposalCmd::Submit(ProposalAction::AddNode {
                tx,
                text,
                node_id,
                org_id,
                public_key,
                certificate,
            }) => (
                tx,
                text,
                Action::AddConsensusNode(AddConsensusNode {
                    node_id,
                    org_id,
                    public_key: hex32(&public_key),
                    certificate: match certificate {
                        Some(path) => read_certificate(&path)?,
                        None => Vec::new(),
                    },
                }),
            ),
            ProposalCmd::Submit(ProposalAction::RemoveNode { tx, text, node_id }) => (
                tx,
                text,
                Action::RemoveConsensusNode(RemoveConsensusNode { node_id }),
            ),
            ProposalCmd::Submit(ProposalAction::AddOrganisation {
                tx,
                text,
                org_id,
                name,
                uscc,
                admins,
                admin_certificates,
                ca_cert,
            }) => {
                let root_ca_certificate = match ca_cert {
                    Some(path) => read_certificate(&path)?,
                    None => Vec::new(),
                };
                let mut admins: Vec<AdminAccount> = admins
                    .into_iter()
                    .map(|(account_id, key)| AdminAccount {
                        account_id,
                        public_key: hex32(&key),
                        certificate: Vec::new(),
                    })
                    .collect();
                for path in admin_certificates {
                    let certificate = read_certificate(&path)?;
                    let der = vchain_contracts::certificate_der(&certificate)
                        .with_context(|| format!("reading certificate {}", path.display()))?;
                    let certified = vchain_pki::inspect(&der)
                        .with_context(|| format!("reading certificate {}", path.display()))?;
                    admins.push(AdminAccount {
                        account_id: certified.common_name,
                        public_key: Vec::new(),
                        certificate,
                    });
                }
                (
                    tx,
                    text,
                    Action::AddOrganisation(AddOrganisation {
                        org_id,
                        name,
                        uscc,
                        admins,
                        root_ca_certificate,
                    }),
                )
            }
            ProposalCmd::Submit(ProposalAction::RemoveOrganisation { tx, text, org_id }) => (
                tx,
                text,
                Action::RemoveOrganisation(RemoveOrganisation { org_id }),
            ),
            ProposalCmd::Submit(ProposalAction::RotateCa {
                tx,
                text,
                org_id,
                ca_cert,
            }) => (
                tx,
                text,
                Action::RotateOrganisationCa(RotateOrganisationCa {
                    org_id,
                    root_ca_certificate: read_certificate(&ca_cert)?,
                }),
            ),
            ProposalCmd::Submit(ProposalAction::SetParams { tx, text, params }) => {
                let mut client = self.client().await?;
                let current = self
                    .call(
                        "reading the chain parameters",
                        client.get_status(GetStatusRequest {}),
                    )
                    .await?
                    .params
                    .ok_or_else(|| anyhow!("the node reported no chain parameters"))?;
                (
                    tx,
                    text,
                    Action::SetChainParams(SetChainParams {
                        params: Some(changed_params(current, &params)),
                    }),
                )
            }
            ProposalCmd::Submit(ProposalAction::ScheduleUpgrade {
                tx,
                text,
                version,
                activation_height,
            }) => (
                tx,
                text,
                Action::ScheduleRulesUpgrade(ScheduleRulesUpgrade {
                    version,
                    activation_height,
                }),
            ),
        };
        let title = text.title.unwrap_or_else(|| default_title(&action));
        let op = Operation::SubmitProposal(SubmitProposal {
            action: Some(action),
            title,
            reason: text.reason,
        });
        self.submit(&tx, op).await
    }

    async fn get_proposal(&self, id: &str) -> anyhow::Result<Out> {
        let mut c = self.client().await?;
        let r = self
            .call(
                format!("getting proposal {id}"),
                c.get_proposal(
                    self.read(
                        GetProposalRequest {
                            proposal_id: id.to_owned(),
                        },
                        "GetProposal",
                    )
                    .await?,
                ),
            )
            .await?;
        let p = r
            .proposal
            .ok_or_else(|| anyhow!("getting proposal {id}: the node returned none"))?;
        let mut text = render::proposal(&p);
        for e in &r.events {
            text.push_str(&render::event_line(e, false));
            text.push('\n');
        }
        Ok(Out::new(
            json!({ "proposal": json::to_json(&p), "events": json::to_json(&r.events) }),
            text,
        ))
    }

    async fn list_proposals(&self, open_only: bool) -> anyhow::Result<Out> {
        let what = "listing proposals".to_owned();
        let mut c = self.client().await?;
        let mut proposals = Vec::new();
        let mut token = String::new();
        loop {
            let req = ListProposalsRequest {
                open_only,
                page_token: token.clone(),
                page_size: 0,
            };
            let page = self
                .call(
                    what.clone(),
                    c.list_proposals(self.read(req.clone(), "ListProposals").await?),
                )
                .await?;
            proposals.extend(page.proposals);
            if page.next_page_token.is_empty() {
                break;
            }
            if page.next_page_token == token {
                return Err(anyhow!(
                    "{what}: the node returned the same page token twice"
                ));
            }
            token = page.next_page_token;
        }
        let mut text: String = proposals
            .iter()
            .map(|p| render::proposal_row(p) + "\n")
            .collect();
        text.push_str(&format!("{} proposal(s)\n", proposals.len()));
        Ok(Out::new(
            json!({ "proposals": json::to_json(&proposals) }),
            text,
        ))
    }
}

/// The title a proposal gets when none is given.
fn default_title(action: &Action) -> String {
    match action {
        Action::AddOrganisation(a) => format!("add organisation {}", a.org_id),
        Action::RemoveOrganisation(a) => format!("remove organisation {}", a.org_id),
        Action::AddConsensusNode(a) => format!("add consensus node {} of {}", a.node_id, a.org_id),
        Action::RemoveConsensusNode(a) => format!("remove consensus node {}", a.node_id),
        Action::RotateOrganisationCa(a) => format!("rotate the root CA of {}", a.org_id),
        Action::SetChainParams(_) => "change chain parameters".to_owned(),
        Action::ScheduleRulesUpgrade(a) => format!(
            "switch to chain rules v{} at height {}",
            a.version, a.activation_height
        ),
    }
}

/// `current` with the parameters `changes` names replaced.
fn changed_params(
    mut current: vchain_proto::v1::ChainParams,
    changes: &ParamChanges,
) -> vchain_proto::v1::ChainParams {
    let ParamChanges {
        max_tenor_days,
        min_split_amount,
        split_fanout_max,
        redemption_grace_days,
        block_tx_max,
        block_bytes_max,
        tx_bytes_max,
        destroy_per_block_max,
        proposal_approval_percent,
        proposal_ttl_ms,
        lineage_depth_max,
    } = *changes;
    let set = |field: &mut u32, value: Option<u32>| {
        if let Some(value) = value {
            *field = value;
        }
    };
    set(&mut current.max_tenor_days, max_tenor_days);
    set(&mut current.split_fanout_max, split_fanout_max);
    set(&mut current.redemption_grace_days, redemption_grace_days);
    set(&mut current.block_tx_max, block_tx_max);
    set(&mut current.block_bytes_max, block_bytes_max);
    set(&mut current.tx_bytes_max, tx_bytes_max);
    set(&mut current.destroy_per_block_max, destroy_per_block_max);
    set(
        &mut current.proposal_approval_percent,
        proposal_approval_percent,
    );
    set(&mut current.lineage_depth_max, lineage_depth_max);
    if let Some(value) = min_split_amount {
        current.min_split_amount = value;
    }
    if let Some(value) = proposal_ttl_ms {
        current.proposal_ttl_ms = value;
    }
    current
}
