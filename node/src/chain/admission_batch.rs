//! Admission checks of single submissions, gathered into batches: `SubmitTransaction` calls
//! that arrive together are checked together with `check_txs`, so their signatures are verified
//! in one ed25519 batch (about twice as fast per signature as one by one, and spread over the
//! cores when the batch is large) instead of one by one in each RPC thread.
//!
//! Owns: the admission checker thread and its queue. Must not depend on: the mempool or the
//! producer (a checked transaction goes back to its caller, which admits it as before).
//!
//! A check's result is exactly `check_tx`'s: `check_txs` runs the same checks on each
//! transaction against the same committed state, refusing the unidentified before any
//! signature is verified, and a signature's verdict does not depend on its batch
//! ([`vchain_contracts::signature::verify_all`]). A quiet node checks each transaction as it
//! comes (a batch of one); batches form only when submissions arrive while one is checked.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, Weak};

use tracing::warn;
use vchain_contracts::{check_tx, check_txs, CheckError, CheckedTx};
use vchain_proto::v1::SignedTransaction;

use super::{lock, Chain};

/// Most transactions one batch checks.
pub(crate) const ADMISSION_BATCH_MAX: usize = 1_024;
const _: () = assert!(ADMISSION_BATCH_MAX <= vchain_contracts::execute::CHECK_BATCH_MAX);
/// Most submissions waiting for the checker; past it a caller checks its own transaction.
pub(crate) const ADMISSION_QUEUE_MAX: usize = 8_192;

/// A transaction and where its result goes.
type Job = (SignedTransaction, SyncSender<Checked>);
/// A transaction's result (`None`: reading state failed for the batch; the caller checks it
/// alone, which reports the failure as its own).
type Checked = Option<Result<CheckedTx, CheckError>>;

/// The queue to the admission checker thread (none before [`AdmissionBatcher::start`]).
#[derive(Default)]
pub(crate) struct AdmissionBatcher {
    queue: Mutex<Option<SyncSender<Job>>>,
}

impl AdmissionBatcher {
    /// Starts the checker thread for `chain`. It holds the chain weakly and ends once the chain
    /// is gone and its queue closed.
    pub(crate) fn start(chain: &Arc<Chain>) -> std::io::Result<()> {
        let (sender, receiver) = sync_channel(ADMISSION_QUEUE_MAX);
        let weak = Arc::downgrade(chain);
        std::thread::Builder::new()
            .name("admission".into())
            .spawn(move || run(&weak, &receiver))?;
        *lock(&chain.admission.queue) = Some(sender);
        Ok(())
    }

    /// Stops taking submissions: the thread ends once the queue drains.
    pub(crate) fn stop(&self) {
        lock(&self.queue).take();
    }
}

impl Chain {
    /// `check_tx` for `tx`, in a batch with whatever else arrives meanwhile; checked on the
    /// caller's thread when the checker is not running, its queue is full, or it could not
    /// answer.
    pub(crate) fn check_admission(&self, tx: &SignedTransaction) -> Result<CheckedTx, CheckError> {
        let queue = lock(&self.admission.queue).clone();
        if let Some(queue) = queue {
            let (reply, answer) = sync_channel(1);
            if queue.try_send((tx.clone(), reply)).is_ok() {
                if let Ok(Some(result)) = answer.recv() {
                    return result;
                }
            }
        }
        check_tx(&*self.ledger, tx, &self.verified_signatures)
    }
}

/// The checker thread: takes what waits (up to [`ADMISSION_BATCH_MAX`]), checks it as one
/// batch, answers each caller.
fn run(chain: &Weak<Chain>, queue: &Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < ADMISSION_BATCH_MAX {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let Some(chain) = chain.upgrade() else {
            return;
        };
        let (transactions, replies): (Vec<SignedTransaction>, Vec<SyncSender<Checked>>) =
            jobs.into_iter().unzip();
        let results: Vec<Checked> = match check_txs(
            &*chain.ledger,
            &transactions,
            &chain.verified_signatures,
        ) {
            Ok(batch) => batch.results.into_iter().map(Some).collect(),
            Err(error) => {
                warn!(%error, transactions = transactions.len(), "a batch admission check could not read state; checking each alone");
                transactions.iter().map(|_| None).collect()
            }
        };
        debug_assert_eq!(results.len(), transactions.len());
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that gave up is gone; nothing to tell it.
            let _ = reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vchain_proto::v1::transaction_body::Operation;
    use vchain_proto::v1::{ErrorCode, FreezeAccount};

    use super::*;

    fn code(result: &Result<CheckedTx, CheckError>) -> Option<ErrorCode> {
        match result {
            Ok(_) => None,
            Err(CheckError::Rejected(rejection)) => Some(rejection.code),
            Err(CheckError::Fatal(error)) => panic!("state read failed: {error}"),
        }
    }

    #[test]
    fn a_batch_gives_each_transaction_exactly_what_checking_it_alone_gives() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No block while the test runs: every check is against genesis state.
        let (chain, producer, key) = crate::test_chain::start_solo(
            dir.path(),
            |config| config.block_interval_ms = 60_000,
            |engine| engine,
        );
        let freeze = |n: u64| {
            Operation::FreezeAccount(FreezeAccount {
                account_id: crate::test_chain::SECOND_ADMIN.into(),
                reason: format!("batch {n}"),
            })
        };
        let mut transactions: Vec<SignedTransaction> = (0..40)
            .map(|nonce| crate::test_chain::sign(&chain.chain_id, nonce, freeze(nonce), &key))
            .collect();
        // A signature that does not verify, one for another chain (refused before any
        // signature is checked), and one whose nonce is beyond the window.
        transactions[3].signature[10] ^= 1;
        transactions[17] = crate::test_chain::sign("another-chain", 17, freeze(17), &key);
        transactions[39] = crate::test_chain::sign(&chain.chain_id, 10_000, freeze(39), &key);
        let alone: Vec<Option<ErrorCode>> = transactions
            .iter()
            .map(|tx| {
                code(&check_tx(
                    &*chain.ledger,
                    tx,
                    &vchain_contracts::verified::VerifiedSignatures::none(),
                ))
            })
            .collect();
        assert_eq!(alone[3], Some(ErrorCode::BadSignature));
        assert!(alone[17].is_some() && alone[39].is_some());
        assert_eq!(alone.iter().filter(|c| c.is_none()).count(), 37);

        // Everything queued before the checker looks: one batch of 40.
        let (queue, waiting) = sync_channel(ADMISSION_QUEUE_MAX);
        let answers: Vec<_> = transactions
            .iter()
            .map(|tx| {
                let (reply, answer) = sync_channel(1);
                queue.send((tx.clone(), reply)).expect("queued");
                answer
            })
            .collect();
        drop(queue);
        let (verified_before, _) = chain.verified_signatures.counts();
        run(&Arc::downgrade(&chain), &waiting);
        let batched: Vec<Option<ErrorCode>> = answers
            .into_iter()
            .map(|answer| code(&answer.recv().expect("answered").expect("state read")))
            .collect();
        assert_eq!(batched, alone);
        let (verified_after, _) = chain.verified_signatures.counts();
        assert_eq!(
            verified_after - verified_before,
            39,
            "every signature but the other chain's, each once"
        );

        // And through the node's own path, the checker thread.
        for (tx, expected) in transactions.iter().zip(&alone) {
            assert_eq!(code(&chain.check_admission(tx)), *expected);
        }
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
    }
}
