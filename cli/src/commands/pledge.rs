//! `vchain pledge ...`: registering, amending, releasing, enforcing and reading pledges.

use anyhow::anyhow;
use serde_json::json;
use sha2::{Digest, Sha256};
use vchain_proto::v1::transaction_body::Operation;

use crate::args::PledgeCmd;
use crate::exit::UsageError;
use crate::{json, render};

use super::{Ctx, Out};

impl Ctx {
    pub(super) async fn pledge(&self, cmd: PledgeCmd) -> anyhow::Result<Out> {
        use vchain_proto::v1::{
            get_pledge_request, AmendPledge, EnforcePledge, GetPledgeRequest, PledgeStatus,
            RegisterPledge, ReleasePledge,
        };
        match cmd {
            PledgeCmd::Register {
                tx,
                asset,
                dynamic_floor,
                pledgee,
                amount,
                currency,
                until,
                collateral,
            } => {
                // 16 random bytes as hex: the pledgor's proof of consent to later amendments.
                let mut code = [0u8; 16];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut code);
                let code = hex::encode(code);
                // Chain-assigned ids say what they are: V... vouchers, W... warehouse receipts.
                let (voucher_id, receipt_id) = if asset.starts_with('W') {
                    (String::new(), asset)
                } else {
                    (asset, String::new())
                };
                let mode = match dynamic_floor {
                    Some(_) => vchain_proto::v1::PledgeMode::Dynamic,
                    None => vchain_proto::v1::PledgeMode::Static,
                };
                let op = Operation::RegisterPledge(RegisterPledge {
                    voucher_id,
                    receipt_id,
                    pledgee,
                    secured_amount: amount,
                    currency,
                    period_end_date: until,
                    collateral_description: collateral,
                    modification_code_hash: Sha256::digest(code.as_bytes()).to_vec(),
                    mode: mode.into(),
                    floor_value: dynamic_floor.unwrap_or(0),
                });
                let mut out = self.submit(&tx, op).await?;
                out.json["modification_code"] = json!(code);
                out.text.push_str(&format!(
                    "modification code: {code} (keep it secret; the pledgee needs it to amend)\n"
                ));
                Ok(out)
            }
            PledgeCmd::Amend {
                tx,
                number,
                code,
                until,
                amount,
                floor,
            } => {
                let op = Operation::AmendPledge(AmendPledge {
                    registration_number: number,
                    modification_code: code.into_bytes(),
                    period_end_date: until.unwrap_or_default(),
                    secured_amount: amount.unwrap_or(0),
                    floor_value: floor.unwrap_or(0),
                });
                self.submit(&tx, op).await
            }
            PledgeCmd::Release { tx, number, reason } => {
                let op = Operation::ReleasePledge(ReleasePledge {
                    registration_number: number,
                    reason,
                });
                self.submit(&tx, op).await
            }
            PledgeCmd::Enforce { tx, number, reason } => {
                let op = Operation::EnforcePledge(EnforcePledge {
                    registration_number: number,
                    reason,
                });
                self.submit(&tx, op).await
            }
            PledgeCmd::Get {
                number,
                voucher,
                receipt,
            } => {
                let (selector, what) = match (number, voucher, receipt) {
                    (Some(n), _, _) => (
                        get_pledge_request::Selector::RegistrationNumber(n.clone()),
                        format!("getting pledge {n}"),
                    ),
                    (None, Some(v), _) => (
                        get_pledge_request::Selector::VoucherId(v.clone()),
                        format!("getting the pledge of voucher {v}"),
                    ),
                    (None, None, Some(r)) => (
                        get_pledge_request::Selector::ReceiptId(r.clone()),
                        format!("getting the pledge of receipt {r}"),
                    ),
                    (None, None, None) => {
                        return Err(
                            UsageError("give a registration number or --voucher".into()).into()
                        )
                    }
                };
                let mut c = self.client().await?;
                let request = self
                    .read(
                        GetPledgeRequest {
                            selector: Some(selector),
                        },
                        "GetPledge",
                    )
                    .await?;
                let r = self.call(what.clone(), c.get_pledge(request)).await?;
                let p = r
                    .pledge
                    .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
                let text = format!(
                    "registration: {}\nasset: {} {}\npledgor: {}\npledgee: {}\nsecured: {} {}\nuntil: {}\nstatus: {}\ncollateral: {}\n",
                    p.registration_number,
                    p.asset_kind,
                    p.asset_id,
                    p.pledgor,
                    p.pledgee,
                    p.secured_amount,
                    p.currency,
                    p.period_end_date,
                    render::enum_name(p.status, PledgeStatus::as_str_name)
                        .trim_start_matches("PLEDGE_STATUS_"),
                    p.collateral_description,
                );
                Ok(Out::new(json!({ "pledge": json::to_json(&p) }), text))
            }
        }
    }
}
