//! Setup, over the chain itself like a real onboarding: the administrator registers the run's
//! supplier identities (and for the `issue` workload its core enterprises) with fresh keys, the
//! financier grants credit lines, the core enterprise `carmaker` issues each supplier a voucher,
//! and each supplier splits it into the pieces its workload needs (`workload.rs`).
//!
//! Owns: what exists on chain before the load starts. Must not depend on: the load's figures
//! (setup transactions are not measured).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ed25519_dalek::SigningKey;
use prost::Message;
use sha2::{Digest, Sha256};
use vchain_contracts::validate::uscc_with_check;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::transaction;

use crate::submit::{next_nonce, submit_wait, Delivery, Shared};
use crate::workload::{equal_parts, fan_out_children, Piece, NONCE_WINDOW};

/// Longest one account's fan-out splits may take, all together.
pub(crate) const FAN_OUT_WAIT: Duration = Duration::from_secs(300);

/// Longest the other endpoints may take to apply the setup once the setup endpoint has.
pub(crate) const SETUP_SPREAD_WAIT: Duration = Duration::from_secs(60);

/// How often a lagging endpoint's height is read again.
const SPREAD_POLL: Duration = Duration::from_millis(50);

/// The signing key of the run's `index`-th supplier (deterministic, so a rerun can sign again).
pub(crate) fn key_for(run: u64, index: usize) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("vchain-bench {run} {index}")).into())
}

/// The signing key of the run's `index`-th issuer (`issue` workload).
pub(crate) fn issuer_key_for(run: u64, index: usize) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("vchain-bench issuer {run} {index}")).into())
}

/// One identity to register.
pub(crate) struct Registration {
    /// Its USCC (18 characters, check digit included).
    pub(crate) uscc: String,
    /// Its one account.
    pub(crate) account: String,
    /// Its name on chain.
    pub(crate) name: String,
    /// Supplier or core enterprise.
    pub(crate) role: Role,
    /// The account's key.
    pub(crate) key: SigningKey,
}

impl Registration {
    /// The run's `index`-th supplier.
    pub(crate) fn supplier(run: u64, index: usize) -> anyhow::Result<Self> {
        Ok(Self {
            uscc: uscc_with_check(&format!("9131{run:06}{index:07}")).context("uscc")?,
            account: format!("load-{run}-{index}"),
            name: format!("Load supplier {index}"),
            role: Role::Supplier,
            key: key_for(run, index),
        })
    }

    /// The run's `index`-th core enterprise (`issue` workload).
    pub(crate) fn issuer(run: u64, index: usize) -> anyhow::Result<Self> {
        Ok(Self {
            // Past any supplier's number (--accounts is far below 5,000,000).
            uscc: uscc_with_check(&format!("9131{run:06}{:07}", 5_000_000 + index))
                .context("uscc")?,
            account: format!("issuer-{run}-{index}"),
            name: format!("Load core enterprise {index}"),
            role: Role::CoreEnterprise,
            key: issuer_key_for(run, index),
        })
    }

    /// The registering operation, certified by `ca` when the chain's bank A has one.
    pub(crate) fn operation(&self, ca: Option<&vchain_pki::RootCa>) -> anyhow::Result<Operation> {
        let public_key = self.key.verifying_key().to_bytes();
        let account_role = match self.role {
            Role::CoreEnterprise => vchain_pki::AccountRole::CoreEnterprise,
            _ => vchain_pki::AccountRole::Supplier,
        };
        let certificate = match ca {
            Some(ca) => ca
                .issue(
                    &vchain_pki::Subject {
                        organisation: ca.organisation().to_owned(),
                        common_name: self.account.clone(),
                        role: vchain_pki::CertRole::Account(account_role),
                    },
                    &public_key,
                    ca.validity(),
                )?
                .into_der(),
            None => Vec::new(),
        };
        Ok(Operation::RegisterIdentity(RegisterIdentity {
            uscc: self.uscc.clone(),
            name: self.name.clone(),
            role: self.role.into(),
            legal_representative: String::new(),
            account_id: self.account.clone(),
            public_key: public_key.to_vec(),
            certificate,
        }))
    }
}

