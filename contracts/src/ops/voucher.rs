//! The voucher lifecycle (§4.5.2): issue, split, transfer, request and confirm redemption,
//! freeze and unfreeze. Destruction is the chain's own step, in `execute`.
//!
//! Invariants kept here and asserted:
//! - value: a split's children sum exactly to the parent; the credit line's `outstanding` is the
//!   face value of its live vouchers (changed only by issue, redemption and destruction);
//! - the expiry queue holds a voucher exactly while it is active and not frozen;
//! - the holder index names the current holder of every voucher.

use vchain_proto::v1::{
    ConfirmRedemption, CreditLine, CreditLineStatus, ErrorCode, EventKind, IssueVoucher,
    RequestRedemption, Role, SplitVoucher, TransferVoucher, Voucher, VoucherStatus,
};

use crate::error::{reject, ExecError, Failure};
use crate::keys;
use crate::limits::LINEAGE_DEPTH_LIMIT;
use crate::ops::TxContext;
use crate::rules;
use crate::state::Overlay;
use crate::validate::{self, ID_LEN_MAX, TEXT_LEN_MAX};

/// Roles that may hold a voucher.
const HOLDER_ROLES: [Role; 2] = [Role::Supplier, Role::Financier];

/// The day a voucher maturing on `maturity_day` is destroyed if still unredeemed.
fn destruction_day(voucher: &Voucher, grace_days: u32) -> Result<u32, ExecError> {
    voucher
        .maturity_day
        .checked_add(grace_days)
        .ok_or(ExecError::CorruptState {
            key: voucher.id.clone(),
            what: "maturity day plus grace period within u32",
            why: "overflow".into(),
        })
}

fn enqueue_expiry(tx: &mut TxContext<'_, '_>, voucher: &Voucher) -> Result<(), Failure> {
    let day = destruction_day(voucher, tx.params.redemption_grace_days)?;
    tx.overlay.put(keys::expiry(day, &voucher.id), Vec::new());
    Ok(())
}

fn dequeue_expiry(tx: &mut TxContext<'_, '_>, voucher: &Voucher) -> Result<(), Failure> {
    let day = destruction_day(voucher, tx.params.redemption_grace_days)?;
    let key = keys::expiry(day, &voucher.id);
    assert!(
        tx.overlay.get(&key)?.is_some(),
        "voucher {} is live and unfrozen but not in the expiry queue",
        voucher.id
    );
    tx.overlay.delete(key);
    Ok(())
}

/// Loads a voucher the signer holds and may still use: active, not frozen, not pledged.
pub(crate) fn usable_voucher(
    tx: &TxContext<'_, '_>,
    voucher_id: &str,
    action: &str,
) -> Result<Voucher, Failure> {
    let voucher = tx.load_voucher(voucher_id)?;
    if voucher.holder != tx.signer.account_id {
        return reject(
            ErrorCode::NotHolder,
            format!(
                "{action}: account {} does not hold voucher {voucher_id}; {} does",
                tx.signer.account_id, voucher.holder
            ),
        );
    }
    if voucher.status() != VoucherStatus::Active {
        return reject(
            ErrorCode::VoucherNotActive,
            format!(
                "{action}: voucher {voucher_id} is {}",
                voucher.status().as_str_name()
            ),
        );
    }
    if voucher.frozen {
        return reject(
            ErrorCode::VoucherFrozen,
            format!("{action}: voucher {voucher_id} is frozen"),
        );
    }
    if !voucher.pledge.is_empty() {
        return reject(
            ErrorCode::VoucherPledged,
            format!(
                "{action}: voucher {voucher_id} is pledged (registration {}) until its pledgee releases it",
                voucher.pledge
            ),
        );
    }
    Ok(voucher)
}

fn reject_if_matured(
    tx: &TxContext<'_, '_>,
    voucher: &Voucher,
    action: &str,
) -> Result<(), Failure> {
    if tx.today >= voucher.maturity_day {
        return reject(
            ErrorCode::VoucherMatured,
            format!(
                "{action}: voucher {} matured on {} and can no longer move",
                voucher.id, voucher.maturity_date
            ),
        );
    }
    Ok(())
}

