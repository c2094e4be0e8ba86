//! The load: `--in-flight` slots per account, each a task that repeatedly picks its next
//! transaction (or read) by the workload's rules, waits for its turn in the fixed-rate schedule
//! if there is one, sends it, waits for the answer and records a sample.
//!
//! Every slot stops at the deadline (warm-up plus duration), at `--max-txs` sends, or when its
//! account stopped; a transaction already signed is settled (resent through other nodes until
//! [`crate::retry::RETRY_GRACE`] after the deadline), never abandoned. A transaction whose
//! outcome stays unknown stops its account: every later nonce of it could wait on it.
//!
//! Owns: the slots and what happens to an account's vouchers when a transaction is answered.
//! Must not depend on: the report (it records samples only).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};
use vchain_contracts::tx;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::transaction;

use crate::pace::Pacer;
use crate::setup::{issue_operation, split_children};
use crate::stats::{Outcome, Recorder, Sample};
use crate::submit::{Delivery, Shared};
use crate::workload::{
    splittable, Nonces, Piece, Workload, ISSUE_AMOUNT, LIST_PAGE_SIZE, SPLIT_DEPTH_MAX,
};

/// How long a slot waits before it looks again for a voucher to use (its account's others are
/// in flight, or a transfer to it has not committed yet).
const PIECE_WAIT: Duration = Duration::from_millis(10);
/// How long a slot pauses after a read failed (a node down must not be asked in a tight loop).
const READ_FAILURE_PAUSE: Duration = Duration::from_millis(100);
/// Longest one signed read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Pages one `ListVouchers` walk reads at most (a supplier holds [`crate::workload::READ_PIECES`]).
const LIST_PAGES_MAX: usize = 16;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A slot that panicked holding one of these ends the run anyway; the data stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One account generating load.
pub(crate) struct Account {
    /// Its place among the load accounts.
    pub(crate) index: usize,
    /// Its account id.
    pub(crate) name: String,
    /// Its key.
    pub(crate) key: SigningKey,
    /// Its nonces.
    pub(crate) nonces: Mutex<Nonces>,
    /// Vouchers it holds and may use (the `mixed` workload: one per lane at the start).
    pub(crate) pieces: Mutex<VecDeque<Piece>>,
    /// `mixed`: pieces received from the previous supplier, to pass on.
    pub(crate) inbox: Mutex<VecDeque<Piece>>,
    /// Set when one of its transactions failed: its slots stop.
    pub(crate) stopped: AtomicBool,
}

/// The load's settings and timeline.
pub(crate) struct Plan {
    /// What is sent.
    pub(crate) workload: Workload,
    /// Slots per account.
    pub(crate) in_flight: usize,
    /// When the load (and the warm-up) started.
    pub(crate) started: Instant,
    /// No slot starts a send at or after this.
    pub(crate) deadline: Instant,
    /// No resend after this.
    pub(crate) hard_stop: Instant,
    /// Most sends of the whole load.
    pub(crate) max_sends: u64,
    /// The chain's smallest split piece.
    pub(crate) min_split: u64,
    /// The fixed-rate schedule (`--rate`), if any.
    pub(crate) pacer: Option<Pacer>,
    /// `issue`: the USCC of the financier whose credit lines the issues draw on.
    pub(crate) financier_uscc: String,
    /// `issue`: maturity date of issued vouchers.
    pub(crate) maturity: String,
    /// `issue`: a prefix that makes this run's trade document numbers unique.
    pub(crate) run: u64,
}

/// Everything the slots share.
pub(crate) struct Load {
    /// Clients and counters.
    pub(crate) shared: Arc<Shared>,
    /// Settings and timeline.
    pub(crate) plan: Plan,
    /// The accounts generating load (suppliers; `issue`: the issuers).
    pub(crate) accounts: Vec<Account>,
    /// Account ids that receive vouchers (`issue`: the suppliers).
    pub(crate) holders: Vec<String>,
    /// The samples.
    pub(crate) recorder: Recorder,
    /// Rejections seen (the first is printed).
    rejections_printed: AtomicU64,
}

