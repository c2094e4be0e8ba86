//! Admission of single submissions, gathered into batches: `SubmitTransaction` calls that
//! arrive together are checked together with `check_txs`, so their signatures are verified in
//! one ed25519 batch (about twice as fast per signature as one by one, and spread over the
//! cores when the batch is large) instead of one by one in each RPC thread, and then admitted
//! to the mempool on the same thread.
//!
//! Owns: the admission thread, its queue, and how an answer reaches its caller: a blocked
//! thread (`Chain::submit`) or an RPC task awaiting it (`Chain::submit_async`, which then
//! holds no thread while its transaction is checked). Must not depend on: the producer.
//!
//! A check's result is exactly `check_tx`'s: `check_txs` runs the same checks on each
//! transaction against the same committed state, refusing the unidentified before any
//! signature is verified, and a signature's verdict does not depend on its batch
//! ([`vchain_contracts::signature::verify_all`]). Admission after the check is
//! `Chain::admit_checked`, the same for a batch as for one transaction. A quiet node checks
//! each transaction as it comes (a batch of one); batches form only when submissions arrive
//! while one is checked.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::oneshot;
use tracing::warn;
use vchain_contracts::{check_tx, check_txs, CheckError, CheckedTx};
use vchain_proto::v1::SignedTransaction;

use super::admission::{admission_outcome, Admission, SubmitError};
use super::{lock, Chain};

/// Most transactions one batch checks.
pub(crate) const ADMISSION_BATCH_MAX: usize = 1_024;
const _: () = assert!(ADMISSION_BATCH_MAX <= vchain_contracts::execute::CHECK_BATCH_MAX);
/// Most submissions waiting for the admission thread; past it a caller admits its own
/// transaction.
pub(crate) const ADMISSION_QUEUE_MAX: usize = 8_192;

/// Where a submission's answer goes.
pub(crate) enum Reply {
    /// A thread blocked on the answer.
    Blocking(SyncSender<Admission>),
    /// An async task awaiting it (sending wakes the task; no thread waits).
    Async(oneshot::Sender<Admission>),
}

impl Reply {
    fn send(self, admission: Admission) {
        // A caller that gave up is gone; nothing to tell it.
        match self {
            Reply::Blocking(sender) => {
                let _ = sender.send(admission);
            }
            Reply::Async(sender) => {
                let _ = sender.send(admission);
            }
        }
    }
}

/// A submission: the transaction, whether its caller waits for the commit, and where the
/// answer goes.
struct Job {
    tx: SignedTransaction,
    wait: bool,
    reply: Reply,
}

/// The queue to the admission thread (none before [`AdmissionBatcher::start`]).
#[derive(Default)]
pub(crate) struct AdmissionBatcher {
    queue: Mutex<Option<SyncSender<Job>>>,
}

impl AdmissionBatcher {
    /// Starts the admission thread for `chain`. It holds the chain weakly and ends once the
    /// chain is gone and its queue closed.
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

    /// Hands a submission to the admission thread, which answers through `reply`; gives the
    /// transaction back when the thread is not running or its queue is full.
    pub(crate) fn enqueue(
        &self,
        tx: SignedTransaction,
        wait: bool,
        reply: Reply,
    ) -> Result<(), SignedTransaction> {
        let Some(queue) = lock(&self.queue).clone() else {
            return Err(tx);
        };
        queue
            .try_send(Job { tx, wait, reply })
            .map_err(|error| match error {
                std::sync::mpsc::TrySendError::Full(job)
                | std::sync::mpsc::TrySendError::Disconnected(job) => job.tx,
            })
    }
}

/// The admission thread: takes what waits (up to [`ADMISSION_BATCH_MAX`]), checks it as one
/// batch, admits what passed and answers each caller.
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
        admit_batch(&chain, jobs);
    }
}