/// Moves `voucher`'s face value out of its credit line's outstanding value (redeemed or destroyed).
pub(crate) fn release_credit_line(
    overlay: &mut Overlay<'_>,
    voucher: &Voucher,
) -> Result<(), ExecError> {
    let key = keys::credit_line(&voucher.financier, &voucher.issuer);
    let mut line: CreditLine =
        overlay
            .get_message(&key, "CreditLine")?
            .ok_or_else(|| ExecError::CorruptState {
                key: String::from_utf8_lossy(&key).into_owned(),
                what: "CreditLine backing a live voucher",
                why: format!("missing for voucher {}", voucher.id),
            })?;
    line.outstanding = line
        .outstanding
        .checked_sub(voucher.amount)
        .ok_or_else(|| ExecError::CorruptState {
            key: String::from_utf8_lossy(&key).into_owned(),
            what: "outstanding at least the voucher's amount",
            why: format!(
                "outstanding {} < voucher {} amount {}",
                line.outstanding, voucher.id, voucher.amount
            ),
        })?;
    overlay.put_message(key, &line);
    Ok(())
}

pub(crate) fn issue(tx: &mut TxContext<'_, '_>, op: IssueVoucher) -> Result<(), Failure> {
    tx.require_role(&[Role::CoreEnterprise], "issuing a voucher")?;
    validate::amount("face amount", op.amount)?;
    validate::currency(&op.currency)?;
    let maturity_day = validate::date(&op.maturity_date)?;
    if maturity_day <= tx.today {
        return reject(
            ErrorCode::MaturityNotInFuture,
            format!(
                "maturity {} is not after today {}",
                op.maturity_date,
                validate::format_date(tx.today)
            ),
        );
    }
    let tenor = maturity_day - tx.today;
    if tenor > tx.params.max_tenor_days {
        return reject(
            ErrorCode::TenorTooLong,
            format!(
                "tenor of {tenor} days exceeds the chain's maximum of {}",
                tx.params.max_tenor_days
            ),
        );
    }
    let Some(document) = op.trade_document else {
        return reject(
            ErrorCode::InvalidArgument,
            "a voucher must reference the trade document it is issued against",
        );
    };
    validate::text("trade document kind", &document.kind, true, ID_LEN_MAX)?;
    validate::text("trade document number", &document.number, true, ID_LEN_MAX)?;
    if document.kind.contains('/') {
        return reject(
            ErrorCode::InvalidArgument,
            "trade document kind cannot contain '/'",
        );
    }
    validate::digest("trade document hash", &document.hash)?;
    // Either collision is a duplicate; the refusal names the one that happened (the same
    // content may come back under another number, which does not back the voucher itself).
    let by_number = keys::trade_document(&document.kind, &document.number);
    if let Some(used_by) = tx.overlay.get(&by_number)? {
        return reject(
            ErrorCode::DuplicateTradeDocument,
            format!(
                "{} {} already backs voucher {}",
                document.kind,
                document.number,
                String::from_utf8_lossy(&used_by)
            ),
        );
    }
    if let Some(used_by) = tx.overlay.get(&keys::trade_document_hash(&document.hash))? {
        return reject(
            ErrorCode::DuplicateTradeDocument,
            format!(
                "a trade document with content hash {} already backs voucher {} (under another kind or number than {} {})",
                hex::encode(&document.hash),
                String::from_utf8_lossy(&used_by),
                document.kind,
                document.number
            ),
        );
    }

    let holder = tx.load_account(&op.holder)?;
    if !HOLDER_ROLES.contains(&holder.role()) || holder.uscc == tx.signer.uscc {
        return reject(
            ErrorCode::InvalidRecipient,
            format!(
                "account {} ({}) cannot receive a voucher from its issuer",
                holder.account_id,
                holder.role().as_str_name()
            ),
        );
    }
    // As for a transfer: a frozen, cancelled or revoked account cannot be given a voucher.
    tx.require_recipient(&holder, "holder")?;
    let issuer = tx.signer.uscc.clone();
    let mut line = tx.load_credit_line(&op.financier, &issuer)?;
    if line.status() != CreditLineStatus::Active {
        return reject(
            ErrorCode::CreditLineRevoked,
            format!("the credit line of {} to {issuer} is revoked", op.financier),
        );
    }
    if line.currency != op.currency {
        return reject(
            ErrorCode::CurrencyMismatch,
            format!(
                "the credit line is in {}, the voucher in {}",
                line.currency, op.currency
            ),
        );
    }
    let outstanding = line
        .outstanding
        .checked_add(op.amount)
        .filter(|total| *total <= line.limit);
    line.outstanding = match outstanding {
        Some(total) => total,
        None => {
            return reject(
                ErrorCode::CreditLineExceeded,
                format!(
                    "issuing {} would take outstanding {} above the limit {}",
                    op.amount, line.outstanding, line.limit
                ),
            )
        }
    };

    let id = tx.next_serial(keys::VOUCHER_SEQ, 'V', "voucher serial numbers")?;
    let voucher = Voucher {
        id: id.clone(),
        issuer: issuer.clone(),
        holder: op.holder.clone(),
        financier: op.financier.clone(),
        amount: op.amount,
        currency: op.currency.clone(),
        maturity_date: op.maturity_date,
        maturity_day,
        status: VoucherStatus::Active.into(),
        frozen: false,
        parent_id: String::new(),
        children: Vec::new(),
        root_id: id.clone(),
        trade_document: Some(document.clone()),
        issued_height: tx.context.height,
        issued_time_ms: tx.context.timestamp_ms,
        depth: 0,
        pledge: String::new(),
    };
    tx.overlay.put(
        keys::trade_document(&document.kind, &document.number),
        id.as_bytes().to_vec(),
    );
    tx.overlay.put(
        keys::trade_document_hash(&document.hash),
        id.as_bytes().to_vec(),
    );
    tx.overlay
        .put_message(keys::credit_line(&op.financier, &issuer), &line);
    tx.overlay.put_message(keys::voucher(&id), &voucher);
    tx.overlay
        .index_put(keys::holder_index(&voucher.holder, &id));
    tx.overlay.index_put(keys::issuer_index(&issuer, &id));
    enqueue_expiry(tx, &voucher)?;
    adjust_live_vouchers(tx.overlay, &voucher.holder, 1)?;

    let mut event = tx.event(EventKind::VoucherIssued);
    event.voucher_id = id;
    event.accounts = vec![tx.signer.account_id.clone(), voucher.holder.clone()];
    event.amount = voucher.amount;
    event.currency = voucher.currency.clone();
    event.counterparty = voucher.holder.clone();
    tx.voucher_event(event)
}

