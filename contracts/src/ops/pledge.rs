//! Pledge registration (质押登记) of vouchers and warehouse receipts, modelled on the central
//! bank's receivables pledge registry.
//!
//! Rules:
//! - The holder registers a pledge of a usable asset (a voucher: active, not frozen, not matured,
//!   not pledged; a warehouse receipt: active, not pledged) to a financier, for a secured amount
//!   in the asset's currency and a period ending no later than the voucher's maturity (a
//!   receipt's: within the chain's maximum tenor). The chain assigns the registration number;
//!   the registration stores only the hash of the modification code.
//! - One asset, one active pledge (`pa/{kind}/{id}`); the pledged asset is locked (its `pledge`
//!   field): a voucher cannot be split, transferred or redeemed, a receipt cannot be transferred.
//!   A receipt's pledge is static (no goods leave) or dynamic (goods leave while the value left
//!   stays at or above the floor, see `receipt::release_goods`).
//! - Only the pledgee releases (unlocks), enforces (the asset passes to it), or amends the
//!   period, amount or floor, the last with the modification code as the pledgor's consent.
//! - A registration lapses at the start of the day after its period (the chain's own step,
//!   [`lapse_pledges`], at most [`PLEDGE_LAPSES_PER_BLOCK_MAX`] per block).
//! - Every step is an event in the asset's history, so it is in the asset's trace.

use sha2::{Digest, Sha256};
use vchain_ledger::StateReader;
use vchain_proto::v1::{
    AmendPledge, EnforcePledge, ErrorCode, Event, EventKind, Pledge, PledgeMode, PledgeStatus,
    RegisterPledge, ReleasePledge, Role, Voucher, VoucherStatus, WarehouseReceipt,
    WarehouseReceiptStatus,
};

use crate::context::BlockContext;
use crate::error::{reject, ExecError, Failure, Rejection};
use crate::keys::{self, EventPosition};
use crate::limits::PLEDGE_LAPSES_PER_BLOCK_MAX;
use crate::ops::receipt::{usable_receipt, value_of};
use crate::ops::voucher::{adjust_live_vouchers, usable_voucher};
use crate::ops::TxContext;
use crate::state::{read_message, Overlay};
use crate::validate::{self, TEXT_LEN_MAX};

/// `asset_kind` of a pledged voucher.
pub const ASSET_VOUCHER: &str = "voucher";
/// `asset_kind` of a pledged warehouse receipt.
pub const ASSET_RECEIPT: &str = "receipt";

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

/// A pledged asset.
enum Asset {
    Voucher(Voucher),
    Receipt(WarehouseReceipt),
}

impl Asset {
    fn kind(&self) -> &'static str {
        match self {
            Asset::Voucher(_) => ASSET_VOUCHER,
            Asset::Receipt(_) => ASSET_RECEIPT,
        }
    }

    fn id(&self) -> &str {
        match self {
            Asset::Voucher(v) => &v.id,
            Asset::Receipt(r) => &r.id,
        }
    }

    fn lock(&self) -> &str {
        match self {
            Asset::Voucher(v) => &v.pledge,
            Asset::Receipt(r) => &r.pledge,
        }
    }

    fn set_lock(&mut self, number: &str) {
        match self {
            Asset::Voucher(v) => v.pledge = number.to_owned(),
            Asset::Receipt(r) => r.pledge = number.to_owned(),
        }
    }

    fn holder(&self) -> &str {
        match self {
            Asset::Voucher(v) => &v.holder,
            Asset::Receipt(r) => &r.holder,
        }
    }

    fn store(&self, overlay: &mut Overlay<'_>) {
        match self {
            Asset::Voucher(v) => overlay.put_message(keys::voucher(&v.id), v),
            Asset::Receipt(r) => overlay.put_message(keys::receipt(&r.id), r),
        }
    }

    /// Names the asset in `event`: its voucher or receipt field.
    fn stamp(&self, event: &mut Event) {
        match self {
            Asset::Voucher(v) => event.voucher_id = v.id.clone(),
            Asset::Receipt(r) => event.receipt_id = r.id.clone(),
        }
    }

    fn load(overlay: &Overlay<'_>, kind: &str, id: &str) -> Result<Option<Asset>, ExecError> {
        Ok(match kind {
            ASSET_VOUCHER => overlay
                .get_message::<Voucher>(&keys::voucher(id), "Voucher")?
                .map(Asset::Voucher),
            ASSET_RECEIPT => overlay
                .get_message::<WarehouseReceipt>(&keys::receipt(id), "WarehouseReceipt")?
                .map(Asset::Receipt),
            other => {
                return Err(ExecError::CorruptState {
                    key: format!("pledged asset {other}/{id}"),
                    what: "asset kind voucher or receipt",
                    why: format!("{other:?}"),
                })
            }
        })
    }
}

