//! Test harness: a dev node in a temporary directory, reached over real gRPC on loopback.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod cluster;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use tempfile::TempDir;
use tonic::transport::Channel;
use vchain_contracts::genesis::Genesis;
use vchain_devnet as dev;
use vchain_node::config::NodeConfig;
use vchain_node::NodeHandle;
use vchain_proto::v1::dev_api_client::DevApiClient;
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::vchain_api_client::VchainApiClient;
use vchain_proto::v1::*;
use vchain_wallet::keystore::Keystore;
use vchain_wallet::transaction;

pub const DAY_MS: u64 = 86_400_000;

/// Copies the directory tree `from` to `to` (a ledger, a backup), replacing `to` if it exists.
pub fn copy_dir(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).expect("remove");
    }
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A read of `method` signed by the dev regulator (an auditor, who may read everything) of the
/// dev chain `chain_id` whose keystore is in `dir` (a dev data directory or a dev cluster's).
pub fn audited_in<T: prost::Message>(
    dir: &Path,
    chain_id: &str,
    message: T,
    method: &str,
) -> tonic::Request<T> {
    let keystore = [dir.join("keystore.json"), dir.join("../keystore.json")]
        .into_iter()
        .find(|p| p.exists())
        .expect("a dev keystore");
    let key = Keystore::load_or_create(&keystore)
        .expect("keystore")
        .unlock("regulator", dev::DEV_PASSPHRASE)
        .expect("regulator key");
    vchain_wallet::read::request_now(message, chain_id, method, "regulator", &key)
}

/// [`audited_in`] for the dev chain `node` runs.
pub fn audited<T: prost::Message>(
    node: &NodeHandle,
    message: T,
    method: &str,
) -> tonic::Request<T> {
    audited_in(
        &node.chain.config.data_dir,
        &node.chain.chain_id,
        message,
        method,
    )
}

/// `message` as a read of `method` signed by dev account `reader` of `node`'s chain.
pub fn read_as<T: prost::Message>(
    node: &TestNode,
    reader: &str,
    message: T,
    method: &str,
) -> tonic::Request<T> {
    vchain_wallet::read::request_now(
        message,
        &node.genesis.chain_id,
        method,
        reader,
        &node.key(reader),
    )
}

pub struct TestNode {
    pub dir: TempDir,
    pub config: NodeConfig,
    pub genesis: Genesis,
    pub node: Option<NodeHandle>,
    pub api: VchainApiClient<Channel>,
    pub dev: DevApiClient<Channel>,
}

impl TestNode {
    /// `message` as a read of `method` signed by the dev regulator (who may read everything).
    pub fn audited<T: prost::Message>(&self, message: T, method: &str) -> tonic::Request<T> {
        audited_in(self.dir.path(), &self.genesis.chain_id, message, method)
    }

    /// A fresh dev chain on an ephemeral loopback port.
    pub async fn start() -> TestNode {
        Self::start_with(|_| {}).await
    }