/// Changes the count of live vouchers `account_id` holds by `delta` (see `Account.live_vouchers`).
pub(crate) fn adjust_live_vouchers(
    overlay: &mut crate::state::Overlay<'_>,
    account_id: &str,
    delta: i64,
) -> Result<(), ExecError> {
    let key = keys::account(account_id);
    let mut account: vchain_proto::v1::Account =
        overlay
            .get_message(&key, "Account")?
            .ok_or_else(|| ExecError::CorruptState {
                key: format!("a/{account_id}"),
                what: "Account of a voucher holder",
                why: "missing".into(),
            })?;
    let count = i64::from(account.live_vouchers) + delta;
    // Every voucher that ends was counted when it began, so the count never goes below zero;
    // a u32 of vouchers is far beyond any account's holdings (each needs a transaction).
    assert!(
        count >= 0,
        "live voucher count of {account_id} would go negative"
    );
    account.live_vouchers = u32::try_from(count).map_err(|_| ExecError::CorruptState {
        key: format!("a/{account_id}"),
        what: "live voucher count within u32",
        why: format!("{count}"),
    })?;
    overlay.put_message(key, &account);
    Ok(())
}

pub(crate) fn split(tx: &mut TxContext<'_, '_>, op: SplitVoucher) -> Result<(), Failure> {
    let mut parent = usable_voucher(tx, &op.voucher_id, "split")?;
    reject_if_matured(tx, &parent, "split")?;
    let fanout = op.amounts.len();
    if fanout < 2 || fanout > tx.params.split_fanout_max as usize {
        return reject(
            ErrorCode::SplitFanout,
            format!(
                "a split makes 2 to {} children, not {fanout}",
                tx.params.split_fanout_max
            ),
        );
    }
    // The deepest lineage depends on the chain rules version: a constant under version 1, the
    // `lineage_depth_max` parameter from version 2.
    let depth_max = rules::lineage_depth_max(tx.rules_version, tx.params);
    if parent.depth >= depth_max {
        return reject(
            ErrorCode::LineageTooDeep,
            format!(
                "voucher {} is already {} splits deep, the deepest lineage allowed ({depth_max}{})",
                parent.id,
                parent.depth,
                if tx.rules_version < rules::RULES_VERSION_LINEAGE_DEPTH_PARAM {
                    format!(
                        " under chain rules v{}; from v{} the parameter lineage_depth_max sets it",
                        tx.rules_version,
                        rules::RULES_VERSION_LINEAGE_DEPTH_PARAM
                    )
                } else if tx.params.lineage_depth_max == 0 {
                    format!(
                        ", the default of chain rules v{}; the chain parameter lineage_depth_max \
                         sets it",
                        tx.rules_version
                    )
                } else {
                    ", the chain parameter lineage_depth_max".to_owned()
                }
            ),
        );
    }
    debug_assert!(depth_max <= LINEAGE_DEPTH_LIMIT);
    let mut total: u64 = 0;
    for &amount in &op.amounts {
        if amount < tx.params.min_split_amount.max(1) {
            return reject(
                ErrorCode::SplitBelowMinimum,
                format!(
                    "child amount {amount} is below the minimum split amount {}",
                    tx.params.min_split_amount
                ),
            );
        }
        total = match total.checked_add(amount) {
            Some(total) => total,
            None => return reject(ErrorCode::ArithmeticOverflow, "child amounts overflow"),
        };
    }
    if total != parent.amount {
        return reject(
            ErrorCode::SplitSumMismatch,
            format!(
                "children sum to {total}, voucher {} is {}",
                parent.id, parent.amount
            ),
        );
    }

    dequeue_expiry(tx, &parent)?;
    let mut children = Vec::with_capacity(fanout);
    for &amount in &op.amounts {
        let id = tx.next_serial(keys::VOUCHER_SEQ, 'V', "voucher serial numbers")?;
        let child = Voucher {
            id: id.clone(),
            amount,
            status: VoucherStatus::Active.into(),
            parent_id: parent.id.clone(),
            children: Vec::new(),
            depth: parent.depth + 1,
            ..parent.clone()
        };
        tx.overlay.put_message(keys::voucher(&id), &child);
        tx.overlay.index_put(keys::holder_index(&child.holder, &id));
        tx.overlay.index_put(keys::issuer_index(&child.issuer, &id));
        enqueue_expiry(tx, &child)?;
        children.push(child);
    }
    // Value conservation, asserted on what was built rather than on the request.
    assert_eq!(
        children.iter().map(|c| c.amount).sum::<u64>(),
        parent.amount,
        "split of {} does not conserve value",
        parent.id
    );
    parent.set_status(VoucherStatus::Split);
    parent.children = children.iter().map(|c| c.id.clone()).collect();
    tx.overlay.put_message(keys::voucher(&parent.id), &parent);
    // The parent ends and its children, all the splitter's, begin.
    let gained = i64::try_from(children.len()).unwrap_or(i64::MAX) - 1;
    adjust_live_vouchers(tx.overlay, &parent.holder, gained)?;

    let mut event = tx.event(EventKind::VoucherSplit);
    event.voucher_id = parent.id.clone();
    event.accounts = vec![parent.holder.clone()];
    event.amount = parent.amount;
    event.currency = parent.currency.clone();
    event.related_vouchers = parent.children.clone();
    event.amounts = op.amounts.clone();
    tx.voucher_event(event)?;
    for child in &children {
        let mut event = tx.event(EventKind::VoucherCreatedBySplit);
        event.voucher_id = child.id.clone();
        event.accounts = vec![child.holder.clone()];
        event.amount = child.amount;
        event.currency = child.currency.clone();
        event.related_vouchers = vec![parent.id.clone()];
        tx.voucher_event(event)?;
    }
    Ok(())
}

