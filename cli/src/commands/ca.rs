//! `vchain ca ...`: an organisation's certificate authority (init, issue, revoke, show).

use anyhow::Context as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::RevokeCertificate;
use vchain_wallet::keystore::KeystoreError;

use crate::args::{CaCmd, CertRoleArg};
use crate::exit::UsageError;
use crate::passphrase;

use super::{read_certificate, write_new_file, Ctx, Out};

impl Ctx {
    pub(super) async fn ca(&self, cmd: CaCmd) -> anyhow::Result<Out> {
        match cmd {
            CaCmd::Init {
                org_id,
                key_name,
                valid_days,
                out,
            } => {
                let key_name = key_name.unwrap_or_else(|| format!("{org_id}-ca"));
                let mut ks = self.open_keystore()?;
                if ks.entry(&key_name).is_some() {
                    return Err(KeystoreError::DuplicateName(key_name).into());
                }
                if out.exists() {
                    return Err(UsageError(format!("{} already exists", out.display())).into());
                }
                let now_ms = vchain_wallet::time::now_ms();
                let validity = vchain_pki::Validity {
                    not_before_ms: now_ms,
                    not_after_ms: now_ms.saturating_add(u64::from(valid_days) * DAY_MS),
                };
                let ca = vchain_pki::RootCa::generate(&org_id, validity)
                    .with_context(|| format!("making the root CA of {org_id}"))?;
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &key_name, true)?;
                ks.import(&key_name, None, ca.signing_key(), &pass)
                    .context("storing the CA key")?;
                write_new_file(&out, &ca.certificate().to_pem())?;
                self.save(&ks)?;
                let der = ca.certificate().as_der();
                let certified = vchain_pki::inspect(der).context("reading the new CA")?;
                let mut fields = certified_json(&certified, der);
                fields["certificate_file"] = json!(out);
                fields["key_name"] = json!(key_name);
                Ok(Out::new(
                    fields,
                    format!(
                        "{}certificate: {}\nkey: {key_name} (keystore)\n",
                        certified_text(&certified, der),
                        out.display()
                    ),
                ))
            }
            CaCmd::Issue {
                ca_cert,
                ca_key,
                role,
                name,
                csr,
                public_key,
                key,
                valid_days,
                out,
            } => {
                let ca_pem = std::fs::read_to_string(&ca_cert)
                    .with_context(|| format!("reading {}", ca_cert.display()))?;
                let ca_certificate = vchain_pki::Certificate::from_pem(&ca_pem)
                    .with_context(|| format!("reading {}", ca_cert.display()))?;
                let organisation = vchain_pki::inspect(ca_certificate.as_der())?.organisation;
                let key_name = ca_key.unwrap_or_else(|| format!("{organisation}-ca"));
                let ks = self.open_keystore()?;
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &key_name, false)?;
                let signing_key = ks
                    .unlock(&key_name, &pass)
                    .with_context(|| format!("unlocking CA key {key_name:?}"))?;
                let ca = vchain_pki::RootCa::from_parts(ca_certificate, signing_key).with_context(
                    || format!("{key_name:?} is not the key of {}", ca_cert.display()),
                )?;
                if out.exists() {
                    return Err(UsageError(format!("{} already exists", out.display())).into());
                }
                let now_ms = vchain_wallet::time::now_ms();
                let validity = vchain_pki::Validity {
                    not_before_ms: now_ms,
                    not_after_ms: now_ms
                        .saturating_add(u64::from(valid_days) * DAY_MS)
                        .min(ca.validity().not_after_ms),
                };
                let role = cert_role(role);
                let certificate = match csr {
                    Some(path) => {
                        let request = std::fs::read(&path)
                            .with_context(|| format!("reading {}", path.display()))?;
                        let certificate = ca.issue_from_csr(&request, role, validity)?;
                        let cn = vchain_pki::inspect(certificate.as_der())?.common_name;
                        if let Some(name) = name.filter(|n| *n != cn) {
                            return Err(UsageError(format!(
                                "the CSR asks for {cn:?}, not {name:?}"
                            ))
                            .into());
                        }
                        chain_accepts_id(&cn)?;
                        certificate
                    }
                    None => {
                        let name = name.ok_or_else(|| {
                            UsageError("give --name (the node, account or device id)".into())
                        })?;
                        chain_accepts_id(&name)?;
                        let key = self.public_key(public_key.as_ref(), key.as_deref())?;
                        let key: [u8; 32] = key
                            .try_into()
                            .map_err(|_| UsageError("a public key is 32 bytes".into()))?;
                        let subject = vchain_pki::Subject {
                            organisation: ca.organisation().to_owned(),
                            common_name: name,
                            role,
                        };
                        ca.issue(&subject, &key, validity)?
                    }
                };
                write_new_file(&out, &certificate.to_pem())?;
                let der = certificate.as_der();
                let certified = vchain_pki::inspect(der)?;
                let mut fields = certified_json(&certified, der);
                fields["certificate_file"] = json!(out);
                Ok(Out::new(
                    fields,
                    format!(
                        "{}certificate: {}\n",
                        certified_text(&certified, der),
                        out.display()
                    ),
                ))
            }
            CaCmd::Revoke {
                tx,
                certificate,
                serial,
                reason,
            } => {
                let serial = match (certificate, serial) {
                    (Some(path), _) => {
                        let bytes = read_certificate(&path)?;
                        let der = vchain_contracts::certificate_der(&bytes)
                            .with_context(|| format!("reading certificate {}", path.display()))?;
                        vchain_pki::inspect(&der)?.serial
                    }
                    (None, Some(hex_serial)) => hex::decode(hex_serial.trim())
                        .map_err(|e| UsageError(format!("--serial is not hex: {e}")))?,
                    (None, None) => {
                        return Err(UsageError("give --certificate or --serial".into()).into())
                    }
                };
                self.submit(
                    &tx,
                    Operation::RevokeCertificate(RevokeCertificate { serial, reason }),
                )
                .await
            }
            CaCmd::Show { path, warn_days } => {
                let bytes = read_certificate(&path)?;
                let der = vchain_contracts::certificate_der(&bytes)
                    .with_context(|| format!("reading certificate {}", path.display()))?;
                let certified = vchain_pki::inspect(&der)?;
                let now_ms = vchain_wallet::time::now_ms();
                let expiring = certified.expires_within(now_ms, u64::from(warn_days) * DAY_MS);
                let expired = !certified.is_valid_at(now_ms) && now_ms > certified.not_after_ms;
                let mut fields = certified_json(&certified, &der);
                fields["expired"] = json!(expired);
                fields["expires_within_warn_days"] = json!(expiring);
                let mut text = certified_text(&certified, &der);
                if expired {
                    text.push_str("warning: this certificate has EXPIRED\n");
                } else if expiring {
                    text.push_str(&format!(
                        "warning: this certificate expires within {warn_days} days\n"
                    ));
                }
                Ok(Out::new(fields, text))
            }
        }
    }
}