/// An issue of `amount` to `holder` against `financier`'s credit line, backed by a trade
/// document numbered `number` (unique on the chain: its number and hash may back one voucher).
pub(crate) fn issue_operation(
    holder: &str,
    financier: &str,
    amount: u64,
    maturity: &str,
    number: String,
) -> Operation {
    Operation::IssueVoucher(IssueVoucher {
        holder: holder.to_owned(),
        financier: financier.to_owned(),
        amount,
        currency: "CNY".into(),
        maturity_date: maturity.to_owned(),
        trade_document: Some(TradeDocument {
            kind: "invoice".into(),
            hash: Sha256::digest(number.as_bytes()).to_vec(),
            number,
        }),
    })
}

/// The ids of the vouchers a committed split created, in the order of its amounts.
pub(crate) fn split_children(response: SubmitTransactionResponse) -> Vec<String> {
    response
        .result
        .map(|r| {
            r.events
                .into_iter()
                .filter(|e| e.kind() == EventKind::VoucherCreatedBySplit)
                .map(|e| e.voucher_id)
                .collect()
        })
        .unwrap_or_default()
}

/// How setup splits each supplier's voucher.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FanOut {
    /// Pieces wanted.
    pub(crate) target: usize,
    /// The chain's most children a split.
    pub(crate) fanout_max: usize,
    /// The chain's smallest piece.
    pub(crate) min_split: u64,
}

