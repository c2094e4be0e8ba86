//! The mempool: admitted transactions waiting for a block.
//!
//! Admission (signature, account, key, nonce window, frozen account) is `contracts::check_tx`
//! against committed state, done by the caller; the mempool keeps per-account nonce order, refuses
//! duplicates and a second transaction for a taken nonce, is bounded, and hands the producer
//! contiguous nonce runs so a block never carries a transaction that must fail on its nonce.

use std::collections::BTreeMap;

use prost::Message;
use vchain_contracts::tx::Hash;
use vchain_contracts::CheckedTx;
use vchain_proto::v1::SignedTransaction;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// It is already waiting.
    #[error("transaction {0} is already in the mempool")]
    Duplicate(String),
    /// Another transaction of the same account already waits with this nonce.
    #[error("account {account} already has a waiting transaction with nonce {nonce}")]
    NonceTaken {
        /// Account.
        account: String,
        /// Nonce.
        nonce: u64,
    },
    /// The mempool is at one of its bounds.
    #[error("mempool is full (it holds at most {transactions_max} transactions and {bytes_max} bytes); retry later")]
    Full {
        /// Most transactions it holds.
        transactions_max: usize,
        /// Most bytes of encoded transactions it holds.
        bytes_max: usize,
    },
}

#[derive(Debug)]
struct Entry {
    tx: SignedTransaction,
    signer: String,
    nonce: u64,
    arrival: u64,
    size: usize,
    /// When this node admitted it (wall time, for the commit-latency metric only).
    admitted_at: std::time::Instant,
}

/// Waiting transactions.
#[derive(Debug)]
pub(crate) struct Mempool {
    max: usize,
    bytes_max: usize,
    /// Encoded bytes of every waiting transaction.
    bytes: usize,
    entries: BTreeMap<Hash, Entry>,
    /// account -> nonce -> hash
    by_account: BTreeMap<String, BTreeMap<u64, Hash>>,
    next_arrival: u64,
}

impl Mempool {
    /// An empty mempool holding at most `max` transactions totalling at most `bytes_max`
    /// encoded bytes.
    pub(crate) fn new(max: usize, bytes_max: usize) -> Self {
        assert!(max > 0 && bytes_max > 0, "a mempool must hold something");
        Self {
            max,
            bytes_max,
            bytes: 0,
            entries: BTreeMap::new(),
            by_account: BTreeMap::new(),
            next_arrival: 0,
        }
    }

    /// Number of waiting transactions.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Encoded bytes of the waiting transactions.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// True if nothing waits.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Up to `max` waiting transactions, oldest first (to hand them to a new leader).
    pub(crate) fn oldest(&self, max: usize) -> Vec<SignedTransaction> {
        self.arrived_before(u64::MAX, max)
    }

    /// The arrival mark: transactions admitted from now on arrive at or after it.
    pub(crate) fn arrival_mark(&self) -> u64 {
        self.next_arrival
    }

    /// Up to `max` transactions that arrived before `mark` and still wait, oldest first (a
    /// follower hands them to the leader again: a forward may have been lost).
    pub(crate) fn arrived_before(&self, mark: u64, max: usize) -> Vec<SignedTransaction> {
        let mut entries: Vec<&Entry> = self.entries.values().filter(|e| e.arrival < mark).collect();
        entries.sort_by_key(|e| e.arrival);
        entries
            .into_iter()
            .take(max)
            .map(|e| e.tx.clone())
            .collect()
    }

    /// Every account with a waiting transaction, in order.
    pub(crate) fn accounts(&self) -> Vec<String> {
        self.by_account.keys().cloned().collect()
    }

    /// True if `hash` waits.
    pub(crate) fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// How long each of `hashes` that waits here has waited since admission.
    pub(crate) fn waited(&self, hashes: &[Hash]) -> Vec<std::time::Duration> {
        hashes
            .iter()
            .filter_map(|hash| self.entries.get(hash))
            .map(|entry| entry.admitted_at.elapsed())
            .collect()
    }

    /// Adds an admitted transaction.
    pub(crate) fn insert(
        &mut self,
        checked: &CheckedTx,
        tx: SignedTransaction,
    ) -> Result<(), MempoolError> {
        if self.entries.contains_key(&checked.hash) {
            return Err(MempoolError::Duplicate(hex::encode(checked.hash)));
        }
        let nonces = self.by_account.entry(checked.signer.clone()).or_default();
        if nonces.contains_key(&checked.nonce) {
            return Err(MempoolError::NonceTaken {
                account: checked.signer.clone(),
                nonce: checked.nonce,
            });
        }
        let size = tx.encoded_len();
        if self.entries.len() >= self.max || self.bytes + size > self.bytes_max {
            if nonces.is_empty() {
                self.by_account.remove(&checked.signer);
            }
            return Err(MempoolError::Full {
                transactions_max: self.max,
                bytes_max: self.bytes_max,
            });
        }
        nonces.insert(checked.nonce, checked.hash);
        self.bytes += size;
        self.entries.insert(
            checked.hash,
            Entry {
                tx,
                signer: checked.signer.clone(),
                nonce: checked.nonce,
                arrival: self.next_arrival,
                size,
                admitted_at: std::time::Instant::now(),
            },
        );
        self.next_arrival += 1;
        Ok(())
    }

