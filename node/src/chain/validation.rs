//! A PBFT backup's check of a proposed block before it votes for it (ADR 0014): the block
//! extends this node's head, every transaction's signature verifies, its time is within the
//! configured skew of this node's clock and after its parent's, and executing it gives exactly
//! the results, events and state root its header claims. The commit certificate therefore
//! attests the state root auditors prove their data against.
//!
//! Invariants kept here:
//! - a block is judged only with the head at its parent (the engine asks at most a few heights
//!   ahead; those wait here, bounded by `VALIDATIONS_MAX`);
//! - a valid block's execution is kept, so applying it when it commits needs no second run;
//! - a storage failure is this node's fault, not the block's: it stops the producer rather
//!   than vote against a good block.

use tracing::{info_span, warn};
use vchain_consensus::Proposal;
use vchain_contracts::execute::verify_signatures_with;
use vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT;
use vchain_proto::v1::Block;

use prost::Message;

use super::engine_loop::Producer;
use super::production::Prepared;
use super::ChainError;

/// Most proposals waiting for their parent to be applied.
pub(super) const VALIDATIONS_MAX: usize = 16;
/// Most executed, valid blocks kept for applying (candidates of one height across views).
pub(super) const VALIDATED_MAX: usize = 4;

impl Producer {
    /// Takes the engine's requests to validate, and answers those whose parent is the head.
    pub(super) fn validate_proposals(&mut self, requests: &[Proposal]) -> Result<(), ChainError> {
        for request in requests {
            if self.validations.len() >= VALIDATIONS_MAX {
                warn!(
                    sequence = request.sequence,
                    "too many blocks waiting for validation; the engine asks again"
                );
                break;
            }
            self.validations.push(request.clone());
        }
        if self.validations.is_empty() {
            return Ok(());
        }
        // The producer's head: a parent still being written counts as applied.
        let head = self.chain.producer_head()?;
        let mut waiting = Vec::new();
        for proposal in std::mem::take(&mut self.validations) {
            if proposal.sequence > head.height + 1 {
                waiting.push(proposal);
                continue;
            }
            if proposal.sequence <= head.height {
                continue; // decided already: the engine no longer asks
            }
            let span = info_span!(
                "validate_block",
                height = proposal.sequence,
                view = proposal.view
            );
            let _entered = span.enter();
            let valid = match self.validate(&proposal)? {
                Ok(prepared) => {
                    self.validated.push(prepared);
                    if self.validated.len() > VALIDATED_MAX {
                        self.validated.remove(0);
                    }
                    true
                }
                Err(why) => {
                    warn!(height = proposal.sequence, view = proposal.view, %why, "proposed block refused; not voting for it");
                    false
                }
            };
            self.engine
                .validated(proposal.sequence, &proposal.digest, valid);
        }
        self.validations = waiting;
        Ok(())
    }

    /// The block's verdict: its execution if valid, else why not.
    fn validate(&self, proposal: &Proposal) -> Result<Result<Prepared, String>, ChainError> {
        let chain = &self.chain;
        if proposal.block.len() > ENCODED_BLOCK_BYTES_LIMIT as usize {
            return Ok(Err(format!(
                "{} bytes, more than the {ENCODED_BLOCK_BYTES_LIMIT} a block may be",
                proposal.block.len()
            )));
        }
        let block = match Block::decode(proposal.block.as_slice()) {
            Ok(block) => block,
            Err(error) => return Ok(Err(format!("does not decode: {error}"))),
        };
        let Some(header) = block.header.clone() else {
            return Ok(Err("no header".into()));
        };
        let own_ms = chain.clock.now_ms();
        let skew = chain.clock_skew_ms_max();
        if header.timestamp_ms.abs_diff(own_ms) > skew {
            return Ok(Err(format!(
                "its time {} is more than {skew} ms from this node's clock {own_ms}",
                header.timestamp_ms
            )));
        }
        // Remembered: executing the block just below takes these verdicts instead of verifying.
        if let Some(index) = verify_signatures_with(&block.transactions, &chain.verified_signatures)
            .valid
            .iter()
            .position(|ok| !ok)
        {
            return Ok(Err(format!("transaction {index} has a bad signature")));
        }
        Ok(self
            .check_and_execute(&block, &header)?
            .map_err(|mismatch| mismatch.to_string()))
    }
}