/// The period's last day: a valid date from today to the voucher's maturity (for a receipt,
/// within the chain's maximum tenor).
fn period_end(tx: &TxContext<'_, '_>, date: &str, asset: &Asset) -> Result<u32, Failure> {
    let day = validate::date(date)?;
    let (last, what) = match asset {
        Asset::Voucher(v) => (
            v.maturity_day,
            format!("the voucher's maturity {}", v.maturity_date),
        ),
        Asset::Receipt(_) => {
            let last = tx.today.saturating_add(tx.params.max_tenor_days);
            (
                last,
                format!("the maximum tenor, {}", validate::format_date(last)),
            )
        }
    };
    if day < tx.today || day > last {
        return reject(
            ErrorCode::InvalidDate,
            format!(
                "the pledge period must end between today {} and {what}, not on {date}",
                validate::format_date(tx.today)
            ),
        );
    }
    Ok(day)
}

fn pledge_event(tx: &TxContext<'_, '_>, kind: EventKind, pledge: &Pledge, asset: &Asset) -> Event {
    let mut event = tx.event(kind);
    asset.stamp(&mut event);
    event.pledge = pledge.registration_number.clone();
    event.accounts = vec![pledge.pledgor.clone(), pledge.pledgee.clone()];
    event.counterparty = pledge.pledgee.clone();
    event.amount = pledge.secured_amount;
    event.currency = pledge.currency.clone();
    event
}

/// The asset a registration names, checked usable by its holder.
fn pledgeable(tx: &TxContext<'_, '_>, op: &RegisterPledge) -> Result<Asset, Failure> {
    match (op.voucher_id.is_empty(), op.receipt_id.is_empty()) {
        (false, true) => {
            let voucher = usable_voucher(tx, &op.voucher_id, "pledge")?;
            if tx.today >= voucher.maturity_day {
                return reject(
                    ErrorCode::VoucherMatured,
                    format!(
                        "pledge: voucher {} matured on {}",
                        voucher.id, voucher.maturity_date
                    ),
                );
            }
            Ok(Asset::Voucher(voucher))
        }
        (true, false) => Ok(Asset::Receipt(usable_receipt(
            tx,
            &op.receipt_id,
            "pledge",
        )?)),
        _ => reject(
            ErrorCode::InvalidArgument,
            "a pledge names exactly one asset: a voucher id or a receipt id",
        ),
    }
}

/// The pledge's mode: dynamic only for a receipt, with a floor from 1 to its value.
fn mode_of(op: &RegisterPledge, asset: &Asset, value: u64) -> Result<PledgeMode, Failure> {
    match (op.mode(), asset) {
        (PledgeMode::Dynamic, Asset::Voucher(_)) => reject(
            ErrorCode::InvalidArgument,
            "a voucher is pledged whole: only warehouse receipts take dynamic pledges",
        ),
        (PledgeMode::Dynamic, Asset::Receipt(_)) => {
            if op.floor_value == 0 || op.floor_value > value {
                return reject(
                    ErrorCode::InvalidAmount,
                    format!(
                        "a dynamic pledge's floor must be from 1 to the collateral's value {value}, not {}",
                        op.floor_value
                    ),
                );
            }
            Ok(PledgeMode::Dynamic)
        }
        _ if op.floor_value != 0 => reject(
            ErrorCode::InvalidArgument,
            "a static pledge has no floor: every unit stays",
        ),
        _ => Ok(PledgeMode::Static),
    }
}