/// What a slot sends next.
enum Step {
    /// `issue`: a voucher to this holder.
    Issue { holder: usize },
    /// Split `piece` into `amounts`.
    Split { piece: Piece, amounts: Vec<u64> },
    /// Transfer `piece` to the account `to` (an index into the load accounts); `mixed`: taken
    /// from the account's inbox rather than split off by the lane.
    Transfer {
        piece: Piece,
        to: usize,
        from_inbox: bool,
    },
    /// `reads`: the `turn`-th read of a slot.
    Read { turn: u64 },
}

/// A slot's own state.
#[derive(Default)]
struct Lane {
    /// `mixed`: the voucher it splits.
    main: Option<Piece>,
    /// `mixed`: the piece just split off, to transfer next.
    small: Option<Piece>,
    /// What it sent so far.
    sent: u64,
}

impl Load {
    /// The load over `accounts`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        plan: Plan,
        accounts: Vec<Account>,
        holders: Vec<String>,
    ) -> Self {
        Self {
            shared,
            plan,
            accounts,
            holders,
            recorder: Recorder::default(),
            rejections_printed: AtomicU64::new(0),
        }
    }

    /// Runs every slot of every account to the end and waits for them.
    pub(crate) async fn run(self: &Arc<Self>) -> anyhow::Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for account in 0..self.accounts.len() {
            for slot in 0..self.plan.in_flight {
                let load = self.clone();
                tasks.spawn(async move { load.slot(account, slot).await });
            }
        }
        while let Some(done) = tasks.join_next().await {
            done?;
        }
        Ok(())
    }

    fn next_account(&self, index: usize) -> usize {
        (index + 1) % self.accounts.len()
    }

    /// What `lane` of `account` sends next, if it has something to send now.
    fn choose(&self, account: &Account, slot: usize, lane: &mut Lane) -> Option<Step> {
        let min_split = self.plan.min_split.max(1);
        match self.plan.workload {
            Workload::Issue => {
                // Spread each issuer's issues over every holder.
                let turn = lane.sent as usize * self.plan.in_flight + slot;
                Some(Step::Issue {
                    holder: (account.index + turn) % self.holders.len(),
                })
            }
            Workload::Split => loop {
                let piece = lock(&account.pieces).pop_front()?;
                if splittable(&piece, min_split) {
                    let half = piece.amount / 2;
                    let amounts = vec![half, piece.amount - half];
                    return Some(Step::Split { piece, amounts });
                }
                // Too deep or too small: parked (dropped from the pool).
            },
            Workload::Transfer => {
                let piece = lock(&account.pieces).pop_front()?;
                Some(Step::Transfer {
                    piece,
                    to: self.next_account(account.index),
                    from_inbox: false,
                })
            }
            Workload::Mixed => {
                let to = self.next_account(account.index);
                if let Some(piece) = lane.small.take() {
                    return Some(Step::Transfer {
                        piece,
                        to,
                        from_inbox: false,
                    });
                }
                if let Some(main) = &lane.main {
                    if main.depth < SPLIT_DEPTH_MAX && main.amount >= 2 * min_split {
                        return Some(Step::Split {
                            piece: main.clone(),
                            amounts: vec![min_split, main.amount - min_split],
                        });
                    }
                }
                // The lane's voucher is as deep as the bench splits: pass on what arrived.
                let piece = lock(&account.inbox).pop_front()?;
                Some(Step::Transfer {
                    piece,
                    to,
                    from_inbox: true,
                })
            }
            Workload::Reads => Some(Step::Read { turn: lane.sent }),
        }
    }

    /// Gives an unsent step's voucher back.
    fn put_back(&self, account: &Account, lane: &mut Lane, step: Step) {
        match (self.plan.workload, step) {
            (
                Workload::Mixed,
                Step::Transfer {
                    piece, from_inbox, ..
                },
            ) => {
                if from_inbox {
                    lock(&account.inbox).push_front(piece);
                } else {
                    lane.small = Some(piece);
                }
            }
            (Workload::Mixed, Step::Split { .. }) => {} // the lane still holds it as `main`
            (_, Step::Split { piece, .. } | Step::Transfer { piece, .. }) => {
                lock(&account.pieces).push_front(piece)
            }
            (_, Step::Issue { .. } | Step::Read { .. }) => {}
        }
    }

    fn operation(&self, account: &Account, step: &Step, nonce: u64) -> Operation {
        match step {
            Step::Issue { holder } => issue_operation(
                &self.holders[*holder],
                &self.plan.financier_uscc,
                ISSUE_AMOUNT,
                &self.plan.maturity,
                format!("BENCH-{}-{}-{nonce}", self.plan.run, account.index),
            ),
            Step::Split { piece, amounts } => Operation::SplitVoucher(SplitVoucher {
                voucher_id: piece.id.clone(),
                amounts: amounts.clone(),
            }),
            Step::Transfer { piece, to, .. } => Operation::TransferVoucher(TransferVoucher {
                voucher_id: piece.id.clone(),
                to: self.accounts[*to].name.clone(),
                agreement_hash: Sha256::digest(format!("{} {nonce}", piece.id).as_bytes()).to_vec(),
                consideration: None,
            }),
            Step::Read { .. } => unreachable!("a read is not a transaction"),
        }
    }

    /// One slot of `account`, to the end of the load.
    async fn slot(&self, account_index: usize, slot: usize) {
        let account = &self.accounts[account_index];
        let plan = &self.plan;
        // Every slot of an account starts on the account's endpoint (a lagging node would
        // judge nonces against an older state) and follows resends from there.
        let mut endpoint = account.index % self.shared.clients.len();
        let mut lane = Lane::default();
        if plan.workload == Workload::Mixed {
            lane.main = lock(&account.pieces).pop_front();
        }
        let reading: Vec<Piece> = match plan.workload {
            Workload::Reads => lock(&account.pieces).iter().cloned().collect(),
            _ => Vec::new(),
        };
        loop {
            if Instant::now() >= plan.deadline || account.stopped.load(Ordering::Relaxed) {
                return;
            }
            let due = match &plan.pacer {
                Some(pacer) => {
                    let due = pacer.take();
                    if due >= plan.deadline {
                        return;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    Some(due)
                }
                None => None,
            };
            // Hold the turn until there is something to send.
            let step = loop {
                if Instant::now() >= plan.deadline || account.stopped.load(Ordering::Relaxed) {
                    return;
                }
                match self.choose(account, slot, &mut lane) {
                    Some(step) => break step,
                    None => tokio::time::sleep(PIECE_WAIT).await,
                }
            };
            if self.shared.submitted.fetch_add(1, Ordering::Relaxed) >= plan.max_sends {
                self.put_back(account, &mut lane, step);
                return;
            }
            if let (Some(pacer), Some(due)) = (&plan.pacer, due) {
                pacer.started(due);
            }
            lane.sent += 1;
            let go_on = match step {
                Step::Read { turn } => self.read(account, &reading, turn, &mut endpoint).await,
                step => self.transact(account, &mut lane, step, &mut endpoint).await,
            };
            if !go_on {
                return;
            }
        }
    }

    fn record(&self, sent: Instant, outcome: Outcome) {
        let sent_ms = sent
            .saturating_duration_since(self.plan.started)
            .as_millis() as u64;
        self.recorder.record(Sample {
            sent_ms,
            latency_us: sent.elapsed().as_micros() as u64,
            outcome,
        });
        let counter = match outcome {
            Outcome::Committed => &self.shared.committed,
            Outcome::Rejected => &self.shared.rejected,
            Outcome::Failed => &self.shared.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends `step` as the account's next transaction and applies its answer; whether the slot
    /// goes on.
    async fn transact(
        &self,
        account: &Account,
        lane: &mut Lane,
        step: Step,
        endpoint: &mut usize,
    ) -> bool {
        let Some(nonce) = lock(&account.nonces).take() else {
            // Cannot happen with one slot per place in the window; say so rather than hang.
            eprintln!(
                "account {}: no nonce free with {} slots",
                account.name, self.plan.in_flight
            );
            self.put_back(account, lane, step);
            return false;
        };
        let transaction = transaction::sign(
            &transaction::body(
                &self.shared.chain_id,
                &account.name,
                nonce,
                self.operation(account, &step, nonce),
            ),
            &account.key,
        );
        let sent = Instant::now();
        let hash = tx::tx_hash(&transaction.body);
        let delivered = self
            .shared
            .deliver(endpoint, &transaction, self.plan.hard_stop)
            .await;
        lock(&account.nonces).settle(nonce);
        if matches!(delivered, Delivery::Committed(_) | Delivery::Rejected(_)) {
            if let Err(error) = self.shared.record_acked(&hash) {
                eprintln!("account {}: {error:#}", account.name);
                self.record(sent, Outcome::Failed);
                account.stopped.store(true, Ordering::Relaxed);
                return false;
            }
        }
        match delivered {
            Delivery::Committed(response) => match self.committed(account, lane, step, response) {
                Ok(()) => {
                    self.record(sent, Outcome::Committed);
                    true
                }
                Err(why) => {
                    eprintln!("account {}: {} {why}", account.name, hex::encode(hash));
                    self.record(sent, Outcome::Failed);
                    account.stopped.store(true, Ordering::Relaxed);
                    false
                }
            },
            Delivery::Rejected(status) => {
                // Committed but rejected by a rule: the nonce is spent, the voucher is left
                // alone (it would likely be rejected again).
                if self.rejections_printed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("first rejection: {}", status.message());
                }
                if let (Workload::Mixed, Step::Split { .. }) = (self.plan.workload, &step) {
                    lane.main = None;
                }
                self.record(sent, Outcome::Rejected);
                true
            }
            Delivery::Failed(why) => {
                // Its outcome is unknown, so every later nonce of this account could wait on
                // it: the account stops.
                eprintln!(
                    "account {}: transaction {} (nonce {nonce}) failed: {why}",
                    account.name,
                    hex::encode(hash)
                );
                self.record(sent, Outcome::Failed);
                account.stopped.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    /// Where the vouchers of a committed `step` go.
    fn committed(
        &self,
        account: &Account,
        lane: &mut Lane,
        step: Step,
        response: SubmitTransactionResponse,
    ) -> Result<(), String> {
        match step {
            Step::Issue { .. } | Step::Read { .. } => Ok(()),
            Step::Split { piece, amounts } => {
                let children = split_children(response);
                if children.len() != amounts.len() {
                    return Err(format!(
                        "split committed with {} children, not {}",
                        children.len(),
                        amounts.len()
                    ));
                }
                let mut pieces = children.into_iter().zip(amounts).map(|(id, amount)| Piece {
                    id,
                    amount,
                    depth: piece.depth + 1,
                });
                if self.plan.workload == Workload::Mixed {
                    lane.small = pieces.next();
                    lane.main = pieces.next();
                } else {
                    lock(&account.pieces).extend(pieces);
                }
                Ok(())
            }
            Step::Transfer { piece, to, .. } => {
                let recipient = &self.accounts[to];
                if self.plan.workload == Workload::Mixed {
                    lock(&recipient.inbox).push_back(piece);
                } else {
                    lock(&recipient.pieces).push_back(piece);
                }
                Ok(())
            }
        }
    }

    /// The `turn`-th read of a slot of `account` over the vouchers it holds; whether the slot
    /// goes on (always: a failed read is counted, and the next one tried after a pause).
    async fn read(
        &self,
        account: &Account,
        held: &[Piece],
        turn: u64,
        endpoint: &mut usize,
    ) -> bool {
        let Some(piece) = held.get(turn as usize % held.len().max(1)) else {
            eprintln!("account {}: holds no voucher to read", account.name);
            return false;
        };
        let mut client = self.shared.clients[*endpoint].clone();
        let mut failed = false;
        match turn % 4 {
            0 => {
                let sent = Instant::now();
                let request = self.signed(
                    account,
                    GetVoucherRequest {
                        voucher_id: piece.id.clone(),
                    },
                    "GetVoucher",
                );
                let answer = tokio::time::timeout(READ_TIMEOUT, client.get_voucher(request)).await;
                failed = self.read_answered(sent, answer.map(|a| a.map(|_| ())));
            }
            1 => {
                // One listing, page by page; each page is one request.
                let mut page_token = String::new();
                for _ in 0..LIST_PAGES_MAX {
                    let sent = Instant::now();
                    let request = self.signed(
                        account,
                        ListVouchersRequest {
                            owner: Some(list_vouchers_request::Owner::Holder(account.name.clone())),
                            live_only: true,
                            page_token: page_token.clone(),
                            page_size: LIST_PAGE_SIZE,
                        },
                        "ListVouchers",
                    );
                    let answer =
                        tokio::time::timeout(READ_TIMEOUT, client.list_vouchers(request)).await;
                    let next = match &answer {
                        Ok(Ok(page)) => page.get_ref().next_page_token.clone(),
                        _ => String::new(),
                    };
                    failed |= self.read_answered(sent, answer.map(|a| a.map(|_| ())));
                    if next.is_empty() || failed {
                        break;
                    }
                    // The next page is another request: counted as a send like the first.
                    self.shared.submitted.fetch_add(1, Ordering::Relaxed);
                    page_token = next;
                }
            }
            2 => {
                let sent = Instant::now();
                let request = self.signed(
                    account,
                    TraceVoucherRequest {
                        voucher_id: piece.id.clone(),
                        // The first page (the node's default size): a wallet's usual read.
                        ..Default::default()
                    },
                    "TraceVoucher",
                );
                let answer =
                    tokio::time::timeout(READ_TIMEOUT, client.trace_voucher(request)).await;
                failed = self.read_answered(sent, answer.map(|a| a.map(|_| ())));
            }
            _ => {
                let sent = Instant::now();
                let request = self.signed(
                    account,
                    GetAccountRequest {
                        account_id: account.name.clone(),
                    },
                    "GetAccount",
                );
                let answer = tokio::time::timeout(READ_TIMEOUT, client.get_account(request)).await;
                failed = self.read_answered(sent, answer.map(|a| a.map(|_| ())));
            }
        }
        if failed {
            // Ask the next node next time, after a pause.
            *endpoint = (*endpoint + 1) % self.shared.clients.len();
            tokio::time::sleep(READ_FAILURE_PAUSE).await;
        }
        true
    }

    /// `message` as a read of `method` signed by `account`: suppliers read what they hold.
    fn signed<T: prost::Message>(
        &self,
        account: &Account,
        message: T,
        method: &str,
    ) -> tonic::Request<T> {
        vchain_wallet::read::request_now(
            message,
            &self.shared.chain_id,
            method,
            &account.name,
            &account.key,
        )
    }

    /// Records a read's answer; whether it failed.
    fn read_answered(
        &self,
        sent: Instant,
        answer: Result<Result<(), tonic::Status>, tokio::time::error::Elapsed>,
    ) -> bool {
        match answer {
            Ok(Ok(())) => {
                self.record(sent, Outcome::Committed);
                false
            }
            Ok(Err(status)) => {
                if self.rejections_printed.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "first failed read: {:?}: {}",
                        status.code(),
                        status.message()
                    );
                }
                self.record(sent, Outcome::Failed);
                true
            }
            Err(_) => {
                self.record(sent, Outcome::Failed);
                true
            }
        }
    }
}
