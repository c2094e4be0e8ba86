//! The operations a transaction can carry, and what they share: the transaction context,
//! role checks, loading records with the right "not found" error, and recording events.

pub(crate) mod certificate;
pub(crate) mod consensus;
mod credit;
pub(crate) mod device;
pub(crate) mod governance;
mod identity;
pub(crate) mod pledge;
pub(crate) mod receipt;
mod voucher;

use vchain_proto::v1::{
    transaction_body::Operation, Account, ChainParams, CreditLine, ErrorCode, Event, EventKind,
    Identity, IdentityStatus, Role, Voucher,
};

use crate::certificates::check_signer_certificate;
use crate::context::BlockContext;
use crate::error::{reject, ExecError, Failure};
use crate::keys::{self, EventPosition};
use crate::state::Overlay;
use crate::tx::Hash;

pub(crate) use voucher::{adjust_live_vouchers, release_credit_line};

/// One authenticated transaction being executed.
pub(crate) struct TxContext<'o, 'a> {
    pub(crate) overlay: &'o mut Overlay<'a>,
    pub(crate) context: &'o BlockContext,
    pub(crate) params: &'o ChainParams,
    /// The chain rules version the block executes under (`crate::rules`).
    pub(crate) rules_version: u32,
    /// The block's day in the chain's time zone.
    pub(crate) today: u32,
    /// The signer's account (nonce already spent).
    pub(crate) signer: Account,
    pub(crate) tx_hash: Hash,
    pub(crate) tx_index: u32,
    pub(crate) events: Vec<Event>,
}

/// Runs `operation` for the authenticated signer in `tx`.
pub(crate) fn run(tx: &mut TxContext<'_, '_>, operation: Operation) -> Result<(), Failure> {
    match operation {
        Operation::RegisterIdentity(op) => identity::register_identity(tx, op),
        Operation::RegisterAccount(op) => identity::register_account(tx, op),
        Operation::FreezeAccount(op) => {
            identity::set_account_frozen(tx, &op.account_id, &op.reason, true)
        }
        Operation::UnfreezeAccount(op) => {
            identity::set_account_frozen(tx, &op.account_id, &op.reason, false)
        }
        Operation::CancelAccount(op) => identity::cancel_account(tx, op),
        Operation::RotateAccountKey(op) => certificate::rotate_account_key(tx, op),
        Operation::RevokeCertificate(op) => certificate::revoke_certificate(tx, op),
        Operation::GrantCreditLine(op) => credit::grant(tx, op),
        Operation::RaiseCreditLine(op) => credit::raise(tx, op),
        Operation::LowerCreditLine(op) => credit::lower(tx, op),
        Operation::RevokeCreditLine(op) => credit::revoke(tx, op),
        Operation::IssueVoucher(op) => voucher::issue(tx, op),
        Operation::SplitVoucher(op) => voucher::split(tx, op),
        Operation::TransferVoucher(op) => voucher::transfer(tx, op),
        Operation::RequestRedemption(op) => voucher::request_redemption(tx, op),
        Operation::ConfirmRedemption(op) => voucher::confirm_redemption(tx, op),
        Operation::FreezeVoucher(op) => {
            voucher::set_voucher_frozen(tx, &op.voucher_id, &op.reason, true)
        }
        Operation::UnfreezeVoucher(op) => {
            voucher::set_voucher_frozen(tx, &op.voucher_id, &op.reason, false)
        }
        // Membership changes are consortium decisions: only a passed proposal makes them.
        Operation::AddConsensusNode(op) => reject(
            ErrorCode::ProposalRequired,
            format!(
                "adding consensus node {} needs a proposal (SubmitProposal with add_consensus_node) that the members pass",
                op.node_id
            ),
        ),
        Operation::RemoveConsensusNode(op) => reject(
            ErrorCode::ProposalRequired,
            format!(
                "removing consensus node {} needs a proposal (SubmitProposal with remove_consensus_node) that the members pass",
                op.node_id
            ),
        ),
        Operation::RegisterDevice(op) => device::register(tx, op),
        Operation::RevokeDevice(op) => device::revoke(tx, op),
        Operation::SubmitReading(op) => device::submit(tx, op),
        Operation::IssueWarehouseReceipt(op) => receipt::issue(tx, op),
        Operation::TransferWarehouseReceipt(op) => receipt::transfer(tx, op),
        Operation::ReleaseGoods(op) => receipt::release_goods(tx, op),
        Operation::RegisterPledge(op) => pledge::register(tx, op),
        Operation::AmendPledge(op) => pledge::amend(tx, op),
        Operation::ReleasePledge(op) => pledge::release(tx, op),
        Operation::EnforcePledge(op) => pledge::enforce(tx, op),
        Operation::SubmitProposal(op) => governance::submit(tx, op),
        Operation::VoteOnProposal(op) => governance::vote(tx, op),
    }
}

