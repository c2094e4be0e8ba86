//! The named workloads (`--workload`), what each account's slots send, and the rules that keep
//! every transaction valid: vouchers an account may use, lineage depth, and nonces with several
//! transactions in flight.
//!
//! - `issue`: core enterprises registered for the run (`--accounts` of them, each with its own
//!   credit line from bank A's financier) issue vouchers to the run's suppliers. Each issuer is
//!   one account with `--in-flight` issues at once (at most the nonce window, 64), so an issue
//!   rate needs many issuers, as on a real chain.
//! - `split`: suppliers split vouchers in two halves. Each takes the shallowest voucher it holds
//!   and keeps both halves, so a lineage deepens by one level per doubling of its vouchers
//!   (about log2 of the splits made from it): the run stays far below the chain's lineage depth
//!   limit (32 levels under rules v1). A voucher at [`SPLIT_DEPTH_MAX`] or too small to halve is
//!   parked.
//! - `transfer`: suppliers pass vouchers round a ring (account i to account i + 1); setup gives
//!   each `2 × --in-flight` vouchers, so every slot finds one while others are in flight.
//! - `mixed` (the default, the bench's original loop): each slot splits the minimum amount off
//!   its own voucher and transfers that piece to the next supplier, repeatedly; once its voucher
//!   is [`SPLIT_DEPTH_MAX`] deep it only forwards pieces it received. With `--in-flight 1` each
//!   supplier has one voucher and one lane, exactly the original behaviour.
//! - `reads`: suppliers read what they hold with signed reads: `GetVoucher`, `ListVouchers` by
//!   holder in pages of [`LIST_PAGE_SIZE`] (each page one request), `TraceVoucher`,
//!   `GetAccount`, in turn. Setup issues each one voucher and splits it into [`READ_PIECES`].
//!
//! Several transactions in flight: every slot of an account takes its own voucher, so the
//! transactions of one account never depend on each other and all can commit; nonces are handed
//! out consecutively ([`Nonces`]) and may reach the node out of order (the mempool keeps a gap
//! within the nonce window and proposes contiguous runs).
//!
//! Owns: these rules. Must not depend on: the network (`load.rs` sends).

use std::collections::BTreeSet;

/// Deepest a voucher's lineage is split to by the bench: below the 32 levels the chain allows
/// under rules v1 (ADR 0016; a newer chain may allow more, the bench does not rely on it). It
/// was the original loop's `SPLITS_PER_ACCOUNT_MAX`.
pub(crate) const SPLIT_DEPTH_MAX: u32 = 28;
/// Vouchers each supplier holds for the `reads` workload.
pub(crate) const READ_PIECES: usize = 4;
/// Page size of the `reads` workload's `ListVouchers` (smaller than [`READ_PIECES`], so a
/// listing takes more than one page).
pub(crate) const LIST_PAGE_SIZE: u32 = 3;
/// The nonce window: transactions one account may have waiting ahead of its next nonce
/// (`vchain_contracts::NONCE_WINDOW`), the most `--in-flight` allows.
pub(crate) const NONCE_WINDOW: usize = vchain_contracts::execute::NONCE_WINDOW as usize;
/// Face amount of each voucher the `issue` workload issues, minor units.
pub(crate) const ISSUE_AMOUNT: u64 = 1_000_000;
/// Credit limit each `issue` workload issuer is granted: room for a billion issues.
pub(crate) const ISSUER_CREDIT_LIMIT: u64 = ISSUE_AMOUNT * 1_000_000_000;

/// A named workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Workload {
    /// Core enterprises issue vouchers to suppliers.
    Issue,
    /// Suppliers split vouchers in two.
    Split,
    /// Suppliers transfer vouchers to each other.
    Transfer,
    /// Suppliers split off a piece and transfer it on (the original loop).
    Mixed,
    /// Suppliers read what they hold (signed reads).
    Reads,
}