const DAY_MS: u64 = 86_400_000;

/// The pki role for a `--role` argument.
fn cert_role(role: CertRoleArg) -> vchain_pki::CertRole {
    use vchain_pki::{AccountRole as A, CertRole as C};
    match role {
        CertRoleArg::Node => C::Node,
        CertRoleArg::Device => C::Device,
        CertRoleArg::Administrator => C::Account(A::Administrator),
        CertRoleArg::Financier => C::Account(A::Financier),
        CertRoleArg::CoreEnterprise => C::Account(A::CoreEnterprise),
        CertRoleArg::Supplier => C::Account(A::Supplier),
        CertRoleArg::Regulator => C::Account(A::Regulator),
        CertRoleArg::WarehouseOperator => C::Account(A::WarehouseOperator),
    }
}

/// Refuses to certify a name the chain would refuse as an account, node or device id (all
/// follow [`vchain_contracts::validate::account_id`]): such a certificate could never be bound.
fn chain_accepts_id(name: &str) -> Result<(), UsageError> {
    vchain_contracts::validate::account_id(name).map_err(|rejection| {
        UsageError(format!(
            "not issuing a certificate the chain would refuse: {}",
            rejection.message
        ))
    })
}

/// What a certificate says, for `ca` output.
fn certified_json(c: &vchain_pki::Certified, der: &[u8]) -> Value {
    json!({
        "organisation": c.organisation,
        "common_name": c.common_name,
        "role": c.role.name(),
        "public_key": hex::encode(c.public_key),
        "serial": hex::encode(&c.serial),
        "not_before_ms": c.not_before_ms,
        "not_after_ms": c.not_after_ms,
        "not_before": vchain_wallet::time::format_utc_ms(c.not_before_ms),
        "not_after": vchain_wallet::time::format_utc_ms(c.not_after_ms),
        "sha256": hex::encode(Sha256::digest(der)),
    })
}

fn certified_text(c: &vchain_pki::Certified, der: &[u8]) -> String {
    format!(
        "organisation: {}\nname: {}\nrole: {}\npublic key: {}\nserial: {}\nvalid: {} .. {}\nsha256: {}\n",
        c.organisation,
        c.common_name,
        c.role,
        hex::encode(c.public_key),
        hex::encode(&c.serial),
        vchain_wallet::time::format_utc_ms(c.not_before_ms),
        vchain_wallet::time::format_utc_ms(c.not_after_ms),
        hex::encode(Sha256::digest(der)),
    )
}
