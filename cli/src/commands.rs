//! Running the commands: keystore work, node calls, transaction building and submission.

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tonic::transport::{Channel, Endpoint};
use vchain_contracts::tx;
use vchain_proto::v1::dev_api_client::DevApiClient;
use vchain_proto::v1::get_block_request::Selector;
use vchain_proto::v1::list_vouchers_request::Owner;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::{
    submit_proposal::Action, AddOrganisation, AdminAccount, CancelAccount, RemoveOrganisation,
    RevokeCertificate, RotateAccountKey, RotateOrganisationCa, SetChainParams, SubmitProposal,
    VoteOnProposal,
};
use vchain_proto::v1::{
    AddConsensusNode, AdvanceClockRequest, ConfirmRedemption, Consideration, ErrorCode,
    FreezeAccount, FreezeVoucher, GetAccountRequest, GetBlockRequest, GetCreditLineRequest,
    GetIdentityRequest, GetProposalRequest, GetStatusRequest, GetTransactionRequest,
    GetVoucherRequest, GrantCreditLine, IssueVoucher, ListProposalsRequest, ListVouchersRequest,
    LowerCreditLine, RaiseCreditLine, RegisterAccount, RegisterIdentity, RemoveConsensusNode,
    RequestRedemption, RevokeCreditLine, Role, SplitVoucher, SubmitTransactionRequest,
    SubscribeEventsRequest, TraceVoucherRequest, TradeDocument, TransferVoucher, UnfreezeAccount,
    UnfreezeVoucher,
};
use vchain_proto::v1::{AuditEntry, ListAuditLogRequest};
use vchain_wallet::keystore::{KeyEntry, Keystore, KeystoreError};
use vchain_wallet::transaction;

use crate::args::AuditArgs;
use crate::args::{
    AccountCmd, BlockCmd, CaCmd, CertRoleArg, Cli, Command, ConsensusCmd, CreditLineCmd, DevCmd,
    DeviceCmd, DeviceKindArg, EventsArgs, Hex32, IdentityCmd, KeyCmd, ParamChanges, PledgeCmd,
    ProposalAction, ProposalCmd, ProposalText, PublicKeySource, ReceiptCmd, TxCmd, TxOpts,
    VoucherCmd, VoucherOwner,
};
use crate::exit::{KeyProblem, TxPending, TxRejected, UsageError};
use crate::{json, passphrase, render};
use vchain_wallet::Refusal;

/// How long to wait for a TCP/HTTP2 connection to the node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MS_PER_DAY: u64 = 86_400_000;
/// How often `vchain tx wait` asks whether a pending transaction committed.
const TX_WAIT_POLL: Duration = Duration::from_millis(250);

/// What a command produced: the `--json` document and the human text.
pub(crate) struct Out {
    /// Printed with `--json`.
    pub(crate) json: Value,
    /// Printed otherwise (already streamed for `events`, then empty).
    pub(crate) text: String,
}

impl Out {
    fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
        }
    }
}

/// Global settings every command uses.
struct Ctx {
    endpoint: String,
    keystore: Option<PathBuf>,
    passphrase_file: Option<PathBuf>,
    reader: Option<String>,
    /// The `--reader` key, its account and the chain id, unlocked and fetched once per run
    /// (a paged listing signs every page).
    signed_reader: tokio::sync::OnceCell<(SigningKey, String, String)>,
    json: bool,
    rpc_timeout: Duration,
}

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<Out> {
    let ctx = Ctx {
        endpoint: cli.endpoint,
        keystore: cli.keystore,
        passphrase_file: cli.passphrase_file,
        reader: cli.reader,
        signed_reader: tokio::sync::OnceCell::new(),
        json: cli.json,
        rpc_timeout: Duration::from_secs(cli.rpc_timeout_secs.max(1)),
    };
    match cli.command {
        Command::Key(c) => ctx.key(c),
        Command::Identity(c) => ctx.identity(c).await,
        Command::Account(c) => ctx.account(c).await,
        Command::CreditLine(c) => ctx.credit_line(c).await,
        Command::Voucher(c) => ctx.voucher(c).await,
        Command::Pledge(c) => ctx.pledge(c).await,
        Command::Receipt(c) => ctx.receipt(c).await,
        Command::Device(c) => ctx.device(c).await,
        Command::Consensus(c) => ctx.consensus(c).await,
        Command::Proposal(c) => ctx.proposal(c).await,
        Command::Ca(c) => ctx.ca(c).await,
        Command::Block(BlockCmd::Get { height, hash }) => ctx.block(height, hash).await,
        Command::Tx(TxCmd::Get { hash }) => ctx.tx_get(hash).await,
        Command::Tx(TxCmd::Wait { hash, timeout_secs }) => ctx.tx_wait(hash, timeout_secs).await,
        Command::Status => ctx.status().await,
        Command::Events(a) => ctx.events(a).await,
        Command::Audit(a) => ctx.audit(a).await,
        Command::Dev(DevCmd::AdvanceClock(a)) => ctx.advance_clock(a.days, a.ms).await,
    }
}

