//! The `vchain` binary end to end against a real dev node started in-process (its own data
//! directory and an ephemeral loopback port per test): keystore, signing, submission, the
//! chain's rules, reads, output formats and exit codes.
#![allow(missing_docs)]

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use vchain_contracts::validate::{format_date, local_day};
use vchain_node::NodeHandle;
use vchain_proto::v1::{EventKind, VoucherStatus};

/// Longest any one run of the binary may take before the test kills it and fails.
const CLI_DEADLINE: Duration = Duration::from_secs(20);

/// The output of one run of `vchain`.
#[derive(Debug)]
struct Run {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout parsed as the one JSON document `--json` promises.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "vchain {:?}: stdout is not one JSON document ({e}):\n{}",
                self.args, self.stdout
            )
        })
    }

    #[track_caller]
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "vchain {:?}\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    /// Expects a rejection by the chain (exit 3): stderr names the rule, and the transaction's
    /// hash both where the CLI submitted it and in the node's answer, with the block height.
    /// Returns the hash.
    #[track_caller]
    fn expect_rejected(&self, rule: &str) -> String {
        self.expect_code(3);
        assert!(
            self.stderr.starts_with("error: submitting "),
            "{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(&format!(": {rule}: ")),
            "{rule}: {}",
            self.stderr
        );
        let hash = tx_hash_in(&self.stderr)
            .unwrap_or_else(|| panic!("no transaction hash in: {}", self.stderr));
        assert!(
            self.stderr
                .contains(&format!(" transaction {hash}: {rule}: ")),
            "{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(&format!(", tx {hash}, height ")),
            "{}",
            self.stderr
        );
        hash
    }
}

/// The first 64-hex-digit word of `text`.
fn tx_hash_in(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 64)
        .map(str::to_owned)
}

/// Runs the `vchain` binary with a deadline; stdout and stderr go to files in `scratch`.
fn run_vchain(scratch: &Path, env: &[(&str, String)], args: Vec<String>) -> Run {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    let out_path = scratch.join(format!("run-{n}.out"));
    let err_path = scratch.join(format!("run-{n}.err"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vchain"));
    cmd.args(&args)
        .env_remove("VCHAIN_PASSPHRASE_FILE")
        .env_remove("VCHAIN_ENDPOINT")
        .env_remove("VCHAIN_KEYSTORE")
        .env_remove("VCHAIN_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn vchain");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for vchain") {
            break status;
        }
        if started.elapsed() > CLI_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vchain {args:?} did not finish within {CLI_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code().expect("exit code (not killed by a signal)"),
        stdout: std::fs::read_to_string(&out_path).expect("stdout utf8"),
        stderr: std::fs::read_to_string(&err_path).expect("stderr utf8"),
        args,
    }
}

/// A real dev node in a temporary directory, driven through the `vchain` binary.
struct DevChain {
    dir: TempDir,
    scratch: TempDir,
    node: Option<NodeHandle>,
    endpoint: String,
}

impl DevChain {
    async fn start() -> DevChain {
        Self::start_from_genesis(|_| {}).await
    }

    /// A dev chain whose genesis is first adjusted by `adjust` (e.g. to start on an older
    /// rules version).
    async fn start_from_genesis(
        adjust: impl FnOnce(&mut vchain_contracts::genesis::Genesis),
    ) -> DevChain {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = vchain_node::clock::ChainClock::default().now_ms();
        let config = vchain_devnet::prepare(
            dir.path(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            false,
            now,
        )
        .expect("dev data dir");
        let genesis_path = dir.path().join("genesis.toml");
        let mut genesis = vchain_node::load_genesis(&genesis_path).expect("dev genesis");
        adjust(&mut genesis);
        std::fs::write(
            &genesis_path,
            toml::to_string_pretty(&genesis).expect("genesis as TOML"),
        )
        .expect("write genesis");
        let node = vchain_node::start(config).await.expect("node starts");
        let endpoint = format!("http://{}", node.grpc_addr);
        DevChain {
            dir,
            scratch: tempfile::tempdir().expect("tempdir"),
            node: Some(node),
            endpoint,
        }
    }

    async fn stop(mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().await.expect("clean shutdown");
        }
    }

    /// The dev keystore: one key per dev account, named after it.
    fn dev_keystore(&self) -> PathBuf {
        self.dir.path().join("keystore.json")
    }

    /// Bank A's dev root CA certificate.
    fn dev_ca(&self) -> String {
        vchain_devnet::ca_certificate_path(self.dir.path(), "bank-a")
            .to_str()
            .expect("utf8")
            .to_owned()
    }

    /// A certificate from bank A's dev CA for `account` with `role` and `public_key` (hex);
    /// returns the file's path.
    async fn dev_certificate(&self, account: &str, role: &str, public_key: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let out = self
            .scratch
            .path()
            .join(format!(
                "{account}-{}.pem",
                N.fetch_add(1, Ordering::Relaxed)
            ))
            .to_str()
            .expect("utf8")
            .to_owned();
        let ca = self.dev_ca();
        self.run(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            role,
            "--name",
            account,
            "--public-key",
            public_key,
            "--out",
            &out,
        ])
        .await
        .expect_code(0);
        out
    }

    /// A file in the test's scratch directory.
    fn file(&self, name: &str, contents: &[u8]) -> String {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.to_str().expect("utf8 path").to_owned()
    }

    /// Runs `vchain` against `endpoint` with `keystore` and `passphrase`, off the runtime's
    /// worker threads so the in-process node keeps serving.
    async fn run_at(
        &self,
        endpoint: &str,
        keystore: &Path,
        passphrase: &str,
        args: &[&str],
    ) -> Run {
        let env = vec![
            ("VCHAIN_ENDPOINT", endpoint.to_owned()),
            (
                "VCHAIN_KEYSTORE",
                keystore.to_str().expect("utf8 path").to_owned(),
            ),
            ("VCHAIN_PASSPHRASE", passphrase.to_owned()),
            // Reads are signed; the dev regulator (an auditor) may read everything.
            ("VCHAIN_READER", "regulator".to_owned()),
        ];
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let scratch = self.scratch.path().to_owned();
        tokio::task::spawn_blocking(move || run_vchain(&scratch, &env, args))
            .await
            .expect("vchain runner")
    }

    async fn run_with(&self, keystore: &Path, passphrase: &str, args: &[&str]) -> Run {
        self.run_at(&self.endpoint, keystore, passphrase, args)
            .await
    }

    /// Runs with the dev keystore and its passphrase.
    async fn run(&self, args: &[&str]) -> Run {
        let keystore = self.dev_keystore();
        self.run_with(&keystore, vchain_devnet::DEV_PASSPHRASE, args)
            .await
    }

    /// Runs with `--json`, expects success and returns the document.
    async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.run(&all).await.expect_code(0).json()
    }

    /// Submits a transaction with `--json` and expects it committed with result OK.
    async fn tx(&self, args: &[&str]) -> Value {
        let out = self.json(args).await;
        assert_eq!(out["committed"], true, "{out:#}");
        assert_eq!(out["result"]["code"], "OK", "{out:#}");
        assert_eq!(out["tx_hash"].as_str().map(str::len), Some(64), "{out:#}");
        out
    }

    async fn uscc(&self, account: &str) -> String {
        let out = self.json(&["account", "get", account]).await;
        assert_eq!(out["account"]["account_id"], account, "{out:#}");
        out["account"]["uscc"].as_str().expect("uscc").to_owned()
    }

    /// Today on the chain's clock (in its time zone) plus `days`, as YYYY-MM-DD.
    async fn date_in(&self, days: u32) -> String {
        let status = self.json(&["status"]).await;
        let offset = status["params"]["utc_offset_minutes"]
            .as_i64()
            .expect("utc offset");
        let clock = self.json(&["dev", "advance-clock", "--ms", "0"]).await;
        let now = clock["chain_time_ms"].as_u64().expect("chain time");
        format_date(local_day(now, i32::try_from(offset).expect("offset")) + days)
    }

    /// Bank A grants the carmaker a line of `limit`; returns (bank USCC, carmaker USCC).
    async fn credit_line(&self, limit: u64) -> (String, String) {
        let bank = self.uscc("bank-a-finance").await;
        let carmaker = self.uscc("carmaker").await;
        let limit = limit.to_string();
        let out = self
            .tx(&[
                "credit-line",
                "grant",
                "--as",
                "bank-a-finance",
                "--core",
                &carmaker,
                "--limit",
                &limit,
            ])
            .await;
        assert_eq!(
            out["result"]["events"][0]["kind"],
            EventKind::CreditLineGranted.as_str_name()
        );
        (bank, carmaker)
    }

    /// The carmaker issues `amount` to `holder` against invoice `invoice`; returns the id.
    async fn issue(&self, bank: &str, holder: &str, amount: u64, invoice: &str) -> String {
        let maturity = self.date_in(30).await;
        let hash = hex::encode(Sha256::digest(invoice.as_bytes()));
        let amount = amount.to_string();
        let out = self
            .tx(&[
                "voucher",
                "issue",
                "--as",
                "carmaker",
                "--holder",
                holder,
                "--financier",
                bank,
                "--amount",
                &amount,
                "--maturity",
                &maturity,
                "--doc-kind",
                "invoice",
                "--doc-number",
                invoice,
                "--doc-hash",
                &hash,
            ])
            .await;
        let ids = created(&out);
        assert_eq!(ids.len(), 1, "{out:#}");
        ids[0].clone()
    }

    /// `holder` splits `voucher` into `amounts`; returns the children's ids.
    async fn split(&self, holder: &str, voucher: &str, amounts: &str) -> Vec<String> {
        let out = self
            .tx(&[
                "voucher",
                "split",
                "--as",
                holder,
                voucher,
                "--amounts",
                amounts,
            ])
            .await;
        created(&out)
    }

    async fn voucher(&self, id: &str) -> Value {
        let out = self.json(&["voucher", "get", id]).await;
        assert_eq!(out["voucher"]["id"], id, "{out:#}");
        out["voucher"].clone()
    }
}