    /// A fresh dev chain whose config `adjust` changes first.
    pub async fn start_with(adjust: impl FnOnce(&mut NodeConfig)) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = vchain_node::clock::ChainClock::default().now_ms();
        let mut config = dev::prepare(
            dir.path(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            false,
            now,
        )
        .expect("dev data dir");
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    async fn start_in(dir: TempDir, config: NodeConfig) -> TestNode {
        let genesis = vchain_node::load_genesis(&config.genesis).expect("genesis");
        let node = vchain_node::start(config.clone())
            .await
            .expect("node starts");
        let endpoint = format!("http://{}", node.grpc_addr);
        let channel = Channel::from_shared(endpoint)
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        TestNode {
            dir,
            config,
            genesis,
            api: VchainApiClient::new(channel.clone()),
            dev: DevApiClient::new(channel),
            node: Some(node),
        }
    }

    /// Stops the node gracefully and starts it again on the same data directory.
    pub async fn restart(mut self) -> TestNode {
        self.node
            .take()
            .expect("running")
            .shutdown()
            .await
            .expect("clean shutdown");
        let TestNode { dir, config, .. } = self;
        let mut config = config;
        config.grpc_listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_in(dir, config).await
    }

    pub async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await.expect("clean shutdown");
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The signing key of a dev account.
    pub fn key(&self, account: &str) -> SigningKey {
        let keystore =
            Keystore::load_or_create(&self.dir.path().join("keystore.json")).expect("keystore");
        keystore
            .unlock(account, dev::DEV_PASSPHRASE)
            .expect("dev key")
    }

    /// Bank A's financier grants the carmaker a CNY credit line of `limit`, then the carmaker
    /// issues `amount` to gearbox against invoice `invoice`, maturing in `days`; returns the
    /// voucher id.
    pub async fn grant_and_issue(
        &mut self,
        limit: u64,
        amount: u64,
        days: u32,
        invoice: &str,
    ) -> String {
        let bank = self.uscc_of("bank-a-finance");
        let carmaker = self.uscc_of("carmaker");
        self.ok(
            "bank-a-finance",
            Operation::GrantCreditLine(GrantCreditLine {
                core_enterprise: carmaker,
                currency: "CNY".into(),
                limit,
            }),
        )
        .await;
        let maturity = self.date_in(days).await;
        let events = self
            .ok(
                "carmaker",
                issue("gearbox", &bank, amount, &maturity, invoice),
            )
            .await;
        created_vouchers(&events).pop().expect("issued voucher")
    }

    /// `admin` puts `account`'s current certificate on the revocation list.
    pub async fn revoke_certificate_of(&mut self, admin: &str, account: &str) {
        let serial = self
            .api
            .get_account(self.audited(
                GetAccountRequest {
                    account_id: account.into(),
                },
                "GetAccount",
            ))
            .await
            .expect("account")
            .into_inner()
            .account
            .expect("account")
            .certificate_serial;
        self.ok(
            admin,
            Operation::RevokeCertificate(RevokeCertificate {
                serial,
                reason: "laptop stolen".into(),
            }),
        )
        .await;
    }

    /// Bank A's administrator proposes one more day of redemption grace (bank B has not voted:
    /// it stays open until its deadline); returns the proposal id.
    pub async fn propose_longer_grace(&mut self) -> String {
        let params = self.status().await.params.expect("params");
        let events = self
            .ok(
                "bank-a-admin",
                Operation::SubmitProposal(SubmitProposal {
                    action: Some(submit_proposal::Action::SetChainParams(SetChainParams {
                        params: Some(ChainParams {
                            redemption_grace_days: params.redemption_grace_days + 1,
                            ..params
                        }),
                    })),
                    title: "longer grace".into(),
                    reason: String::new(),
                }),
            )
            .await;
        events
            .iter()
            .find(|e| e.kind() == EventKind::ProposalSubmitted)
            .expect("submitted")
            .proposal_id
            .clone()
    }

    pub fn uscc_of(&self, account: &str) -> String {
        for org in &self.genesis.organisations {
            if org.admins.iter().any(|a| a.account_id == account) {
                return org.uscc.clone();
            }
        }
        self.genesis
            .identities
            .iter()
            .find(|i| i.accounts.iter().any(|a| a.account_id == account))
            .map(|i| i.uscc.clone())
            .expect("known dev account")
    }

    pub async fn status(&mut self) -> GetStatusResponse {
        self.api
            .get_status(GetStatusRequest {})
            .await
            .expect("status")
            .into_inner()
    }

    pub async fn next_nonce(&mut self, account: &str) -> u64 {
        let response = self
            .api
            .get_account(self.audited(
                GetAccountRequest {
                    account_id: account.into(),
                },
                "GetAccount",
            ))
            .await
            .expect("account");
        response.into_inner().account.expect("account").next_nonce
    }

    /// Signs `operation` as `account` with its next nonce.
    pub async fn sign(&mut self, account: &str, operation: Operation) -> SignedTransaction {
        let nonce = self.next_nonce(account).await;
        self.sign_with_nonce(account, nonce, operation)
    }

    pub fn sign_with_nonce(
        &self,
        account: &str,
        nonce: u64,
        operation: Operation,
    ) -> SignedTransaction {
        transaction::sign(
            &transaction::body(&self.genesis.chain_id, account, nonce, operation),
            &self.key(account),
        )
    }

    /// Submits and waits for the commit; returns the result or the gRPC status.
    pub async fn submit_tx(
        &mut self,
        transaction: SignedTransaction,
    ) -> Result<SubmitTransactionResponse, tonic::Status> {
        self.api
            .submit_transaction(SubmitTransactionRequest {
                transaction: Some(transaction),
                wait_for_commit: true,
                timeout_ms: 20_000,
            })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn submit(
        &mut self,
        account: &str,
        operation: Operation,
    ) -> Result<SubmitTransactionResponse, tonic::Status> {
        let transaction = self.sign(account, operation).await;
        self.submit_tx(transaction).await
    }

    /// Submits and expects success; returns the events.
    pub async fn ok(&mut self, account: &str, operation: Operation) -> Vec<Event> {
        let response = self
            .submit(account, operation)
            .await
            .unwrap_or_else(|status| panic!("{account}: {status:?}"));
        assert!(response.committed);
        response.result.expect("result").events
    }

    pub async fn voucher(&mut self, id: &str) -> Voucher {
        self.api
            .get_voucher(self.audited(
                GetVoucherRequest {
                    voucher_id: id.into(),
                },
                "GetVoucher",
            ))
            .await
            .expect("voucher")
            .into_inner()
            .voucher
            .expect("voucher")
    }

    pub async fn credit_line(&mut self, financier: &str, core: &str) -> CreditLine {
        let request = GetCreditLineRequest {
            financier: financier.into(),
            core_enterprise: core.into(),
        };
        self.api
            .get_credit_line(self.audited(request, "GetCreditLine"))
            .await
            .expect("credit line")
            .into_inner()
            .credit_line
            .expect("line")
    }

    /// Today's date on the chain (its time zone) plus `days`, as YYYY-MM-DD.
    pub async fn date_in(&mut self, days: u32) -> String {
        let status = self.status().await;
        let offset = status.params.expect("params").utc_offset_minutes;
        let chain_now = self
            .dev
            .advance_clock(AdvanceClockRequest { milliseconds: 0 })
            .await
            .expect("clock")
            .into_inner()
            .chain_time_ms;
        vchain_contracts::validate::format_date(
            vchain_contracts::validate::local_day(chain_now, offset) + days,
        )
    }

    pub async fn advance_days(&mut self, days: u64) {
        self.dev
            .advance_clock(AdvanceClockRequest {
                milliseconds: days * DAY_MS,
            })
            .await
            .expect("advance clock");
    }

    /// Waits until the chain passes `height` (bounded).
    pub async fn wait_for_height(&mut self, height: u64) {
        for _ in 0..200 {
            if self.status().await.height >= height {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chain did not reach height {height}");
    }
}

/// The voucher ids a list of events created (issue or split children), in order.
pub fn created_vouchers(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.kind(),
                EventKind::VoucherIssued | EventKind::VoucherCreatedBySplit
            )
        })
        .map(|e| e.voucher_id.clone())
        .collect()
}

pub fn issue(
    holder: &str,
    financier: &str,
    amount: u64,
    maturity: &str,
    invoice: &str,
) -> Operation {
    Operation::IssueVoucher(IssueVoucher {
        holder: holder.into(),
        financier: financier.into(),
        amount,
        currency: "CNY".into(),
        maturity_date: maturity.into(),
        trade_document: Some(TradeDocument {
            kind: "invoice".into(),
            number: invoice.into(),
            hash: sha(invoice),
        }),
    })
}

pub fn split(voucher: &str, amounts: &[u64]) -> Operation {
    Operation::SplitVoucher(SplitVoucher {
        voucher_id: voucher.into(),
        amounts: amounts.to_vec(),
    })
}

pub fn transfer(voucher: &str, to: &str, consideration: Option<u64>) -> Operation {
    Operation::TransferVoucher(TransferVoucher {
        voucher_id: voucher.into(),
        to: to.into(),
        agreement_hash: sha(&format!("agreement {voucher} {to}")),
        consideration: consideration.map(|amount| Consideration {
            amount,
            currency: "CNY".into(),
        }),
    })
}

pub fn sha(text: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

pub fn error_code(status: &tonic::Status) -> String {
    status
        .metadata()
        .get("x-vchain-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}
