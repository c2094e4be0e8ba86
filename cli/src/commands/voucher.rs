//! `vchain voucher ...`: issuing, splitting, transferring, redeeming, freezing, reading,
//! listing and tracing vouchers.

use std::path::Path;

use anyhow::anyhow;
use serde_json::json;
use sha2::{Digest, Sha256};
use vchain_proto::v1::list_vouchers_request::Owner;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    ConfirmRedemption, Consideration, FreezeVoucher, GetVoucherRequest, IssueVoucher,
    ListVouchersRequest, RequestRedemption, SplitVoucher, TraceVoucherRequest, TradeDocument,
    TransferVoucher, UnfreezeVoucher,
};

use crate::args::{Hex32, VoucherCmd, VoucherOwner};
use crate::exit::UsageError;
use crate::{json, render};

use super::{hex32, Ctx, Out};

impl Ctx {
    pub(super) async fn voucher(&self, cmd: VoucherCmd) -> anyhow::Result<Out> {
        match cmd {
            VoucherCmd::Issue {
                tx,
                holder,
                financier,
                amount,
                currency,
                maturity,
                doc_kind,
                doc_number,
                doc,
            } => {
                let hash = digest(doc.doc_hash, doc.doc_file.as_deref(), "trade document")?;
                let op = IssueVoucher {
                    holder,
                    financier,
                    amount,
                    currency,
                    maturity_date: maturity,
                    trade_document: Some(TradeDocument {
                        kind: doc_kind,
                        number: doc_number,
                        hash,
                    }),
                };
                self.submit(&tx, Operation::IssueVoucher(op)).await
            }
            VoucherCmd::Split {
                tx,
                voucher,
                amounts,
            } => {
                self.submit(
                    &tx,
                    Operation::SplitVoucher(SplitVoucher {
                        voucher_id: voucher,
                        amounts: amounts.0,
                    }),
                )
                .await
            }
            VoucherCmd::Transfer {
                tx,
                voucher,
                to,
                agreement,
                consideration,
                consideration_currency,
            } => {
                let agreement_hash = digest(
                    agreement.agreement_hash,
                    agreement.agreement_file.as_deref(),
                    "agreement",
                )?;
                let consideration = match (consideration, consideration_currency) {
                    (None, _) => None,
                    (Some(amount), Some(currency)) => Some(Consideration { amount, currency }),
                    (Some(amount), None) => {
                        let currency = self.get_voucher(&voucher).await?.currency;
                        Some(Consideration { amount, currency })
                    }
                };
                let op = TransferVoucher {
                    voucher_id: voucher,
                    to,
                    agreement_hash,
                    consideration,
                };
                self.submit(&tx, Operation::TransferVoucher(op)).await
            }
            VoucherCmd::Redeem { tx, voucher } => {
                self.submit(
                    &tx,
                    Operation::RequestRedemption(RequestRedemption {
                        voucher_id: voucher,
                    }),
                )
                .await
            }
            VoucherCmd::Confirm {
                tx,
                voucher,
                payment_ref,
            } => {
                let op = ConfirmRedemption {
                    voucher_id: voucher,
                    payment_reference: payment_ref,
                };
                self.submit(&tx, Operation::ConfirmRedemption(op)).await
            }
            VoucherCmd::Freeze {
                tx,
                voucher,
                reason,
            } => {
                self.submit(
                    &tx,
                    Operation::FreezeVoucher(FreezeVoucher {
                        voucher_id: voucher,
                        reason,
                    }),
                )
                .await
            }
            VoucherCmd::Unfreeze {
                tx,
                voucher,
                reason,
            } => {
                self.submit(
                    &tx,
                    Operation::UnfreezeVoucher(UnfreezeVoucher {
                        voucher_id: voucher,
                        reason,
                    }),
                )
                .await
            }
            VoucherCmd::Get { voucher } => {
                let v = self.get_voucher(&voucher).await?;
                Ok(Out::new(
                    json!({ "voucher": json::to_json(&v) }),
                    render::voucher(&v),
                ))
            }
            VoucherCmd::List {
                owner,
                live,
                page_size,
            } => self.list_vouchers(owner, live, page_size).await,
            VoucherCmd::Trace {
                voucher,
                export: Some(file),
            } => self.export_bundle(&voucher, &file).await,
            VoucherCmd::Trace {
                voucher,
                export: None,
            } => {
                // The node answers a page at a time; the tree is drawn from all of them.
                let t = vchain_wallet::trace::whole_trace(|page_token| {
                    let voucher = voucher.clone();
                    async move {
                        let mut c = self.client().await?;
                        let request = TraceVoucherRequest {
                            voucher_id: voucher.clone(),
                            page_size: vchain_wallet::trace::TRACE_PAGE_SIZE,
                            page_token,
                        };
                        self.call(
                            format!("tracing voucher {voucher}"),
                            c.trace_voucher(self.read(request, "TraceVoucher").await?),
                        )
                        .await
                    }
                })
                .await?;
                let mut text = render::trace_tree(&t).join("\n");
                text.push('\n');
                Ok(Out::new(json::to_json(&t), text))
            }
        }
    }

