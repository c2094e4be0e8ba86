//! Block execution: a pure function of (committed state, block context, transactions).
//!
//! Order of work for a block, the same on every node:
//! 1. read the chain id and parameters from state, and the rules version the block executes
//!    under ([`crate::rules::block_rules`]; refused if this build does not implement it);
//! 2. the chain's own step: activate a rules upgrade due at this height (first, so the whole
//!    block runs under the new version), destroy vouchers whose grace period ended before this
//!    block's day, lapse pledge registrations whose period ended, then expire open proposals
//!    whose deadline has come;
//! 3. verify every signature (one batch, falling back to one by one if the batch fails; the
//!    verdicts are those of [`crate::signature::verify`] alone, see there);
//! 4. run the transactions in order; each authenticates (account, key, signature, nonce), spends
//!    its nonce, then runs its operation in a buffer that a rejection throws away.
//!
//! Nothing here reads a clock, randomness or a hash map: time is the block timestamp.

use prost::Message;
use tracing::{debug, trace_span};
use vchain_ledger::{StateReader, WriteSet};
use vchain_proto::v1::{
    Account, AccountStatus, ChainParams, ErrorCode, Event, EventKind, Identity, IdentityStatus,
    Organisation, Role, SignedTransaction, TransactionBody, TxResult, Voucher, VoucherStatus,
};

use crate::certificates;
use crate::error::{ExecError, Failure, Rejection};
use crate::keys::{self, EventPosition};
use crate::ops::{self, TxContext};
use crate::rules;
use crate::signature;
use crate::state::{read_message, Overlay};
use crate::tx::{tx_hash, Hash};
use crate::validate;
use crate::verified::{Verdicts, VerifiedSignatures};

// Defined in its own module so the operations take it without depending on this one; other
// crates name it here.
pub use crate::context::BlockContext;

/// How far ahead of an account's next nonce the mempool accepts transactions.
pub const NONCE_WINDOW: u64 = 64;

/// Everything executing a block produced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BlockOutcome {
    /// One result per transaction, in block order, as the block carries them: code and events,
    /// no human message.
    pub results: Vec<TxResult>,
    /// Why each rejected transaction was rejected, in words, as this node's build renders it
    /// (empty for accepted ones); parallel to `results`. Never hashed or put in a block: the
    /// node hands it to clients and keeps it in its index (`keys::rejection_message`).
    pub messages: Vec<String>,
    /// What the chain did by itself (destructions), before the transactions.
    pub system_events: Vec<Event>,
    /// State writes, to be applied atomically with the block.
    pub state_writes: WriteSet,
    /// Secondary-index writes (not part of the state root).
    pub index_writes: WriteSet,
}

impl BlockOutcome {
    /// Every event of the block in chain order: the chain's own first, then each transaction's.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.system_events
            .iter()
            .chain(self.results.iter().flat_map(|r| r.events.iter()))
    }
}

/// Reads the chain id and parameters genesis stored.
pub fn chain_config(state: &dyn StateReader) -> Result<(String, ChainParams), ExecError> {
    let chain_id = state
        .get(keys::CHAIN_ID)?
        .ok_or(ExecError::MissingGenesis("chain id"))?;
    let chain_id = String::from_utf8(chain_id).map_err(|error| ExecError::CorruptState {
        key: "p/chain_id".into(),
        what: "UTF-8 chain id",
        why: error.to_string(),
    })?;
    let params = read_message::<ChainParams>(state, keys::PARAMS, "ChainParams")?
        .ok_or(ExecError::MissingGenesis("chain parameters"))?;
    Ok((chain_id, params))
}

/// Executes `transactions` as block `context` on top of `state`.
///
/// Rejected transactions are recorded in the outcome with their error and leave no writes except
/// their spent nonce. An `Err` means storage failed; the block must not be committed.
pub fn execute_block(
    state: &dyn StateReader,
    context: &BlockContext,
    transactions: &[SignedTransaction],
) -> Result<BlockOutcome, ExecError> {
    execute_block_verified(state, context, transactions, &VerifiedSignatures::none())
}