/// The vouchers a submission's `--json` result says it created, in order.
fn created(out: &Value) -> Vec<String> {
    let issued = EventKind::VoucherIssued.as_str_name();
    let child = EventKind::VoucherCreatedBySplit.as_str_name();
    out["result"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == issued || e["kind"] == child)
        .map(|e| e["voucher_id"].as_str().expect("voucher id").to_owned())
        .collect()
}

fn hash_arg(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A fresh keystore: keys are generated, listed and refused twice; a new key registered on
/// chain by an administrator signs a transfer; keystore problems exit with 6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_keystore_keys_sign_for_a_registered_account() {
    let chain = DevChain::start().await;
    let ks = chain.scratch.path().join("wallet").join("keystore.json");

    let r = chain
        .run_with(
            &ks,
            "pw",
            &["--json", "key", "new", "alice", "--account", "gearbox-2"],
        )
        .await;
    let out = r.expect_code(0).json();
    assert_eq!(
        (out["name"].as_str(), out["account_id"].as_str()),
        (Some("alice"), Some("gearbox-2"))
    );
    let public = out["public_key"].as_str().expect("public key").to_owned();
    assert_eq!(public.len(), 64);
    assert!(public.bytes().all(|b| b.is_ascii_hexdigit()), "{public}");
    let r = chain.run_with(&ks, "pw", &["key", "new", "alice"]).await;
    r.expect_code(6);
    assert!(r.stderr.contains("alice"), "{}", r.stderr);
    chain
        .run_with(&ks, "pw", &["key", "new", "loose"])
        .await
        .expect_code(0);
    let r = chain
        .run_with(
            &ks,
            "pw",
            &["key", "new", "impostor", "--account", "gearbox"],
        )
        .await;
    r.expect_code(0);
    let impostor = r.stdout.trim().to_owned();
    let r = chain.run_with(&ks, "pw", &["key", "list"]).await;
    r.expect_code(0);
    assert!(
        r.stdout.contains(&format!("alice  gearbox-2  {public}\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("loose  -  "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("impostor  gearbox  {impostor}\n")),
        "{}",
        r.stdout
    );
    let shown = chain
        .run_with(&ks, "pw", &["--json", "key", "show", "alice"])
        .await
        .expect_code(0)
        .json();
    assert_eq!(shown["account_id"], "gearbox-2");
    assert_eq!(shown["public_key"], public.as_str());
    assert_eq!(shown["kdf"]["algorithm"], "argon2id");
    let list = chain
        .run_with(&ks, "pw", &["--json", "key", "list"])
        .await
        .expect_code(0)
        .json();
    let names: Vec<&str> = list["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names.len(), 3, "{list:#}");
    for name in ["alice", "loose", "impostor"] {
        assert!(names.contains(&name), "{list:#}");
    }

    // Bank A's administrator certifies the new key with the bank's CA and registers it as a
    // second account of the gearbox maker (a bare key is refused: bank A has a root CA).
    let gearbox = chain.uscc("gearbox").await;
    let register = |extra: &[&str]| {
        let mut args = vec![
            "account",
            "register",
            "--as",
            "bank-a-admin",
            "--uscc",
            &gearbox,
            "--account",
            "gearbox-2",
            "--public-key",
            &public,
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<String>>()
    };
    let bare = register(&[]);
    let bare: Vec<&str> = bare.iter().map(String::as_str).collect();
    chain
        .run(&bare)
        .await
        .expect_rejected("CERTIFICATE_REQUIRED");
    let certificate = chain
        .dev_certificate("gearbox-2", "supplier", &public)
        .await;
    let certified = register(&["--certificate", &certificate]);
    let certified: Vec<&str> = certified.iter().map(String::as_str).collect();
    let out = chain.tx(&certified).await;
    assert_eq!(
        out["result"]["events"][0]["kind"],
        EventKind::AccountRegistered.as_str_name()
    );
    let account = chain.json(&["account", "get", "gearbox-2"]).await["account"].clone();
    assert_eq!(account["public_key"], public.as_str());
    assert_eq!(account["uscc"], gearbox.as_str());
    assert_eq!(account["next_nonce"], 0);

    // A voucher to the new account, which the fresh key then transfers on.
    let (bank, _) = chain.credit_line(10_000_000).await;
    let v = chain.issue(&bank, "gearbox-2", 1_000_000, "INV-K-1").await;
    let agreement = chain.file("agreement.pdf", b"debt transfer agreement K-1");
    let r = chain
        .run_with(
            &ks,
            "pw",
            &[
                "voucher",
                "transfer",
                "--as",
                "alice",
                &v,
                "--to",
                "castings",
                "--agreement-file",
                &agreement,
            ],
        )
        .await;
    r.expect_code(0);
    assert!(r.stdout.contains("result: OK"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "VOUCHER_TRANSFERRED actor=gearbox-2 voucher={v} amount=1000000 CNY counterparty=castings"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "digest={}",
            hex::encode(Sha256::digest(b"debt transfer agreement K-1"))
        )),
        "{}",
        r.stdout
    );
    assert_eq!(chain.voucher(&v).await["holder"], "castings");
    assert_eq!(
        chain.json(&["account", "get", "gearbox-2"]).await["account"]["next_nonce"],
        1
    );

    // Keystore problems: exit 6, nothing submitted.
    let redeem = |key: &'static str| ["voucher", "redeem", "--as", key, "V000000000001"];
    let r = chain.run_with(&ks, "wrong", &redeem("alice")).await;
    r.expect_code(6);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    let r = chain.run_with(&ks, "pw", &redeem("loose")).await;
    r.expect_code(6);
    assert!(r.stderr.contains("has no account"), "{}", r.stderr);
    let r = chain.run_with(&ks, "pw", &redeem("nobody")).await;
    r.expect_code(6);
    assert!(r.stderr.contains("nobody"), "{}", r.stderr);
    let r = chain.run_with(&ks, "pw", &redeem("impostor")).await;
    r.expect_code(6);
    assert!(
        r.stderr.contains("is not the key bound to account gearbox"),
        "{}",
        r.stderr
    );
    // The dev keystore with a wrong passphrase, with --json: the error document.
    let r = chain
        .run_with(
            &chain.dev_keystore(),
            "not-dev",
            &["--json", "voucher", "redeem", "--as", "castings", &v],
        )
        .await;
    r.expect_code(6);
    assert_eq!(r.json()["error"]["exit_code"], 6);
    assert_eq!(
        chain.json(&["account", "get", "gearbox-2"]).await["account"]["next_nonce"],
        1
    );

    chain.stop().await;
}

/// Issuance against a document file, a split, a financing, rule rejections (exit 3 with the
/// rule and the transaction hash), and `--no-wait` followed by `tx get`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_split_finance_and_rejections() {
    let chain = DevChain::start().await;
    let (bank, carmaker) = chain.credit_line(5_000_000).await;
    let maturity = chain.date_in(30).await;

    // Issue: the trade document's hash is computed from the file.
    let doc = chain.file("invoice.pdf", b"invoice 42: 1000 gearboxes");
    let issue = |number: &'static str, amount: &'static str| {
        [
            "voucher",
            "issue",
            "--as",
            "carmaker",
            "--holder",
            "gearbox",
            "--financier",
            bank.as_str(),
            "--amount",
            amount,
            "--maturity",
            maturity.as_str(),
            "--doc-kind",
            "invoice",
            "--doc-number",
            number,
            "--doc-file",
            doc.as_str(),
        ]
    };
    let out = chain.tx(&issue("INV-42", "1000000")).await;
    let event = &out["result"]["events"][0];
    assert_eq!(event["kind"], EventKind::VoucherIssued.as_str_name());
    assert_eq!(event["actor"], "carmaker");
    assert_eq!(event["amount"], 1_000_000);
    let root = created(&out).pop().expect("issued voucher");
    assert!(
        root.len() == 13 && root.starts_with('V'),
        "voucher id {root}"
    );
    let v = chain.voucher(&root).await;
    assert_eq!(
        v["trade_document"]["hash"],
        hex::encode(Sha256::digest(b"invoice 42: 1000 gearboxes"))
    );
    assert_eq!(v["trade_document"]["number"], "INV-42");
    assert_eq!(v["amount"], 1_000_000);
    assert_eq!(v["currency"], "CNY");
    assert_eq!(v["holder"], "gearbox");
    assert_eq!(v["issuer"], carmaker.as_str());
    assert_eq!(v["financier"], bank.as_str());
    assert_eq!(v["maturity_date"], maturity.as_str());
    assert_eq!(v["status"], VoucherStatus::Active.as_str_name());
    let r = chain.run(&["voucher", "get", &root]).await;
    r.expect_code(0);
    assert!(r.stdout.contains(&format!("id: {root}\n")), "{}", r.stdout);
    assert!(r.stdout.contains("amount: 1000000 CNY\n"), "{}", r.stdout);
    assert!(r.stdout.contains("status: ACTIVE\n"), "{}", r.stdout);

    // The same document (another number, same file) cannot back a second voucher.
    let r = chain.run(&issue("INV-43", "100")).await;
    r.expect_rejected("DUPLICATE_TRADE_DOCUMENT");
    // Only a core enterprise issues; only a financier grants.
    let r = chain
        .run(&[
            "credit-line",
            "grant",
            "--as",
            "gearbox",
            "--core",
            &carmaker,
            "--limit",
            "100",
        ])
        .await;
    r.expect_rejected("WRONG_ROLE");
    assert!(r.stderr.contains("gRPC PermissionDenied"), "{}", r.stderr);

    // Split, human output: the new vouchers are listed.
    let r = chain
        .run(&[
            "voucher",
            "split",
            "--as",
            "gearbox",
            &root,
            "--amounts",
            "600000,400000",
        ])
        .await;
    r.expect_code(0);
    assert!(r.stdout.starts_with("tx: "), "{}", r.stdout);
    assert!(r.stdout.contains("\nresult: OK\n"), "{}", r.stdout);
    let children: Vec<String> = r
        .stdout
        .lines()
        .filter(|l| l.contains("VOUCHER_CREATED_BY_SPLIT actor=gearbox voucher="))
        .map(|l| l.split("voucher=").nth(1).expect("voucher")[..13].to_owned())
        .collect();
    assert_eq!(children.len(), 2, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "VOUCHER_SPLIT actor=gearbox voucher={root} amount=1000000 CNY children={},{} amounts=600000+400000",
            children[0], children[1]
        )),
        "{}",
        r.stdout
    );
    assert_eq!(
        chain.voucher(&root).await["status"],
        VoucherStatus::Split.as_str_name()
    );
    assert_eq!(chain.voucher(&children[0]).await["amount"], 600_000);
    assert_eq!(
        chain.voucher(&children[1]).await["parent_id"],
        root.as_str()
    );

    // A split that does not add up: rejected with the rule, JSON error document on stdout.
    let r = chain
        .run(&[
            "--json",
            "voucher",
            "split",
            "--as",
            "gearbox",
            &children[0],
            "--amounts",
            "100,200",
        ])
        .await;
    let hash = r.expect_rejected("SPLIT_SUM_MISMATCH");
    assert!(
        r.stderr.starts_with(&format!(
            "error: submitting split_voucher transaction {hash}"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("gRPC InvalidArgument"), "{}", r.stderr);
    let err = r.json();
    assert_eq!(err["error"]["exit_code"], 3);
    assert_eq!(err["error"]["grpc_code"], "InvalidArgument");
    assert_eq!(err["error"]["tx_hash"], hash.as_str());
    assert!(
        err["error"]["height"]
            .as_str()
            .is_some_and(|h| h.parse::<u64>().is_ok_and(|h| h > 0)),
        "{err:#}"
    );
    assert!(
        err["error"]["grpc_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("SPLIT_SUM_MISMATCH")),
        "{err:#}"
    );

    // Financing: a transfer to a factor with a consideration (currency from the voucher).
    let financed = &children[0];
    let agreement = hash_arg("factoring agreement");
    let r = chain
        .run(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            financed,
            "--to",
            "bank-b-factoring",
            "--agreement-hash",
            &agreement,
            "--consideration",
            "570000",
        ])
        .await;
    r.expect_code(0);
    assert!(
        r.stdout.contains(&format!(
            "VOUCHER_FINANCED actor=gearbox voucher={financed} amount=600000 CNY counterparty=bank-b-factoring consideration=570000"
        )),
        "{}",
        r.stdout
    );
    assert_eq!(chain.voucher(financed).await["holder"], "bank-b-factoring");

    // Double spend: gearbox no longer holds it.
    let r = chain
        .run(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            financed,
            "--to",
            "castings",
            "--agreement-hash",
            &hash_arg("again"),
        ])
        .await;
    let hash = r.expect_rejected("NOT_HOLDER");
    assert!(
        r.stderr
            .contains(&format!("submitting transfer_voucher transaction {hash}")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("bank-b-factoring does"), "{}", r.stderr);

    // --no-wait: admitted only; the transaction shows up committed through `tx get`.
    let r = chain
        .run(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            &children[1],
            "--to",
            "castings",
            "--agreement-hash",
            &hash_arg("castings agreement"),
            "--no-wait",
        ])
        .await;
    r.expect_code(0);
    assert!(r.stdout.contains("not waiting for commit"), "{}", r.stdout);
    let hash = r
        .stdout
        .strip_prefix("tx: ")
        .and_then(tx_hash_in)
        .unwrap_or_else(|| panic!("no tx hash: {}", r.stdout));
    // `tx wait` follows it to its commit (issue 11: pending is not rejected).
    let r = chain
        .run(&["tx", "wait", &hash, "--timeout-secs", "10"])
        .await;
    r.expect_code(0);
    // A transaction that does not commit within the wait is pending (exit 7), not rejected.
    let unknown = "ab".repeat(32);
    let waited = chain
        .run(&["tx", "wait", &unknown, "--timeout-secs", "1"])
        .await;
    waited.expect_code(7);
    assert!(waited.stderr.contains("pending"), "{}", waited.stderr);
    assert!(
        r.stdout.starts_with(&format!("tx: {hash}\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("signer: gearbox\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("operation: transfer_voucher\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\nresult: OK\n"), "{}", r.stdout);
    let out = chain.json(&["tx", "get", &hash]).await;
    assert_eq!(out["transaction"]["hash"], hash.as_str());
    assert_eq!(out["transaction"]["decoded_body"]["signer"], "gearbox");
    assert_eq!(
        out["transaction"]["decoded_body"]["operation"]["transfer_voucher"]["to"],
        "castings"
    );
    assert_eq!(out["result"]["code"], "OK");
    assert!(out["height"].as_u64().is_some_and(|h| h > 0), "{out:#}");
    assert_eq!(chain.voucher(&children[1]).await["holder"], "castings");

    // Credit line: the whole issued amount is still outstanding.
    let line = chain
        .json(&[
            "credit-line",
            "get",
            "--financier",
            &bank,
            "--core",
            &carmaker,
        ])
        .await;
    assert_eq!(line["credit_line"]["outstanding"], 1_000_000);
    assert_eq!(line["credit_line"]["limit"], 5_000_000);

    chain.stop().await;
}

/// Redemption at maturity: refused before, claimed by the factor and confirmed by the issuer
/// after the dev clock moves 30 days; the credit line's outstanding is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemption_at_maturity_releases_the_credit_line() {
    let chain = DevChain::start().await;
    let (bank, carmaker) = chain.credit_line(5_000_000).await;
    let root = chain.issue(&bank, "gearbox", 1_000_000, "INV-R-1").await;
    let pieces = chain.split("gearbox", &root, "700000,300000").await;
    chain
        .tx(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            &pieces[1],
            "--to",
            "bank-b-factoring",
            "--agreement-hash",
            &hash_arg("factoring R-1"),
            "--consideration",
            "285000",
        ])
        .await;
    let line_get = [
        "credit-line",
        "get",
        "--financier",
        &bank,
        "--core",
        &carmaker,
    ];
    let r = chain.run(&line_get).await;
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("limit: 5000000 CNY\noutstanding: 1000000 CNY\navailable: 4000000 CNY\n"),
        "{}",
        r.stdout
    );

    // Not yet matured.
    let r = chain
        .run(&["voucher", "redeem", "--as", "bank-b-factoring", &pieces[1]])
        .await;
    r.expect_rejected("VOUCHER_NOT_MATURED");

    // 30 days later.
    let before = chain.json(&["dev", "advance-clock", "--ms", "0"]).await["chain_time_ms"]
        .as_u64()
        .expect("chain time");
    let r = chain.run(&["dev", "advance-clock", "--days", "30"]).await;
    r.expect_code(0);
    assert!(r.stdout.starts_with("chain time: "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("clock offset: {} ms\n", 30 * 86_400_000_u64)),
        "{}",
        r.stdout
    );
    let after = chain.json(&["dev", "advance-clock", "--ms", "0"]).await["chain_time_ms"]
        .as_u64()
        .expect("chain time");
    assert!(after >= before + 30 * 86_400_000, "{before} -> {after}");

    // The factor claims; only the issuer confirms.
    let out = chain
        .tx(&["voucher", "redeem", "--as", "bank-b-factoring", &pieces[1]])
        .await;
    assert_eq!(
        out["result"]["events"][0]["kind"],
        EventKind::RedemptionRequested.as_str_name()
    );
    assert_eq!(
        chain.voucher(&pieces[1]).await["status"],
        VoucherStatus::RedemptionRequested.as_str_name()
    );
    let r = chain
        .run(&[
            "voucher",
            "confirm",
            "--as",
            "gearbox",
            &pieces[1],
            "--payment-ref",
            "PAY-1",
        ])
        .await;
    r.expect_rejected("WRONG_ROLE");
    let r = chain
        .run(&[
            "voucher",
            "confirm",
            "--as",
            "carmaker",
            &pieces[0],
            "--payment-ref",
            "PAY-0",
        ])
        .await;
    r.expect_rejected("REDEMPTION_NOT_REQUESTED");
    let r = chain
        .run(&[
            "voucher",
            "confirm",
            "--as",
            "carmaker",
            &pieces[1],
            "--payment-ref",
            "PAY-2026-778899",
        ])
        .await;
    r.expect_code(0);
    assert!(
        r.stdout.contains(&format!(
            "VOUCHER_REDEEMED actor=carmaker voucher={} amount=300000 CNY counterparty=bank-b-factoring",
            pieces[1]
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("detail=\"PAY-2026-778899\""),
        "{}",
        r.stdout
    );
    assert_eq!(
        chain.voucher(&pieces[1]).await["status"],
        VoucherStatus::Redeemed.as_str_name()
    );

    // The redeemed piece no longer counts against the line.
    let r = chain.run(&line_get).await;
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("outstanding: 700000 CNY\navailable: 4300000 CNY\n"),
        "{}",
        r.stdout
    );
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(&line_get);
    let line = chain.run(&json_args).await.expect_code(0).json();
    assert_eq!(line["credit_line"]["outstanding"], 700_000, "{line:#}");
    assert_eq!(line["credit_line"]["financier"], bank.as_str());
    assert_eq!(line["credit_line"]["core_enterprise"], carmaker.as_str());

    // The other piece too, claimed by the supplier that still holds it.
    chain
        .tx(&["voucher", "redeem", "--as", "gearbox", &pieces[0]])
        .await;
    chain
        .tx(&[
            "voucher",
            "confirm",
            "--as",
            "carmaker",
            &pieces[0],
            "--payment-ref",
            "PAY-3",
        ])
        .await;
    let line = chain.run(&json_args).await.expect_code(0).json();
    assert_eq!(line["credit_line"]["outstanding"], 0, "{line:#}");
    let r = chain
        .run(&["voucher", "redeem", "--as", "gearbox", &pieces[0]])
        .await;
    r.expect_rejected("VOUCHER_NOT_ACTIVE");

    chain.stop().await;
}

/// Reads: not found, paging, the lineage tree, events with --limit and --timeout-secs, blocks
/// and status; usage errors and an unreachable node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_paging_trace_events_and_exit_codes() {
    let chain = DevChain::start().await;
    let (bank, carmaker) = chain.credit_line(10_000_000).await;
    let root = chain.issue(&bank, "gearbox", 1_000_000, "INV-T-1").await;
    let level1 = chain.split("gearbox", &root, "500000,300000,200000").await;
    assert_eq!(level1.len(), 3);
    let level2 = chain.split("gearbox", &level1[0], "100000,400000").await;
    chain
        .tx(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            &level1[2],
            "--to",
            "castings",
            "--agreement-hash",
            &hash_arg("T-1 castings"),
        ])
        .await;
    let other = chain.issue(&bank, "gearbox", 50_000, "INV-T-2").await;

    // Not found: 4.
    let r = chain.run(&["voucher", "get", "V999999999999"]).await;
    r.expect_code(4);
    assert!(r.stderr.contains("V999999999999"), "{}", r.stderr);
    assert!(
        r.stderr.contains("does not exist (gRPC NotFound)"),
        "{}",
        r.stderr
    );
    let r = chain
        .run(&["--json", "voucher", "get", "V999999999999"])
        .await;
    r.expect_code(4);
    assert_eq!(r.json()["error"]["grpc_code"], "NotFound");

    // Reads are signed and answered by what the reader may see: castings reads the piece it
    // holds, not gearbox's; without a reader key nothing is read.
    chain
        .run(&["--reader", "castings", "voucher", "get", &level1[2]])
        .await
        .expect_code(0);
    let r = chain
        .run(&["--reader", "castings", "--json", "voucher", "get", &other])
        .await;
    r.expect_code(3);
    assert_eq!(
        r.json()["error"]["grpc_code"],
        "PermissionDenied",
        "{}",
        r.stdout
    );
    let r = chain
        .run_at(
            &chain.endpoint,
            &chain.dev_keystore(),
            vchain_devnet::DEV_PASSPHRASE,
            &["--reader", "", "voucher", "get", &other],
        )
        .await;
    assert_ne!(r.code, 0, "an empty reader reads nothing: {}", r.stderr);

    // Paging: one voucher per page still returns every voucher gearbox holds.
    let held = |out: &Value| -> Vec<String> {
        out["vouchers"]
            .as_array()
            .expect("vouchers")
            .iter()
            .map(|v| v["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let mut expected = vec![
        root.clone(),
        level1[0].clone(),
        level1[1].clone(),
        level2[0].clone(),
        level2[1].clone(),
        other.clone(),
    ];
    expected.sort();
    let all = held(
        &chain
            .json(&["voucher", "list", "--holder", "gearbox"])
            .await,
    );
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, expected);
    let paged = held(
        &chain
            .json(&["voucher", "list", "--holder", "gearbox", "--page-size", "1"])
            .await,
    );
    assert_eq!(paged, all, "page size 1 returns the same vouchers");
    let live = held(
        &chain
            .json(&[
                "voucher",
                "list",
                "--holder",
                "gearbox",
                "--live",
                "--page-size",
                "2",
            ])
            .await,
    );
    let mut live_sorted = live.clone();
    live_sorted.sort();
    let mut live_expected = vec![
        level1[1].clone(),
        level2[0].clone(),
        level2[1].clone(),
        other.clone(),
    ];
    live_expected.sort();
    assert_eq!(live_sorted, live_expected);
    let r = chain
        .run(&["voucher", "list", "--issuer", &carmaker, "--page-size", "1"])
        .await;
    r.expect_code(0);
    assert!(
        r.stdout.ends_with("\n7 voucher(s)\n") && r.stdout.lines().count() == 8,
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "{} 200000 CNY holder=castings ACTIVE  ",
            level1[2]
        )),
        "{}",
        r.stdout
    );

    // The lineage tree, traced from a grandchild: the root first, children indented under it,
    // each voucher's events below it.
    let r = chain.run(&["voucher", "trace", &level2[1]]).await;
    r.expect_code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("trace of {} (root {root}) at height ", level2[1])),
        "{}",
        r.stdout
    );
    assert_eq!(lines[1], format!("{root} 1000000 CNY holder=gearbox SPLIT"));
    assert!(
        lines[2].starts_with("│   h=") && lines[2].contains(" VOUCHER_ISSUED actor=carmaker "),
        "{}",
        r.stdout
    );
    assert!(
        lines[3].starts_with("│   h=")
            && lines[3].contains(&format!(
                " VOUCHER_SPLIT actor=gearbox amount=1000000 CNY children={}",
                level1.join(",")
            )),
        "{}",
        r.stdout
    );
    let vouchers: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(" CNY holder="))
        .collect();
    assert_eq!(
        vouchers,
        vec![
            format!("{root} 1000000 CNY holder=gearbox SPLIT"),
            format!("├── {} 500000 CNY holder=gearbox SPLIT", level1[0]),
            format!("│   ├── {} 100000 CNY holder=gearbox ACTIVE", level2[0]),
            format!("│   └── {} 400000 CNY holder=gearbox ACTIVE", level2[1]),
            format!("├── {} 300000 CNY holder=gearbox ACTIVE", level1[1]),
            format!("└── {} 200000 CNY holder=castings ACTIVE", level1[2]),
        ],
        "{}",
        r.stdout
    );
    // The last voucher's events: created by the split, then transferred.
    let tail = &lines[lines.len() - 2..];
    assert!(
        tail[0].starts_with("        h=")
            && tail[0].contains(&format!(
                " VOUCHER_CREATED_BY_SPLIT actor=gearbox amount=200000 CNY parent={root}"
            )),
        "{}",
        r.stdout
    );
    assert!(
        tail[1].starts_with("        h=")
            && tail[1].contains(
                " VOUCHER_TRANSFERRED actor=gearbox amount=200000 CNY counterparty=castings"
            ),
        "{}",
        r.stdout
    );
    let trace = chain.json(&["voucher", "trace", &level2[1]]).await;
    assert_eq!(trace["root_id"], root.as_str());
    let depths: Vec<(String, u64)> = trace["vouchers"]
        .as_array()
        .expect("vouchers")
        .iter()
        .map(|t| {
            (
                t["voucher"]["id"].as_str().expect("id").to_owned(),
                t["depth"].as_u64().expect("depth"),
            )
        })
        .collect();
    assert_eq!(
        depths,
        vec![
            (root.clone(), 0),
            (level1[0].clone(), 1),
            (level2[0].clone(), 2),
            (level2[1].clone(), 2),
            (level1[1].clone(), 1),
            (level1[2].clone(), 1),
        ]
    );

    // An auditor's bundle of the lineage, checked with no node: every voucher, event and
    // transaction proven back to the dev genesis (its one node certifies each block).
    let bundle = chain.scratch.path().join("lineage.bundle");
    let bundle_arg = bundle.to_str().expect("utf-8 path").to_owned();
    let genesis = chain.dir.path().join("genesis.toml");
    let genesis_arg = genesis.to_str().expect("utf-8 path").to_owned();
    let r = chain
        .run(&["voucher", "trace", &level2[1], "--export", &bundle_arg])
        .await;
    r.expect_code(0);
    assert!(r.stdout.starts_with("wrote "), "{}", r.stdout);
    let r = chain
        .run(&["verify", &bundle_arg, "--genesis", &genesis_arg])
        .await;
    r.expect_code(0);
    assert!(
        r.stdout
            .starts_with("VERIFIED against genesis of vchain-dev"),
        "{}",
        r.stdout
    );
    for voucher in [
        &root, &level1[0], &level1[1], &level1[2], &level2[0], &level2[1],
    ] {
        assert!(
            r.stdout.contains(voucher.as_str()),
            "{voucher}: {}",
            r.stdout
        );
    }
    let proved = chain
        .json(&["verify", &bundle_arg, "--genesis", &genesis_arg])
        .await;
    assert_eq!(proved["verified"], true);
    // A flipped byte anywhere makes it fail with a reason and exit 3.
    let mut bytes = std::fs::read(&bundle).expect("bundle");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let tampered = chain.scratch.path().join("tampered.bundle");
    std::fs::write(&tampered, &bytes).expect("write");
    let r = chain
        .run(&[
            "verify",
            tampered.to_str().expect("utf-8 path"),
            "--genesis",
            &genesis_arg,
        ])
        .await;
    r.expect_code(3);
    assert!(r.stderr.contains("does not verify: "), "{}", r.stderr);
    // A supplier party to only part of the lineage gets no bundle.
    let r = chain
        .run(&[
            "--reader",
            "castings",
            "voucher",
            "trace",
            &level1[2],
            "--export",
            &bundle_arg,
        ])
        .await;
    r.expect_code(3);
    assert!(r.stderr.contains("NOT_A_PARTY"), "{}", r.stderr);

    // Events: replayed from the first block, stopped by --limit or by --timeout-secs.
    let r = chain
        .run(&["events", "--from-height", "1", "--limit", "3"])
        .await;
    r.expect_code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(lines.iter().all(|l| l.starts_with("h=")), "{}", r.stdout);
    assert!(
        lines[0].contains(" CREDIT_LINE_GRANTED actor=bank-a-finance"),
        "{}",
        r.stdout
    );
    let started = Instant::now();
    let out = chain
        .json(&["events", "--from-height", "1", "--timeout-secs", "1"])
        .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out["stopped"], "timeout", "{out:#}");
    let events = out["events"].as_array().expect("events");
    assert_eq!(out["count"].as_u64(), Some(events.len() as u64));
    // Grant, issue, split (1 + 3 children), split (1 + 2), transfer, issue.
    assert_eq!(events.len(), 11, "{out:#}");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds[0], EventKind::CreditLineGranted.as_str_name());
    assert_eq!(kinds[1], EventKind::VoucherIssued.as_str_name());
    assert_eq!(kinds[10], EventKind::VoucherIssued.as_str_name());
    let out = chain
        .json(&[
            "events",
            "--from-height",
            "1",
            "--voucher",
            &level1[2],
            "--timeout-secs",
            "1",
        ])
        .await;
    // The parent's split names it; then its own creation and transfer.
    let concerning: Vec<(&str, &str)> = out["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind"),
                e["voucher_id"].as_str().expect("voucher"),
            )
        })
        .collect();
    assert_eq!(
        concerning,
        vec![
            (EventKind::VoucherSplit.as_str_name(), root.as_str()),
            (
                EventKind::VoucherCreatedBySplit.as_str_name(),
                level1[2].as_str()
            ),
            (
                EventKind::VoucherTransferred.as_str_name(),
                level1[2].as_str()
            ),
        ],
        "{out:#}"
    );
    let out = chain.json(&["events", "--timeout-secs", "1"]).await;
    assert_eq!(
        (out["count"].as_u64(), out["stopped"].as_str()),
        (Some(0), Some("timeout"))
    );

    // Blocks and status.
    let status = chain.json(&["status"]).await;
    assert_eq!(status["chain_id"], "vchain-dev");
    let height = status["height"].as_u64().expect("height");
    assert!(height >= 6, "{status:#}");
    let r = chain.run(&["block", "get"]).await;
    r.expect_code(0);
    assert!(r.stdout.starts_with("height: "), "{}", r.stdout);
    let block = chain.json(&["block", "get", "1"]).await;
    assert_eq!(block["block"]["header"]["height"], 1);
    assert_eq!(block["block"]["header"]["chain_id"], "vchain-dev");
    assert_eq!(block["block_hash"].as_str().map(str::len), Some(64));
    let r = chain.run(&["block", "get", "999999"]).await;
    r.expect_code(4);

    // A solo chain has no views; its one node certifies each block (ADR 0015: genesis lists
    // the dev node's key), and the certificate checks against the validators of its height.
    assert_eq!(status["consensus_view"], 0, "{status:#}");
    assert_eq!(
        block["certificate"]["signatures"][0]["node_id"], "node-1",
        "{block:#}"
    );
    assert_eq!(block["certificate_check"]["verified"], true, "{block:#}");
    let r = chain.run(&["block", "get", "1"]).await;
    r.expect_code(0);
    assert!(
        r.stdout
            .contains("certificate: verified (1 of 1 validators: node-1)"),
        "{}",
        r.stdout
    );
    // A forged certificate put in its place is shown and checked: the block is still printed;
    // the exit code says the check failed.
    let hash: Vec<u8> = hex::decode(block["block_hash"].as_str().expect("hash")).expect("hex");
    let certificate = vchain_proto::v1::CommitCertificate {
        height: 1,
        view: 0,
        block_hash: hash,
        signatures: vec![vchain_proto::v1::CommitSignature {
            node_id: "node-1".into(),
            signature: vec![0; 64],
        }],
    };
    chain
        .node
        .as_ref()
        .expect("running")
        .chain
        .ledger
        .store_certificate(1, &prost::Message::encode_to_vec(&certificate))
        .expect("attached");
    let r = chain.run(&["block", "get", "1"]).await;
    r.expect_code(8);
    assert!(
        r.stdout.starts_with("height: 1\n")
            && r.stdout.contains("certificate: view 0, signed by node-1\n")
            && r.stdout.contains("certificate: DOES NOT VERIFY: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("block 1: the commit certificate does not verify"),
        "{}",
        r.stderr
    );
    let r = chain.run(&["--json", "block", "get", "1"]).await;
    r.expect_code(8);
    let out = r.json();
    assert_eq!(out["certificate"]["view"], 0, "{out:#}");
    assert_eq!(out["certificate"]["signatures"][0]["node_id"], "node-1");
    assert_eq!(out["certificate_check"]["verified"], false, "{out:#}");

    // Usage errors: 2.
    for args in [
        &[
            "voucher",
            "split",
            "--as",
            "gearbox",
            &root,
            "--amounts",
            "1.5",
        ][..],
        &["voucher", "list"][..],
        &["voucher", "list", "--holder", "a", "--issuer", "b"][..],
        &["events", "--limit", "0"][..],
        &["dev", "advance-clock"][..],
        &["no-such-command"][..],
    ] {
        chain.run(args).await.expect_code(2);
    }
    let r = chain
        .run_at("not a url", &chain.dev_keystore(), "dev", &["status"])
        .await;
    r.expect_code(2);

    // An endpoint nobody listens on: 5, for reads and for transactions.
    // A loopback port bound but never listened on: connections are refused, and no other
    // test's node can take the port meanwhile.
    let closed = tokio::net::TcpSocket::new_v4().expect("socket");
    closed
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    let r = chain
        .run_at(&dead, &chain.dev_keystore(), "dev", &["status"])
        .await;
    r.expect_code(5);
    assert!(
        r.stderr
            .starts_with(&format!("error: connecting to {dead}")),
        "{}",
        r.stderr
    );
    let r = chain
        .run_at(
            &dead,
            &chain.dev_keystore(),
            "dev",
            &["--json", "voucher", "redeem", "--as", "gearbox", &root],
        )
        .await;
    r.expect_code(5);
    assert_eq!(r.json()["error"]["exit_code"], 5);

    chain.stop().await;
}