impl Workload {
    /// Its `--workload` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Issue => "issue",
            Workload::Split => "split",
            Workload::Transfer => "transfer",
            Workload::Mixed => "mixed",
            Workload::Reads => "reads",
        }
    }

    /// One sentence for the report.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Workload::Issue => "Core enterprises registered for the run (one credit line each) issue vouchers to suppliers; each issuer keeps --in-flight issues waiting for their commits.",
            Workload::Split => "Suppliers split their shallowest voucher in two halves and keep both (lineages deepen by one level per doubling); each keeps --in-flight splits of different vouchers waiting for their commits.",
            Workload::Transfer => "Suppliers transfer vouchers round a ring (each to the next supplier); each keeps --in-flight transfers of different vouchers waiting for their commits.",
            Workload::Mixed => "Suppliers split the minimum amount off a voucher and transfer that piece to the next supplier, repeatedly; one lane per in-flight slot.",
            Workload::Reads => "Suppliers read their own vouchers with signed reads (GetVoucher, ListVouchers by holder paged, TraceVoucher, GetAccount, in turn); figures are reads answered.",
        }
    }

    /// What one unit of load is.
    pub(crate) fn unit(self) -> &'static str {
        match self {
            Workload::Reads => "reads",
            _ => "transactions",
        }
    }

    /// Vouchers each supplier holds when the load starts (0: none issued to it by setup).
    pub(crate) fn pieces_per_supplier(self, in_flight: usize) -> usize {
        match self {
            Workload::Issue => 0,
            Workload::Reads => READ_PIECES,
            Workload::Split | Workload::Mixed => in_flight,
            Workload::Transfer => 2 * in_flight,
        }
    }
}

/// A voucher an account holds and may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Its id.
    pub(crate) id: String,
    /// Its amount, minor units.
    pub(crate) amount: u64,
    /// Splits between it and its issued root (0: issued).
    pub(crate) depth: u32,
}

/// Amounts of a split of `amount` into `parts` (at least 2) pieces as equal as can be, the
/// remainder on the last; `None` if a piece would be below `min_split`.
pub(crate) fn equal_parts(amount: u64, parts: usize, min_split: u64) -> Option<Vec<u64>> {
    let count = u64::try_from(parts).ok().filter(|p| *p >= 2)?;
    let each = amount / count;
    if each < min_split.max(1) {
        return None;
    }
    let mut amounts = vec![each; parts];
    *amounts.last_mut()? += amount - each * count;
    debug_assert_eq!(
        amounts.iter().sum::<u64>(),
        amount,
        "a split conserves value"
    );
    Some(amounts)
}

/// Whether the `split` workload may halve `piece` again.
pub(crate) fn splittable(piece: &Piece, min_split: u64) -> bool {
    piece.depth < SPLIT_DEPTH_MAX && piece.amount / 2 >= min_split.max(1)
}

/// How many pieces the next fan-out split of setup makes, holding `held` pieces of a wanted
/// `target`, with the chain's `fanout_max` children per split; 0 when there are enough.
pub(crate) fn fan_out_children(held: usize, target: usize, fanout_max: usize) -> usize {
    if held >= target {
        return 0;
    }
    // Splitting one held piece into n adds n - 1.
    (target - held + 1).min(fanout_max.max(2))
}

/// The nonces of one account with several transactions in flight: handed out consecutively,
/// never more than `in_flight` outstanding, each once.
///
/// Outstanding nonces stay within the chain's window: a transaction is answered committed
/// only after every lower nonce of its account committed, so the account's committed next
/// nonce is at most the lowest outstanding one, and the highest is below it + `in_flight` <=
/// [`NONCE_WINDOW`].
#[derive(Debug)]
pub(crate) struct Nonces {
    next: u64,
    outstanding: BTreeSet<u64>,
    in_flight: usize,
}

impl Nonces {
    /// Nonces from `next`, at most `in_flight` (1..=[`NONCE_WINDOW`]) outstanding.
    pub(crate) fn new(next: u64, in_flight: usize) -> Self {
        assert!(
            (1..=NONCE_WINDOW).contains(&in_flight),
            "in flight {in_flight} outside 1..={NONCE_WINDOW}"
        );
        Self {
            next,
            outstanding: BTreeSet::new(),
            in_flight,
        }
    }