pub(crate) fn transfer(tx: &mut TxContext<'_, '_>, op: TransferVoucher) -> Result<(), Failure> {
    let mut voucher = usable_voucher(tx, &op.voucher_id, "transfer")?;
    reject_if_matured(tx, &voucher, "transfer")?;
    validate::digest("agreement hash", &op.agreement_hash)?;
    if op.to == voucher.holder {
        return reject(
            ErrorCode::InvalidRecipient,
            format!("account {} already holds voucher {}", op.to, voucher.id),
        );
    }
    let recipient = tx.load_account(&op.to)?;
    if !HOLDER_ROLES.contains(&recipient.role()) || recipient.uscc == voucher.issuer {
        return reject(
            ErrorCode::InvalidRecipient,
            format!(
                "account {} ({}) cannot hold voucher {}",
                recipient.account_id,
                recipient.role().as_str_name(),
                voucher.id
            ),
        );
    }
    tx.require_recipient(&recipient, "recipient")?;
    let consideration = match &op.consideration {
        None => 0,
        Some(consideration) => {
            validate::amount("consideration", consideration.amount)?;
            if consideration.currency != voucher.currency {
                return reject(
                    ErrorCode::CurrencyMismatch,
                    format!(
                        "consideration in {} for a voucher in {}",
                        consideration.currency, voucher.currency
                    ),
                );
            }
            if consideration.amount > voucher.amount {
                return reject(
                    ErrorCode::InvalidAmount,
                    format!(
                        "consideration {} exceeds the face amount {}",
                        consideration.amount, voucher.amount
                    ),
                );
            }
            consideration.amount
        }
    };
    let previous = std::mem::replace(&mut voucher.holder, op.to.clone());
    tx.overlay.put_message(keys::voucher(&voucher.id), &voucher);
    tx.overlay
        .index_delete(keys::holder_index(&previous, &voucher.id));
    tx.overlay
        .index_put(keys::holder_index(&op.to, &voucher.id));
    adjust_live_vouchers(tx.overlay, &previous, -1)?;
    adjust_live_vouchers(tx.overlay, &op.to, 1)?;

    let financing = recipient.role() == Role::Financier && consideration > 0;
    let mut event = tx.event(if financing {
        EventKind::VoucherFinanced
    } else {
        EventKind::VoucherTransferred
    });
    event.voucher_id = voucher.id.clone();
    event.accounts = vec![previous.clone(), op.to.clone()];
    event.previous_holder = previous;
    event.amount = voucher.amount;
    event.currency = voucher.currency.clone();
    event.counterparty = op.to;
    event.consideration = consideration;
    event.digest = op.agreement_hash;
    tx.voucher_event(event)
}

