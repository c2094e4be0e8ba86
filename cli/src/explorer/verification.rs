//! The "verified" mark: what the explorer itself checked of what the node serves.
//!
//! A block is *verified* when its commit certificate verifies against the validators of its
//! height, checked exactly as `vchain block get` checks it (`crate::certificate::check_on_node`:
//! the consensus configuration proven at the node's head, walked back to the block's height);
//! *not certified* when it carries no certificate (solo chains, and Raft blocks until the
//! certifier attaches one); *invalid* when a certificate does not verify or what the node serves
//! does not hold together; *unchecked* when the check could not be made (the reader may not read
//! blocks, the node did not answer, the block is too far below the head).
//!
//! A voucher is verified by [`Verifier::voucher_verification`]: given the chain's genesis
//! (`vchain explorer --genesis`), by the offline trace-bundle check (`vchain_bundle::verify`:
//! the whole lineage, every event, transaction and validator change proven back to genesis,
//! exactly as `vchain verify` does); without it, or for a reader the node will not give the
//! whole lineage to, by checking that every block holding an event of the voucher or of one of
//! its ancestors (what its existence rests on: the issuance, the splits, the transfers) carries
//! a certificate that verifies.
//!
//! Owns: the marks, their cache and how marks of many blocks combine. Must not depend on: HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use prost::Message as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use vchain_proto::v1::{GetBlockResponse, TraceVoucherResponse};

use super::node::Node;
use super::{CERTIFIED_SEARCH_BLOCKS_MAX, VERIFICATION_CACHE_MAX, VOUCHER_BLOCKS_CHECKED_MAX};
use crate::certificate::{self, Outcome};

/// What the explorer could establish about a block or a voucher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum VerificationMark {
    /// Every certificate checked verifies.
    Verified {
        /// What was checked.
        detail: String,
    },
    /// Nothing to check: no commit certificate.
    NotCertified {
        /// Which blocks carry none.
        detail: String,
    },
    /// A certificate that does not verify, or served data that does not hold together.
    Invalid {
        /// Why.
        detail: String,
    },
    /// The check could not be made.
    Unchecked {
        /// Why.
        detail: String,
    },
}

impl VerificationMark {
    fn rank(&self) -> u8 {
        // How marks of many blocks combine: the worst wins.
        match self {
            Self::Verified { .. } => 0,
            Self::Unchecked { .. } => 1,
            Self::NotCertified { .. } => 2,
            Self::Invalid { .. } => 3,
        }
    }

    /// Final marks never change for the same block and certificate, so they are cached.
    fn is_final(&self) -> bool {
        matches!(self, Self::Verified { .. } | Self::Invalid { .. })
    }
}

/// The mark of one block from the outcome of its certificate's check (`None`: no certificate).
pub(crate) fn block_mark(outcome: Option<&Outcome>) -> VerificationMark {
    match outcome {
        None => VerificationMark::NotCertified {
            detail: "the block carries no commit certificate".into(),
        },
        Some(Outcome::Verified(v)) => VerificationMark::Verified {
            detail: format!(
                "certificate signed by {} of {} validators ({}; a quorum is {}), validators proven at height {}",
                v.signers.len(),
                v.validators,
                v.signers.join(", "),
                v.quorum,
                v.proven_at
            ),
        },
        Some(Outcome::Failed(e)) => VerificationMark::Invalid {
            detail: format!("the commit certificate does not verify: {e}"),
        },
        Some(Outcome::NotChecked(why)) => VerificationMark::Unchecked {
            detail: why.clone(),
        },
    }
}

/// One mark for many blocks: the worst of them, saying which blocks made it so.
pub(crate) fn combine(marks: &BTreeMap<u64, VerificationMark>) -> VerificationMark {
    let Some(worst) = marks.values().map(VerificationMark::rank).max() else {
        return VerificationMark::Unchecked {
            detail: "no block to check".into(),
        };
    };
    let heights = |rank: u8| -> Vec<String> {
        marks
            .iter()
            .filter(|(_, m)| m.rank() == rank)
            .map(|(h, _)| h.to_string())
            .collect()
    };
    let first_detail = marks
        .iter()
        .find(|(_, m)| m.rank() == worst)
        .map(|(h, m)| (*h, detail(m).to_owned()));
    match (worst, first_detail) {
        (0, _) => VerificationMark::Verified {
            detail: format!(
                "all {} block(s) ({}) carry a commit certificate that verifies",
                marks.len(),
                heights(0).join(", ")
            ),
        },
        (2, _) => VerificationMark::NotCertified {
            detail: format!(
                "{} of the {} block(s) it rests on carry no commit certificate: {}",
                heights(2).len(),
                marks.len(),
                heights(2).join(", ")
            ),
        },
        (3, Some((height, why))) => VerificationMark::Invalid {
            detail: format!("block {height}: {why}"),
        },
        (_, Some((height, why))) => VerificationMark::Unchecked {
            detail: format!("block {height}: {why}"),
        },
        (_, None) => VerificationMark::Unchecked {
            detail: "no block to check".into(),
        },
    }
}

