//! Warehouse receipts (仓单): a warehouse operator certifies a lot of goods it holds for an
//! owner; the receipt moves by transfer and can be pledged like a voucher.
//!
//! Rules: only a warehouse operator issues, to a supplier or financier outside its own identity;
//! quantity and unit value are positive integers (value = quantity × unit value, checked); only
//! the holder transfers, never while pledged; only the issuing operator records goods leaving,
//! never more than the lot holds, not at all under a static pledge, and under a dynamic pledge
//! only while the value left stays at or above the floor. Every step is in the receipt's
//! history (`e/{receipt_id}/`, the asset history family vouchers use too).

use vchain_proto::v1::{
    ErrorCode, EventKind, IssueWarehouseReceipt, Pledge, PledgeMode, ReleaseGoods, Role,
    TransferWarehouseReceipt, WarehouseReceipt, WarehouseReceiptStatus,
};

use crate::error::{reject, ExecError, Failure, Rejection};
use crate::keys;
use crate::ops::TxContext;
use crate::validate::{self, TEXT_LEN_MAX};

/// Roles that may own goods under a receipt.
const RECEIPT_HOLDER_ROLES: [Role; 2] = [Role::Supplier, Role::Financier];

/// The value of `quantity` units at `unit_value` each, or ARITHMETIC_OVERFLOW.
pub(crate) fn value_of(quantity: u64, unit_value: u64) -> Result<u64, Rejection> {
    quantity.checked_mul(unit_value).ok_or_else(|| {
        Rejection::new(
            ErrorCode::ArithmeticOverflow,
            format!("{quantity} units at {unit_value} overflow a u64 value"),
        )
    })
}

/// The receipt `receipt_id` as this transaction sees it, or RECEIPT_NOT_FOUND.
pub(crate) fn load_receipt(
    tx: &TxContext<'_, '_>,
    receipt_id: &str,
) -> Result<WarehouseReceipt, Failure> {
    match tx
        .overlay
        .get_message(&keys::receipt(receipt_id), "WarehouseReceipt")?
    {
        Some(receipt) => Ok(receipt),
        None => reject(
            ErrorCode::ReceiptNotFound,
            format!("warehouse receipt {receipt_id:?} does not exist"),
        ),
    }
}

/// A receipt the signer holds and may move or pledge: active and not pledged.
pub(crate) fn usable_receipt(
    tx: &TxContext<'_, '_>,
    receipt_id: &str,
    action: &str,
) -> Result<WarehouseReceipt, Failure> {
    let receipt = load_receipt(tx, receipt_id)?;
    if receipt.holder != tx.signer.account_id {
        return reject(
            ErrorCode::NotHolder,
            format!(
                "{action}: account {} does not hold receipt {receipt_id}; {} does",
                tx.signer.account_id, receipt.holder
            ),
        );
    }
    if receipt.status() != WarehouseReceiptStatus::Active {
        return reject(
            ErrorCode::VoucherNotActive,
            format!(
                "{action}: receipt {receipt_id} is {}",
                receipt.status().as_str_name()
            ),
        );
    }
    if !receipt.pledge.is_empty() {
        return reject(
            ErrorCode::VoucherPledged,
            format!(
                "{action}: receipt {receipt_id} is pledged (registration {})",
                receipt.pledge
            ),
        );
    }
    Ok(receipt)
}

/// Checks that `account_id` may hold goods under a receipt from the signer's identity.
fn check_holder(tx: &TxContext<'_, '_>, account_id: &str) -> Result<(), Failure> {
    let holder = tx.load_account(account_id)?;
    if !RECEIPT_HOLDER_ROLES.contains(&holder.role()) || holder.uscc == tx.signer.uscc {
        return reject(
            ErrorCode::InvalidRecipient,
            format!(
                "account {} ({}) cannot hold this warehouse receipt",
                holder.account_id,
                holder.role().as_str_name()
            ),
        );
    }
    tx.require_recipient(&holder, "holder")
}

fn receipt_event(
    tx: &TxContext<'_, '_>,
    kind: EventKind,
    receipt: &WarehouseReceipt,
) -> vchain_proto::v1::Event {
    let mut event = tx.event(kind);
    event.receipt_id = receipt.id.clone();
    event.accounts = vec![receipt.operator.clone(), receipt.holder.clone()];
    event.currency = receipt.currency.clone();
    event
}