/// [`execute_block`], verifying only the signatures `verified` does not already hold as valid
/// (a node's admission filled it). The outcome is exactly [`execute_block`]'s: a verdict is a
/// pure function of the bytes it is kept under ([`crate::verified`]).
pub fn execute_block_verified(
    state: &dyn StateReader,
    context: &BlockContext,
    transactions: &[SignedTransaction],
    verified: &VerifiedSignatures,
) -> Result<BlockOutcome, ExecError> {
    let span = trace_span!(
        "execute_block",
        height = context.height,
        txs = transactions.len()
    );
    let _entered = span.enter();
    let (chain_id, params) = chain_config(state)?;
    let rules = rules::block_rules(state, context.height)?;
    if rules.version > rules::RULES_VERSION_MAX {
        return Err(ExecError::RulesUnsupported {
            implemented: rules::RULES_VERSION_MAX,
            version: rules.version,
            height: context.height,
        });
    }
    let today = validate::local_day(context.timestamp_ms, params.utc_offset_minutes);
    let mut overlay = Overlay::new(state);

    let mut system_events: Vec<Event> = rules::activate_due(&mut overlay, context, &rules, 0)?
        .into_iter()
        .collect();
    let destroyed = destroy_expired(&mut overlay, context, &params, today, system_events.len())?;
    system_events.extend(destroyed);
    let lapsed = ops::pledge::lapse_pledges(&mut overlay, context, today, system_events.len())?;
    system_events.extend(lapsed);
    let expired =
        ops::governance::expire_proposals(&mut overlay, context, &params, system_events.len())?;
    system_events.extend(expired);
    let signatures_valid = verify_signatures_with(transactions, verified).valid;

    let mut results = Vec::with_capacity(transactions.len());
    let mut messages = Vec::with_capacity(transactions.len());
    for (index, (transaction, signature_valid)) in
        transactions.iter().zip(signatures_valid).enumerate()
    {
        let tx_index = u32::try_from(index)
            .map_err(|_| ExecError::MissingGenesis("a block small enough to index"))?;
        let hash = tx_hash(&transaction.body);
        let result = match run_transaction(
            &mut overlay,
            context,
            &chain_id,
            &params,
            rules.version,
            today,
            transaction,
            signature_valid,
            tx_index,
            hash,
        ) {
            Ok(events) => {
                overlay.commit_tx();
                messages.push(String::new());
                TxResult {
                    tx_hash: hash.to_vec(),
                    code: ErrorCode::Ok.into(),
                    message: String::new(),
                    events,
                }
            }
            Err(Failure::Rejected(rejection)) => {
                overlay.rollback_tx();
                debug!(tx = %hex::encode(hash), code = rejection.code.as_str_name(), message = %rejection.message, "transaction rejected");
                // The words go to the index only: derived, per node, never hashed.
                overlay.index_put_value(
                    keys::rejection_message(&hash),
                    rejection.message.clone().into_bytes(),
                );
                overlay.commit_tx();
                messages.push(rejection.message);
                TxResult {
                    tx_hash: hash.to_vec(),
                    code: rejection.code.into(),
                    message: String::new(),
                    events: Vec::new(),
                }
            }
            Err(Failure::Fatal(error)) => return Err(error),
        };
        results.push(result);
    }
    let (state_writes, index_writes) = overlay.into_writes();
    Ok(BlockOutcome {
        results,
        messages,
        system_events,
        state_writes,
        index_writes,
    })
}

/// True if the chain's own step (destruction, pledge lapse, proposal expiry: the first work of
/// [`execute_block`]) has anything to do in a block at chain time `timestamp_ms`. The producer
/// cuts a block for it even when no transaction waits, so time-driven changes happen on a quiet
/// chain too. Reads the head of each queue only; kept next to the step so the two cannot
/// disagree about what is due.
pub fn chain_step_due(state: &dyn StateReader, timestamp_ms: u64) -> Result<bool, ExecError> {
    let (_, params) = chain_config(state)?;
    let today = validate::local_day(timestamp_ms, params.utc_offset_minutes);
    let first = |prefix: &[u8]| -> Result<Option<Vec<u8>>, ExecError> {
        Ok(state
            .scan_prefix(prefix, None, 1)?
            .into_iter()
            .next()
            .map(|(key, _)| key))
    };
    let destruction = first(keys::EXPIRY_PREFIX)?
        .and_then(|key| keys::parse_expiry(&key))
        .is_some_and(|(day, _)| day <= today);
    let lapse = first(keys::PLEDGE_LAPSE_PREFIX)?
        .and_then(|key| keys::parse_pledge_lapse(&key))
        .is_some_and(|(day, _)| day <= today);
    let expiry = first(keys::PROPOSAL_DEADLINE_PREFIX)?
        .and_then(|key| keys::parse_proposal_deadline(&key))
        .is_some_and(|(deadline_ms, _)| deadline_ms <= timestamp_ms);
    Ok(destruction || lapse || expiry)
}

