//! What a verified bundle proved, ready to print ([`std::fmt::Display`]) or serialize to JSON
//! (`serde::Serialize`, in the proto crate's JSON mapping: bytes as hex, enums by name).

use std::fmt;

use serde::Serialize;
use vchain_proto::v1::{Event, EventKind, Voucher, VoucherStatus};

/// A voucher's lineage as proven from genesis: every voucher and event, in trace order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedLineage {
    /// The chain (the genesis file's id).
    pub chain_id: String,
    /// The voucher the auditor asked about.
    pub voucher_id: String,
    /// The issued voucher at the root of the lineage.
    pub root_id: String,
    /// The certified block the state was proven at.
    pub tip: VerifiedTip,
    /// Every voucher of the lineage, depth first from the root, children in split order.
    pub vouchers: Vec<VerifiedVoucher>,
    /// Every change of the validator set from genesis to the tip, in chain order.
    pub validator_changes: Vec<VerifiedChange>,
}

/// The certified block every state proof was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedTip {
    /// Its height.
    pub height: u64,
    /// Its hash, hex.
    pub block_hash: String,
    /// Its chain time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Its state root, hex.
    pub state_root: String,
    /// The validators whose signatures made its certificate, ascending.
    pub signers: Vec<String>,
    /// Validators of its height.
    pub validators: usize,
    /// Signatures a quorum of them needs.
    pub quorum: usize,
}

/// One voucher of the lineage with its complete history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedVoucher {
    /// The voucher record at the tip.
    pub voucher: Voucher,
    /// Its events, oldest first: all of them (their number is proven).
    pub events: Vec<VerifiedEvent>,
}

/// One event of a voucher's history, where it happened, and the transaction that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifiedEvent {
    /// Block height.
    pub height: u64,
    /// Index of the transaction in its block; `None` when the chain acted by itself (a
    /// destruction or a pledge lapse at the block's start).
    pub tx_index: Option<u32>,
    /// Index of the event among its transaction's (or block step's) events.
    pub event_index: u16,
    /// The event as stored.
    pub event: Event,
    /// The signer of the transaction (its body's `signer`, whose signature verified), if any.
    pub signer: Option<String>,
}

/// A change of the validator set, proven in a certified block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedChange {
    /// The block that made it: the set changes from the next height.
    pub height: u64,
    /// The transaction that made it.
    pub index: u32,
    /// Nodes added.
    pub added: Vec<String>,
    /// Nodes removed.
    pub removed: Vec<String>,
}

fn status_name(voucher: &Voucher) -> &'static str {
    match voucher.status() {
        VoucherStatus::Unspecified => "unspecified",
        VoucherStatus::Active => "active",
        VoucherStatus::Split => "split",
        VoucherStatus::RedemptionRequested => "redemption requested",
        VoucherStatus::Redeemed => "redeemed",
        VoucherStatus::Destroyed => "destroyed",
    }
}

fn kind_name(event: &Event) -> String {
    EventKind::try_from(event.kind).map_or_else(
        |_| format!("kind {}", event.kind),
        |kind| {
            kind.as_str_name()
                .trim_start_matches("EVENT_KIND_")
                .to_ascii_lowercase()
                .replace('_', " ")
        },
    )
}

impl fmt::Display for VerifiedLineage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "verified: voucher {} on chain {}, lineage rooted at {} ({} vouchers)",
            self.voucher_id,
            self.chain_id,
            self.root_id,
            self.vouchers.len()
        )?;
        writeln!(
            f,
            "proven at block {} ({}), certified by {} of {} validators (quorum {}): {}",
            self.tip.height,
            self.tip.block_hash,
            self.tip.signers.len(),
            self.tip.validators,
            self.tip.quorum,
            self.tip.signers.join(", ")
        )?;
        for change in &self.validator_changes {
            writeln!(
                f,
                "validator set changed at block {} (transaction {}): added [{}] removed [{}]",
                change.height,
                change.index,
                change.added.join(", "),
                change.removed.join(", ")
            )?;
        }
        for entry in &self.vouchers {
            let v = &entry.voucher;
            let indent = "  ".repeat(v.depth as usize);
            writeln!(
                f,
                "{indent}{} parent {} holder {} amount {} {} {}{} depth {}",
                v.id,
                if v.parent_id.is_empty() {
                    "-"
                } else {
                    &v.parent_id
                },
                v.holder,
                v.amount,
                v.currency,
                status_name(v),
                if v.frozen { " frozen" } else { "" },
                v.depth
            )?;
            for e in &entry.events {
                let event = &e.event;
                write!(
                    f,
                    "{indent}  block {} {}: {}",
                    e.height,
                    e.tx_index
                        .map_or_else(|| "chain".to_owned(), |i| format!("tx {i}")),
                    kind_name(event)
                )?;
                if !event.actor.is_empty() {
                    write!(f, " by {}", event.actor)?;
                }
                if event.amount != 0 {
                    write!(f, " amount {} {}", event.amount, event.currency)?;
                }
                if !event.amounts.is_empty() {
                    let amounts: Vec<String> = event.amounts.iter().map(u64::to_string).collect();
                    write!(f, " into [{}]", amounts.join(", "))?;
                }
                if !event.counterparty.is_empty() {
                    write!(f, " counterparty {}", event.counterparty)?;
                }
                if event.consideration != 0 {
                    write!(f, " consideration {}", event.consideration)?;
                }
                if !event.tx_hash.is_empty() {
                    write!(f, " tx {}", hex::encode(&event.tx_hash))?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}
