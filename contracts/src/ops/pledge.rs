//! Pledge registration (质押登记) of vouchers, modelled on the central bank's receivables pledge
//! registry.
//!
//! Rules:
//! - The holder registers a pledge of a usable voucher (active, not frozen, not matured, not
//!   already pledged) to a financier, for a secured amount in the voucher's currency and a period
//!   ending no later than the voucher's maturity. The chain assigns the registration number; the
//!   registration stores only the hash of the modification code.
//! - One asset, one active pledge (`pa/{kind}/{id}`); the pledged voucher is locked
//!   (`Voucher.pledge`): no split, transfer or redemption request while it is set.
//! - Only the pledgee releases (unlocks), enforces (the voucher passes to it), or amends the
//!   period or amount, the last with the modification code as the pledgor's consent.
//! - A registration lapses at the start of the day after its period (the chain's own step,
//!   [`lapse_pledges`], at most [`PLEDGE_LAPSES_PER_BLOCK_MAX`] per block).
//! - Every step is an event in the voucher's history, so it is in the voucher's trace.

use sha2::{Digest, Sha256};
use vchain_ledger::StateReader;
use vchain_proto::v1::{
    AccountStatus, AmendPledge, EnforcePledge, ErrorCode, Event, EventKind, Pledge, PledgeStatus,
    RegisterPledge, ReleasePledge, Role, Voucher, VoucherStatus,
};

use crate::error::{reject, ExecError, Failure, Rejection};
use crate::execute::BlockContext;
use crate::keys::{self, EventPosition};
use crate::ops::voucher::{adjust_live_vouchers, usable_voucher};
use crate::ops::TxContext;
use crate::state::{read_message, Overlay};
use crate::validate::{self, TEXT_LEN_MAX};

/// `asset_kind` of a pledged voucher.
pub const ASSET_VOUCHER: &str = "voucher";
/// Most registrations that lapse in one block; the rest follow in the next blocks.
pub const PLEDGE_LAPSES_PER_BLOCK_MAX: usize = 256;

/// The registration `registration_number`, from committed state.
pub fn pledge(
    state: &dyn StateReader,
    registration_number: &str,
) -> Result<Option<Pledge>, ExecError> {
    read_message(state, &keys::pledge(registration_number), "Pledge")
}

/// The active pledge of an asset, if any: the public notice anyone may read.
pub fn active_pledge(
    state: &dyn StateReader,
    asset_kind: &str,
    asset_id: &str,
) -> Result<Option<Pledge>, ExecError> {
    let Some(number) = state.get(&keys::asset_pledge(asset_kind, asset_id))? else {
        return Ok(None);
    };
    let number = String::from_utf8(number).map_err(|e| ExecError::CorruptState {
        key: format!("pa/{asset_kind}/{asset_id}"),
        what: "registration number",
        why: e.to_string(),
    })?;
    pledge(state, &number)
}

fn next_registration_number(tx: &mut TxContext<'_, '_>) -> Result<String, Failure> {
    let next = match tx.overlay.get(keys::PLEDGE_SEQ)? {
        None => 1,
        Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
            ExecError::CorruptState {
                key: "m/pledge_seq".into(),
                what: "u64",
                why: format!("{} bytes", bytes.len()),
            }
        })?),
    };
    let after = next.checked_add(1).ok_or_else(|| {
        Rejection::new(
            ErrorCode::ArithmeticOverflow,
            "registration numbers exhausted",
        )
    })?;
    tx.overlay
        .put(keys::PLEDGE_SEQ.to_vec(), after.to_be_bytes().to_vec());
    Ok(format!("R{next:012}"))
}

/// The period's last day: a valid date from today to the voucher's maturity.
fn period_end(tx: &TxContext<'_, '_>, date: &str, voucher: &Voucher) -> Result<u32, Failure> {
    let day = validate::date(date)?;
    if day < tx.today || day > voucher.maturity_day {
        return reject(
            ErrorCode::InvalidDate,
            format!(
                "the pledge period must end between today {} and the voucher's maturity {}, not on {date}",
                validate::format_date(tx.today),
                voucher.maturity_date
            ),
        );
    }
    Ok(day)
}

fn pledge_event(
    tx: &TxContext<'_, '_>,
    kind: EventKind,
    pledge: &Pledge,
    voucher: &Voucher,
) -> Event {
    let mut event = tx.event(kind);
    event.voucher_id = voucher.id.clone();
    event.pledge = pledge.registration_number.clone();
    event.accounts = vec![pledge.pledgor.clone(), pledge.pledgee.clone()];
    event.counterparty = pledge.pledgee.clone();
    event.amount = pledge.secured_amount;
    event.currency = pledge.currency.clone();
    event
}