fn detail(mark: &VerificationMark) -> &str {
    match mark {
        VerificationMark::Verified { detail }
        | VerificationMark::NotCertified { detail }
        | VerificationMark::Invalid { detail }
        | VerificationMark::Unchecked { detail } => detail,
    }
}

/// The heights of the events of `voucher_id` and of its ancestors in `trace`, ascending.
pub(crate) fn voucher_event_heights(
    trace: &TraceVoucherResponse,
    voucher_id: &str,
) -> BTreeSet<u64> {
    let by_id: BTreeMap<&str, _> = trace
        .vouchers
        .iter()
        .filter_map(|t| t.voucher.as_ref().map(|v| (v.id.as_str(), t)))
        .collect();
    let mut heights = BTreeSet::new();
    let mut next = Some(voucher_id);
    // A lineage has no cycle, but the trace comes from the node: never walk more vouchers
    // than it holds.
    for _ in 0..=trace.vouchers.len() {
        let Some(id) = next else { break };
        let Some(traced) = by_id.get(id) else { break };
        heights.extend(traced.events.iter().map(|e| e.height));
        next = traced
            .voucher
            .as_ref()
            .map(|v| v.parent_id.as_str())
            .filter(|p| !p.is_empty());
    }
    heights
}

/// Checks and remembers marks.
#[derive(Debug, Default)]
pub(crate) struct Verifier {
    /// The chain's genesis, if given: vouchers are then checked by their trace bundle.
    genesis: Option<vchain_contracts::genesis::Genesis>,
    /// Final marks by (height, SHA-256 of the encoded certificate), at most
    /// [`VERIFICATION_CACHE_MAX`].
    cache: Mutex<BTreeMap<(u64, [u8; 32]), VerificationMark>>,
    /// The newest certified block found at a head height, recomputed when the head moves.
    certified: Mutex<Option<(u64, CertifiedHeight)>>,
}

/// The newest block below the head whose certificate was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CertifiedHeight {
    /// Its height, if one of the blocks searched carries a certificate.
    pub(crate) height: Option<u64>,
    /// Its mark (or why there is none).
    pub(crate) mark: VerificationMark,
}

impl Verifier {
    /// A verifier that checks vouchers by their trace bundle against `genesis` when given.
    pub(crate) fn new(genesis: Option<vchain_contracts::genesis::Genesis>) -> Self {
        Self {
            genesis,
            ..Self::default()
        }
    }

    /// The mark of a block the node served.
    pub(crate) async fn block(&self, node: &Node, response: &GetBlockResponse) -> VerificationMark {
        let (Some(block), Some(certificate)) = (&response.block, &response.certificate) else {
            return block_mark(None);
        };
        let height = block.header.as_ref().map_or(0, |h| h.height);
        let key: [u8; 32] = Sha256::digest(certificate.encode_to_vec()).into();
        if let Some(mark) = self.cached(height, key) {
            return mark;
        }
        let mark = match certificate::check_on_node(node, block, &response.block_hash, certificate)
            .await
        {
            Ok(outcome) => block_mark(Some(&outcome)),
            Err(e) => VerificationMark::Unchecked {
                detail: format!("{e:#}"),
            },
        };
        if mark.is_final() {
            self.remember(height, key, mark.clone());
        }
        mark
    }

    /// The mark of the block at `height`.
    pub(crate) async fn block_at(&self, node: &Node, height: u64) -> VerificationMark {
        match node.block(height).await {
            Ok(response) => self.block(node, &response).await,
            Err(e) => VerificationMark::Unchecked {
                detail: e.to_string(),
            },
        }
    }

