//! Running the commands: keystore work, node calls, transaction building and submission.
//!
//! This module holds what every command shares (the context, node calls, signed reads,
//! transaction submission); each command group of `args` has its own file beside it.

mod account;
mod audit;
mod block;
mod ca;
mod consensus;
mod credit_line;
mod dev;
mod device;
mod events;
mod explorer;
mod identity;
mod key;
mod pledge;
mod proposal;
mod receipt;
mod status;
mod tx;
mod verify;
mod voucher;

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::{ErrorCode, GetStatusRequest, SubmitTransactionRequest};
use vchain_wallet::keystore::{Keystore, KeystoreError};
use vchain_wallet::{Refusal, Signer, Wallet, WalletError};

use crate::args::{BlockCmd, Cli, Command, DevCmd, Hex32, PublicKeySource, TxCmd, TxOpts};
use crate::exit::{Exit, KeyProblem, TxPending, TxRejected, UsageError};
use crate::{json, passphrase, render};

/// How long to wait for a TCP/HTTP2 connection to the node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a command produced: the `--json` document and the human text, and whether a check it
/// made failed even though it has output to show.
pub(crate) struct Out {
    /// Printed with `--json`.
    pub(crate) json: Value,
    /// Printed otherwise (already streamed for `events`, then empty).
    pub(crate) text: String,
    /// Set when the output shows a failed check (a block whose certificate does not verify):
    /// the exit code and the error line for stderr.
    pub(crate) failure: Option<(Exit, String)>,
}

impl Out {
    fn new(json: Value, text: impl Into<String>) -> Self {
        Self {
            json,
            text: text.into(),
            failure: None,
        }
    }

    /// This output, ending with `exit` and `why` on stderr once it is printed.
    fn failing(mut self, exit: Exit, why: String) -> Self {
        self.failure = Some((exit, why));
        self
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
        Command::Verify(a) => ctx.verify_bundle(&a.file, &a.genesis),
        Command::Explorer(a) => ctx.explorer(a).await,
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
            Err(_) => Err(anyhow::Error::new(Refusal::no_answer(self.rpc_timeout)).context(what)),
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
        // The wallet reads the account with a read signed by the transaction's key, so a key
        // the chain does not bind to the account is found here, before anything is sent; it
        // numbers the transaction with the account's next nonce.
        let client = vchain_wallet::Client::with_channel(self.channel().await?)
            .await
            .map_err(wallet_error)?
            .with_call_timeout(self.rpc_timeout);
        let mut wallet = match Wallet::open(client, Signer::new(account.clone(), key)).await {
            Ok(wallet) => wallet,
            Err(WalletError::KeyNotBound { on_chain, .. }) => {
                return Err(KeyProblem(format!(
                    "key {:?} is not the key bound to account {account} on chain (chain has {on_chain})",
                    opts.signer
                ))
                .into())
            }
            Err(WalletError::Refused { refusal, .. })
                if matches!(
                    refusal.code,
                    Some(ErrorCode::BadSignature | ErrorCode::KeyMismatch)
                ) =>
            {
                return Err(KeyProblem(format!(
                    "key {:?} is not the key bound to account {account} on chain: {}",
                    opts.signer, refusal.message
                ))
                .into())
            }
            Err(error) => return Err(wallet_error(error)),
        };
        let mut client = wallet.client().api();
        let op_name = json::oneof_name(&op);
        let signed = wallet.sign(op);
        let hash = hex::encode(vchain_contracts::tx::tx_hash(&signed.body));
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
}

/// A wallet failure as the CLI reports it: a node's refusal keeps its gRPC status (exit codes
/// follow it), an unreachable node is a transport error, a timeout a deadline.
fn wallet_error(error: WalletError) -> anyhow::Error {
    match error {
        WalletError::Refused { what, refusal } => anyhow::Error::new(refusal).context(what),
        WalletError::Connect { endpoint, source } => {
            anyhow::Error::new(source).context(format!("connecting to {endpoint}"))
        }
        WalletError::Timeout { what, after } => {
            anyhow::Error::new(Refusal::no_answer(after)).context(what)
        }
        other => anyhow::Error::new(other),
    }
}