/// `RegisterPledge`: the holder pledges a voucher or a warehouse receipt to a financier.
pub(crate) fn register(tx: &mut TxContext<'_, '_>, op: RegisterPledge) -> Result<(), Failure> {
    let mut asset = pledgeable(tx, &op)?;
    // usable_voucher/usable_receipt refuse a pledged asset; the asset key must agree.
    assert!(
        tx.overlay
            .get(&keys::asset_pledge(asset.kind(), asset.id()))?
            .is_none(),
        "{} {} has an active pledge key but no pledge lock",
        asset.kind(),
        asset.id()
    );
    let (currency, value) = match &asset {
        Asset::Voucher(v) => (v.currency.clone(), v.amount),
        Asset::Receipt(r) => (r.currency.clone(), value_of(r.quantity, r.unit_value)?),
    };
    let mode = mode_of(&op, &asset, value)?;
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
    tx.require_recipient(&pledgee, "pledgee")?;
    validate::amount("secured amount", op.secured_amount)?;
    if op.currency != currency {
        return reject(
            ErrorCode::CurrencyMismatch,
            format!(
                "the secured amount is in {}, the {} in {currency}",
                op.currency,
                asset.kind()
            ),
        );
    }
    let end_day = period_end(tx, &op.period_end_date, &asset)?;
    validate::text(
        "collateral description",
        &op.collateral_description,
        true,
        TEXT_LEN_MAX,
    )?;
    validate::digest("modification code hash", &op.modification_code_hash)?;

    let number = tx.next_serial(keys::PLEDGE_SEQ, 'R', "registration numbers")?;
    let pledge = Pledge {
        registration_number: number.clone(),
        asset_kind: asset.kind().to_owned(),
        asset_id: asset.id().to_owned(),
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
        mode: mode.into(),
        floor_value: op.floor_value,
        health: vchain_proto::v1::PledgeHealth::Ok.into(),
        health_cause: 0,
    };
    asset.set_lock(&number);
    asset.store(tx.overlay);
    tx.overlay.put(
        keys::asset_pledge(asset.kind(), asset.id()),
        number.as_bytes().to_vec(),
    );
    tx.overlay
        .put(keys::pledge_lapse(lapse_day(end_day)?, &number), Vec::new());
    tx.overlay.put_message(keys::pledge(&number), &pledge);
    let mut event = pledge_event(tx, EventKind::PledgeRegistered, &pledge, &asset);
    event.registration = Some(pledge);
    tx.asset_event(asset.id(), event)
}

/// The day a registration whose period ends on `end_day` lapses: the next one.
fn lapse_day(end_day: u32) -> Result<u32, Rejection> {
    end_day
        .checked_add(1)
        .ok_or_else(|| Rejection::new(ErrorCode::ArithmeticOverflow, "pledge period overflows"))
}

/// The active registration `number` and its asset, for an action only its pledgee may take.
fn pledgee_action(
    tx: &TxContext<'_, '_>,
    number: &str,
    action: &str,
) -> Result<(Pledge, Asset), Failure> {
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
    let asset =
        Asset::load(tx.overlay, &pledge.asset_kind, &pledge.asset_id)?.ok_or_else(|| {
            ExecError::CorruptState {
                key: format!("pl/{number}"),
                what: "a pledged asset",
                why: format!("{} {} is missing", pledge.asset_kind, pledge.asset_id),
            }
        })?;
    assert_eq!(asset.lock(), number, "an active pledge locks its asset");
    Ok((pledge, asset))
}

/// Ends an active registration: unlocks its asset and takes it off the queues.
fn end(
    overlay: &mut Overlay<'_>,
    pledge: &mut Pledge,
    asset: &mut Asset,
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
    asset.set_lock("");
    overlay.put_message(keys::pledge(&pledge.registration_number), &*pledge);
    asset.store(overlay);
    Ok(())
}

/// `ReleasePledge`: the pledgee releases the asset (the loan is repaid).
pub(crate) fn release(tx: &mut TxContext<'_, '_>, op: ReleasePledge) -> Result<(), Failure> {
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let (mut pledge, mut asset) =
        pledgee_action(tx, &op.registration_number, "releasing a pledge")?;
    end(
        tx.overlay,
        &mut pledge,
        &mut asset,
        PledgeStatus::Released,
        tx.context.height,
        &op.reason,
    )?;
    let mut event = pledge_event(tx, EventKind::PledgeReleased, &pledge, &asset);
    event.detail = op.reason;
    tx.asset_event(asset.id(), event)
}

