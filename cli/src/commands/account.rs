//! `vchain account ...`: registering, freezing, cancelling, re-keying and reading accounts.

use anyhow::anyhow;
use serde_json::json;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{
    CancelAccount, FreezeAccount, GetAccountRequest, RegisterAccount, RotateAccountKey,
    UnfreezeAccount,
};

use crate::args::AccountCmd;
use crate::{json, render};

use super::{read_certificate, Ctx, Out};

impl Ctx {
    pub(super) async fn account(&self, cmd: AccountCmd) -> anyhow::Result<Out> {
        match cmd {
            AccountCmd::Register {
                tx,
                uscc,
                account,
                key,
            } => {
                let (public_key, certificate) = self.key_and_certificate(&key)?;
                self.submit(
                    &tx,
                    Operation::RegisterAccount(RegisterAccount {
                        uscc,
                        account_id: account,
                        public_key,
                        certificate,
                    }),
                )
                .await
            }
            AccountCmd::Cancel {
                tx,
                account,
                reason,
            } => {
                self.submit(
                    &tx,
                    Operation::CancelAccount(CancelAccount {
                        account_id: account,
                        reason,
                    }),
                )
                .await
            }
            AccountCmd::RotateKey {
                tx,
                account,
                certificate,
            } => {
                let certificate = read_certificate(&certificate)?;
                self.submit(
                    &tx,
                    Operation::RotateAccountKey(RotateAccountKey {
                        account_id: account,
                        certificate,
                    }),
                )
                .await
            }
            AccountCmd::Get { account } => {
                let mut c = self.client().await?;
                let r = self
                    .call(
                        format!("getting account {account}"),
                        c.get_account(
                            self.read(
                                GetAccountRequest {
                                    account_id: account.clone(),
                                },
                                "GetAccount",
                            )
                            .await?,
                        ),
                    )
                    .await?;
                let a = r
                    .account
                    .ok_or_else(|| anyhow!("getting account {account}: the node returned none"))?;
                Ok(Out::new(
                    json!({ "account": json::to_json(&a) }),
                    render::account(&a),
                ))
            }
            AccountCmd::Freeze {
                tx,
                account,
                reason,
            } => {
                self.submit(
                    &tx,
                    Operation::FreezeAccount(FreezeAccount {
                        account_id: account,
                        reason,
                    }),
                )
                .await
            }
            AccountCmd::Unfreeze {
                tx,
                account,
                reason,
            } => {
                self.submit(
                    &tx,
                    Operation::UnfreezeAccount(UnfreezeAccount {
                        account_id: account,
                        reason,
                    }),
                )
                .await
            }
        }
    }
}
