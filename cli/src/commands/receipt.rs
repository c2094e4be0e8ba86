//! `vchain receipt ...`: issuing, transferring, releasing goods from and reading warehouse
//! receipts.

use anyhow::anyhow;
use serde_json::json;
use vchain_proto::v1::transaction_body::Operation;

use crate::args::ReceiptCmd;
use crate::json;

use super::{Ctx, Out};

impl Ctx {
    pub(super) async fn receipt(&self, cmd: ReceiptCmd) -> anyhow::Result<Out> {
        use vchain_proto::v1::{
            GetWarehouseReceiptRequest, IssueWarehouseReceipt, ReleaseGoods,
            TransferWarehouseReceipt,
        };
        match cmd {
            ReceiptCmd::Issue {
                tx,
                holder,
                sku,
                quantity,
                unit_value,
                currency,
                location,
                description,
            } => {
                let op = Operation::IssueWarehouseReceipt(IssueWarehouseReceipt {
                    holder,
                    sku,
                    quantity,
                    unit_value,
                    currency,
                    location,
                    description,
                });
                self.submit(&tx, op).await
            }
            ReceiptCmd::Transfer { tx, receipt, to } => {
                let op = Operation::TransferWarehouseReceipt(TransferWarehouseReceipt {
                    receipt_id: receipt,
                    to,
                });
                self.submit(&tx, op).await
            }
            ReceiptCmd::ReleaseGoods {
                tx,
                receipt,
                quantity,
                reason,
            } => {
                let op = Operation::ReleaseGoods(ReleaseGoods {
                    receipt_id: receipt,
                    quantity,
                    reason,
                });
                self.submit(&tx, op).await
            }
            ReceiptCmd::Get { receipt } => {
                let what = format!("getting warehouse receipt {receipt}");
                let mut c = self.client().await?;
                let request = self
                    .read(
                        GetWarehouseReceiptRequest {
                            receipt_id: receipt.clone(),
                        },
                        "GetWarehouseReceipt",
                    )
                    .await?;
                let r = self
                    .call(what.clone(), c.get_warehouse_receipt(request))
                    .await?;
                let w = r
                    .receipt
                    .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
                let value = w.quantity.saturating_mul(w.unit_value);
                let pledge = if w.pledge.is_empty() {
                    "-"
                } else {
                    w.pledge.as_str()
                };
                let text = format!(
                    "receipt: {}\nholder: {}\noperator: {}\ngoods: {} x {} at {} {} (value {value})\nlocation: {}\npledge: {pledge}\n",
                    w.id, w.holder, w.operator, w.quantity, w.sku, w.unit_value, w.currency, w.location,
                );
                let mut receipt = json::to_json(&w);
                receipt["value"] = json!(value);
                Ok(Out::new(json!({ "receipt": receipt }), text))
            }
        }
    }
}