/// Writes `event` at `position` in the history of `asset_id` (a voucher or a warehouse receipt,
/// `e/{asset_id}/`) and counts it in [`keys::voucher_event_count`]: the one way any code writes
/// such a history, so the count is always the number of events under the prefix (an auditor's
/// proof of completeness). A count at `u64::MAX` is corrupt state rather than a rejection: no
/// history can hold that many events.
pub(crate) fn put_history_event(
    overlay: &mut Overlay<'_>,
    asset_id: &str,
    position: EventPosition,
    event: &Event,
) -> Result<(), ExecError> {
    let count_key = keys::voucher_event_count(asset_id);
    let count = match overlay.get(&count_key)? {
        None => 0,
        Some(bytes) => keys::decode_event_count(&bytes).ok_or_else(|| ExecError::CorruptState {
            key: String::from_utf8_lossy(&count_key).into_owned(),
            what: "event count (u64)",
            why: format!("{} bytes", bytes.len()),
        })?,
    };
    let next = count
        .checked_add(1)
        .ok_or_else(|| ExecError::CorruptState {
            key: String::from_utf8_lossy(&count_key).into_owned(),
            what: "event count below u64::MAX",
            why: "the count would overflow".into(),
        })?;
    let event_key = keys::voucher_event(asset_id, position);
    // Each position is written once: a second write would count one event twice. A position
    // names the executing block's height, and every earlier block's events have lower heights,
    // so only this block can have written it: the check reads the block's own writes, never the
    // store (debug assertions run in release builds too, on every event).
    debug_assert!(
        !overlay.written_in_block(&event_key),
        "event {} written twice",
        String::from_utf8_lossy(&event_key)
    );
    overlay.put_message(event_key, event);
    overlay.put(count_key, next.to_be_bytes().to_vec());
    Ok(())
}