    async fn get_voucher(&self, id: &str) -> anyhow::Result<vchain_proto::v1::Voucher> {
        let mut c = self.client().await?;
        let r = self
            .call(
                format!("getting voucher {id}"),
                c.get_voucher(
                    self.read(
                        GetVoucherRequest {
                            voucher_id: id.to_owned(),
                        },
                        "GetVoucher",
                    )
                    .await?,
                ),
            )
            .await?;
        r.voucher
            .ok_or_else(|| anyhow!("getting voucher {id}: the node returned none"))
    }

    async fn list_vouchers(
        &self,
        owner: VoucherOwner,
        live: bool,
        page_size: Option<u32>,
    ) -> anyhow::Result<Out> {
        let (owner, what) = match (owner.holder, owner.issuer) {
            (Some(h), _) => (
                Owner::Holder(h.clone()),
                format!("listing vouchers held by {h}"),
            ),
            (None, Some(i)) => (
                Owner::Issuer(i.clone()),
                format!("listing vouchers issued by {i}"),
            ),
            (None, None) => return Err(UsageError("give --holder or --issuer".into()).into()),
        };
        let mut c = self.client().await?;
        let mut vouchers = Vec::new();
        let mut token = String::new();
        loop {
            let req = ListVouchersRequest {
                owner: Some(owner.clone()),
                live_only: live,
                page_token: token.clone(),
                page_size: page_size.unwrap_or(0),
            };
            let page = self
                .call(
                    what.clone(),
                    c.list_vouchers(self.read(req.clone(), "ListVouchers").await?),
                )
                .await?;
            vouchers.extend(page.vouchers);
            if page.next_page_token.is_empty() {
                break;
            }
            if page.next_page_token == token {
                return Err(anyhow!(
                    "{what}: the node returned the same page token twice"
                ));
            }
            token = page.next_page_token;
        }
        let mut text: String = vouchers
            .iter()
            .map(|v| render::voucher_row(v) + "\n")
            .collect();
        text.push_str(&format!("{} voucher(s)\n", vouchers.len()));
        Ok(Out::new(
            json!({ "vouchers": json::to_json(&vouchers) }),
            text,
        ))
    }
}

/// SHA-256 of a file, or the digest given directly.
fn digest(given: Option<Hex32>, file: Option<&Path>, what: &str) -> anyhow::Result<Vec<u8>> {
    match (given, file) {
        (Some(h), _) => Ok(hex32(&h)),
        (None, Some(path)) => {
            // A file the user named that cannot be read is a usage error (exit 2), not ours.
            let bytes = std::fs::read(path).map_err(|e| {
                UsageError(format!("cannot read {what} file {}: {e}", path.display()))
            })?;
            Ok(Sha256::digest(&bytes).to_vec())
        }
        (None, None) => Err(UsageError(format!("give the {what} hash or file")).into()),
    }
}