/// The dev node runs the solo engine, whose single node cannot change: an administrator's
/// `consensus add-node` and `remove-node` submit proposals, which the chain checks at submission
/// and commits as rejected, and the user sees the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consensus_membership_is_fixed_on_a_solo_dev_chain() {
    let chain = DevChain::start().await;
    let network_key = hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&[42; 32])
            .verifying_key()
            .as_bytes(),
    );
    let add = [
        "consensus",
        "add-node",
        "--as",
        "bank-a-admin",
        "--node-id",
        "node-2",
        "--org",
        "bank-a",
        "--public-key",
        network_key.as_str(),
    ];

    let r = chain.run(&add).await;
    let hash = r.expect_rejected("CONSENSUS_ENGINE_STATIC");
    assert!(
        r.stderr.starts_with(&format!(
            "error: submitting submit_proposal transaction {hash}"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("\"solo\""), "{}", r.stderr);
    assert!(r.stderr.contains("gRPC FailedPrecondition"), "{}", r.stderr);

    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(&add);
    let r = chain.run(&json_args).await;
    r.expect_rejected("CONSENSUS_ENGINE_STATIC");
    let err = r.json();
    assert_eq!(err["error"]["exit_code"], 3, "{err:#}");
    assert_eq!(err["error"]["grpc_code"], "FailedPrecondition", "{err:#}");
    assert!(
        err["error"]["grpc_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("CONSENSUS_ENGINE_STATIC")),
        "{err:#}"
    );

    let r = chain
        .run(&[
            "consensus",
            "remove-node",
            "--as",
            "bank-a-admin",
            "--node-id",
            "node-1",
        ])
        .await;
    r.expect_rejected("CONSENSUS_ENGINE_STATIC");

    chain.stop().await;
}

/// The proposal commands on the dev chain (two member banks, so a proposal needs both): bank A
/// proposes a parameter change and a CA rotation, bank B approves, the chain applies them; a
/// second vote, a vote on an unknown proposal and a non-administrator's proposal are rejected
/// with their rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_are_submitted_and_voted_on_the_dev_chain() {
    let chain = DevChain::start().await;
    let before = chain.json(&["status"]).await;
    let fanout = before["params"]["split_fanout_max"]
        .as_u64()
        .expect("fanout");
    let new_fanout = (fanout + 1).to_string();

    let out = chain
        .tx(&[
            "proposal",
            "submit",
            "set-params",
            "--as",
            "bank-a-admin",
            "--split-fanout-max",
            &new_fanout,
            "--reason",
            "bigger splits",
        ])
        .await;
    let events = out["result"]["events"].as_array().expect("events").clone();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["EVENT_KIND_PROPOSAL_SUBMITTED", "EVENT_KIND_PROPOSAL_VOTED"],
        "{out:#}"
    );
    let id = events[0]["proposal_id"]
        .as_str()
        .expect("proposal id")
        .to_owned();
    assert_eq!(id, "P000000000001");
    assert_eq!(
        chain.json(&["status"]).await["params"]["split_fanout_max"],
        fanout,
        "one of two banks is not enough"
    );

    let out = chain
        .tx(&["proposal", "vote", &id, "--as", "bank-b-admin", "--approve"])
        .await;
    let kinds: Vec<&str> = out["result"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "EVENT_KIND_PROPOSAL_VOTED",
            "EVENT_KIND_CHAIN_PARAMS_CHANGED",
            "EVENT_KIND_PROPOSAL_PASSED"
        ],
        "{out:#}"
    );
    // The node serves the new parameters from the block that changed them, and the change is
    // recorded as the chain made it.
    assert_eq!(
        chain.json(&["status"]).await["params"]["split_fanout_max"],
        fanout + 1
    );
    // The event carries the new parameters as data (no words from the chain).
    assert_eq!(
        out["result"]["events"][1]["params"]["split_fanout_max"],
        fanout + 1,
        "{out:#}"
    );

    // The proposal as recorded: passed, both banks' votes, its whole history.
    let shown = chain.json(&["proposal", "get", &id]).await;
    assert_eq!(
        shown["proposal"]["status"], "PROPOSAL_STATUS_PASSED",
        "{shown:#}"
    );
    let voters: Vec<&str> = shown["proposal"]["votes"]
        .as_array()
        .expect("votes")
        .iter()
        .filter_map(|v| v["org_id"].as_str())
        .collect();
    assert_eq!(voters, ["bank-a", "bank-b"], "{shown:#}");
    assert_eq!(
        shown["events"].as_array().expect("events").len(),
        5,
        "submitted, two votes, the change, passed: {shown:#}"
    );
    let listed = chain.json(&["proposal", "list"]).await;
    assert_eq!(listed["proposals"][0]["id"], id.as_str(), "{listed:#}");
    let open = chain.json(&["proposal", "list", "--open"]).await;
    assert_eq!(open["proposals"], json!([]), "{open:#}");
    let r = chain.run(&["proposal", "get", "P000000000099"]).await;
    r.expect_code(4);

    // Human output names the proposal.
    let r = chain
        .run(&["proposal", "vote", &id, "--as", "bank-b-admin", "--reject"])
        .await;
    r.expect_rejected("PROPOSAL_NOT_OPEN");
    assert!(
        r.stderr.contains("submitting vote_on_proposal transaction"),
        "{}",
        r.stderr
    );
    // An unknown proposal is "not found" (exit 4), the rule named.
    let r = chain
        .run(&[
            "proposal",
            "vote",
            "P000000000099",
            "--as",
            "bank-b-admin",
            "--approve",
        ])
        .await;
    r.expect_code(4);
    assert!(r.stderr.contains(": PROPOSAL_NOT_FOUND: "), "{}", r.stderr);

    // A CA rotation from a certificate file that `vchain ca init` made.
    let cert = chain
        .scratch
        .path()
        .join("bank-a-ca.pem")
        .to_str()
        .expect("utf8")
        .to_owned();
    let init = chain
        .run(&[
            "--json",
            "ca",
            "init",
            "--org",
            "bank-a",
            "--key-name",
            "bank-a-ca-2",
            "--out",
            &cert,
        ])
        .await;
    init.expect_code(0);
    assert_eq!(init.json()["role"], "root-ca", "{}", init.stdout);
    let out = chain
        .tx(&[
            "proposal",
            "submit",
            "rotate-ca",
            "--as",
            "bank-a-admin",
            "--org",
            "bank-a",
            "--ca-cert",
            &cert,
            "--title",
            "new bank A root",
        ])
        .await;
    assert_eq!(
        out["result"]["events"][0]["proposal_id"], "P000000000002",
        "{out:#}"
    );
    let r = chain
        .run(&[
            "proposal",
            "vote",
            "P000000000002",
            "--as",
            "bank-b-admin",
            "--approve",
        ])
        .await;
    r.expect_code(0);
    assert!(r.stdout.contains("ORGANISATION_CA_ROTATED"), "{}", r.stdout);
    assert!(r.stdout.contains("proposal=P000000000002"), "{}", r.stdout);

    // Only administrators propose.
    chain
        .run(&[
            "proposal",
            "submit",
            "remove-organisation",
            "--as",
            "bank-a-finance",
            "--org",
            "bank-b",
        ])
        .await
        .expect_rejected("WRONG_ROLE");

    chain.stop().await;
}