/// Verifies every transaction's signature over its body under the chain's one rule
/// ([`crate::signature`]: ZIP-215, small-order keys refused), in one batch. Each verdict is the
/// one [`crate::signature::verify`] gives that transaction alone, so admission ([`check_tx`],
/// [`check_txs`]), execution and replay agree whatever a transaction's neighbours.
pub fn verify_signatures(transactions: &[SignedTransaction]) -> Vec<bool> {
    verify_signatures_with(transactions, &VerifiedSignatures::none()).valid
}

/// [`verify_signatures`], taking valid verdicts `verified` holds and remembering new ones there.
pub fn verify_signatures_with(
    transactions: &[SignedTransaction],
    verified: &VerifiedSignatures,
) -> Verdicts {
    verified.verify_all(&signed_messages(transactions.iter()))
}

/// What a transaction's signature covers: its body, by its key.
fn signed_messages<'a>(
    transactions: impl Iterator<Item = &'a SignedTransaction>,
) -> Vec<signature::SignedMessage<'a>> {
    transactions
        .map(|tx| signature::SignedMessage {
            public_key: &tx.public_key,
            message: &tx.body,
            signature: &tx.signature,
        })
        .collect()
}

/// Authenticates one transaction, spends its nonce and runs its operation.
#[allow(clippy::too_many_arguments)]
fn run_transaction(
    overlay: &mut Overlay<'_>,
    context: &BlockContext,
    chain_id: &str,
    params: &ChainParams,
    rules_version: u32,
    today: u32,
    transaction: &SignedTransaction,
    signature_valid: bool,
    tx_index: u32,
    hash: Hash,
) -> Result<Vec<Event>, Failure> {
    let (body, mut signer) = authenticate(overlay, chain_id, params, transaction, signature_valid)?;
    // A revoked or expired certificate authenticates nothing: checked before the nonce is
    // spent, like a wrong key, so the transaction changes nothing at all.
    certificates::check_signer_certificate(&signer, context.timestamp_ms)?;
    // Spend the nonce in its own committed step, so that a rejected operation still uses it up
    // and the same signed bytes can never run later.
    signer.next_nonce = signer
        .next_nonce
        .checked_add(1)
        .ok_or_else(|| Rejection::new(ErrorCode::ArithmeticOverflow, "nonce space exhausted"))?;
    overlay.put_message(keys::account(&signer.account_id), &signer);
    overlay.commit_tx();

    inactive_account(&signer)?;
    let identity: Identity = overlay
        .get_message(&keys::identity(&signer.uscc), "Identity")?
        .ok_or_else(|| {
            Rejection::new(
                ErrorCode::IdentityInactive,
                format!(
                    "identity {} of account {} does not exist",
                    signer.uscc, signer.account_id
                ),
            )
        })?;
    if identity.status() != IdentityStatus::Active {
        return Err(Rejection::new(
            ErrorCode::IdentityInactive,
            format!("identity {} is not active", identity.uscc),
        )
        .into());
    }
    require_member_organisation(&signer, |key| overlay.get(key))?;
    let operation = body
        .operation
        .ok_or_else(|| Rejection::new(ErrorCode::Malformed, "transaction has no operation"))?;
    let mut tx = TxContext {
        overlay,
        context,
        params,
        rules_version,
        today,
        signer,
        tx_hash: hash,
        tx_index,
        events: Vec::new(),
    };
    ops::run(&mut tx, operation)?;
    Ok(tx.events)
}

/// Rejects a frozen or cancelled signer.
fn inactive_account(account: &Account) -> Result<(), Rejection> {
    match account.status() {
        AccountStatus::Active => Ok(()),
        AccountStatus::Cancelled => Err(Rejection::new(
            ErrorCode::AccountCancelled,
            format!("account {} was cancelled", account.account_id),
        )),
        _ => Err(Rejection::new(
            ErrorCode::AccountFrozen,
            format!("account {} is frozen", account.account_id),
        )),
    }
}

