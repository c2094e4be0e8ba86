//! `vchain key ...`: keys in the local keystore (new, import, CSR, list, show, bind to an account).

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use vchain_wallet::keystore::{KeyEntry, KeystoreError};

use crate::args::KeyCmd;
use crate::exit::UsageError;
use crate::passphrase;

use super::{write_new_file, Ctx, Out};

impl Ctx {
    pub(super) fn key(&self, cmd: KeyCmd) -> anyhow::Result<Out> {
        let mut ks = self.open_keystore()?;
        match cmd {
            KeyCmd::New { name, account } => {
                if ks.entry(&name).is_some() {
                    return Err(KeystoreError::DuplicateName(name).into());
                }
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &name, true)?;
                let public = ks
                    .generate(&name, account.as_deref(), &pass)
                    .context("generating key")?;
                self.save(&ks)?;
                let public = hex::encode(public.as_bytes());
                let text = format!("{public}\n");
                Ok(Out::new(
                    json!({ "name": name, "account_id": account, "public_key": public, "keystore": ks.path() }),
                    text,
                ))
            }
            KeyCmd::Csr {
                name,
                common_name,
                out,
            } => {
                let entry = ks
                    .entry(&name)
                    .ok_or_else(|| KeystoreError::NotFound(name.clone()))?;
                let common_name =
                    match common_name.or_else(|| entry.account_id().map(str::to_owned)) {
                        Some(cn) => cn,
                        None => {
                            return Err(UsageError(format!(
                                "key {name:?} has no account: give --id (the id to certify)"
                            ))
                            .into())
                        }
                    };
                if out.exists() {
                    return Err(UsageError(format!("{} already exists", out.display())).into());
                }
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &name, false)?;
                let key = ks
                    .unlock(&name, &pass)
                    .with_context(|| format!("unlocking key {name:?}"))?;
                let csr = vchain_pki::make_csr(&key, &common_name)
                    .with_context(|| format!("making a CSR for {common_name:?}"))?;
                write_new_file(&out, &csr)?;
                Ok(Out::new(
                    json!({ "name": name, "common_name": common_name, "csr_file": out,
                            "public_key": hex::encode(key.verifying_key().as_bytes()) }),
                    format!("CSR for {common_name} written to {}\n", out.display()),
                ))
            }
            KeyCmd::Import {
                name,
                secret_hex,
                account,
            } => {
                if ks.entry(&name).is_some() {
                    return Err(KeystoreError::DuplicateName(name).into());
                }
                let key = SigningKey::from_bytes(&secret_hex.0);
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &name, true)?;
                ks.import(&name, account.as_deref(), &key, &pass)
                    .context("importing key")?;
                self.save(&ks)?;
                let public = hex::encode(key.verifying_key().as_bytes());
                Ok(Out::new(
                    json!({ "name": name, "account_id": account, "public_key": public, "keystore": ks.path() }),
                    format!("{public}\n"),
                ))
            }
            KeyCmd::List => {
                let mut text = String::new();
                if ks.entries().is_empty() {
                    text = format!("no keys in {}\n", ks.path().display());
                }
                for e in ks.entries() {
                    text.push_str(&format!(
                        "{}  {}  {}\n",
                        e.name(),
                        e.account_id().unwrap_or("-"),
                        e.public_key_hex()
                    ));
                }
                let keys: Vec<Value> = ks.entries().iter().map(entry_json).collect();
                Ok(Out::new(
                    json!({ "keystore": ks.path(), "keys": keys }),
                    text,
                ))
            }
            KeyCmd::Show { name } => {
                let e = ks.entry(&name).ok_or(KeystoreError::NotFound(name))?;
                Ok(Out::new(entry_json(e), key_text(e)))
            }
            KeyCmd::SetAccount { name, account } => {
                ks.set_account(&name, &account)?;
                self.save(&ks)?;
                let e = ks.entry(&name).ok_or(KeystoreError::NotFound(name))?;
                Ok(Out::new(entry_json(e), key_text(e)))
            }
        }
    }
}

fn entry_json(e: &KeyEntry) -> Value {
    let kdf = e.kdf_params();
    json!({
        "name": e.name(),
        "account_id": e.account_id(),
        "public_key": e.public_key_hex(),
        "created": e.created(),
        "kdf": { "algorithm": "argon2id", "m_cost_kib": kdf.m_cost_kib, "t_cost": kdf.t_cost, "p_cost": kdf.p_cost },
        "cipher": "xchacha20poly1305",
    })
}

fn key_text(e: &KeyEntry) -> String {
    let kdf = e.kdf_params();
    format!(
        "name: {}\naccount: {}\npublic key: {}\ncreated: {}\nencryption: argon2id (m={} KiB, t={}, p={}) + xchacha20poly1305\n",
        e.name(),
        e.account_id().unwrap_or("-"),
        e.public_key_hex(),
        e.created().unwrap_or("-"),
        kdf.m_cost_kib,
        kdf.t_cost,
        kdf.p_cost
    )
}
