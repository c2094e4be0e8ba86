//! Credit lines (授信额度): a financier grants a core enterprise a limit on the face value of
//! vouchers it may have outstanding against that financier; raises, lowers or revokes it.

use vchain_proto::v1::{
    CreditLine, CreditLineStatus, ErrorCode, EventKind, GrantCreditLine, LowerCreditLine,
    RaiseCreditLine, RevokeCreditLine, Role,
};

use crate::error::{reject, Failure};
use crate::keys;
use crate::ops::TxContext;
use crate::validate::{self, TEXT_LEN_MAX};

/// Checks the signer is a financier and `core` is a core enterprise.
fn check_parties(tx: &TxContext<'_, '_>, core: &str, action: &str) -> Result<(), Failure> {
    tx.require_role(&[Role::Financier], action)?;
    let identity = tx.load_identity(core)?;
    if identity.role() != Role::CoreEnterprise {
        return reject(
            ErrorCode::InvalidRecipient,
            format!(
                "{core} is {}, and only a core enterprise can hold a credit line",
                identity.role().as_str_name()
            ),
        );
    }
    Ok(())
}

fn record(
    tx: &mut TxContext<'_, '_>,
    kind: EventKind,
    line: &CreditLine,
    amount: u64,
    detail: String,
) -> Result<(), Failure> {
    tx.overlay.put_message(
        keys::credit_line(&line.financier, &line.core_enterprise),
        line,
    );
    let mut event = tx.event(kind);
    event.counterparty = line.core_enterprise.clone();
    event.amount = amount;
    event.currency = line.currency.clone();
    event.limit = line.limit;
    event.detail = detail;
    tx.audit_event(event)
}

pub(crate) fn grant(tx: &mut TxContext<'_, '_>, op: GrantCreditLine) -> Result<(), Failure> {
    check_parties(tx, &op.core_enterprise, "granting a credit line")?;
    validate::currency(&op.currency)?;
    validate::amount("credit limit", op.limit)?;
    let financier = tx.signer.uscc.clone();
    let key = keys::credit_line(&financier, &op.core_enterprise);
    let line = match tx.overlay.get_message::<CreditLine>(&key, "CreditLine")? {
        Some(existing) if existing.status() == CreditLineStatus::Active => {
            return reject(
                ErrorCode::CreditLineExists,
                format!(
                    "{financier} already grants {} a line; raise or lower it instead",
                    op.core_enterprise
                ),
            );
        }
        // A revoked line is granted again; what is still outstanding on it stays counted.
        Some(existing) => {
            if existing.outstanding > 0 && existing.currency != op.currency {
                return reject(
                    ErrorCode::CurrencyMismatch,
                    format!(
                        "the revoked line still has {} {} outstanding; a new grant must be in {}",
                        existing.outstanding, existing.currency, existing.currency
                    ),
                );
            }
            if op.limit < existing.outstanding {
                return reject(
                    ErrorCode::CreditLineBelowOutstanding,
                    format!(
                        "limit {} is below the {} still outstanding",
                        op.limit, existing.outstanding
                    ),
                );
            }
            CreditLine {
                currency: op.currency,
                limit: op.limit,
                status: CreditLineStatus::Active.into(),
                ..existing
            }
        }
        None => CreditLine {
            financier,
            core_enterprise: op.core_enterprise,
            currency: op.currency,
            limit: op.limit,
            outstanding: 0,
            status: CreditLineStatus::Active.into(),
        },
    };
    let limit = line.limit;
    record(
        tx,
        EventKind::CreditLineGranted,
        &line,
        limit,
        format!("limit {limit}"),
    )
}

fn active_line(tx: &TxContext<'_, '_>, core: &str) -> Result<CreditLine, Failure> {
    let line = tx.load_credit_line(&tx.signer.uscc, core)?;
    if line.status() != CreditLineStatus::Active {
        return reject(
            ErrorCode::CreditLineRevoked,
            format!("the credit line of {} to {core} is revoked", line.financier),
        );
    }
    Ok(line)
}

pub(crate) fn raise(tx: &mut TxContext<'_, '_>, op: RaiseCreditLine) -> Result<(), Failure> {
    check_parties(tx, &op.core_enterprise, "raising a credit line")?;
    validate::amount("raise", op.amount)?;
    let mut line = active_line(tx, &op.core_enterprise)?;
    line.limit = match line.limit.checked_add(op.amount) {
        Some(limit) => limit,
        None => {
            return reject(
                ErrorCode::ArithmeticOverflow,
                format!("limit {} plus {} overflows", line.limit, op.amount),
            )
        }
    };
    record(
        tx,
        EventKind::CreditLineRaised,
        &line,
        op.amount,
        String::new(),
    )
}

pub(crate) fn lower(tx: &mut TxContext<'_, '_>, op: LowerCreditLine) -> Result<(), Failure> {
    check_parties(tx, &op.core_enterprise, "lowering a credit line")?;
    validate::amount("reduction", op.amount)?;
    let mut line = active_line(tx, &op.core_enterprise)?;
    let limit = line
        .limit
        .checked_sub(op.amount)
        .filter(|limit| *limit >= line.outstanding);
    line.limit = match limit {
        Some(limit) => limit,
        None => {
            return reject(
                ErrorCode::CreditLineBelowOutstanding,
                format!(
                    "lowering limit {} by {} would leave it below the {} outstanding",
                    line.limit, op.amount, line.outstanding
                ),
            )
        }
    };
    record(
        tx,
        EventKind::CreditLineLowered,
        &line,
        op.amount,
        String::new(),
    )
}

pub(crate) fn revoke(tx: &mut TxContext<'_, '_>, op: RevokeCreditLine) -> Result<(), Failure> {
    check_parties(tx, &op.core_enterprise, "revoking a credit line")?;
    validate::text("reason", &op.reason, false, TEXT_LEN_MAX)?;
    let mut line = active_line(tx, &op.core_enterprise)?;
    line.set_status(CreditLineStatus::Revoked);
    let outstanding = line.outstanding;
    record(
        tx,
        EventKind::CreditLineRevoked,
        &line,
        outstanding,
        op.reason,
    )
}