    /// Picks up to `tx_max` transactions totalling at most `bytes_max` for the next block:
    /// accounts in order of their oldest waiting transaction, each contributing its run of
    /// consecutive nonces starting at `next_nonce(account)`.
    pub(crate) fn select(
        &self,
        tx_max: usize,
        bytes_max: usize,
        mut next_nonce: impl FnMut(&str) -> u64,
    ) -> Vec<SignedTransaction> {
        let mut accounts: Vec<(u64, &String)> = self
            .by_account
            .iter()
            .filter_map(|(account, nonces)| {
                nonces
                    .values()
                    .map(|h| self.entries[h].arrival)
                    .min()
                    .map(|first| (first, account))
            })
            .collect();
        accounts.sort();
        let mut picked = Vec::new();
        let mut bytes = 0usize;
        'accounts: for (_, account) in accounts {
            let first = next_nonce(account);
            let waiting = self.by_account[account].range(first..);
            // Take the run of consecutive nonces from `first`; stop at the first gap.
            for (expected, (&nonce, hash)) in (first..).zip(waiting) {
                if nonce != expected {
                    break;
                }
                let entry = &self.entries[hash];
                if picked.len() == tx_max || bytes + entry.size > bytes_max {
                    break 'accounts;
                }
                bytes += entry.size;
                picked.push(entry.tx.clone());
            }
        }
        picked
    }

    /// Drops the transactions a block committed, and every waiting transaction whose nonce is
    /// now used (`next_nonce(account)` is the account's next nonce after the block).
    /// Returns the hashes of the waiting transactions dropped because another transaction
    /// spent their nonce: they can never execute. `signers` are the accounts of the block's
    /// transactions: their waiting transactions are re-checked even when the block's own
    /// transactions never passed through this mempool (they went to another node).
    pub(crate) fn remove_committed(
        &mut self,
        hashes: &[Hash],
        signers: &[String],
        mut next_nonce: impl FnMut(&str) -> u64,
    ) -> Vec<Hash> {
        let mut superseded = Vec::new();
        let mut touched: Vec<String> = signers.to_vec();
        for hash in hashes {
            if let Some(entry) = self.entries.remove(hash) {
                self.bytes -= entry.size;
                if let Some(nonces) = self.by_account.get_mut(&entry.signer) {
                    nonces.remove(&entry.nonce);
                }
                touched.push(entry.signer);
            }
        }
        touched.sort();
        touched.dedup();
        for account in touched {
            let next = next_nonce(&account);
            let Some(nonces) = self.by_account.get_mut(&account) else {
                continue;
            };
            let stale: Vec<u64> = nonces.range(..next).map(|(n, _)| *n).collect();
            for nonce in stale {
                if let Some(hash) = nonces.remove(&nonce) {
                    if let Some(entry) = self.entries.remove(&hash) {
                        self.bytes -= entry.size;
                    }
                    superseded.push(hash);
                }
            }
            if nonces.is_empty() {
                self.by_account.remove(&account);
            }
        }
        debug_assert_eq!(
            self.entries.len(),
            self.by_account.values().map(BTreeMap::len).sum::<usize>(),
            "mempool indexes disagree"
        );
        debug_assert_eq!(
            self.bytes,
            self.entries.values().map(|e| e.size).sum::<usize>(),
            "mempool byte count disagrees with its entries"
        );
        superseded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(account: &str, nonce: u64) -> (CheckedTx, SignedTransaction) {
        let body = format!("{account}/{nonce}").into_bytes();
        let hash = vchain_contracts::tx::tx_hash(&body);
        (
            CheckedTx {
                hash,
                signer: account.to_owned(),
                nonce,
            },
            SignedTransaction {
                body,
                ..Default::default()
            },
        )
    }

    fn nonces(selected: &[SignedTransaction]) -> Vec<String> {
        selected
            .iter()
            .map(|t| String::from_utf8_lossy(&t.body).into_owned())
            .collect()
    }

    #[test]
    fn select_takes_contiguous_runs_in_arrival_order() {
        let mut pool = Mempool::new(10, usize::MAX);
        for (account, nonce) in [("b", 0), ("a", 1), ("a", 0), ("a", 3), ("b", 1)] {
            let (checked, signed) = tx(account, nonce);
            pool.insert(&checked, signed).expect("insert");
        }
        // b arrived first; a's nonce 3 waits for nonce 2.
        assert_eq!(
            nonces(&pool.select(10, usize::MAX, |_| 0)),
            ["b/0", "b/1", "a/0", "a/1"]
        );
        assert_eq!(
            nonces(&pool.select(3, usize::MAX, |_| 0)),
            ["b/0", "b/1", "a/0"]
        );
        assert_eq!(
            nonces(&pool.select(10, usize::MAX, |a| if a == "a" { 1 } else { 5 })),
            ["a/1"]
        );
    }

    #[test]
    fn duplicates_taken_nonces_and_the_bound_are_refused() {
        let mut pool = Mempool::new(2, usize::MAX);
        let (checked, signed) = tx("a", 0);
        pool.insert(&checked, signed.clone()).expect("insert");
        assert!(matches!(
            pool.insert(&checked, signed),
            Err(MempoolError::Duplicate(_))
        ));
        let (mut other, signed) = tx("a", 7);
        other.nonce = 0;
        assert!(matches!(
            pool.insert(&other, signed),
            Err(MempoolError::NonceTaken { nonce: 0, .. })
        ));
        let (checked, signed) = tx("b", 0);
        pool.insert(&checked, signed).expect("second fits");
        let (checked, signed) = tx("c", 0);
        assert_eq!(
            pool.insert(&checked, signed),
            Err(MempoolError::Full {
                transactions_max: 2,
                bytes_max: usize::MAX
            })
        );
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn the_byte_bound_refuses_what_would_pass_it_and_frees_with_commits() {
        let (first, first_signed) = tx("a", 0);
        let size = first_signed.encoded_len();
        let mut pool = Mempool::new(100, 2 * size);
        pool.insert(&first, first_signed).expect("first fits");
        let (second, signed) = tx("a", 1);
        pool.insert(&second, signed).expect("second fits exactly");
        assert_eq!(pool.bytes(), 2 * size);
        let (third, signed) = tx("b", 0);
        assert_eq!(
            pool.insert(&third, signed.clone()),
            Err(MempoolError::Full {
                transactions_max: 100,
                bytes_max: 2 * size
            })
        );
        assert!(
            pool.accounts().iter().all(|a| a != "b"),
            "a refusal leaves no trace"
        );
        // A committed block and a spent nonce free their bytes.
        pool.remove_committed(&[first.hash], &[], |_| 2);
        assert_eq!((pool.len(), pool.bytes()), (0, 0));
        pool.insert(&third, signed).expect("room again");
        assert_eq!(pool.bytes(), size);
    }

    #[test]
    fn committing_removes_included_and_stale_transactions() {
        let mut pool = Mempool::new(10, usize::MAX);
        let mut hashes = Vec::new();
        for nonce in 0..4 {
            let (checked, signed) = tx("a", nonce);
            hashes.push(checked.hash);
            pool.insert(&checked, signed).expect("insert");
        }
        // The block carried nonce 0 and something else spent nonce 1.
        let superseded = pool.remove_committed(&hashes[..1], &[], |_| 2);
        assert_eq!(
            superseded,
            vec![hashes[1]],
            "nonce 1's waiting transaction can never run"
        );
        assert_eq!(pool.len(), 2);
        assert!(!pool.contains(&hashes[1]));
        assert_eq!(nonces(&pool.select(10, usize::MAX, |_| 2)), ["a/2", "a/3"]);
    }

    #[test]
    fn a_nonce_spent_elsewhere_supersedes_the_waiting_transaction() {
        let mut pool = Mempool::new(10, usize::MAX);
        let (checked, signed) = tx("a", 0);
        pool.insert(&checked, signed).expect("insert");
        // A block committed a different transaction of account a with nonce 0, submitted to
        // another node: none of the block's hashes is here, but its signer is.
        let superseded = pool.remove_committed(&[[9; 32]], &["a".to_owned()], |_| 1);
        assert_eq!(superseded, vec![checked.hash]);
        assert!(pool.is_empty());
    }

    #[test]
    fn arrived_before_names_only_what_waited_since_the_mark() {
        let mut pool = Mempool::new(10, usize::MAX);
        for (checked, tx) in [tx("a", 0), tx("b", 0)] {
            pool.insert(&checked, tx).expect("admitted");
        }
        let mark = pool.arrival_mark();
        let (checked, late) = tx("c", 0);
        pool.insert(&checked, late).expect("admitted");
        assert_eq!(nonces(&pool.arrived_before(mark, 10)), ["a/0", "b/0"]);
        assert_eq!(nonces(&pool.arrived_before(mark, 1)), ["a/0"]);
        assert!(pool.arrived_before(0, 10).is_empty());
        let (a, _) = tx("a", 0);
        pool.remove_committed(&[a.hash], &[], |_| 0);
        assert_eq!(nonces(&pool.arrived_before(mark, 10)), ["b/0"]);
    }
}