/// The dev chain starts on the newest rules version, where lineages go 1,024 splits deep
/// unless the consortium sets less; `vchain status` says so in words and JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_chain_starts_on_the_newest_rules() {
    let chain = DevChain::start().await;
    let status = chain.json(&["status"]).await;
    let newest = u64::from(vchain_contracts::RULES_VERSION_MAX);
    assert_eq!(status["rules_version"], newest, "{status:#}");
    assert_eq!(status["rules_version_max"], newest, "{status:#}");
    let text = chain.run(&["status"]).await.expect_code(0).stdout.clone();
    assert!(
        text.contains(&format!(
            "rules: v{newest} (this node executes up to v{newest})\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("lineage depth max: default of rules v3 (1024)\n"),
        "{text}"
    );
    chain.stop().await;
}

/// A chain rules upgrade with the CLI on a dev chain started on v1 (ADR 0016): a v2 parameter
/// is refused under v1; bank A schedules v2 and bank B approves; `vchain status` shows the
/// upgrade in words and JSON; a second schedule is refused while one is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_upgrade_is_scheduled_and_shown_with_the_cli() {
    let chain = DevChain::start_from_genesis(|genesis| genesis.rules_version = 1).await;
    let status = chain.json(&["status"]).await;
    assert_eq!(status["rules_version"], 1, "{status:#}");
    assert_eq!(status["rules_pending_version"], 0, "{status:#}");
    let implemented = status["rules_version_max"]
        .as_u64()
        .expect("rules_version_max");
    assert_eq!(implemented, u64::from(vchain_contracts::RULES_VERSION_MAX));
    let text = chain.run(&["status"]).await.expect_code(0).stdout.clone();
    assert!(
        text.contains(&format!(
            "rules: v1 (this node executes up to v{implemented})\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("lineage depth max: default of rules v1 (32)\n"),
        "{text}"
    );

    chain
        .run(&[
            "proposal",
            "submit",
            "set-params",
            "--as",
            "bank-a-admin",
            "--lineage-depth-max",
            "64",
        ])
        .await
        .expect_rejected("RULES_VERSION_REQUIRED");

    let height = chain.json(&["status"]).await["height"]
        .as_u64()
        .expect("height");
    let activation = (height + 100).to_string();
    let out = chain
        .tx(&[
            "proposal",
            "submit",
            "schedule-upgrade",
            "--as",
            "bank-a-admin",
            "--version",
            "2",
            "--activation-height",
            &activation,
        ])
        .await;
    let id = out["result"]["events"][0]["proposal_id"]
        .as_str()
        .expect("proposal id")
        .to_owned();
    let shown = chain.json(&["proposal", "get", &id]).await;
    assert_eq!(
        shown["proposal"]["submission"]["title"],
        format!("switch to chain rules v2 at height {activation}"),
        "the default title names the change: {shown:#}"
    );
    let r = chain
        .run(&["proposal", "vote", &id, "--as", "bank-b-admin", "--approve"])
        .await;
    r.expect_code(0);
    assert!(
        r.stdout.contains(&format!(
            "RULES_UPGRADE_SCHEDULED actor=bank-b-admin proposal={id} rules=v2 activation_height={activation}"
        )),
        "{}",
        r.stdout
    );
    let status = chain.json(&["status"]).await;
    assert_eq!(status["rules_version"], 1, "{status:#}");
    assert_eq!(status["rules_pending_version"], 2, "{status:#}");
    assert_eq!(
        status["rules_activation_height"].as_u64(),
        activation.parse().ok(),
        "{status:#}"
    );
    let text = chain.run(&["status"]).await.expect_code(0).stdout.clone();
    assert!(
        text.contains(&format!(
            "rules upgrade: v2 activates at height {activation} ("
        )),
        "{text}"
    );
    assert!(
        !text.contains("RULES UPGRADE NEEDED"),
        "this release implements v2: {text}"
    );

    chain
        .run(&[
            "proposal",
            "submit",
            "schedule-upgrade",
            "--as",
            "bank-a-admin",
            "--version",
            "2",
            "--activation-height",
            &activation,
        ])
        .await
        .expect_rejected("RULES_UPGRADE_PENDING");

    chain.stop().await;
}

/// The certificate workflow with the CLI on the dev chain, whose banks have root CAs: bank A
/// certifies a new supplier's key and registers it (a bare key is refused); the supplier acts;
/// bank A revokes the certificate and the supplier is refused; bank A rotates a new
/// certificate in and the supplier acts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_issued_registered_revoked_and_rotated_with_the_cli() {
    let chain = DevChain::start().await;
    let path = |name: &str| {
        chain
            .scratch
            .path()
            .join(name)
            .to_str()
            .expect("utf8")
            .to_owned()
    };
    let ca = chain.dev_ca();
    // `ca init` never overwrites a CA file or reuses a key name.
    let other = path("bank-x-ca.pem");
    chain
        .run(&["ca", "init", "--org", "bank-x", "--out", &other])
        .await
        .expect_code(0);
    chain
        .run(&[
            "ca",
            "init",
            "--org",
            "bank-x",
            "--key-name",
            "another",
            "--out",
            &other,
        ])
        .await
        .expect_code(2);
    chain
        .run(&["ca", "init", "--org", "bank-x", "--out", &path("fresh.pem")])
        .await
        .expect_code(6);

    // A new supplier: its key in the keystore, certified by bank A's CA.
    let key_json = chain
        .json(&["key", "new", "acme", "--account", "acme"])
        .await;
    let public_key = key_json["public_key"].as_str().expect("key").to_owned();
    let acme = path("acme.pem");
    let issued = chain
        .json(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            "supplier",
            "--name",
            "acme",
            "--key",
            "acme",
            "--out",
            &acme,
        ])
        .await;
    assert_eq!(issued["public_key"], public_key.as_str(), "{issued:#}");
    assert_eq!(issued["organisation"], "bank-a");
    let serial = issued["serial"].as_str().expect("serial").to_owned();
    let shown = chain.json(&["ca", "show", &acme]).await;
    assert_eq!(shown["role"], "supplier");
    assert_eq!(shown["expired"], false);
    assert_eq!(shown["expires_within_warn_days"], false);
    let soon = chain
        .run(&["ca", "show", &acme, "--warn-days", "400"])
        .await;
    soon.expect_code(0);
    assert!(
        soon.stdout.contains("expires within 400 days"),
        "{}",
        soon.stdout
    );

    let uscc = vchain_contracts::validate::uscc_with_check("91310000MA1FL7777").expect("uscc");
    // Bank A is certified now: a bare key is refused.
    chain
        .run(&[
            "identity",
            "register",
            "--as",
            "bank-a-admin",
            "--uscc",
            &uscc,
            "--name",
            "Acme",
            "--role",
            "supplier",
            "--account",
            "acme",
            "--public-key",
            &public_key,
        ])
        .await
        .expect_rejected("CERTIFICATE_REQUIRED");
    chain
        .tx(&[
            "identity",
            "register",
            "--as",
            "bank-a-admin",
            "--uscc",
            &uscc,
            "--name",
            "Acme",
            "--role",
            "supplier",
            "--account",
            "acme",
            "--certificate",
            &acme,
        ])
        .await;
    let account = chain.json(&["account", "get", "acme"]).await;
    assert_eq!(account["account"]["public_key"], public_key.as_str());
    assert_eq!(account["account"]["certificate"]["serial"], serial.as_str());

    // The supplier acts with its certified key: it rotates to a second key itself.
    chain
        .json(&["key", "new", "acme-2", "--account", "acme"])
        .await;
    let acme_2 = path("acme-2.pem");
    chain
        .run(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            "supplier",
            "--name",
            "acme",
            "--key",
            "acme-2",
            "--out",
            &acme_2,
        ])
        .await
        .expect_code(0);
    chain
        .tx(&[
            "account",
            "rotate-key",
            "acme",
            "--as",
            "acme",
            "--certificate",
            &acme_2,
        ])
        .await;

    // Bank A revokes the current certificate: the supplier can do nothing.
    chain
        .tx(&[
            "ca",
            "revoke",
            "--as",
            "bank-a-admin",
            "--certificate",
            &acme_2,
            "--reason",
            "laptop stolen",
        ])
        .await;
    let revoked = chain.json(&["account", "get", "acme"]).await;
    assert_eq!(revoked["account"]["certificate"]["revoked"], true);
    chain
        .json(&["key", "new", "acme-3", "--account", "acme"])
        .await;
    let acme_3 = path("acme-3.pem");
    // This time from a certificate signing request: the key holder makes it, the CA certifies.
    let csr = path("acme-3.csr");
    chain
        .run(&["key", "csr", "acme-3", "--out", &csr])
        .await
        .expect_code(0);
    let from_csr = chain
        .json(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            "supplier",
            "--csr",
            &csr,
            "--out",
            &acme_3,
        ])
        .await;
    assert_eq!(from_csr["common_name"], "acme", "{from_csr:#}");
    let refused = chain
        .run(&[
            "account",
            "rotate-key",
            "acme",
            "--as",
            "acme-2",
            "--certificate",
            &acme_3,
        ])
        .await;
    refused.expect_code(3);
    assert!(
        refused.stderr.contains("CERTIFICATE_REVOKED"),
        "{}",
        refused.stderr
    );

    // Its administrator binds the new key; the supplier acts again.
    chain
        .tx(&[
            "account",
            "rotate-key",
            "acme",
            "--as",
            "bank-a-admin",
            "--certificate",
            &acme_3,
        ])
        .await;
    let acme_4 = path("acme-4.pem");
    chain
        .json(&["key", "new", "acme-4", "--account", "acme"])
        .await;
    chain
        .run(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            "supplier",
            "--name",
            "acme",
            "--key",
            "acme-4",
            "--out",
            &acme_4,
        ])
        .await
        .expect_code(0);
    chain
        .tx(&[
            "account",
            "rotate-key",
            "acme",
            "--as",
            "acme-3",
            "--certificate",
            &acme_4,
        ])
        .await;

    // Nearly five years on, the dev accounts' certificates expire within 30 days: the node's
    // status reports them, by organisation, role, account and date.
    chain
        .run(&["dev", "advance-clock", "--days", "1800"])
        .await
        .expect_code(0);
    let status = chain.json(&["status"]).await;
    assert_eq!(status["certificate_warning_days"], 30);
    let expiring: Vec<&str> = status["certificates_expiring"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["subject_id"].as_str())
        .collect();
    assert!(expiring.contains(&"bank-a-admin"), "{status:#}");
    assert!(
        expiring.contains(&"acme"),
        "acme's one-year certificate expired: {status:#}"
    );
    let text = chain.run(&["status"]).await;
    assert!(
        text.stdout
            .contains("certificate expiring: bank-a administrator bank-a-admin"),
        "{}",
        text.stdout
    );
    // An expired certificate authenticates nothing.
    let acme_5 = path("acme-5.pem");
    chain
        .json(&["key", "new", "acme-5", "--account", "acme"])
        .await;
    chain
        .run(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            "supplier",
            "--name",
            "acme",
            "--key",
            "acme-5",
            "--out",
            &acme_5,
        ])
        .await
        .expect_code(0);
    let expired = chain
        .run(&[
            "account",
            "rotate-key",
            "acme",
            "--as",
            "acme-4",
            "--certificate",
            &acme_5,
        ])
        .await;
    expired.expect_code(3);
    assert!(
        expired.stderr.contains("CERTIFICATE_EXPIRED"),
        "{}",
        expired.stderr
    );

    // The supplier holds no voucher, so its bank cancels the account for good.
    chain
        .tx(&[
            "account",
            "cancel",
            "acme",
            "--as",
            "bank-a-admin",
            "--reason",
            "supplier closed its account",
        ])
        .await;
    let cancelled = chain.json(&["account", "get", "acme"]).await;
    assert_eq!(
        cancelled["account"]["status"], "ACCOUNT_STATUS_CANCELLED",
        "{cancelled:#}"
    );
    chain.stop().await;
}

