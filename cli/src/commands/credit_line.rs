//! `vchain credit-line ...`: granting, changing, revoking and reading credit lines.

use anyhow::anyhow;
use serde_json::json;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    GetCreditLineRequest, GrantCreditLine, LowerCreditLine, RaiseCreditLine, RevokeCreditLine,
};

use crate::args::CreditLineCmd;
use crate::{json, render};

use super::{Ctx, Out};

impl Ctx {
    pub(super) async fn credit_line(&self, cmd: CreditLineCmd) -> anyhow::Result<Out> {
        match cmd {
            CreditLineCmd::Grant {
                tx,
                core,
                currency,
                limit,
            } => {
                let op = GrantCreditLine {
                    core_enterprise: core,
                    currency,
                    limit,
                };
                self.submit(&tx, Operation::GrantCreditLine(op)).await
            }
            CreditLineCmd::Raise { tx, core, amount } => {
                self.submit(
                    &tx,
                    Operation::RaiseCreditLine(RaiseCreditLine {
                        core_enterprise: core,
                        amount,
                    }),
                )
                .await
            }
            CreditLineCmd::Lower { tx, core, amount } => {
                self.submit(
                    &tx,
                    Operation::LowerCreditLine(LowerCreditLine {
                        core_enterprise: core,
                        amount,
                    }),
                )
                .await
            }
            CreditLineCmd::Revoke { tx, core, reason } => {
                self.submit(
                    &tx,
                    Operation::RevokeCreditLine(RevokeCreditLine {
                        core_enterprise: core,
                        reason,
                    }),
                )
                .await
            }
            CreditLineCmd::Get { financier, core } => {
                let mut c = self.client().await?;
                let what = format!("getting the credit line of {financier} to {core}");
                let r = self
                    .call(
                        what.clone(),
                        c.get_credit_line(
                            self.read(
                                GetCreditLineRequest {
                                    financier,
                                    core_enterprise: core,
                                },
                                "GetCreditLine",
                            )
                            .await?,
                        ),
                    )
                    .await?;
                let l = r
                    .credit_line
                    .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
                Ok(Out::new(
                    json!({ "credit_line": json::to_json(&l) }),
                    render::credit_line(&l),
                ))
            }
        }
    }
}