/// Rejects an administrator whose organisation is no longer a consortium member: a proposal
/// removed it, so nobody acts for it any more. Other roles are unaffected: the enterprises a
/// removed bank registered keep their accounts and vouchers. `get` reads state as the caller
/// sees it.
fn require_member_organisation(
    signer: &Account,
    get: impl Fn(&[u8]) -> Result<Option<Vec<u8>>, ExecError>,
) -> Result<(), Failure> {
    if signer.role() != Role::Administrator {
        return Ok(());
    }
    let key = keys::organisation(&signer.org_id);
    let organisation = match get(&key)? {
        Some(bytes) => Some(crate::state::decode::<Organisation>(
            &key,
            &bytes,
            "Organisation",
        )?),
        None => None,
    };
    if organisation.is_some_and(|o| !o.removed) {
        return Ok(());
    }
    Err(Rejection::new(
        ErrorCode::IdentityInactive,
        format!(
            "administrator {} acts for organisation {}, which is not a consortium member",
            signer.account_id, signer.org_id
        ),
    )
    .into())
}

/// Checks size, encoding, chain, account, key, signature and nonce; returns the decoded body and
/// the signer's account.
fn authenticate(
    overlay: &Overlay<'_>,
    chain_id: &str,
    params: &ChainParams,
    transaction: &SignedTransaction,
    signature_valid: bool,
) -> Result<(TransactionBody, Account), Failure> {
    let (body, account) = identify(overlay, chain_id, params, transaction)?;
    if !signature_valid {
        return Err(Rejection::new(
            ErrorCode::BadSignature,
            "signature does not verify over the transaction body",
        )
        .into());
    }
    if body.nonce != account.next_nonce {
        return Err(Rejection::new(
            ErrorCode::BadNonce,
            format!(
                "nonce {} is not account {}'s next nonce {}",
                body.nonce, account.account_id, account.next_nonce
            ),
        )
        .into());
    }
    Ok((body, account))
}

/// The checks of [`authenticate`] that need no signature verification: size, encoding, chain,
/// the signer account exists and the key is its bound key. Admission runs them before it
/// verifies anything, so transactions from unknown signers cost a state read, not an ed25519
/// verification.
fn identify(
    overlay: &Overlay<'_>,
    chain_id: &str,
    params: &ChainParams,
    transaction: &SignedTransaction,
) -> Result<(TransactionBody, Account), Failure> {
    let size = transaction.encoded_len();
    if size > params.tx_bytes_max as usize {
        return Err(Rejection::new(
            ErrorCode::TooLarge,
            format!(
                "transaction is {size} bytes, more than the {} allowed",
                params.tx_bytes_max
            ),
        )
        .into());
    }
    if transaction.body.is_empty() {
        // Empty bytes decode as a body of defaults (chain id "" among them): refused for its
        // form, before any field is judged.
        return Err(Rejection::new(ErrorCode::Malformed, "transaction body is empty").into());
    }
    let body = TransactionBody::decode(transaction.body.as_slice()).map_err(|error| {
        Rejection::new(
            ErrorCode::Malformed,
            format!("transaction body does not decode: {error}"),
        )
    })?;
    if body.chain_id != chain_id {
        return Err(Rejection::new(
            ErrorCode::WrongChain,
            format!(
                "transaction is for chain {:?}, this is {chain_id:?}",
                body.chain_id
            ),
        )
        .into());
    }
    let account: Account = overlay
        .get_message(&keys::account(&body.signer), "Account")?
        .ok_or_else(|| {
            Rejection::new(
                ErrorCode::UnknownAccount,
                format!("signer account {:?} does not exist", body.signer),
            )
        })?;
    if account.public_key != transaction.public_key {
        return Err(Rejection::new(
            ErrorCode::KeyMismatch,
            format!(
                "public key {} is not the key bound to account {}",
                hex::encode(&transaction.public_key),
                account.account_id
            ),
        )
        .into());
    }
    Ok((body, account))
}