fn hex32(h: &Hex32) -> Vec<u8> {
    h.0.to_vec()
}

/// Largest certificate file read; the chain takes at most 8 KiB, so anything far larger is a
/// wrong path, refused before it is read whole.
const CERTIFICATE_FILE_BYTES_MAX: u64 = 64 * 1024;

/// The bytes of a certificate file (DER or PEM), sent as they are.
fn read_certificate(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading certificate {}", path.display()))?
        .len();
    if size > CERTIFICATE_FILE_BYTES_MAX {
        return Err(UsageError(format!(
            "certificate {} is {size} bytes; a root CA certificate is a few KiB",
            path.display()
        ))
        .into());
    }
    std::fs::read(path).with_context(|| format!("reading certificate {}", path.display()))
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

/// Writes a PEM file that must not exist yet (a CA certificate is never silently replaced).
fn write_new_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The title a proposal gets when none is given.
fn default_title(action: &Action) -> String {
    match action {
        Action::AddOrganisation(a) => format!("add organisation {}", a.org_id),
        Action::RemoveOrganisation(a) => format!("remove organisation {}", a.org_id),
        Action::AddConsensusNode(a) => format!("add consensus node {} of {}", a.node_id, a.org_id),
        Action::RemoveConsensusNode(a) => format!("remove consensus node {}", a.node_id),
        Action::RotateOrganisationCa(a) => format!("rotate the root CA of {}", a.org_id),
        Action::SetChainParams(_) => "change chain parameters".to_owned(),
    }
}

/// `current` with the parameters `changes` names replaced.
fn changed_params(
    mut current: vchain_proto::v1::ChainParams,
    changes: &ParamChanges,
) -> vchain_proto::v1::ChainParams {
    let ParamChanges {
        max_tenor_days,
        min_split_amount,
        split_fanout_max,
        redemption_grace_days,
        block_tx_max,
        block_bytes_max,
        tx_bytes_max,
        destroy_per_block_max,
        proposal_approval_percent,
        proposal_ttl_ms,
    } = *changes;
    let set = |field: &mut u32, value: Option<u32>| {
        if let Some(value) = value {
            *field = value;
        }
    };
    set(&mut current.max_tenor_days, max_tenor_days);
    set(&mut current.split_fanout_max, split_fanout_max);
    set(&mut current.redemption_grace_days, redemption_grace_days);
    set(&mut current.block_tx_max, block_tx_max);
    set(&mut current.block_bytes_max, block_bytes_max);
    set(&mut current.tx_bytes_max, tx_bytes_max);
    set(&mut current.destroy_per_block_max, destroy_per_block_max);
    set(
        &mut current.proposal_approval_percent,
        proposal_approval_percent,
    );
    if let Some(value) = min_split_amount {
        current.min_split_amount = value;
    }
    if let Some(value) = proposal_ttl_ms {
        current.proposal_ttl_ms = value;
    }
    current
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

impl Ctx {
    // -----------------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------------

    fn keystore_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.keystore {
            return Ok(p.clone());
        }
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                KeyProblem("no --keystore given and no home directory (HOME) is set".into())
            })?;
        Ok(PathBuf::from(home).join(".vchain").join("keystore.json"))
    }

    fn open_keystore(&self) -> anyhow::Result<Keystore> {
        let path = self.keystore_path()?;
        Keystore::load_or_create(&path).context("opening keystore")
    }

    fn save(&self, ks: &Keystore) -> anyhow::Result<()> {
        ks.save().context("saving keystore")
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let endpoint = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|e| UsageError(format!("invalid endpoint {:?}: {e}", self.endpoint)))?
            .connect_timeout(CONNECT_TIMEOUT);
        endpoint
            .connect()
            .await
            .with_context(|| format!("connecting to {}", self.endpoint))
    }

    async fn client(&self) -> anyhow::Result<VchainApiClient<Channel>> {
        Ok(VchainApiClient::new(self.channel().await?))
    }

    /// Awaits one unary call with the RPC timeout; errors carry `what` as context.
    async fn call<T>(
        &self,
        what: impl Into<String>,
        fut: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> anyhow::Result<T> {
        let what = what.into();
        match tokio::time::timeout(self.rpc_timeout, fut).await {
            Ok(Ok(resp)) => Ok(resp.into_inner()),
            Ok(Err(status)) => Err(anyhow::Error::new(Refusal::from(status)).context(what)),
            Err(_) => Err(anyhow::Error::new(Refusal {
                status: tonic::Code::DeadlineExceeded,
                code: None,
                message: format!("no answer within {} s", self.rpc_timeout.as_secs()),
                tx_hash: None,
                height: None,
                broke_off: false,
            })
            .context(what)),
        }
    }

    /// `message` as a signed read of `method` by the `--reader` key.
    async fn read<T: prost::Message>(
        &self,
        message: T,
        method: &str,
    ) -> anyhow::Result<tonic::Request<T>> {
        let (key, account, chain_id) = self
            .signed_reader
            .get_or_try_init(|| async {
                let name = self.reader.as_deref().ok_or_else(|| {
                    UsageError(
                        "reads are signed: give --reader KEY (or set VCHAIN_READER) naming a keystore key of a registered account".into(),
                    )
                })?;
                let (key, account) = self.signer(name)?;
                anyhow::Ok((key, account, self.chain_id().await?))
            })
            .await?;
        Ok(vchain_wallet::read::request_now(
            message, chain_id, method, account, key,
        ))
    }

    /// The chain id, from the node's (public) status.
    async fn chain_id(&self) -> anyhow::Result<String> {
        let mut c = self.client().await?;
        Ok(self
            .call("reading the node status", c.get_status(GetStatusRequest {}))
            .await?
            .chain_id)
    }

    /// The key of `signer` and the account it signs for.
    fn signer(&self, signer: &str) -> anyhow::Result<(SigningKey, String)> {
        let ks = self.open_keystore()?;
        let entry = ks
            .entry(signer)
            .ok_or_else(|| KeystoreError::NotFound(signer.to_owned()))?;
        let account = entry
            .account_id()
            .ok_or_else(|| {
                KeyProblem(format!(
                    "key {signer:?} has no account: run `vchain key set-account {signer} ACCOUNT` first"
                ))
            })?
            .to_owned();
        let pass = passphrase::obtain(self.passphrase_file.as_deref(), signer, false)?;
        let key = ks
            .unlock(signer, &pass)
            .with_context(|| format!("unlocking key {signer:?}"))?;
        Ok((key, account))
    }

    /// Signs `op` with the key `opts.signer`, submits it and renders the outcome.
    async fn submit(&self, opts: &TxOpts, op: Operation) -> anyhow::Result<Out> {
        let (key, account) = self.signer(&opts.signer)?;
        let mut client = self.client().await?;
        let status = self
            .call(
                "reading the node status",
                client.get_status(GetStatusRequest {}),
            )
            .await?;
        let nonce_read = vchain_wallet::read::request_now(
            GetAccountRequest {
                account_id: account.clone(),
            },
            &status.chain_id,
            "GetAccount",
            &account,
            &key,
        );
        // The nonce read is signed with the transaction's key, so a key the chain does not
        // bind to the account is found here, before anything is sent.
        let on_chain = self
            .call(
                format!("reading account {account}"),
                client.get_account(nonce_read),
            )
            .await
            .map_err(|error| match error.downcast_ref::<Refusal>() {
                Some(rpc)
                    if rpc.status == tonic::Code::Unauthenticated
                        && rpc.message.contains("does not verify") =>
                {
                    anyhow::Error::new(KeyProblem(format!(
                        "key {:?} is not the key bound to account {account} on chain: {}",
                        opts.signer, rpc.message
                    )))
                }
                _ => error,
            })?
            .account
            .ok_or_else(|| anyhow!("reading account {account}: the node returned no account"))?;
        if on_chain.public_key != key.verifying_key().as_bytes() {
            return Err(KeyProblem(format!(
                "key {:?} is not the key bound to account {account} on chain (chain has {})",
                opts.signer,
                hex::encode(&on_chain.public_key)
            ))
            .into());
        }
        let op_name = json::oneof_name(&op);
        let body = transaction::body(&status.chain_id, &account, on_chain.next_nonce, op);
        let signed = transaction::sign(&body, &key);
        let hash = hex::encode(tx::tx_hash(&signed.body));
        let request = SubmitTransactionRequest {
            transaction: Some(signed),
            wait_for_commit: !opts.no_wait,
            timeout_ms: 0,
        };
        let resp = self
            .call(
                format!("submitting {op_name} transaction {hash}"),
                client.submit_transaction(request),
            )
            .await?;
        if resp.pending {
            return Err(anyhow::Error::new(TxPending { tx_hash: hash })
                .context(format!("submitting {op_name} transaction")));
        }
        if let Some(result) = resp
            .result
            .as_ref()
            .filter(|r| resp.committed && r.code != ErrorCode::Ok as i32)
        {
            return Err(anyhow::Error::new(TxRejected {
                code: render::enum_name(result.code, ErrorCode::as_str_name),
                message: result.message.clone(),
                tx_hash: hash.clone(),
                height: resp.height,
            })
            .context(format!("{op_name} transaction {hash} rejected")));
        }
        Ok(Out::new(json::to_json(&resp), render::submit(&resp)))
    }

    /// The public key a `--public-key HEX | --key NAME` pair names.
    /// The key and certificate an account is registered with; the key is empty when only a
    /// certificate is given (the chain takes the certificate's).
    fn key_and_certificate(&self, src: &PublicKeySource) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
        let certificate = match &src.certificate {
            Some(path) => read_certificate(path)?,
            None => Vec::new(),
        };
        let public_key = if src.public_key.is_none() && src.key.is_none() {
            Vec::new()
        } else {
            self.public_key(src.public_key.as_ref(), src.key.as_deref())?
        };
        Ok((public_key, certificate))
    }

    fn public_key(&self, public_key: Option<&Hex32>, key: Option<&str>) -> anyhow::Result<Vec<u8>> {
        if let Some(h) = public_key {
            return Ok(hex32(h));
        }
        let name = key.ok_or_else(|| UsageError("give --public-key or --key".into()))?;
        let ks = self.open_keystore()?;
        let entry = ks
            .entry(name)
            .ok_or_else(|| KeystoreError::NotFound(name.to_owned()))?;
        Ok(entry.public_key().as_bytes().to_vec())
    }

    // -----------------------------------------------------------------------------------------
    // key
    // -----------------------------------------------------------------------------------------

    fn key(&self, cmd: KeyCmd) -> anyhow::Result<Out> {
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

    // -----------------------------------------------------------------------------------------
    // identity, account, credit line
    // -----------------------------------------------------------------------------------------

    async fn identity(&self, cmd: IdentityCmd) -> anyhow::Result<Out> {
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

    async fn account(&self, cmd: AccountCmd) -> anyhow::Result<Out> {
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

    /// `consensus add-node | remove-node`: the same proposals as `proposal submit add-node |
    /// remove-node`, with a default title.
    async fn consensus(&self, cmd: ConsensusCmd) -> anyhow::Result<Out> {
        let no_text = || ProposalText {
            title: None,
            reason: String::new(),
        };
        let action = match cmd {
            ConsensusCmd::AddNode {
                tx,
                node_id,
                org_id,
                public_key,
                certificate,
            } => ProposalAction::AddNode {
                tx,
                text: no_text(),
                node_id,
                org_id,
                public_key,
                certificate,
            },
            ConsensusCmd::RemoveNode { tx, node_id } => ProposalAction::RemoveNode {
                tx,
                text: no_text(),
                node_id,
            },
        };
        self.proposal(ProposalCmd::Submit(action)).await
    }

    // -----------------------------------------------------------------------------------------
    // device
    // -----------------------------------------------------------------------------------------

    async fn device(&self, cmd: DeviceCmd) -> anyhow::Result<Out> {
        use vchain_proto::v1::sensor_reading::Measurement;
        use vchain_proto::v1::{
            Climate, DeviceKind, Position, RegisterDevice, RevokeDevice, SensorReading,
            SubmitReading,
        };
        match cmd {
            DeviceCmd::Register {
                tx,
                device,
                kind,
                receipt,
                device_key,
                fence,
                temperature,
            } => {
                let public_key = self.public_key(None, Some(&device_key))?;
                let kind = match kind {
                    DeviceKindArg::Scale => DeviceKind::Scale,
                    DeviceKindArg::Gate => DeviceKind::Gate,
                    DeviceKindArg::Climate => DeviceKind::Climate,
                    DeviceKindArg::Gps => DeviceKind::Gps,
                    DeviceKindArg::Lock => DeviceKind::Lock,
                    DeviceKindArg::Rfid => DeviceKind::Rfid,
                };
                let fence = if fence.is_empty() { vec![0; 4] } else { fence };
                let temperature = if temperature.is_empty() {
                    vec![0; 2]
                } else {
                    temperature
                };
                let op = Operation::RegisterDevice(RegisterDevice {
                    device_id: device,
                    public_key,
                    kind: kind.into(),
                    receipt_id: receipt,
                    min_lat_e7: fence[0],
                    max_lat_e7: fence[1],
                    min_lon_e7: fence[2],
                    max_lon_e7: fence[3],
                    min_centi_celsius: temperature[0],
                    max_centi_celsius: temperature[1],
                });
                self.submit(&tx, op).await
            }
            DeviceCmd::Get { device } => {
                let what = format!("getting device {device}");
                let mut c = self.client().await?;
                let request = self
                    .read(
                        vchain_proto::v1::GetDeviceRequest {
                            device_id: device.clone(),
                        },
                        "GetDevice",
                    )
                    .await?;
                let d = self
                    .call(what.clone(), c.get_device(request))
                    .await?
                    .device
                    .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
                let text = format!(
                    "device: {}\noperator: {}\nkind: {}\nlot: {}\nkey: {}\nlast counter: {}\nstatus: {}\n",
                    d.device_id,
                    d.operator,
                    d.kind().as_str_name().trim_start_matches("DEVICE_KIND_"),
                    d.receipt_id,
                    hex::encode(&d.public_key),
                    d.last_counter,
                    d.status().as_str_name().trim_start_matches("DEVICE_STATUS_"),
                );
                Ok(Out::new(json!({ "device": json::to_json(&d) }), text))
            }
            DeviceCmd::Revoke { tx, device, reason } => {
                let op = Operation::RevokeDevice(RevokeDevice {
                    device_id: device,
                    reason,
                });
                self.submit(&tx, op).await
            }
            DeviceCmd::Read {
                tx,
                device,
                device_key,
                counter,
                quantity,
                units_out,
                centi_celsius,
                position,
                lock_open,
                rfid,
            } => {
                let measurement = if let Some(q) = quantity {
                    Measurement::Quantity(q)
                } else if let Some(out) = units_out {
                    Measurement::UnitsOut(out)
                } else if let Some(c) = centi_celsius {
                    Measurement::Climate(Climate {
                        centi_celsius: c,
                        humidity_permille: 0,
                    })
                } else if let Some(p) = position {
                    Measurement::Position(Position {
                        lat_e7: p[0],
                        lon_e7: p[1],
                    })
                } else if let Some(open) = lock_open {
                    Measurement::LockOpen(open)
                } else if let Some(tag) = rfid {
                    Measurement::RfidTag(tag)
                } else {
                    return Err(UsageError(
                        "give one measurement: --quantity, --units-out, --centi-celsius, --position, --lock-open or --rfid".into(),
                    )
                    .into());
                };
                let ks = self.open_keystore()?;
                let pass = passphrase::obtain(self.passphrase_file.as_deref(), &device_key, false)?;
                let key = ks
                    .unlock(&device_key, &pass)
                    .with_context(|| format!("unlocking device key {device_key:?}"))?;
                let reading = prost::Message::encode_to_vec(&SensorReading {
                    device_id: device,
                    counter,
                    device_time_ms: vchain_wallet::time::now_ms(),
                    measurement: Some(measurement),
                });
                let signature = ed25519_dalek::Signer::sign(&key, &reading)
                    .to_bytes()
                    .to_vec();
                let op = Operation::SubmitReading(SubmitReading {
                    reading,
                    device_signature: signature,
                });
                self.submit(&tx, op).await
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // receipt
    // -----------------------------------------------------------------------------------------

    async fn receipt(&self, cmd: ReceiptCmd) -> anyhow::Result<Out> {
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

    // -----------------------------------------------------------------------------------------
    // pledge
    // -----------------------------------------------------------------------------------------

    async fn pledge(&self, cmd: PledgeCmd) -> anyhow::Result<Out> {
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

    // -----------------------------------------------------------------------------------------
    // ca
    // -----------------------------------------------------------------------------------------

    async fn ca(&self, cmd: CaCmd) -> anyhow::Result<Out> {
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

    // -----------------------------------------------------------------------------------------
    // proposal
    // -----------------------------------------------------------------------------------------

    async fn proposal(&self, cmd: ProposalCmd) -> anyhow::Result<Out> {
        let (tx, text, action) = match cmd {
            ProposalCmd::Get { proposal_id } => return self.get_proposal(&proposal_id).await,
            ProposalCmd::List { open } => return self.list_proposals(open).await,
            ProposalCmd::Vote {
                tx,
                proposal_id,
                approve,
                reject,
            } => {
                // clap makes exactly one of the two present.
                debug_assert!(approve != reject);
                let op = Operation::VoteOnProposal(VoteOnProposal {
                    proposal_id,
                    approve,
                });
                return self.submit(&tx, op).await;
            }
            ProposalCmd::Submit(ProposalAction::AddNode {
                tx,
                text,
                node_id,
                org_id,
                public_key,
                certificate,
            }) => (
                tx,
                text,
                Action::AddConsensusNode(AddConsensusNode {
                    node_id,
                    org_id,
                    public_key: hex32(&public_key),
                    certificate: match certificate {
                        Some(path) => read_certificate(&path)?,
                        None => Vec::new(),
                    },
                }),
            ),
            ProposalCmd::Submit(ProposalAction::RemoveNode { tx, text, node_id }) => (
                tx,
                text,
                Action::RemoveConsensusNode(RemoveConsensusNode { node_id }),
            ),
            ProposalCmd::Submit(ProposalAction::AddOrganisation {
                tx,
                text,
                org_id,
                name,
                uscc,
                admins,
                admin_certificates,
                ca_cert,
            }) => {
                let root_ca_certificate = match ca_cert {
                    Some(path) => read_certificate(&path)?,
                    None => Vec::new(),
                };
                let mut admins: Vec<AdminAccount> = admins
                    .into_iter()
                    .map(|(account_id, key)| AdminAccount {
                        account_id,
                        public_key: hex32(&key),
                        certificate: Vec::new(),
                    })
                    .collect();
                for path in admin_certificates {
                    let certificate = read_certificate(&path)?;
                    let der = vchain_contracts::certificate_der(&certificate)
                        .with_context(|| format!("reading certificate {}", path.display()))?;
                    let certified = vchain_pki::inspect(&der)
                        .with_context(|| format!("reading certificate {}", path.display()))?;
                    admins.push(AdminAccount {
                        account_id: certified.common_name,
                        public_key: Vec::new(),
                        certificate,
                    });
                }
                (
                    tx,
                    text,
                    Action::AddOrganisation(AddOrganisation {
                        org_id,
                        name,
                        uscc,
                        admins,
                        root_ca_certificate,
                    }),
                )
            }
            ProposalCmd::Submit(ProposalAction::RemoveOrganisation { tx, text, org_id }) => (
                tx,
                text,
                Action::RemoveOrganisation(RemoveOrganisation { org_id }),
            ),
            ProposalCmd::Submit(ProposalAction::RotateCa {
                tx,
                text,
                org_id,
                ca_cert,
            }) => (
                tx,
                text,
                Action::RotateOrganisationCa(RotateOrganisationCa {
                    org_id,
                    root_ca_certificate: read_certificate(&ca_cert)?,
                }),
            ),
            ProposalCmd::Submit(ProposalAction::SetParams { tx, text, params }) => {
                let mut client = self.client().await?;
                let current = self
                    .call(
                        "reading the chain parameters",
                        client.get_status(GetStatusRequest {}),
                    )
                    .await?
                    .params
                    .ok_or_else(|| anyhow!("the node reported no chain parameters"))?;
                (
                    tx,
                    text,
                    Action::SetChainParams(SetChainParams {
                        params: Some(changed_params(current, &params)),
                    }),
                )
            }
        };
        let title = text.title.unwrap_or_else(|| default_title(&action));
        let op = Operation::SubmitProposal(SubmitProposal {
            action: Some(action),
            title,
            reason: text.reason,
        });
        self.submit(&tx, op).await
    }

    async fn credit_line(&self, cmd: CreditLineCmd) -> anyhow::Result<Out> {
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

    // -----------------------------------------------------------------------------------------
    // voucher
    // -----------------------------------------------------------------------------------------

    async fn voucher(&self, cmd: VoucherCmd) -> anyhow::Result<Out> {
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
            VoucherCmd::Trace { voucher } => {
                let mut c = self.client().await?;
                let t = self
                    .call(
                        format!("tracing voucher {voucher}"),
                        c.trace_voucher(
                            self.read(
                                TraceVoucherRequest {
                                    voucher_id: voucher.clone(),
                                },
                                "TraceVoucher",
                            )
                            .await?,
                        ),
                    )
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

    async fn get_proposal(&self, id: &str) -> anyhow::Result<Out> {
        let mut c = self.client().await?;
        let r = self
            .call(
                format!("getting proposal {id}"),
                c.get_proposal(
                    self.read(
                        GetProposalRequest {
                            proposal_id: id.to_owned(),
                        },
                        "GetProposal",
                    )
                    .await?,
                ),
            )
            .await?;
        let p = r
            .proposal
            .ok_or_else(|| anyhow!("getting proposal {id}: the node returned none"))?;
        let mut text = render::proposal(&p);
        for e in &r.events {
            text.push_str(&render::event_line(e, false));
            text.push('\n');
        }
        Ok(Out::new(
            json!({ "proposal": json::to_json(&p), "events": json::to_json(&r.events) }),
            text,
        ))
    }

    async fn list_proposals(&self, open_only: bool) -> anyhow::Result<Out> {
        let what = "listing proposals".to_owned();
        let mut c = self.client().await?;
        let mut proposals = Vec::new();
        let mut token = String::new();
        loop {
            let req = ListProposalsRequest {
                open_only,
                page_token: token.clone(),
                page_size: 0,
            };
            let page = self
                .call(
                    what.clone(),
                    c.list_proposals(self.read(req.clone(), "ListProposals").await?),
                )
                .await?;
            proposals.extend(page.proposals);
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
        let mut text: String = proposals
            .iter()
            .map(|p| render::proposal_row(p) + "\n")
            .collect();
        text.push_str(&format!("{} proposal(s)\n", proposals.len()));
        Ok(Out::new(
            json!({ "proposals": json::to_json(&proposals) }),
            text,
        ))
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

    /// `audit`: pages of the audit log until `--limit` entries or the end.
    async fn audit(&self, args: AuditArgs) -> anyhow::Result<Out> {
        let what = "reading the audit log".to_owned();
        let mut c = self.client().await?;
        let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
        let mut entries: Vec<AuditEntry> = Vec::new();
        let mut token = args.after.unwrap_or_default();
        let next = loop {
            let wanted = (limit - entries.len()).min(vchain_contracts::audit::AUDIT_PAGE_MAX);
            let req = ListAuditLogRequest {
                org_id: args.org_id.clone().unwrap_or_default(),
                account_id: args.account.clone().unwrap_or_default(),
                from_height: args.from_height.unwrap_or(0),
                to_height: args.to_height.unwrap_or(0),
                page_token: token.clone(),
                page_size: u32::try_from(wanted).unwrap_or(u32::MAX),
            };
            let page = self
                .call(
                    what.clone(),
                    c.list_audit_log(self.read(req, "ListAuditLog").await?),
                )
                .await?;
            entries.extend(page.entries);
            if page.next_page_token.is_empty() {
                break String::new();
            }
            if page.next_page_token == token {
                return Err(anyhow!(
                    "{what}: the node returned the same page token twice"
                ));
            }
            token = page.next_page_token;
            if entries.len() >= limit {
                break token;
            }
        };
        let mut text: String = entries
            .iter()
            .filter_map(|e| e.event.as_ref())
            .map(|e| render::event_line(e, true) + "\n")
            .collect();
        text.push_str(&format!("{} audit log entr(ies)\n", entries.len()));
        if !next.is_empty() {
            text.push_str(&format!("more: --after {next}\n"));
        }
        Ok(Out::new(
            json!({ "entries": json::to_json(&entries), "next_page_token": next }),
            text,
        ))
    }

    // -----------------------------------------------------------------------------------------
    // chain
    // -----------------------------------------------------------------------------------------

    async fn block(&self, height: Option<u64>, hash: Option<Hex32>) -> anyhow::Result<Out> {
        let (selector, what) = match (height, hash) {
            (Some(h), _) => (Some(Selector::Height(h)), format!("getting block {h}")),
            (None, Some(h)) => (
                Some(Selector::Hash(hex32(&h))),
                format!("getting block {}", hex::encode(h.0)),
            ),
            (None, None) => (None, "getting the latest block".to_owned()),
        };
        let mut c = self.client().await?;
        let r = self
            .call(
                what.clone(),
                c.get_block(self.read(GetBlockRequest { selector }, "GetBlock").await?),
            )
            .await?;
        let b = r
            .block
            .as_ref()
            .ok_or_else(|| anyhow!("{what}: the node returned none"))?;
        Ok(Out::new(json::to_json(&r), render::block(b, &r.block_hash)))
    }

    /// Polls for `hash` until it is committed or `timeout_secs` pass (then exit 7, pending).
    async fn tx_wait(&self, hash: Hex32, timeout_secs: u64) -> anyhow::Result<Out> {
        let deadline = std::time::Instant::now() + Duration::from_secs(timeout_secs);
        loop {
            match self.tx_get(hash).await {
                Ok(out) => return Ok(out),
                Err(error)
                    if error
                        .downcast_ref::<Refusal>()
                        .is_some_and(|rpc| rpc.status == tonic::Code::NotFound)
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(TX_WAIT_POLL).await;
                }
                Err(error)
                    if error
                        .downcast_ref::<Refusal>()
                        .is_some_and(|rpc| rpc.status == tonic::Code::NotFound) =>
                {
                    return Err(anyhow::Error::new(TxPending {
                        tx_hash: hex::encode(hash.0),
                    }));
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn tx_get(&self, hash: Hex32) -> anyhow::Result<Out> {
        let mut c = self.client().await?;
        let r = self
            .call(
                format!("getting transaction {}", hex::encode(hash.0)),
                c.get_transaction(
                    self.read(
                        GetTransactionRequest {
                            tx_hash: hex32(&hash),
                        },
                        "GetTransaction",
                    )
                    .await?,
                ),
            )
            .await?;
        Ok(Out::new(json::to_json(&r), render::transaction(&r)))
    }

    async fn status(&self) -> anyhow::Result<Out> {
        let mut c = self.client().await?;
        // Public; signed when a reader is given, so the expiring certificates of the reader's
        // accounts (or, for an auditor, of everyone) are listed too.
        let request = match self.reader {
            Some(_) => self.read(GetStatusRequest {}, "GetStatus").await?,
            None => tonic::Request::new(GetStatusRequest {}),
        };
        let s = self
            .call("reading the node status", c.get_status(request))
            .await?;
        Ok(Out::new(json::to_json(&s), render::status(&s)))
    }

    /// Follows the event stream until `--limit` events, `--timeout-secs`, the end of the stream
    /// or Ctrl-C. Human output is streamed line by line; `--json` prints all events at the end.
    async fn events(&self, a: EventsArgs) -> anyhow::Result<Out> {
        let deadline = a
            .timeout_secs
            .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);

        let mut events = Vec::new();
        let request = SubscribeEventsRequest {
            from_height: a.from_height,
            account_id: a.account.unwrap_or_default(),
            voucher_id: a.voucher.unwrap_or_default(),
        };
        let what = "following events";
        let stopped = 'run: {
            let mut client = tokio::select! {
                c = self.client() => c?,
                _ = &mut sleep => break 'run "timeout",
                _ = &mut ctrl_c => break 'run "interrupted",
            };
            let request = self.read(request, "SubscribeEvents").await?;
            let mut stream = tokio::select! {
                r = client.subscribe_events(request) => {
                    r.map_err(|s| anyhow::Error::new(Refusal::from(s)).context(what))?.into_inner()
                }
                _ = &mut sleep => break 'run "timeout",
                _ = &mut ctrl_c => break 'run "interrupted",
            };
            loop {
                if a.limit.is_some_and(|l| events.len() as u64 >= l) {
                    break 'run "limit";
                }
                let next = tokio::select! {
                    m = stream.message() => m.map_err(|s| anyhow::Error::new(Refusal::from(s)).context(what))?,
                    _ = &mut sleep => break 'run "timeout",
                    _ = &mut ctrl_c => break 'run "interrupted",
                };
                let Some(envelope) = next else {
                    break 'run "end of stream";
                };
                let Some(event) = envelope.event else {
                    continue;
                };
                if !self.json {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{}", render::event_line(&event, true));
                    let _ = out.flush();
                }
                events.push(event);
            }
        };
        Ok(Out::new(
            json!({ "events": json::to_json(&events), "count": events.len(), "stopped": stopped }),
            String::new(),
        ))
    }

    async fn advance_clock(&self, days: Option<u64>, ms: Option<u64>) -> anyhow::Result<Out> {
        let milliseconds = match (days, ms) {
            (Some(d), _) => d
                .checked_mul(MS_PER_DAY)
                .ok_or_else(|| UsageError(format!("--days {d} is too large")))?,
            (None, Some(ms)) => ms,
            (None, None) => return Err(UsageError("give --days or --ms".into()).into()),
        };
        let mut c = DevApiClient::new(self.channel().await?);
        let r = self
            .call(
                "advancing the dev clock",
                c.advance_clock(AdvanceClockRequest { milliseconds }),
            )
            .await?;
        let text = format!(
            "chain time: {}\nclock offset: {} ms\n",
            vchain_wallet::time::format_utc_ms(r.chain_time_ms),
            r.clock_offset_ms
        );
        Ok(Out::new(json::to_json(&r), text))
    }
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
