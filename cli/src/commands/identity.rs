//! `vchain identity ...`: registering and reading enterprise identities.

use anyhow::anyhow;
use serde_json::json;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::{GetIdentityRequest, RegisterIdentity, Role};

use crate::args::IdentityCmd;
use crate::{json, render};

use super::{Ctx, Out};

impl Ctx {
    pub(super) async fn identity(&self, cmd: IdentityCmd) -> anyhow::Result<Out> {
        match cmd {
            IdentityCmd::Register {
                tx,
                uscc,
                name,
                role,
                legal_rep,
                account,
                key,
            } => {
                let (public_key, certificate) = self.key_and_certificate(&key)?;
                let op = Operation::RegisterIdentity(RegisterIdentity {
                    uscc,
                    name,
                    role: Role::from(role) as i32,
                    legal_representative: legal_rep,
                    account_id: account,
                    public_key,
                    certificate,
                });
                self.submit(&tx, op).await
            }
            IdentityCmd::Get { uscc } => {
                let mut c = self.client().await?;
                let r = self
                    .call(
                        format!("getting identity {uscc}"),
                        c.get_identity(
                            self.read(GetIdentityRequest { uscc: uscc.clone() }, "GetIdentity")
                                .await?,
                        ),
                    )
                    .await?;
                let i = r
                    .identity
                    .ok_or_else(|| anyhow!("getting identity {uscc}: the node returned none"))?;
                Ok(Out::new(
                    json!({ "identity": json::to_json(&i) }),
                    render::identity(&i),
                ))
            }
        }
    }
}