/// `IssueWarehouseReceipt`.
pub(crate) fn issue(tx: &mut TxContext<'_, '_>, op: IssueWarehouseReceipt) -> Result<(), Failure> {
    tx.require_role(&[Role::WarehouseOperator], "issuing a warehouse receipt")?;
    validate::text("SKU", &op.sku, true, TEXT_LEN_MAX)?;
    validate::text("location", &op.location, true, TEXT_LEN_MAX)?;
    validate::text("description", &op.description, false, TEXT_LEN_MAX)?;
    validate::amount("quantity", op.quantity)?;
    validate::amount("unit value", op.unit_value)?;
    validate::currency(&op.currency)?;
    value_of(op.quantity, op.unit_value)?;
    check_holder(tx, &op.holder)?;
    let id = tx.next_serial(keys::RECEIPT_SEQ, 'W', "warehouse receipt ids")?;
    let receipt = WarehouseReceipt {
        id: id.clone(),
        operator: tx.signer.account_id.clone(),
        operator_uscc: tx.signer.uscc.clone(),
        holder: op.holder,
        sku: op.sku,
        quantity: op.quantity,
        unit_value: op.unit_value,
        currency: op.currency,
        location: op.location,
        description: op.description,
        status: WarehouseReceiptStatus::Active.into(),
        pledge: String::new(),
        issued_height: tx.context.height,
    };
    tx.overlay.put_message(keys::receipt(&id), &receipt);
    let mut event = receipt_event(tx, EventKind::ReceiptIssued, &receipt);
    event.counterparty = receipt.holder.clone();
    event.amount = receipt.quantity;
    event.quantity = receipt.quantity;
    tx.asset_event(&id, event)
}

/// `TransferWarehouseReceipt`.
pub(crate) fn transfer(
    tx: &mut TxContext<'_, '_>,
    op: TransferWarehouseReceipt,
) -> Result<(), Failure> {
    let mut receipt = usable_receipt(tx, &op.receipt_id, "transfer")?;
    if op.to == receipt.holder {
        return reject(
            ErrorCode::InvalidRecipient,
            format!("account {} already holds receipt {}", op.to, receipt.id),
        );
    }
    // The operator's own identity cannot hold what it certifies.
    let recipient = tx.load_account(&op.to)?;
    if recipient.uscc == receipt.operator_uscc {
        return reject(
            ErrorCode::InvalidRecipient,
            format!(
                "the issuing warehouse operator cannot hold receipt {}",
                receipt.id
            ),
        );
    }
    check_holder(tx, &op.to)?;
    let previous = std::mem::replace(&mut receipt.holder, op.to.clone());
    tx.overlay.put_message(keys::receipt(&receipt.id), &receipt);
    let mut event = receipt_event(tx, EventKind::ReceiptTransferred, &receipt);
    event.accounts = vec![previous.clone(), op.to.clone()];
    event.counterparty = op.to;
    event.amount = receipt.quantity;
    event.quantity = receipt.quantity;
    event.previous_holder = previous;
    let id = receipt.id.clone();
    tx.asset_event(&id, event)
}

/// `ReleaseGoods`: the issuing operator records units leaving the lot.
pub(crate) fn release_goods(tx: &mut TxContext<'_, '_>, op: ReleaseGoods) -> Result<(), Failure> {
    tx.require_role(&[Role::WarehouseOperator], "releasing goods")?;
    validate::amount("quantity", op.quantity)?;
    validate::text("reason", &op.reason, true, TEXT_LEN_MAX)?;
    let mut receipt = load_receipt(tx, &op.receipt_id)?;
    if receipt.operator != tx.signer.account_id {
        return reject(
            ErrorCode::NotIssuer,
            format!(
                "receipt {} was issued by {}, not {}",
                receipt.id, receipt.operator, tx.signer.account_id
            ),
        );
    }
    let Some(left) = receipt.quantity.checked_sub(op.quantity) else {
        return reject(
            ErrorCode::InsufficientGoods,
            format!(
                "receipt {} holds {} units, not {}",
                receipt.id, receipt.quantity, op.quantity
            ),
        );
    };
    if !receipt.pledge.is_empty() {
        let pledge: Pledge = tx
            .overlay
            .get_message(&keys::pledge(&receipt.pledge), "Pledge")?
            .ok_or_else(|| ExecError::CorruptState {
                key: format!("pl/{}", receipt.pledge),
                what: "Pledge locking a receipt",
                why: "missing".into(),
            })?;
        if pledge.mode() != PledgeMode::Dynamic {
            return reject(
                ErrorCode::GoodsLocked,
                format!(
                    "receipt {} is under static pledge {}: no goods may leave",
                    receipt.id, pledge.registration_number
                ),
            );
        }
        let value_left = value_of(left, receipt.unit_value)?;
        if value_left < pledge.floor_value {
            return reject(
                ErrorCode::GoodsLocked,
                format!(
                    "releasing {} units would leave {value_left} of value under dynamic pledge {}, below its floor {}",
                    op.quantity, pledge.registration_number, pledge.floor_value
                ),
            );
        }
    }
    receipt.quantity = left;
    if left == 0 {
        receipt.set_status(WarehouseReceiptStatus::Emptied);
    }
    tx.overlay.put_message(keys::receipt(&receipt.id), &receipt);
    let mut event = receipt_event(tx, EventKind::GoodsReleased, &receipt);
    event.amount = op.quantity;
    event.quantity = left;
    event.detail = op.reason;
    let id = receipt.id.clone();
    tx.asset_event(&id, event)
}