/// The chain's own step at the start of a block: every voucher whose destruction day has come
/// (maturity plus the grace period, unredeemed and not frozen) is destroyed and releases its
/// credit line. At most `destroy_per_block_max` per block; the rest follow in the next blocks.
fn destroy_expired(
    overlay: &mut Overlay<'_>,
    context: &BlockContext,
    params: &ChainParams,
    today: u32,
    first_event_index: usize,
) -> Result<Vec<Event>, ExecError> {
    // Through the overlay: a rules activation may have written (other keys) before this.
    let due = overlay.scan_prefix(keys::EXPIRY_PREFIX, params.destroy_per_block_max as usize)?;
    let mut events = Vec::new();
    for (key, _) in due {
        let corrupt = |why: &str| ExecError::CorruptState {
            key: String::from_utf8_lossy(&key).into_owned(),
            what: "expiry entry",
            why: why.to_owned(),
        };
        let (day, voucher_id) = keys::parse_expiry(&key).ok_or_else(|| corrupt("malformed key"))?;
        if day > today {
            break;
        }
        let mut voucher: Voucher = overlay
            .get_message(&keys::voucher(&voucher_id), "Voucher")?
            .ok_or_else(|| corrupt("voucher missing"))?;
        // The queue holds exactly the live, unfrozen, unclaimed vouchers.
        assert!(
            voucher.status() == VoucherStatus::Active && !voucher.frozen,
            "expiry queue holds voucher {voucher_id} in a state that cannot expire"
        );
        voucher.set_status(VoucherStatus::Destroyed);
        ops::release_credit_line(overlay, &voucher)?;
        overlay.delete(key.clone());
        overlay.put_message(keys::voucher(&voucher_id), &voucher);
        ops::adjust_live_vouchers(overlay, &voucher.holder, -1)?;
        let event = Event {
            kind: EventKind::VoucherDestroyed.into(),
            height: context.height,
            time_ms: context.timestamp_ms,
            voucher_id: voucher_id.clone(),
            accounts: vec![voucher.holder.clone()],
            amount: voucher.amount,
            currency: voucher.currency.clone(),
            ..Event::default()
        };
        let position = EventPosition {
            height: context.height,
            tx_index: u32::MAX,
            event_index: u16::try_from(first_event_index + events.len())
                .map_err(|_| corrupt("too many destructions"))?,
        };
        ops::put_history_event(overlay, &voucher_id, position, &event)?;
        events.push(event);
    }
    overlay.commit_tx();
    Ok(events)
}

/// Why a transaction was refused admission.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// It would be rejected (or can never execute).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Reading state failed.
    #[error(transparent)]
    Fatal(#[from] ExecError),
}

/// A transaction that passed admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTx {
    /// Its hash.
    pub hash: Hash,
    /// Signer account id.
    pub signer: String,
    /// Its nonce.
    pub nonce: u64,
}

/// Admission check for the mempool, against committed state: everything [`execute_block`] checks
/// before the operation, except that the nonce may run ahead by up to [`NONCE_WINDOW`]. Advisory:
/// a transaction that passes can still be rejected when its block executes.
///
/// A signature found valid is remembered in `verified`, so the block that carries the
/// transaction need not verify it again ([`execute_block_verified`]).
pub fn check_tx(
    state: &dyn StateReader,
    transaction: &SignedTransaction,
    verified: &VerifiedSignatures,
) -> Result<CheckedTx, CheckError> {
    let (chain_id, params) = chain_config(state)?;
    refuse_unidentified(state, &chain_id, &params, transaction)?;
    let signature_valid =
        verify_signatures_with(std::slice::from_ref(transaction), verified).valid[0];
    check_one(state, &chain_id, &params, transaction, signature_valid)
}

/// Most transactions [`check_txs`] takes at once.
pub const CHECK_BATCH_MAX: usize = 4_096;

/// What [`check_txs`] found.
#[derive(Debug)]
pub struct BatchCheck {
    /// One result per transaction, in order.
    pub results: Vec<Result<CheckedTx, CheckError>>,
    /// Signatures verified: only those of transactions whose signer exists with that key, and
    /// not already known valid.
    pub signatures_verified: usize,
}

/// [`check_tx`] for many transactions, verifying their signatures in one ed25519 batch (about
/// twice as fast per signature as one by one). One result per transaction, in order; at most
/// [`CHECK_BATCH_MAX`] (the rest are refused as too large a batch). Transactions that fail a
/// check needing no signature (size, encoding, chain, unknown signer, a key that is not the
/// account's) are refused before any signature is verified, so a flood from unknown signers
/// costs state reads only.
///
/// Valid signatures are remembered in `verified`, as by [`check_tx`].
pub fn check_txs(
    state: &dyn StateReader,
    transactions: &[SignedTransaction],
    verified: &VerifiedSignatures,
) -> Result<BatchCheck, ExecError> {
    let (chain_id, params) = chain_config(state)?;
    let checked = transactions.len().min(CHECK_BATCH_MAX);
    let mut early = Vec::with_capacity(checked);
    for transaction in &transactions[..checked] {
        early.push(
            match refuse_unidentified(state, &chain_id, &params, transaction) {
                Ok(()) => None,
                Err(CheckError::Fatal(error)) => return Err(error),
                Err(refused) => Some(refused),
            },
        );
    }
    let identified = signed_messages(
        transactions[..checked]
            .iter()
            .zip(&early)
            .filter(|(_, refused)| refused.is_none())
            .map(|(transaction, _)| transaction),
    );
    let verdicts = verified.verify_all(&identified);
    let signatures_verified = verdicts.verified;
    let mut signatures_valid = verdicts.valid.into_iter();
    let mut results = Vec::with_capacity(transactions.len());
    for (transaction, refused) in transactions[..checked].iter().zip(early) {
        results.push(match refused {
            Some(refused) => Err(refused),
            None => check_one(
                state,
                &chain_id,
                &params,
                transaction,
                signatures_valid.next().unwrap_or(false),
            ),
        });
    }
    for _ in checked..transactions.len() {
        results.push(Err(Rejection::new(
            ErrorCode::TooLarge,
            format!("a batch holds at most {CHECK_BATCH_MAX} transactions"),
        )
        .into()));
    }
    Ok(BatchCheck {
        results,
        signatures_verified,
    })
}

