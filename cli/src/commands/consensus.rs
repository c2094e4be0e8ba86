//! `vchain consensus ...`: shorthands for the membership proposals.

use crate::args::{ConsensusCmd, ProposalAction, ProposalCmd, ProposalText};

use super::{Ctx, Out};

impl Ctx {
    /// `consensus add-node | remove-node`: the same proposals as `proposal submit add-node |
    /// remove-node`, with a default title.
    pub(super) async fn consensus(&self, cmd: ConsensusCmd) -> anyhow::Result<Out> {
        let no_text = || ProposalText {
            title: None,
            reason: String::new(),
        };
        let action = match cmd {
            ConsensusCmd::AddNode {
                tx,
                node_id,
                org_id,
                public_key,
                certificate,
            } => ProposalAction::AddNode {
                tx,
                text: no_text(),
                node_id,
                org_id,
                public_key,
                certificate,
            },
            ConsensusCmd::RemoveNode { tx, node_id } => ProposalAction::RemoveNode {
                tx,
                text: no_text(),
                node_id,
            },
        };
        self.proposal(ProposalCmd::Submit(action)).await
    }
}