    /// THE HOOK for the trace-bundle verifier: whether what the explorer shows of
    /// `voucher_id` is proven. Today: every block that holds an event of the voucher or of an
    /// ancestor carries a commit certificate that verifies (at most
    /// [`VOUCHER_BLOCKS_CHECKED_MAX`] blocks). The offline bundle check replaces this body
    /// and keeps the signature.
    pub(crate) async fn voucher_verification(
        &self,
        node: &Node,
        voucher_id: &str,
    ) -> VerificationMark {
        let mut fallback = "start the explorer with --genesis to check the whole lineage offline";
        if let Some(genesis) = &self.genesis {
            match node.trace_bundle(voucher_id).await {
                Ok(bytes) => {
                    return match vchain_bundle::decode(&bytes)
                        .and_then(|bundle| vchain_bundle::verify(&bundle, genesis))
                    {
                        Ok(lineage) => VerificationMark::Verified {
                            detail: format!(
                                "trace bundle verified against genesis: {} vouchers, {} events, certified height {} ({} bytes)",
                                lineage.vouchers.len(),
                                lineage.vouchers.iter().map(|v| v.events.len()).sum::<usize>(),
                                lineage.tip.height,
                                bytes.len()
                            ),
                        },
                        Err(error) => VerificationMark::Invalid {
                            detail: format!(
                                "the trace bundle does not verify: {}: {error}",
                                error.code()
                            ),
                        },
                    };
                }
                // A reader who may not read the whole lineage gets no bundle: check what it
                // may read, block by block.
                Err(error) if error.code == "NOT_A_PARTY" => {
                    fallback = "this reader may not read the whole lineage, so no trace bundle";
                }
                Err(error) => {
                    return VerificationMark::Unchecked {
                        detail: error.to_string(),
                    }
                }
            }
        }
        let mark = self.voucher_blocks_verification(node, voucher_id).await;
        match mark {
            VerificationMark::Verified { detail } => VerificationMark::Verified {
                detail: format!("{detail} ({fallback})"),
            },
            other => other,
        }
    }

    /// The per-block check of [`voucher_verification`](Self::voucher_verification).
    async fn voucher_blocks_verification(&self, node: &Node, voucher_id: &str) -> VerificationMark {
        let trace = match node.trace(voucher_id).await {
            Ok(trace) => trace,
            Err(e) => {
                return VerificationMark::Unchecked {
                    detail: e.to_string(),
                }
            }
        };
        let heights = voucher_event_heights(&trace, voucher_id);
        if heights.len() > VOUCHER_BLOCKS_CHECKED_MAX {
            return VerificationMark::Unchecked {
                detail: format!(
                    "its events lie in {} blocks; the explorer checks at most {VOUCHER_BLOCKS_CHECKED_MAX}",
                    heights.len()
                ),
            };
        }
        let mut marks = BTreeMap::new();
        for height in heights {
            let mark = self.block_at(node, height).await;
            let stop = matches!(mark, VerificationMark::Invalid { .. });
            marks.insert(height, mark);
            if stop {
                break;
            }
        }
        combine(&marks)
    }