pub(crate) fn request_redemption(
    tx: &mut TxContext<'_, '_>,
    op: RequestRedemption,
) -> Result<(), Failure> {
    let mut voucher = usable_voucher(tx, &op.voucher_id, "redemption request")?;
    if tx.today < voucher.maturity_day {
        return reject(
            ErrorCode::VoucherNotMatured,
            format!(
                "voucher {} matures on {}",
                voucher.id, voucher.maturity_date
            ),
        );
    }
    // The grace period is the window for claiming payment. Once it is over the voucher is due
    // for destruction, even if the per-block cap has not reached it yet.
    let destroy_day = destruction_day(&voucher, tx.params.redemption_grace_days)?;
    if tx.today >= destroy_day {
        return reject(
            ErrorCode::GracePeriodEnded,
            format!(
                "voucher {} matured on {} and its {}-day redemption period ended on {}",
                voucher.id,
                voucher.maturity_date,
                tx.params.redemption_grace_days,
                validate::format_date(destroy_day)
            ),
        );
    }
    dequeue_expiry(tx, &voucher)?;
    voucher.set_status(VoucherStatus::RedemptionRequested);
    tx.overlay.put_message(keys::voucher(&voucher.id), &voucher);
    let issuer_accounts = tx.load_identity(&voucher.issuer)?.accounts;
    let mut event = tx.event(EventKind::RedemptionRequested);
    event.voucher_id = voucher.id.clone();
    event.accounts = std::iter::once(voucher.holder.clone())
        .chain(issuer_accounts)
        .collect();
    event.amount = voucher.amount;
    event.currency = voucher.currency.clone();
    event.counterparty = voucher.issuer.clone();
    tx.voucher_event(event)
}