/// Pledge registration with the CLI: gearbox pledges a voucher to bank A's finance arm, the
/// voucher is locked and the pledge is public notice; the pledgee amends it with the code and
/// releases it; the voucher moves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voucher_is_pledged_locked_amended_and_released_with_the_cli() {
    let chain = DevChain::start().await;
    let (bank, _) = chain.credit_line(10_000_000).await;
    let voucher = chain.issue(&bank, "gearbox", 1_000_000, "INV-P-1").await;
    let until = chain.date_in(10).await;
    let out = chain
        .tx(&[
            "pledge",
            "register",
            &voucher,
            "--as",
            "gearbox",
            "--pledgee",
            "bank-a-finance",
            "--amount",
            "800000",
            "--until",
            &until,
            "--collateral",
            "working capital loan LC-2026-7",
        ])
        .await;
    let number = out["result"]["events"][0]["pledge"]
        .as_str()
        .expect("registration number")
        .to_owned();
    let code = out["modification_code"].as_str().expect("code").to_owned();
    assert_eq!(code.len(), 32, "{out:#}");

    let agreement = hash_arg("P-1 castings");
    chain
        .run(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            &voucher,
            "--to",
            "castings",
            "--agreement-hash",
            &agreement,
        ])
        .await
        .expect_rejected("VOUCHER_PLEDGED");
    let notice = chain.json(&["pledge", "get", "--voucher", &voucher]).await;
    assert_eq!(notice["pledge"]["registration_number"], number.as_str());
    assert_eq!(notice["pledge"]["status"], "PLEDGE_STATUS_ACTIVE");
    assert_eq!(notice["pledge"]["pledgee"], "bank-a-finance");

    let later = chain.date_in(20).await;
    chain
        .run(&[
            "pledge",
            "amend",
            &number,
            "--as",
            "bank-a-finance",
            "--code",
            "not-the-code",
            "--until",
            &later,
        ])
        .await
        .expect_rejected("BAD_MODIFICATION_CODE");
    chain
        .tx(&[
            "pledge",
            "amend",
            &number,
            "--as",
            "bank-a-finance",
            "--code",
            &code,
            "--until",
            &later,
        ])
        .await;
    let amended = chain.json(&["pledge", "get", &number]).await;
    assert_eq!(amended["pledge"]["period_end_date"], later.as_str());
    chain
        .run(&[
            "pledge", "release", &number, "--as", "gearbox", "--reason", "mine",
        ])
        .await
        .expect_rejected("NOT_PLEDGEE");
    chain
        .tx(&[
            "pledge",
            "release",
            &number,
            "--as",
            "bank-a-finance",
            "--reason",
            "loan repaid",
        ])
        .await;
    chain
        .tx(&[
            "voucher",
            "transfer",
            "--as",
            "gearbox",
            &voucher,
            "--to",
            "castings",
            "--agreement-hash",
            &agreement,
        ])
        .await;
    chain
        .run(&["pledge", "get", "--voucher", &voucher])
        .await
        .expect_code(4);
    chain.stop().await;
}