/// `RegisterPledge`: the holder pledges a voucher to a financier.
pub(crate) fn register(tx: &mut TxContext<'_, '_>, op: RegisterPledge) -> Result<(), Failure> {
    let mut voucher = usable_voucher(tx, &op.voucher_id, "pledge")?;
    if tx.today >= voucher.maturity_day {
        return reject(
            ErrorCode::VoucherMatured,
            format!(
                "pledge: voucher {} matured on {}",
                voucher.id, voucher.maturity_date
            ),
        );
    }
    // usable_voucher refuses a pledged voucher; the asset key must agree.
    assert!(
        tx.overlay
            .get(&keys::asset_pledge(ASSET_VOUCHER, &voucher.id))?
            .is_none(),
        "voucher {} has an active pledge key but no pledge lock",
        voucher.id
    );
    let pledgee = tx.load_account(&op.pledgee)?;
    if pledgee.role() != Role::Financier || pledgee.uscc == tx.signer.uscc {
        return reject(
            ErrorCode::InvalidRecipient,
            format!(
                "account {} ({}) cannot take a pledge from {}: the pledgee is a financier",
                pledgee.account_id,
                pledgee.role().as_str_name(),
                tx.signer.account_id
            ),
        );
    }
    if pledgee.status() != AccountStatus::Active {
        return reject(
            ErrorCode::InvalidRecipient,
            format!("pledgee account {} is not active", pledgee.account_id),
        );
    }
    validate::amount("secured amount", op.secured_amount)?;
    if op.currency != voucher.currency {
        return reject(
            ErrorCode::CurrencyMismatch,
            format!(
                "the secured amount is in {}, the voucher in {}",
                op.currency, voucher.currency
            ),
        );
    }
    let end_day = period_end(tx, &op.period_end_date, &voucher)?;
    validate::text(
        "collateral description",
        &op.collateral_description,
        true,
        TEXT_LEN_MAX,
    )?;
    validate::digest("modification code hash", &op.modification_code_hash)?;

    let number = next_registration_number(tx)?;
    let pledge = Pledge {
        registration_number: number.clone(),
        asset_kind: ASSET_VOUCHER.to_owned(),
        asset_id: voucher.id.clone(),
        pledgor: tx.signer.account_id.clone(),
        pledgee: op.pledgee,
        secured_amount: op.secured_amount,
        currency: op.currency,
        collateral_description: op.collateral_description,
        period_end_date: validate::format_date(end_day),
        period_end_day: end_day,
        modification_code_hash: op.modification_code_hash,
        status: PledgeStatus::Active.into(),
        registered_height: tx.context.height,
        registered_ms: tx.context.timestamp_ms,
        ended_height: 0,
        ended_reason: String::new(),
    };
    voucher.pledge = number.clone();
    tx.overlay.put_message(keys::voucher(&voucher.id), &voucher);
    tx.overlay.put(
        keys::asset_pledge(ASSET_VOUCHER, &voucher.id),
        number.as_bytes().to_vec(),
    );
    tx.overlay
        .put(keys::pledge_lapse(lapse_day(end_day)?, &number), Vec::new());
    tx.overlay.put_message(keys::pledge(&number), &pledge);
    let mut event = pledge_event(tx, EventKind::PledgeRegistered, &pledge, &voucher);
    event.detail = format!(
        "registration {number} to {} securing {} {} until {}: {}",
        pledge.pledgee,
        pledge.secured_amount,
        pledge.currency,
        pledge.period_end_date,
        pledge.collateral_description
    );
    tx.voucher_event(event)
}

/// The day a registration whose period ends on `end_day` lapses: the next one.
fn lapse_day(end_day: u32) -> Result<u32, Rejection> {
    end_day
        .checked_add(1)
        .ok_or_else(|| Rejection::new(ErrorCode::ArithmeticOverflow, "pledge period overflows"))
}