    /// The next nonce, or `None` if `in_flight` are outstanding.
    pub(crate) fn take(&mut self) -> Option<u64> {
        if self.outstanding.len() >= self.in_flight {
            return None;
        }
        let nonce = self.next;
        self.next += 1;
        self.outstanding.insert(nonce);
        debug_assert!(
            self.outstanding
                .first()
                .is_some_and(|low| nonce - low < NONCE_WINDOW as u64),
            "outstanding nonces span more than the window"
        );
        Some(nonce)
    }

    /// `nonce` is answered (committed, rejected or given up).
    pub(crate) fn settle(&mut self, nonce: u64) {
        let was = self.outstanding.remove(&nonce);
        debug_assert!(was, "nonce {nonce} settled twice or never taken");
    }

    /// The next nonce to be handed out.
    #[cfg(test)]
    pub(crate) fn next(&self) -> u64 {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_nonces_are_consecutive_bounded_and_each_handed_out_once() {
        let mut nonces = Nonces::new(10, 4);
        let first: Vec<u64> = (0..4).map(|_| nonces.take().expect("room")).collect();
        assert_eq!(first, vec![10, 11, 12, 13]);
        assert_eq!(nonces.take(), None, "at most 4 outstanding");
        // Answers arrive out of order; each frees one place.
        nonces.settle(12);
        assert_eq!(nonces.take(), Some(14));
        assert_eq!(nonces.take(), None);
        nonces.settle(10);
        nonces.settle(11);
        assert_eq!(nonces.take(), Some(15));
        assert_eq!(nonces.take(), Some(16));
        assert_eq!(nonces.take(), None);
        assert_eq!(nonces.next(), 17);
    }

    #[test]
    fn a_full_window_stays_within_the_chains_nonce_window() {
        let mut nonces = Nonces::new(0, NONCE_WINDOW);
        let mut outstanding: Vec<u64> = (0..NONCE_WINDOW)
            .map(|_| nonces.take().expect("room"))
            .collect();
        // Settle the lowest each time, as commits do: the span never exceeds the window.
        for _ in 0..1_000 {
            let low = outstanding.remove(0);
            nonces.settle(low);
            let nonce = nonces.take().expect("a place was freed");
            assert!(nonce - outstanding[0] < NONCE_WINDOW as u64);
            outstanding.push(nonce);
        }
    }

    #[test]
    #[should_panic(expected = "outside 1..=64")]
    fn more_in_flight_than_the_window_is_refused() {
        Nonces::new(0, NONCE_WINDOW + 1);
    }

    #[test]
    fn splits_conserve_value_and_respect_the_minimum() {
        assert_eq!(equal_parts(10, 3, 1), Some(vec![3, 3, 4]));
        assert_eq!(equal_parts(1 << 40, 2, 100), Some(vec![1 << 39, 1 << 39]));
        assert_eq!(equal_parts(5, 3, 2), None);
        assert_eq!(equal_parts(100, 1, 1), None, "a split makes two or more");
        let deep = Piece {
            id: "v".into(),
            amount: 1 << 20,
            depth: SPLIT_DEPTH_MAX,
        };
        assert!(!splittable(&deep, 1));
        let shallow = Piece { depth: 3, ..deep };
        assert!(splittable(&shallow, 1));
        assert!(!splittable(
            &Piece {
                amount: 3,
                ..shallow
            },
            2
        ));
    }

    #[test]
    fn setup_fans_out_to_the_wanted_pieces_within_the_fanout() {
        assert_eq!(fan_out_children(1, 1, 16), 0);
        assert_eq!(fan_out_children(1, 4, 16), 4);
        // 128 pieces with 16 children a split: 16, then 15 more per split.
        let (mut held, mut splits) = (1, 0);
        while fan_out_children(held, 128, 16) > 0 {
            held += fan_out_children(held, 128, 16) - 1;
            splits += 1;
        }
        assert_eq!((held, splits), (128, 9));
    }

    #[test]
    fn pieces_per_supplier_follow_the_workload() {
        assert_eq!(Workload::Mixed.pieces_per_supplier(1), 1);
        assert_eq!(Workload::Transfer.pieces_per_supplier(4), 8);
        assert_eq!(Workload::Issue.pieces_per_supplier(64), 0);
        assert_eq!(Workload::Reads.pieces_per_supplier(1), READ_PIECES);
    }
}
