//! The builder: collects from one consistent view of a node's ledger ([`BundleSource`])
//! everything [`crate::verify`] needs to prove a voucher's lineage from genesis, in the
//! canonical order the format prescribes.
//!
//! It walks the lineage with the contracts' own trace ([`vchain_contracts::trace`]), proves each
//! voucher's record, event count and events, takes every transaction an event names from its
//! stored block with its audit path, the validator-changing results of every height the tip's
//! `p/consensus` lists in `change_heights`, and the headers and certificates of those blocks.
//! It checks what it takes as it goes (a transaction's hash against its event, a value against
//! its proof), so a node whose view moved under it refuses rather than serves a bundle that
//! will not verify.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use vchain_contracts::block::result_hash;
use vchain_contracts::keys::{self, EventPosition};
use vchain_contracts::merkle::audit_path;
use vchain_contracts::trace;
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_proto::v1::{
    Block, CertifiedHeader, ConsensusConfig, Event, EventKind, ProvenEntry, ProvenTransaction,
    TraceBundle, ValidatorChange,
};

use crate::error::BuildError;
use crate::limits::{
    BUNDLE_BYTES_MAX, EVENTS_MAX, EVENTS_PER_VOUCHER_MAX, FORMAT_VERSION, VALIDATOR_CHANGES_MAX,
    VOUCHERS_MAX,
};
use crate::source::BundleSource;

/// Blocks read while building, each once.
struct Blocks<'s, S: BundleSource + ?Sized> {
    source: &'s S,
    read: BTreeMap<u64, Block>,
}

impl<S: BundleSource + ?Sized> Blocks<'_, S> {
    fn get(&mut self, height: u64) -> Result<&Block, BuildError> {
        if !self.read.contains_key(&height) {
            let block = self
                .source
                .block(height)?
                .ok_or(BuildError::MissingBlock(height))?;
            if block.header.as_ref().map(|h| h.height) != Some(height) {
                return Err(BuildError::Inconsistent(format!(
                    "the block stored at height {height} has no header of that height"
                )));
            }
            self.read.insert(height, block);
        }
        Ok(&self.read[&height])
    }
}

fn certified(
    source: &(impl BundleSource + ?Sized),
    block: &Block,
) -> Result<CertifiedHeader, BuildError> {
    let header = block.header.clone().unwrap_or_default();
    let certificate = source
        .certificate(header.height)?
        .ok_or(BuildError::Uncertified(header.height))?;
    Ok(CertifiedHeader {
        header: Some(header),
        certificate: Some(certificate),
    })
}

/// Proves `key` at the tip; it must be present (and equal `expected` when given).
fn prove(
    source: &(impl BundleSource + ?Sized),
    key: Vec<u8>,
    expected: Option<&[u8]>,
) -> Result<ProvenEntry, BuildError> {
    let (value, proof) = source.prove(&key)?;
    let printable = String::from_utf8_lossy(&key).into_owned();
    let value = value.ok_or_else(|| {
        BuildError::Inconsistent(format!("{printable} is not in the state it was read from"))
    })?;
    if expected.is_some_and(|expected| expected != value.as_slice()) {
        return Err(BuildError::Inconsistent(format!(
            "{printable} changed between reading and proving it"
        )));
    }
    Ok(ProvenEntry {
        key,
        value,
        proof: Some(proof),
    })
}