/// `EnforcePledge`: on default, the asset passes to the pledgee.
pub(crate) fn enforce(tx: &mut TxContext<'_, '_>, op: EnforcePledge) -> Result<(), Failure> {
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let (mut pledge, mut asset) =
        pledgee_action(tx, &op.registration_number, "enforcing a pledge")?;
    let previous = asset.holder().to_owned();
    match &mut asset {
        Asset::Voucher(voucher) => {
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
            voucher.holder = pledge.pledgee.clone();
            tx.overlay
                .index_delete(keys::holder_index(&previous, &voucher.id));
            tx.overlay
                .index_put(keys::holder_index(&voucher.holder, &voucher.id));
            adjust_live_vouchers(tx.overlay, &previous, -1)?;
            adjust_live_vouchers(tx.overlay, &voucher.holder, 1)?;
        }
        Asset::Receipt(receipt) => {
            if receipt.status() != WarehouseReceiptStatus::Active {
                return reject(
                    ErrorCode::VoucherNotActive,
                    format!(
                        "enforcing a pledge: receipt {} is {}",
                        receipt.id,
                        receipt.status().as_str_name()
                    ),
                );
            }
            receipt.holder = pledge.pledgee.clone();
        }
    }
    end(
        tx.overlay,
        &mut pledge,
        &mut asset,
        PledgeStatus::Enforced,
        tx.context.height,
        &op.reason,
    )?;
    let mut event = pledge_event(tx, EventKind::PledgeEnforced, &pledge, &asset);
    event.previous_holder = previous;
    event.detail = op.reason;
    tx.asset_event(asset.id(), event)
}

/// `AmendPledge`: the pledgee, with the pledgor's modification code, changes the period, the
/// secured amount or (dynamic pledges) the floor.
pub(crate) fn amend(tx: &mut TxContext<'_, '_>, op: AmendPledge) -> Result<(), Failure> {
    let (mut pledge, asset) = pledgee_action(tx, &op.registration_number, "amending a pledge")?;
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
    if op.period_end_date.is_empty() && op.secured_amount == 0 && op.floor_value == 0 {
        return reject(
            ErrorCode::InvalidArgument,
            "an amendment changes the period end, the secured amount or the floor",
        );
    }
    if op.floor_value != 0 && pledge.mode() != PledgeMode::Dynamic {
        return reject(
            ErrorCode::InvalidArgument,
            format!(
                "registration {} is static: it has no floor",
                pledge.registration_number
            ),
        );
    }
    if op.floor_value != 0 {
        pledge.floor_value = op.floor_value;
    }
    if !op.period_end_date.is_empty() {
        let end_day = period_end(tx, &op.period_end_date, &asset)?;
        tx.overlay.delete(keys::pledge_lapse(
            lapse_day(pledge.period_end_day)?,
            &pledge.registration_number,
        ));
        tx.overlay.put(
            keys::pledge_lapse(lapse_day(end_day)?, &pledge.registration_number),
            Vec::new(),
        );
        pledge.period_end_day = end_day;
        pledge.period_end_date = validate::format_date(end_day);
    }
    if op.secured_amount != 0 {
        pledge.secured_amount = op.secured_amount;
    }
    tx.overlay
        .put_message(keys::pledge(&pledge.registration_number), &pledge);
    let mut event = pledge_event(tx, EventKind::PledgeAmended, &pledge, &asset);
    // The registration as amended; the one before is in the previous event of its history.
    event.registration = Some(pledge);
    tx.asset_event(asset.id(), event)
}

/// The chain's own step at the start of a block: registrations whose period ended before
/// `today` lapse and unlock their assets, at most [`PLEDGE_LAPSES_PER_BLOCK_MAX`] per block.
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
        let mut asset = Asset::load(overlay, &pledge.asset_kind, &pledge.asset_id)?
            .ok_or_else(|| corrupt("pledged asset missing"))?;
        // The queue holds exactly the active registrations.
        assert!(
            pledge.status() == PledgeStatus::Active && asset.lock() == number,
            "lapse queue holds registration {number} that is not an active lock"
        );
        // The chain ends it: status LAPSED says why, no words.
        match end(
            overlay,
            &mut pledge,
            &mut asset,
            PledgeStatus::Lapsed,
            context.height,
            "",
        ) {
            Ok(()) => {}
            Err(Failure::Fatal(error)) => return Err(error),
            Err(Failure::Rejected(rejection)) => return Err(corrupt(&rejection.message)),
        }
        let mut event = Event {
            kind: EventKind::PledgeLapsed.into(),
            height: context.height,
            time_ms: context.timestamp_ms,
            pledge: number.clone(),
            accounts: vec![pledge.pledgor.clone(), pledge.pledgee.clone()],
            counterparty: pledge.pledgee.clone(),
            amount: pledge.secured_amount,
            currency: pledge.currency.clone(),
            ..Event::default()
        };
        asset.stamp(&mut event);
        let index = first_event_index + events.len();
        let position = EventPosition {
            height: context.height,
            tx_index: u32::MAX,
            event_index: u16::try_from(index).map_err(|_| corrupt("too many system events"))?,
        };
        super::put_history_event(overlay, asset.id(), position, &event)?;
        events.push(event);
    }
    overlay.commit_tx();
    Ok(events)
}