/// The active registration `number` and its voucher, for an action only its pledgee may take.
fn pledgee_action(
    tx: &TxContext<'_, '_>,
    number: &str,
    action: &str,
) -> Result<(Pledge, Voucher), Failure> {
    let pledge: Option<Pledge> = tx.overlay.get_message(&keys::pledge(number), "Pledge")?;
    let Some(pledge) = pledge else {
        return reject(
            ErrorCode::PledgeNotFound,
            format!("no pledge is registered as {number:?}"),
        );
    };
    if pledge.pledgee != tx.signer.account_id {
        return reject(
            ErrorCode::NotPledgee,
            format!(
                "{action}: registration {number} is {}'s to act on, not {}'s",
                pledge.pledgee, tx.signer.account_id
            ),
        );
    }
    if pledge.status() != PledgeStatus::Active {
        return reject(
            ErrorCode::PledgeNotActive,
            format!(
                "{action}: registration {number} already ended at height {}: {}",
                pledge.ended_height,
                pledge.status().as_str_name()
            ),
        );
    }
    let voucher = tx.load_voucher(&pledge.asset_id)?;
    assert_eq!(voucher.pledge, number, "an active pledge locks its voucher");
    Ok((pledge, voucher))
}

/// Ends an active registration: unlocks its voucher and takes it off the queues.
fn end(
    overlay: &mut Overlay<'_>,
    pledge: &mut Pledge,
    voucher: &mut Voucher,
    status: PledgeStatus,
    height: u64,
    reason: &str,
) -> Result<(), Failure> {
    debug_assert_eq!(pledge.status(), PledgeStatus::Active);
    overlay.delete(keys::asset_pledge(&pledge.asset_kind, &pledge.asset_id));
    overlay.delete(keys::pledge_lapse(
        lapse_day(pledge.period_end_day)?,
        &pledge.registration_number,
    ));
    pledge.set_status(status);
    pledge.ended_height = height;
    pledge.ended_reason = reason.to_owned();
    voucher.pledge.clear();
    overlay.put_message(keys::pledge(&pledge.registration_number), &*pledge);
    overlay.put_message(keys::voucher(&voucher.id), &*voucher);
    Ok(())
}

/// `ReleasePledge`: the pledgee releases the voucher (the loan is repaid).
pub(crate) fn release(tx: &mut TxContext<'_, '_>, op: ReleasePledge) -> Result<(), Failure> {
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let (mut pledge, mut voucher) =
        pledgee_action(tx, &op.registration_number, "releasing a pledge")?;
    end(
        tx.overlay,
        &mut pledge,
        &mut voucher,
        PledgeStatus::Released,
        tx.context.height,
        &op.reason,
    )?;
    let mut event = pledge_event(tx, EventKind::PledgeReleased, &pledge, &voucher);
    event.detail = format!("registration {}: {}", pledge.registration_number, op.reason);
    tx.voucher_event(event)
}

/// `EnforcePledge`: on default, the voucher passes to the pledgee.
pub(crate) fn enforce(tx: &mut TxContext<'_, '_>, op: EnforcePledge) -> Result<(), Failure> {
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let (mut pledge, mut voucher) =
        pledgee_action(tx, &op.registration_number, "enforcing a pledge")?;
    if voucher.status() != VoucherStatus::Active {
        return reject(
            ErrorCode::VoucherNotActive,
            format!(
                "enforcing a pledge: voucher {} is {}",
                voucher.id,
                voucher.status().as_str_name()
            ),
        );
    }
    if voucher.frozen {
        return reject(
            ErrorCode::VoucherFrozen,
            format!("enforcing a pledge: voucher {} is frozen", voucher.id),
        );
    }
    let previous = std::mem::replace(&mut voucher.holder, pledge.pledgee.clone());
    end(
        tx.overlay,
        &mut pledge,
        &mut voucher,
        PledgeStatus::Enforced,
        tx.context.height,
        &op.reason,
    )?;
    tx.overlay
        .index_delete(keys::holder_index(&previous, &voucher.id));
    tx.overlay
        .index_put(keys::holder_index(&voucher.holder, &voucher.id));
    adjust_live_vouchers(tx.overlay, &previous, -1)?;
    adjust_live_vouchers(tx.overlay, &voucher.holder, 1)?;
    let mut event = pledge_event(tx, EventKind::PledgeEnforced, &pledge, &voucher);
    event.detail = format!(
        "registration {}: voucher passes from {previous} to {}: {}",
        pledge.registration_number, voucher.holder, op.reason
    );
    tx.voucher_event(event)
}