/// Refuses, without verifying a signature, a transaction [`identify`] refuses.
fn refuse_unidentified(
    state: &dyn StateReader,
    chain_id: &str,
    params: &ChainParams,
    transaction: &SignedTransaction,
) -> Result<(), CheckError> {
    match identify(&Overlay::new(state), chain_id, params, transaction) {
        Ok(_) => Ok(()),
        Err(Failure::Rejected(rejection)) => Err(rejection.into()),
        Err(Failure::Fatal(error)) => Err(error.into()),
    }
}

fn check_one(
    state: &dyn StateReader,
    chain_id: &str,
    params: &ChainParams,
    transaction: &SignedTransaction,
    signature_valid: bool,
) -> Result<CheckedTx, CheckError> {
    let overlay = Overlay::new(state);
    let (body, account) = match authenticate(
        &overlay,
        chain_id,
        params,
        transaction,
        signature_valid,
    ) {
        Ok(found) => found,
        Err(Failure::Rejected(rejection)) if rejection.code == ErrorCode::BadNonce => {
            let body = TransactionBody::decode(transaction.body.as_slice())
                .map_err(|e| Rejection::new(ErrorCode::Malformed, e.to_string()))?;
            let next = read_message::<Account>(state, &keys::account(&body.signer), "Account")?
                .map_or(0, |a| a.next_nonce);
            if body.nonce < next {
                return Err(Rejection::new(
                    ErrorCode::BadNonce,
                    format!(
                        "nonce {} was already used; account {}'s next nonce is {next}",
                        body.nonce, body.signer
                    ),
                )
                .into());
            }
            if body.nonce >= next.saturating_add(NONCE_WINDOW) {
                return Err(Rejection::new(ErrorCode::BadNonce, format!("nonce {} is more than {NONCE_WINDOW} ahead of account {}'s next nonce {next}", body.nonce, body.signer)).into());
            }
            let account = read_message::<Account>(state, &keys::account(&body.signer), "Account")?
                .ok_or_else(|| Rejection::new(ErrorCode::UnknownAccount, "signer vanished"))?;
            (body, account)
        }
        Err(Failure::Rejected(rejection)) => return Err(rejection.into()),
        Err(Failure::Fatal(error)) => return Err(error.into()),
    };
    if body.operation.is_none() {
        return Err(Rejection::new(ErrorCode::Malformed, "transaction has no operation").into());
    }
    // Admission has no block time: it refuses revoked certificates; validity periods are checked
    // against the block time when the transaction executes.
    if account.certificate_revoked {
        return Err(Rejection::new(
            ErrorCode::CertificateRevoked,
            format!(
                "the certificate (serial {}) of account {} is revoked",
                hex::encode(&account.certificate_serial),
                account.account_id
            ),
        )
        .into());
    }
    inactive_account(&account)?;
    let identity = read_message::<Identity>(state, &keys::identity(&account.uscc), "Identity")?;
    if identity.map(|i| i.status()) != Some(IdentityStatus::Active) {
        return Err(Rejection::new(
            ErrorCode::IdentityInactive,
            format!(
                "identity {} of account {} is not active",
                account.uscc, account.account_id
            ),
        )
        .into());
    }
    match require_member_organisation(&account, |key| Ok(state.get(key)?)) {
        Ok(()) => {}
        Err(Failure::Rejected(rejection)) => return Err(rejection.into()),
        Err(Failure::Fatal(error)) => return Err(error.into()),
    }
    Ok(CheckedTx {
        hash: tx_hash(&transaction.body),
        signer: body.signer,
        nonce: body.nonce,
    })
}