/// Warehouse receipts and a dynamic pledge with the CLI: bank A certifies and registers a
/// warehouse operator, which issues gearbox a receipt; gearbox pledges it dynamically; goods
/// leave down to the floor and no further; the receipt and its pledge are readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_receipt_is_issued_and_pledged_dynamically_with_the_cli() {
    let chain = DevChain::start().await;
    let key = chain
        .json(&["key", "new", "depot", "--account", "depot"])
        .await;
    let public_key = key["public_key"].as_str().expect("key").to_owned();
    let certificate = chain
        .dev_certificate("depot", "warehouse-operator", &public_key)
        .await;
    let uscc = vchain_contracts::validate::uscc_with_check("91310000MA1FL5001").expect("uscc");
    chain
        .tx(&[
            "identity",
            "register",
            "--as",
            "bank-a-admin",
            "--uscc",
            &uscc,
            "--name",
            "Depot Logistics",
            "--role",
            "warehouse-operator",
            "--account",
            "depot",
            "--certificate",
            &certificate,
        ])
        .await;
    let out = chain
        .tx(&[
            "receipt",
            "issue",
            "--as",
            "depot",
            "--holder",
            "gearbox",
            "--sku",
            "gear blank GB-40",
            "--quantity",
            "100",
            "--unit-value",
            "1000",
            "--location",
            "Depot 1, bay 4",
        ])
        .await;
    let receipt = out["result"]["events"][0]["receipt_id"]
        .as_str()
        .expect("receipt id")
        .to_owned();
    let until = chain.date_in(30).await;
    let out = chain
        .tx(&[
            "pledge",
            "register",
            &receipt,
            "--as",
            "gearbox",
            "--pledgee",
            "bank-a-finance",
            "--amount",
            "50000",
            "--until",
            &until,
            "--collateral",
            "inventory loan IL-1",
            "--dynamic-floor",
            "60000",
        ])
        .await;
    let number = out["result"]["events"][0]["pledge"]
        .as_str()
        .expect("number")
        .to_owned();
    chain
        .tx(&[
            "receipt",
            "release-goods",
            &receipt,
            "--as",
            "depot",
            "--quantity",
            "40",
            "--reason",
            "delivery",
        ])
        .await;
    chain
        .run(&[
            "receipt",
            "release-goods",
            &receipt,
            "--as",
            "depot",
            "--quantity",
            "1",
            "--reason",
            "one more",
        ])
        .await
        .expect_rejected("GOODS_LOCKED");
    let shown = chain.json(&["receipt", "get", &receipt]).await;
    assert_eq!(shown["receipt"]["quantity"], 60, "{shown:#}");
    assert_eq!(shown["receipt"]["pledge"], number.as_str());
    let notice = chain.json(&["pledge", "get", "--receipt", &receipt]).await;
    assert_eq!(notice["pledge"]["asset_kind"], "receipt");
    assert_eq!(notice["pledge"]["floor_value"], 60000);

    // A gate device on the lot reports one more unit leaving: the pledge is breached and the
    // alert names the pledgee; the same reading again is a replay.
    chain
        .json(&["key", "new", "gate-key", "--account", "depot"])
        .await;
    chain
        .tx(&[
            "device",
            "register",
            "gate-1",
            "--as",
            "depot",
            "--kind",
            "gate",
            "--receipt",
            &receipt,
            "--device-key",
            "gate-key",
        ])
        .await;
    let out = chain
        .tx(&[
            "device",
            "read",
            "gate-1",
            "--as",
            "depot",
            "--device-key",
            "gate-key",
            "--counter",
            "1",
            "--units-out",
            "1",
        ])
        .await;
    let kinds: Vec<&str> = out["result"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["EVENT_KIND_READING_RECORDED", "EVENT_KIND_PLEDGE_ALERT"],
        "{out:#}"
    );
    assert_eq!(out["result"]["events"][1]["counterparty"], "bank-a-finance");
    let notice = chain.json(&["pledge", "get", "--receipt", &receipt]).await;
    assert_eq!(
        notice["pledge"]["health"], 3,
        "PLEDGE_HEALTH_BREACHED: {notice:#}"
    );
    chain
        .run(&[
            "device",
            "read",
            "gate-1",
            "--as",
            "depot",
            "--device-key",
            "gate-key",
            "--counter",
            "1",
            "--units-out",
            "1",
        ])
        .await
        .expect_rejected("READING_REPLAYED");
    let device = chain.json(&["device", "get", "gate-1"]).await;
    assert_eq!(device["device"]["last_counter"], 1, "{device:#}");
    assert_eq!(device["device"]["kind"], "DEVICE_KIND_GATE");
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_issue_refuses_an_id_the_chain_would_refuse() {
    let chain = DevChain::start().await;
    let ca = chain.dev_ca();
    chain
        .json(&["key", "new", "acme-key", "--account", "acme"])
        .await;
    let out = chain.scratch.path().join("bad.pem");
    let out_arg = out.to_str().expect("utf8").to_owned();
    for bad in ["Acme Corp", "ab", "_acme", "acme/1"] {
        let run = chain
            .run(&[
                "ca",
                "issue",
                "--ca-cert",
                &ca,
                "--role",
                "supplier",
                "--name",
                bad,
                "--key",
                "acme-key",
                "--out",
                &out_arg,
            ])
            .await;
        run.expect_code(2);
        assert!(
            run.stderr.contains("the chain would refuse") && run.stderr.contains("account id"),
            "{bad}: {}",
            run.stderr
        );
        assert!(!out.exists(), "no certificate file for {bad:?}");
    }
    // A name the chain takes is certified.
    chain
        .run(&[
            "ca",
            "issue",
            "--ca-cert",
            &ca,
            "--role",
            "supplier",
            "--name",
            "acme",
            "--key",
            "acme-key",
            "--out",
            &out_arg,
        ])
        .await
        .expect_code(0);
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditors_page_the_audit_log_by_account_organisation_and_height() {
    let chain = DevChain::start().await;
    for account in ["castings", "foundry"] {
        chain
            .tx(&[
                "account",
                "freeze",
                account,
                "--as",
                if account == "castings" {
                    "bank-a-admin"
                } else {
                    "bank-b-admin"
                },
                "--reason",
                "court order",
            ])
            .await;
    }
    // By account: the one freeze of castings, after genesis.
    let out = chain.json(&["audit", "--account", "castings"]).await;
    let entries = out["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{out:#}");
    assert_eq!(entries[0]["event"]["kind"], "EVENT_KIND_ACCOUNT_FROZEN");
    assert_eq!(entries[0]["event"]["accounts"][0], "castings");
    let castings_height = entries[0]["height"].as_u64().expect("height");
    assert_eq!(out["next_page_token"], "");

    // By organisation: bank B's freeze of foundry, not bank A's of castings.
    let out = chain.json(&["audit", "--org", "bank-b"]).await;
    let kinds: Vec<(&str, &str)> = out["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["event"]["kind"].as_str().expect("kind"),
                e["event"]["accounts"][0].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![("EVENT_KIND_ACCOUNT_FROZEN", "foundry")],
        "{out:#}"
    );

    // By height, a page at a time.
    let from = castings_height.to_string();
    let first = chain
        .json(&["audit", "--from-height", &from, "--limit", "1"])
        .await;
    assert_eq!(
        first["entries"].as_array().map(Vec::len),
        Some(1),
        "{first:#}"
    );
    assert_eq!(first["entries"][0]["event"]["accounts"][0], "castings");
    let token = first["next_page_token"].as_str().expect("token").to_owned();
    assert!(!token.is_empty(), "{first:#}");
    let second = chain.json(&["audit", "--after", &token]).await;
    assert_eq!(
        second["entries"].as_array().map(Vec::len),
        Some(1),
        "{second:#}"
    );
    assert_eq!(second["entries"][0]["event"]["accounts"][0], "foundry");
    let text = chain.run(&["audit", "--account", "castings"]).await;
    text.expect_code(0);
    assert!(text.stdout.contains("ACCOUNT_FROZEN"), "{}", text.stdout);
    assert!(
        text.stdout.contains("1 audit log entr(ies)"),
        "{}",
        text.stdout
    );

    // A supplier may not read it.
    let denied = chain
        .run(&["--reader", "gearbox", "audit", "--account", "gearbox"])
        .await;
    denied.expect_code(3);
    assert!(denied.stderr.contains("audit log"), "{}", denied.stderr);
    chain.stop().await;
}