/// `AmendPledge`: the pledgee, with the pledgor's modification code, changes the period or the
/// secured amount.
pub(crate) fn amend(tx: &mut TxContext<'_, '_>, op: AmendPledge) -> Result<(), Failure> {
    let (mut pledge, voucher) = pledgee_action(tx, &op.registration_number, "amending a pledge")?;
    let hash = Sha256::digest(&op.modification_code);
    if hash.as_slice() != pledge.modification_code_hash.as_slice() {
        return reject(
            ErrorCode::BadModificationCode,
            format!(
                "the modification code does not match registration {}",
                pledge.registration_number
            ),
        );
    }
    if op.period_end_date.is_empty() && op.secured_amount == 0 {
        return reject(
            ErrorCode::InvalidArgument,
            "an amendment changes the period end, the secured amount, or both",
        );
    }
    let mut changes = Vec::new();
    if !op.period_end_date.is_empty() {
        let end_day = period_end(tx, &op.period_end_date, &voucher)?;
        tx.overlay.delete(keys::pledge_lapse(
            lapse_day(pledge.period_end_day)?,
            &pledge.registration_number,
        ));
        tx.overlay.put(
            keys::pledge_lapse(lapse_day(end_day)?, &pledge.registration_number),
            Vec::new(),
        );
        changes.push(format!(
            "period end {} -> {}",
            pledge.period_end_date,
            validate::format_date(end_day)
        ));
        pledge.period_end_day = end_day;
        pledge.period_end_date = validate::format_date(end_day);
    }
    if op.secured_amount != 0 {
        changes.push(format!(
            "secured amount {} -> {}",
            pledge.secured_amount, op.secured_amount
        ));
        pledge.secured_amount = op.secured_amount;
    }
    tx.overlay
        .put_message(keys::pledge(&pledge.registration_number), &pledge);
    let mut event = pledge_event(tx, EventKind::PledgeAmended, &pledge, &voucher);
    event.detail = format!(
        "registration {}: {}",
        pledge.registration_number,
        changes.join(", ")
    );
    tx.voucher_event(event)
}

/// The chain's own step at the start of a block: registrations whose period ended before
/// `today` lapse and unlock their vouchers, at most [`PLEDGE_LAPSES_PER_BLOCK_MAX`] per block.
/// `first_event_index` continues the numbering of the block's system events.
pub(crate) fn lapse_pledges(
    overlay: &mut Overlay<'_>,
    context: &BlockContext,
    today: u32,
    first_event_index: usize,
) -> Result<Vec<Event>, ExecError> {
    let due = overlay.scan_prefix(keys::PLEDGE_LAPSE_PREFIX, PLEDGE_LAPSES_PER_BLOCK_MAX)?;
    let mut events = Vec::new();
    for (key, _) in due {
        let corrupt = |why: &str| ExecError::CorruptState {
            key: String::from_utf8_lossy(&key).into_owned(),
            what: "pledge lapse entry",
            why: why.to_owned(),
        };
        let (day, number) =
            keys::parse_pledge_lapse(&key).ok_or_else(|| corrupt("malformed key"))?;
        if day > today {
            break;
        }
        let mut pledge: Pledge = overlay
            .get_message(&keys::pledge(&number), "Pledge")?
            .ok_or_else(|| corrupt("registration missing"))?;
        let mut voucher: Voucher = overlay
            .get_message(&keys::voucher(&pledge.asset_id), "Voucher")?
            .ok_or_else(|| corrupt("voucher missing"))?;
        // The queue holds exactly the active registrations.
        assert!(
            pledge.status() == PledgeStatus::Active && voucher.pledge == number,
            "lapse queue holds registration {number} that is not an active lock"
        );
        let reason = format!("the period ended on {}", pledge.period_end_date);
        match end(
            overlay,
            &mut pledge,
            &mut voucher,
            PledgeStatus::Lapsed,
            context.height,
            &reason,
        ) {
            Ok(()) => {}
            Err(Failure::Fatal(error)) => return Err(error),
            Err(Failure::Rejected(rejection)) => {
                return Err(corrupt(&rejection.message));
            }
        }
        let event = Event {
            kind: EventKind::PledgeLapsed.into(),
            height: context.height,
            time_ms: context.timestamp_ms,
            voucher_id: voucher.id.clone(),
            pledge: number.clone(),
            accounts: vec![pledge.pledgor.clone(), pledge.pledgee.clone()],
            counterparty: pledge.pledgee.clone(),
            amount: pledge.secured_amount,
            currency: pledge.currency.clone(),
            detail: format!("registration {number} lapsed: {reason}"),
            ..Event::default()
        };
        let index = first_event_index + events.len();
        let position = EventPosition {
            height: context.height,
            tx_index: u32::MAX,
            event_index: u16::try_from(index).map_err(|_| corrupt("too many system events"))?,
        };
        overlay.put_message(keys::voucher_event(&voucher.id, position), &event);
        events.push(event);
    }
    overlay.commit_tx();
    Ok(events)
}