/// Splits `root` (held by `account`, signing with nonces from `nonce`) until the account holds
/// `plan.target` pieces, the shallowest first; returns the pieces and the next nonce.
/// Sequential per account (each split waits for its commit); run for many accounts at once.
pub(crate) async fn fan_out(
    shared: &Shared,
    account: &str,
    key: &SigningKey,
    mut nonce: u64,
    root: Piece,
    plan: FanOut,
) -> anyhow::Result<(VecDeque<Piece>, u64)> {
    let mut pieces = VecDeque::from([root]);
    let hard_stop = Instant::now() + FAN_OUT_WAIT;
    let mut endpoint = shared.setup_endpoint;
    loop {
        let children = fan_out_children(pieces.len(), plan.target, plan.fanout_max);
        if children == 0 {
            return Ok((pieces, nonce));
        }
        let parent = pieces.pop_front().context("no piece to split")?;
        let amounts = equal_parts(parent.amount, children, plan.min_split)
            .with_context(|| format!("{} is too small to split {children} ways", parent.id))?;
        let operation = Operation::SplitVoucher(SplitVoucher {
            voucher_id: parent.id.clone(),
            amounts: amounts.clone(),
        });
        let signed = transaction::sign(
            &transaction::body(&shared.chain_id, account, nonce, operation),
            key,
        );
        nonce += 1;
        match shared.deliver(&mut endpoint, &signed, hard_stop).await {
            Delivery::Committed(response) => {
                let ids = split_children(response);
                if ids.len() != amounts.len() {
                    bail!(
                        "setup split of {} made {} vouchers, not {}",
                        parent.id,
                        ids.len(),
                        amounts.len()
                    );
                }
                pieces.extend(ids.into_iter().zip(amounts).map(|(id, amount)| Piece {
                    id,
                    amount,
                    depth: parent.depth + 1,
                }));
            }
            Delivery::Rejected(status) => bail!("setup split rejected: {}", status.message()),
            Delivery::Failed(why) => bail!("setup split failed: {why}"),
        }
    }
}
/// Waits until every endpoint has applied what the setup endpoint has (its height now), so no
/// load worker sends to a node that does not yet know the worker's account or pieces: a
/// follower applies a committed block a moment after the node that answered the commit, and
/// its admission refuses a signer it has not seen (`UNKNOWN_ACCOUNT`), which is final.
///
/// An endpoint that never answers is left to the load's resending (its workers send
/// elsewhere); one that answers but stays behind for `SETUP_SPREAD_WAIT` is an error naming it.
pub(crate) async fn await_setup_everywhere(shared: &Shared) -> anyhow::Result<()> {
    let mut client = shared.clients[shared.setup_endpoint].clone();
    let target = client
        .get_status(GetStatusRequest {})
        .await
        .context("setup endpoint's status after setup")?
        .into_inner()
        .height;
    let deadline = Instant::now() + SETUP_SPREAD_WAIT;
    for (endpoint, client) in shared.endpoints.iter().zip(&shared.clients) {
        let mut client = client.clone();
        loop {
            let reached = client.get_status(GetStatusRequest {}).await;
            match reached {
                Ok(status) if status.get_ref().height >= target => break,
                _ if Instant::now() < deadline => tokio::time::sleep(SPREAD_POLL).await,
                Ok(status) => bail!(
                    "{endpoint} is at height {} after {} s; the setup ends at {target}",
                    status.get_ref().height,
                    SETUP_SPREAD_WAIT.as_secs()
                ),
                Err(unreachable) => {
                    eprintln!(
                        "setup: {endpoint} did not answer ({}); its workers send elsewhere",
                        unreachable.message()
                    );
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Submits `operations` signed by `signer`, at most a nonce window at a time, and waits until
/// all committed; returns their results in order.
pub(crate) async fn run_batched(
    shared: &Shared,
    signer: &str,
    key: &SigningKey,
    operations: Vec<Operation>,
) -> anyhow::Result<Vec<TxResult>> {
    let mut client = shared.clients[shared.setup_endpoint].clone();
    let mut results = Vec::with_capacity(operations.len());
    let mut operations = operations.into_iter().peekable();
    while operations.peek().is_some() {
        let nonce = next_nonce(shared, &mut client, signer).await?;
        let window: Vec<SignedTransaction> = operations
            .by_ref()
            .take(NONCE_WINDOW)
            .enumerate()
            .map(|(i, op)| {
                transaction::sign(
                    &transaction::body(&shared.chain_id, signer, nonce + i as u64, op),
                    key,
                )
            })
            .collect();
        let last = window.last().cloned().context("empty window")?;
        let count = window.len();
        let outcomes = client
            .submit_transactions(SubmitTransactionsRequest {
                transactions: window[..count - 1].to_vec(),
            })
            .await?
            .into_inner()
            .outcomes;
        if let Some(refused) = outcomes.iter().find(|o| !o.admitted) {
            bail!(
                "setup transaction refused: {:?} {}",
                refused.code(),
                refused.message
            );
        }
        // The last one waits for its commit, and so for all before it.
        let response = submit_wait(&mut client, last, shared.commit_wait)
            .await
            .map_err(|s| anyhow::anyhow!("setup: {}", s.message()))?;
        let height = response.height;
        // Collect every result of the window from the blocks up to that height.
        let mut found = 0;
        let mut h = height;
        let mut window_results = Vec::new();
        while found < count && h > 0 {
            let block = client
                .get_block(shared.read(
                    GetBlockRequest {
                        selector: Some(get_block_request::Selector::Height(h)),
                    },
                    "GetBlock",
                ))
                .await?
                .into_inner()
                .block
                .context("block")?;
            for (transaction, result) in block.transactions.iter().zip(block.results).rev() {
                let body = TransactionBody::decode(transaction.body.as_slice())?;
                if body.signer == signer && body.nonce >= nonce && body.nonce < nonce + count as u64
                {
                    window_results.push((body.nonce, result));
                    found += 1;
                }
            }
            h -= 1;
        }
        window_results.sort_by_key(|(n, _)| *n);
        for (_, result) in window_results {
            if result.code != 0 {
                bail!(
                    "setup transaction rejected: {:?} {}",
                    result.code(),
                    result.message
                );
            }
            shared.record_acked(&result.tx_hash)?;
            results.push(result);
        }
    }
    Ok(results)
}