impl TxContext<'_, '_> {
    /// Rejects unless the signer holds one of `roles`.
    pub(crate) fn require_role(&self, roles: &[Role], action: &str) -> Result<(), Failure> {
        if roles.contains(&self.signer.role()) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str_name()).collect();
        reject(
            ErrorCode::WrongRole,
            format!(
                "{action} needs role {}; account {} is {}",
                allowed.join(" or "),
                self.signer.account_id,
                self.signer.role().as_str_name()
            ),
        )
    }

    /// Rejects giving a live asset (a voucher, a warehouse receipt, a pledge) to `account`, the
    /// `party` of the operation ("holder", "recipient", "pledgee"), unless it could act on the
    /// asset at this block: not frozen or cancelled, (for a certified account) its certificate
    /// not revoked and valid at the block time, and its identity active. An asset must never land where
    /// nobody can move, redeem or release it. The code is INVALID_RECIPIENT: the request names
    /// a wrong party; ACCOUNT_FROZEN, ACCOUNT_CANCELLED and CERTIFICATE_REVOKED speak of the
    /// signer (and map to PERMISSION_DENIED and UNAUTHENTICATED).
    pub(crate) fn require_recipient(&self, account: &Account, party: &str) -> Result<(), Failure> {
        let status = match account.status() {
            vchain_proto::v1::AccountStatus::Active => None,
            vchain_proto::v1::AccountStatus::Cancelled => Some("is cancelled".to_owned()),
            _ => Some("is frozen".to_owned()),
        };
        let why = match status {
            Some(why) => why,
            None => match check_signer_certificate(account, self.context.timestamp_ms) {
                Err(rejection) => format!("cannot act: {}", rejection.message),
                Ok(()) => {
                    let identity: Option<Identity> = self
                        .overlay
                        .get_message(&keys::identity(&account.uscc), "Identity")?;
                    if identity.is_some_and(|i| i.status() == IdentityStatus::Active) {
                        return Ok(());
                    }
                    format!("cannot act: its identity {} is not active", account.uscc)
                }
            },
        };
        reject(
            ErrorCode::InvalidRecipient,
            format!("{party} account {} {why}", account.account_id),
        )
    }

    pub(crate) fn load_account(&self, account_id: &str) -> Result<Account, Failure> {
        match self
            .overlay
            .get_message(&keys::account(account_id), "Account")?
        {
            Some(account) => Ok(account),
            None => reject(
                ErrorCode::AccountNotFound,
                format!("account {account_id:?} does not exist"),
            ),
        }
    }

    pub(crate) fn load_identity(&self, uscc: &str) -> Result<Identity, Failure> {
        match self
            .overlay
            .get_message(&keys::identity(uscc), "Identity")?
        {
            Some(identity) => Ok(identity),
            None => reject(
                ErrorCode::IdentityNotFound,
                format!("identity {uscc:?} does not exist"),
            ),
        }
    }

    pub(crate) fn load_voucher(&self, voucher_id: &str) -> Result<Voucher, Failure> {
        match self
            .overlay
            .get_message(&keys::voucher(voucher_id), "Voucher")?
        {
            Some(voucher) => Ok(voucher),
            None => reject(
                ErrorCode::VoucherNotFound,
                format!("voucher {voucher_id:?} does not exist"),
            ),
        }
    }

    pub(crate) fn load_credit_line(
        &self,
        financier: &str,
        core: &str,
    ) -> Result<CreditLine, Failure> {
        match self
            .overlay
            .get_message(&keys::credit_line(financier, core), "CreditLine")?
        {
            Some(line) => Ok(line),
            None => reject(
                ErrorCode::CreditLineNotFound,
                format!("financier {financier} has granted no credit line to {core}"),
            ),
        }
    }

    /// A new event of `kind` stamped with this transaction's block, time, hash and signer.
    pub(crate) fn event(&self, kind: EventKind) -> Event {
        Event {
            kind: kind.into(),
            height: self.context.height,
            tx_hash: self.tx_hash.to_vec(),
            time_ms: self.context.timestamp_ms,
            actor: self.signer.account_id.clone(),
            ..Event::default()
        }
    }

    fn next_position(&self) -> Result<EventPosition, ExecError> {
        let event_index =
            u16::try_from(self.events.len()).map_err(|_| ExecError::CorruptState {
                key: hex::encode(self.tx_hash),
                what: "transaction with fewer than 65536 events",
                why: "event index overflow".into(),
            })?;
        Ok(EventPosition {
            height: self.context.height,
            tx_index: self.tx_index,
            event_index,
        })
    }

    /// Records `event` in the voucher's history and in the transaction's result.
    pub(crate) fn voucher_event(&mut self, event: Event) -> Result<(), Failure> {
        debug_assert!(
            !event.voucher_id.is_empty(),
            "a voucher event names its voucher"
        );
        let position = self.next_position()?;
        put_history_event(self.overlay, &event.voucher_id, position, &event)?;
        self.events.push(event);
        Ok(())
    }

    /// The next chain-assigned id of a family: `letter` and 12 digits from the counter under
    /// `key` (u64 big-endian, starting at 1), which it advances.
    pub(crate) fn next_serial(
        &mut self,
        key: &'static [u8],
        letter: char,
        what: &str,
    ) -> Result<String, Failure> {
        let next = match self.overlay.get(key)? {
            None => 1,
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                ExecError::CorruptState {
                    key: String::from_utf8_lossy(key).into_owned(),
                    what: "u64",
                    why: format!("{} bytes", bytes.len()),
                }
            })?),
        };
        let Some(after) = next.checked_add(1) else {
            return reject(ErrorCode::ArithmeticOverflow, format!("{what} exhausted"));
        };
        self.overlay.put(key.to_vec(), after.to_be_bytes().to_vec());
        Ok(format!("{letter}{next:012}"))
    }

    /// Records `event` in the history of asset `asset_id` (a voucher or a warehouse receipt)
    /// and in the transaction's result.
    pub(crate) fn asset_event(&mut self, asset_id: &str, event: Event) -> Result<(), Failure> {
        let position = self.next_position()?;
        put_history_event(self.overlay, asset_id, position, &event)?;
        self.events.push(event);
        Ok(())
    }

    /// Records `event` in its proposal's history and in the transaction's result, and in the
    /// audit log too if `audit` (what a passed proposal changed).
    pub(crate) fn proposal_event(&mut self, event: Event, audit: bool) -> Result<(), Failure> {
        debug_assert!(
            !event.proposal_id.is_empty(),
            "a proposal event names its proposal"
        );
        let position = self.next_position()?;
        self.overlay
            .put_message(keys::proposal_event(&event.proposal_id, position), &event);
        if audit {
            self.overlay
                .put_message(keys::audit_event(position), &event);
            self.index_audit_entry(&event, position)?;
        }
        self.events.push(event);
        Ok(())
    }

    /// Records a permission change in the audit log and in the transaction's result.
    pub(crate) fn audit_event(&mut self, event: Event) -> Result<(), Failure> {
        let position = self.next_position()?;
        self.overlay
            .put_message(keys::audit_event(position), &event);
        self.index_audit_entry(&event, position)?;
        self.events.push(event);
        Ok(())
    }

    /// Index entries (not state) that let auditors page the audit log by account and by
    /// organisation without scanning all of it. An entry names the accounts it changed and the
    /// one that acted; it concerns the signer's organisation, the organisation it names, and the
    /// organisation of each account it changed (a regulator of one bank freezing an account of
    /// another shows under both).
    fn index_audit_entry(&mut self, event: &Event, position: EventPosition) -> Result<(), Failure> {
        let accounts: std::collections::BTreeSet<&str> = std::iter::once(event.actor.as_str())
            .chain(event.accounts.iter().map(String::as_str))
            .filter(|a| !a.is_empty())
            .collect();
        let mut organisations: std::collections::BTreeSet<String> =
            [&self.signer.org_id, &event.org_id]
                .into_iter()
                .filter(|o| !o.is_empty())
                .cloned()
                .collect();
        for account_id in event.accounts.iter() {
            let account: Option<Account> = self
                .overlay
                .get_message(&keys::account(account_id), "Account")?;
            if let Some(account) = account {
                organisations.insert(account.org_id);
            }
        }
        for account_id in accounts {
            self.overlay
                .index_put(keys::audit_account_index(account_id, position));
        }
        for org_id in &organisations {
            self.overlay
                .index_put(keys::audit_org_index(org_id, position));
        }
        Ok(())
    }
}