    /// The newest block at most [`CERTIFIED_SEARCH_BLOCKS_MAX`] below `head` that carries a
    /// certificate, with its mark (found again only when the head moves).
    pub(crate) async fn certified_height(&self, node: &Node, head: u64) -> CertifiedHeight {
        {
            let memo = self.certified.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, found)) = memo.as_ref().filter(|(at, _)| *at == head) {
                return found.clone();
            }
        }
        let lowest = head.saturating_sub(CERTIFIED_SEARCH_BLOCKS_MAX - 1).max(1);
        let mut found = CertifiedHeight {
            height: None,
            mark: VerificationMark::NotCertified {
                detail: format!(
                    "none of blocks {lowest} to {head} carries a commit certificate (solo chains carry none)"
                ),
            },
        };
        for height in (lowest..=head).rev() {
            let response = match node.block(height).await {
                Ok(response) => response,
                Err(e) => {
                    found.mark = VerificationMark::Unchecked {
                        detail: e.to_string(),
                    };
                    break;
                }
            };
            if response.certificate.is_some() {
                found = CertifiedHeight {
                    height: Some(height),
                    mark: self.block(node, &response).await,
                };
                break;
            }
        }
        // Only what the node answered is remembered: an unreachable node is asked again.
        if !matches!(found.mark, VerificationMark::Unchecked { .. }) {
            *self.certified.lock().unwrap_or_else(|p| p.into_inner()) = Some((head, found.clone()));
        }
        found
    }

    fn cached(&self, height: u64, key: [u8; 32]) -> Option<VerificationMark> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(&(height, key)).cloned()
    }

    fn remember(&self, height: u64, key: [u8; 32], mark: VerificationMark) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert((height, key), mark);
        while cache.len() > VERIFICATION_CACHE_MAX {
            cache.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::{CheckError, Verified};
    use vchain_proto::v1::{Event, TracedVoucher, Voucher};

    fn verified() -> VerificationMark {
        block_mark(Some(&Outcome::Verified(Verified {
            signers: vec!["n0".into(), "n1".into(), "n3".into()],
            validators: 4,
            quorum: 3,
            proven_at: 9,
        })))
    }

    #[test]
    fn each_outcome_has_its_mark() {
        assert!(matches!(
            verified(),
            VerificationMark::Verified { detail } if detail.contains("3 of 4 validators (n0, n1, n3")
        ));
        assert!(matches!(
            block_mark(None),
            VerificationMark::NotCertified { .. }
        ));
        let failed = Outcome::Failed(CheckError::Configuration {
            height: 4,
            why: "forged".into(),
        });
        assert!(matches!(
            block_mark(Some(&failed)),
            VerificationMark::Invalid { detail } if detail.contains("forged")
        ));
        assert!(matches!(
            block_mark(Some(&Outcome::NotChecked("far".into()))),
            VerificationMark::Unchecked { detail } if detail == "far"
        ));
        let json = serde_json::to_value(verified()).expect("json");
        assert_eq!(json["state"], "verified");
        assert!(json["detail"].is_string());
        let json = serde_json::to_value(block_mark(None)).expect("json");
        assert_eq!(json["state"], "not_certified");
    }

    #[test]
    fn many_blocks_take_the_worst_mark_and_name_the_blocks() {
        let unchecked = VerificationMark::Unchecked {
            detail: "PERMISSION_DENIED".into(),
        };
        let invalid = VerificationMark::Invalid {
            detail: "bad signature".into(),
        };
        let all_good = BTreeMap::from([(3, verified()), (5, verified())]);
        assert!(matches!(
            combine(&all_good),
            VerificationMark::Verified { detail } if detail.contains("all 2 block(s) (3, 5)")
        ));
        let some_bare = BTreeMap::from([
            (3, verified()),
            (5, block_mark(None)),
            (7, unchecked.clone()),
        ]);
        assert!(matches!(
            combine(&some_bare),
            VerificationMark::NotCertified { detail } if detail == "1 of the 3 block(s) it rests on carry no commit certificate: 5"
        ));
        let one_unchecked = BTreeMap::from([(3, verified()), (7, unchecked)]);
        assert!(matches!(
            combine(&one_unchecked),
            VerificationMark::Unchecked { detail } if detail == "block 7: PERMISSION_DENIED"
        ));
        let one_bad = BTreeMap::from([(3, block_mark(None)), (6, invalid)]);
        assert!(matches!(
            combine(&one_bad),
            VerificationMark::Invalid { detail } if detail == "block 6: bad signature"
        ));
        assert!(matches!(
            combine(&BTreeMap::new()),
            VerificationMark::Unchecked { .. }
        ));
    }

    #[test]
    fn a_voucher_rests_on_its_own_events_and_its_ancestors_not_its_siblings() {
        let traced = |id: &str, parent: &str, heights: &[u64]| TracedVoucher {
            voucher: Some(Voucher {
                id: id.into(),
                parent_id: parent.into(),
                ..Default::default()
            }),
            events: heights
                .iter()
                .map(|&height| Event {
                    height,
                    ..Default::default()
                })
                .collect(),
            depth: 0,
        };
        let trace = TraceVoucherResponse {
            voucher_id: "V3".into(),
            root_id: "V1".into(),
            height: 20,
            next_page_token: String::new(),
            vouchers: vec![
                traced("V1", "", &[2, 4]),
                traced("V2", "V1", &[4, 6, 9]),
                traced("V3", "V2", &[9, 12]),
                traced("V4", "V2", &[9, 15]),
                traced("V5", "V1", &[4, 18]),
            ],
        };
        assert_eq!(
            voucher_event_heights(&trace, "V3")
                .into_iter()
                .collect::<Vec<_>>(),
            [2, 4, 6, 9, 12]
        );
        assert_eq!(
            voucher_event_heights(&trace, "V1")
                .into_iter()
                .collect::<Vec<_>>(),
            [2, 4]
        );
        assert!(voucher_event_heights(&trace, "V9").is_empty());
    }
}