/// Checks `jobs` in one batch, admits each that passed, and answers each caller.
fn admit_batch(chain: &Chain, jobs: Vec<Job>) {
    if chain.stopping.load(Ordering::SeqCst) {
        for job in jobs {
            let admission = Err(SubmitError::ShuttingDown);
            chain.metrics.admission(admission_outcome(&admission));
            job.reply.send(admission);
        }
        return;
    }
    let mut transactions = Vec::with_capacity(jobs.len());
    let mut callers = Vec::with_capacity(jobs.len());
    for Job { tx, wait, reply } in jobs {
        transactions.push(tx);
        callers.push((wait, reply));
    }
    let checks: Vec<Result<CheckedTx, CheckError>> = match check_txs(
        &*chain.ledger,
        &transactions,
        &chain.verified_signatures,
    ) {
        Ok(batch) => batch.results,
        Err(error) => {
            // Each is checked alone, which reports the failure as its own.
            warn!(%error, transactions = transactions.len(), "a batch admission check could not read state; checking each alone");
            transactions
                .iter()
                .map(|tx| check_tx(&*chain.ledger, tx, &chain.verified_signatures))
                .collect()
        }
    };
    assert_eq!(
        checks.len(),
        transactions.len(),
        "one check per transaction"
    );
    let mut forwards = Vec::new();
    let mut answers = Vec::with_capacity(callers.len());
    for ((tx, (wait, reply)), check) in transactions.into_iter().zip(callers).zip(checks) {
        let admission = match check {
            Ok(checked) => chain.admit_checked(checked, tx, wait, &mut forwards),
            Err(error) => Err(error.into()),
        };
        chain.metrics.admission(admission_outcome(&admission));
        answers.push((reply, admission));
    }
    // The producer is woken (and the leader handed the batch) before anyone is answered: a
    // caller that hears "admitted" finds its transaction on its way to a block.
    chain.after_admitting(forwards);
    for (reply, admission) in answers {
        reply.send(admission);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use vchain_proto::v1::transaction_body::Operation;
    use vchain_proto::v1::{ErrorCode, FreezeAccount};

    use super::*;

    fn admitted_code(admission: Admission) -> Option<ErrorCode> {
        match admission {
            Ok(_) => None,
            Err(SubmitError::Check(error)) => code(&Err(error)),
            Err(other) => panic!("not a check's refusal: {other}"),
        }
    }

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

        // Everything queued before the admission thread looks: one batch of 40.
        let (queue, waiting) = sync_channel(ADMISSION_QUEUE_MAX);
        let answers: Vec<_> = transactions
            .iter()
            .map(|tx| {
                let (reply, answer) = sync_channel(1);
                queue
                    .send(Job {
                        tx: tx.clone(),
                        wait: false,
                        reply: Reply::Blocking(reply),
                    })
                    .expect("queued");
                answer
            })
            .collect();
        drop(queue);
        let (verified_before, _) = chain.verified_signatures.counts();
        run(&Arc::downgrade(&chain), &waiting);
        let batched: Vec<Option<ErrorCode>> = answers
            .into_iter()
            .map(|answer| admitted_code(answer.recv().expect("answered")))
            .collect();
        assert_eq!(batched, alone);
        let (verified_after, _) = chain.verified_signatures.counts();
        assert_eq!(
            verified_after - verified_before,
            39,
            "every signature but the other chain's, each once"
        );
        assert_eq!(
            chain.mempool_len(),
            37,
            "every transaction that passed is admitted"
        );

        // And through the node's own path, the admission thread: the admitted ones are
        // waiting already (sent again: answered, not refused), the others refused alike.
        for (tx, expected) in transactions.iter().zip(&alone) {
            assert_eq!(admitted_code(chain.submit(tx.clone(), false)), *expected);
        }
        assert_eq!(chain.mempool_len(), 37);
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
    }

    #[test]
    fn a_transaction_is_admitted_alone_when_the_admission_thread_is_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (chain, producer, key) = crate::test_chain::start_solo(
            dir.path(),
            |config| config.block_interval_ms = 60_000,
            |engine| engine,
        );
        chain.admission.stop();
        let tx = crate::test_chain::freeze_second_admin(&chain.chain_id, 0, "alone", &key);
        let mut bad = tx.clone();
        bad.signature[0] ^= 1;
        assert_eq!(
            admitted_code(chain.submit(bad, false)),
            Some(ErrorCode::BadSignature)
        );
        assert_eq!(
            chain.mempool_len(),
            0,
            "a refused transaction is not admitted"
        );
        let expected = vchain_contracts::tx::tx_hash(&tx.body);
        let (hash, receiver) = chain
            .submit(tx, true)
            .expect("admitted on the caller's thread");
        assert!(receiver.is_some(), "its caller may wait for the commit");
        assert_eq!(chain.mempool_len(), 1);
        assert_eq!(hash, expected);
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
        let notice = receiver
            .expect("a waiter")
            .blocking_recv()
            .expect("shutdown cuts the last block");
        assert_eq!(notice.result.tx_hash, hash.to_vec());
    }

    #[test]
    fn a_busy_producer_awaiting_transactions_is_woken_by_the_first_admitted() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No block at the interval while the test runs: one is cut when two transactions wait
        // (a full block), or, once the chain is busy, when the producer is woken.
        let (chain, producer, key) = crate::test_chain::start_solo(
            dir.path(),
            |config| {
                config.block_interval_ms = 60_000;
                config.block_tx_target = 2;
            },
            |engine| engine,
        );
        let freeze = |nonce: u64| {
            crate::test_chain::freeze_second_admin(
                &chain.chain_id,
                nonce,
                &format!("busy {nonce}"),
                &key,
            )
        };
        let receivers: Vec<_> = (0..2)
            .map(|nonce| chain.submit(freeze(nonce), true).expect("admitted").1)
            .collect();
        let heights: Vec<u64> = receivers
            .into_iter()
            .map(|receiver| {
                let notice = receiver.expect("a waiter").blocking_recv();
                notice.expect("a full block commits").height
            })
            .collect();
        assert_eq!(heights[0], heights[1], "one block");
        // The block carried transactions and nothing waits: the producer sleeps awaiting more.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !chain.awaiting_transactions.load(Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "the producer of a busy chain never awaited transactions"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (_, receiver) = chain.submit(freeze(2), true).expect("admitted");
        assert!(
            !chain.awaiting_transactions.load(Ordering::SeqCst),
            "the admission took the flag and woke the producer"
        );
        let notice = receiver
            .expect("a waiter")
            .blocking_recv()
            .expect("one transaction, not a full block, commits");
        assert_eq!(notice.height, heights[0] + 1, "in the next block, alone");
        chain.shutdown();
        producer.join().expect("producer ends cleanly");
    }
}