/// Builds the trace bundle of `voucher_id` from `source`'s view at its tip.
pub fn build(
    source: &(impl BundleSource + ?Sized),
    voucher_id: &str,
) -> Result<TraceBundle, BuildError> {
    let tip_height = source.tip_height()?;
    let mut blocks = Blocks {
        source,
        read: BTreeMap::new(),
    };
    let tip = certified(source, blocks.get(tip_height)?)?;
    let chain_id = tip
        .header
        .as_ref()
        .map(|h| h.chain_id.clone())
        .unwrap_or_default();

    // The lineage, as the chain's own trace walks it.
    let lineage = trace::trace(source.state(), voucher_id)?
        .ok_or_else(|| BuildError::UnknownVoucher(voucher_id.into()))?;
    if lineage.vouchers.len() > VOUCHERS_MAX {
        return Err(BuildError::TooLarge {
            what: "vouchers",
            max: VOUCHERS_MAX,
        });
    }
    let mut records = Vec::new();
    let mut wanted: BTreeSet<(u64, u32)> = BTreeSet::new();
    let mut event_hashes: BTreeMap<(u64, u32), Vec<u8>> = BTreeMap::new();
    let mut total_events = 0usize;
    for traced in &lineage.vouchers {
        let voucher = traced.voucher.as_ref().ok_or_else(|| {
            BuildError::Inconsistent("the trace returned a piece without its voucher".into())
        })?;
        let id = voucher.id.as_str();
        records.push(prove(
            source,
            keys::voucher(id),
            Some(&voucher.encode_to_vec()),
        )?);
        records.push(prove(source, keys::voucher_event_count(id), None)?);
        // One more than the limit, to tell a history at the limit from a longer one.
        let history = source.state().scan_prefix(
            &keys::voucher_events_prefix(id),
            None,
            EVENTS_PER_VOUCHER_MAX + 1,
        )?;
        if history.len() > EVENTS_PER_VOUCHER_MAX {
            return Err(BuildError::TooLarge {
                what: "events of one voucher",
                max: EVENTS_PER_VOUCHER_MAX,
            });
        }
        total_events += history.len();
        if total_events > EVENTS_MAX {
            return Err(BuildError::TooLarge {
                what: "events",
                max: EVENTS_MAX,
            });
        }
        for (key, value) in history {
            let prefix_len = keys::voucher_events_prefix(id).len();
            let position = EventPosition::from_bytes(&key[prefix_len..]).ok_or_else(|| {
                BuildError::Inconsistent(format!(
                    "event key {} has no position",
                    String::from_utf8_lossy(&key)
                ))
            })?;
            if position.tx_index != u32::MAX {
                let event = Event::decode(value.as_slice()).map_err(|e| {
                    BuildError::Inconsistent(format!("an event of {id} does not decode: {e}"))
                })?;
                let at = (position.height, position.tx_index);
                wanted.insert(at);
                event_hashes.insert(at, event.tx_hash);
            }
            records.push(prove(source, key, Some(&value))?);
        }
    }
    // The binding of every key that signed one of those transactions (filled in below).
    let consensus = prove(source, keys::CONSENSUS.to_vec(), None)?;
    let config = ConsensusConfig::decode(consensus.value.as_slice())
        .map_err(|e| BuildError::Inconsistent(format!("p/consensus does not decode: {e}")))?;
    records.push(consensus);

    // Every transaction an event names, with its audit path in its block.
    let mut transactions = Vec::with_capacity(wanted.len());
    for &(height, index) in &wanted {
        let block = blocks.get(height)?;
        let hashes: Vec<Hash> = block
            .transactions
            .iter()
            .map(|t| tx_hash(&t.body))
            .collect();
        let at = usize::try_from(index).unwrap_or(usize::MAX);
        let (Some(transaction), Some(path)) = (block.transactions.get(at), audit_path(&hashes, at))
        else {
            return Err(BuildError::Inconsistent(format!(
                "an event names transaction {index} of block {height}, which has {}",
                block.transactions.len()
            )));
        };
        if event_hashes.get(&(height, index)).map(Vec::as_slice) != Some(hashes[at].as_slice()) {
            return Err(BuildError::Inconsistent(format!(
                "transaction {height}/{index} is not the one its event names"
            )));
        }
        transactions.push(ProvenTransaction {
            transaction: Some(transaction.clone()),
            height,
            index,
            path: path.iter().map(|h| h.to_vec()).collect(),
        });
    }

    let signing_keys: BTreeSet<Vec<u8>> = transactions
        .iter()
        .filter_map(|t| t.transaction.as_ref().map(|t| t.public_key.clone()))
        .collect();
    for public_key in signing_keys {
        records.push(prove(source, keys::key_binding(&public_key), None)?);
    }
    records.sort_by(|a, b| a.key.cmp(&b.key));

    // Every result that changed the validator set, from the heights the tip's record lists.
    let mut validator_changes = Vec::new();
    for &height in &config.change_heights {
        if height == 0 || height > tip_height {
            return Err(BuildError::Inconsistent(format!(
                "p/consensus lists a change at height {height}, the tip is {tip_height}"
            )));
        }
        let block = blocks.get(height)?;
        let hashes: Vec<Hash> = block.results.iter().map(result_hash).collect();
        let before = validator_changes.len();
        for (at, result) in block.results.iter().enumerate() {
            let changes_set = result.events.iter().any(|e| {
                matches!(
                    e.kind(),
                    EventKind::ConsensusNodeAdded | EventKind::ConsensusNodeRemoved
                )
            });
            if !changes_set {
                continue;
            }
            let path = audit_path(&hashes, at).unwrap_or_default();
            validator_changes.push(ValidatorChange {
                height,
                index: u32::try_from(at).map_err(|_| {
                    BuildError::Inconsistent(format!("block {height} has too many results"))
                })?,
                result: Some(result.clone()),
                path: path.iter().map(|h| h.to_vec()).collect(),
            });
        }
        if validator_changes.len() == before {
            return Err(BuildError::Inconsistent(format!(
                "p/consensus lists a change at height {height}, but that block changed no node"
            )));
        }
        if validator_changes.len() > VALIDATOR_CHANGES_MAX {
            return Err(BuildError::TooLarge {
                what: "validator changes",
                max: VALIDATOR_CHANGES_MAX,
            });
        }
    }

    // The headers of those blocks, with their certificates; the tip's is `tip`.
    let heights: BTreeSet<u64> = wanted
        .iter()
        .map(|&(height, _)| height)
        .chain(config.change_heights.iter().copied())
        .filter(|&height| height != tip_height)
        .collect();
    let mut headers = Vec::with_capacity(heights.len());
    for height in heights {
        let block = blocks.get(height)?;
        headers.push(certified(source, block)?);
    }

    let bundle = TraceBundle {
        format_version: FORMAT_VERSION,
        chain_id,
        voucher_id: voucher_id.into(),
        tip: Some(tip),
        records,
        transactions,
        headers,
        validator_changes,
    };
    if bundle.encoded_len() > BUNDLE_BYTES_MAX {
        return Err(BuildError::TooLarge {
            what: "bytes",
            max: BUNDLE_BYTES_MAX,
        });
    }
    Ok(bundle)
}