pub(crate) fn confirm_redemption(
    tx: &mut TxContext<'_, '_>,
    op: ConfirmRedemption,
) -> Result<(), Failure> {
    tx.require_role(&[Role::CoreEnterprise], "confirming a redemption")?;
    validate::text(
        "payment reference",
        &op.payment_reference,
        true,
        TEXT_LEN_MAX,
    )?;
    let mut voucher = tx.load_voucher(&op.voucher_id)?;
    if voucher.issuer != tx.signer.uscc {
        return reject(
            ErrorCode::NotIssuer,
            format!(
                "voucher {} was issued by {}, not {}",
                voucher.id, voucher.issuer, tx.signer.uscc
            ),
        );
    }
    if voucher.status() != VoucherStatus::RedemptionRequested {
        return reject(
            ErrorCode::RedemptionNotRequested,
            format!(
                "voucher {} is {}; its holder has not requested redemption",
                voucher.id,
                voucher.status().as_str_name()
            ),
        );
    }
    if voucher.frozen {
        return reject(
            ErrorCode::VoucherFrozen,
            format!("voucher {} is frozen", voucher.id),
        );
    }
    voucher.set_status(VoucherStatus::Redeemed);
    release_credit_line(tx.overlay, &voucher)?;
    tx.overlay.put_message(keys::voucher(&voucher.id), &voucher);
    adjust_live_vouchers(tx.overlay, &voucher.holder, -1)?;
    let mut event = tx.event(EventKind::VoucherRedeemed);
    event.voucher_id = voucher.id.clone();
    event.accounts = vec![voucher.holder.clone(), tx.signer.account_id.clone()];
    event.amount = voucher.amount;
    event.currency = voucher.currency.clone();
    event.counterparty = voucher.holder.clone();
    event.detail = op.payment_reference;
    tx.voucher_event(event)
}

pub(crate) fn set_voucher_frozen(
    tx: &mut TxContext<'_, '_>,
    voucher_id: &str,
    reason: &str,
    frozen: bool,
) -> Result<(), Failure> {
    let action = if frozen {
        "freezing a voucher"
    } else {
        "unfreezing a voucher"
    };
    tx.require_role(&[Role::Administrator, Role::Regulator], action)?;
    validate::text("reason", reason, true, TEXT_LEN_MAX)?;
    let mut voucher = tx.load_voucher(voucher_id)?;
    let live = matches!(
        voucher.status(),
        VoucherStatus::Active | VoucherStatus::RedemptionRequested
    );
    if !live {
        return reject(
            ErrorCode::VoucherNotActive,
            format!("voucher {voucher_id} is {}", voucher.status().as_str_name()),
        );
    }
    match (frozen, voucher.frozen) {
        (true, true) => {
            return reject(
                ErrorCode::VoucherFrozen,
                format!("voucher {voucher_id} is already frozen"),
            )
        }
        (false, false) => {
            return reject(
                ErrorCode::VoucherNotFrozen,
                format!("voucher {voucher_id} is not frozen"),
            )
        }
        _ => {}
    }
    // A frozen voucher leaves the expiry queue (a court's freeze must not be erased by the
    // clock) and rejoins it when unfrozen; if its day has passed it is destroyed next block.
    if voucher.status() == VoucherStatus::Active {
        if frozen {
            dequeue_expiry(tx, &voucher)?;
        } else {
            enqueue_expiry(tx, &voucher)?;
        }
    }
    voucher.frozen = frozen;
    tx.overlay.put_message(keys::voucher(voucher_id), &voucher);
    let mut event = tx.event(if frozen {
        EventKind::VoucherFrozen
    } else {
        EventKind::VoucherUnfrozen
    });
    event.voucher_id = voucher.id.clone();
    event.accounts = vec![voucher.holder.clone()];
    event.amount = voucher.amount;
    event.currency = voucher.currency.clone();
    event.detail = reason.to_owned();
    tx.voucher_event(event)
}
