//! Development chains: a data directory with keys, a genesis with demo identities and a config,
//! for `vchain-node dev` (one Solo node with the DevApi's clock control) and for the testnet
//! (a Raft cluster on loopback).
//!
//! Owns: demo parties, their keys (in a wallet keystore) and certificates, dev genesis files and
//! node configs. Production nodes never run this code: it lives outside the node crate, so the
//! node depends on neither the wallet's keystore nor certificate making.
//!
//! The keystore uses the passphrase [`DEV_PASSPHRASE`] and fast KDF parameters: dev keys guard
//! nothing. Never use a dev data directory for a real chain.
//!
//! Dev chains are certified like real ones: each demo bank gets a root CA (its key in the
//! keystore as `<bank>-ca`, its certificate in `<dir>/<bank>-ca.pem` and in genesis), and every
//! demo account a certificate from its bank's CA, so `vchain ca issue --ca-cert
//! <dir>/bank-a-ca.pem ...` certifies new accounts for the demo chain.

pub mod ports;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use vchain_contracts::genesis::{
    Genesis, GenesisAccount, GenesisConsensus, GenesisIdentity, GenesisNode, GenesisOrganisation,
    Params,
};
use vchain_contracts::validate::uscc_with_check;

use vchain_node::config::NodeConfig;
use vchain_node::NodeError;
use vchain_wallet::keystore::{KdfParams, Keystore};

/// Why a dev chain could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevnetError {
    /// A step of making the directory failed.
    #[error("dev chain setup failed: {0}")]
    Setup(String),
    /// A config or genesis the node could not take.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A config file the node could not load.
    #[error(transparent)]
    Config(#[from] vchain_node::config::ConfigError),
}

/// Passphrase of every key in a dev keystore.
pub const DEV_PASSPHRASE: &str = "dev";
/// Validity of a dev bank's root CA, from a day before genesis.
const DEV_CA_DAYS: u64 = 3650;
/// Validity of a dev account's certificate, from a day before genesis: long enough for demos
/// that advance the clock past maturities and grace periods.
const DEV_ACCOUNT_CERTIFICATE_DAYS: u64 = 5 * 365;
const DAY_MS: u64 = 86_400_000;

/// Where a dev bank's root CA certificate is written in a dev directory.
pub fn ca_certificate_path(dir: &Path, org_id: &str) -> PathBuf {
    dir.join(format!("{org_id}-ca.pem"))
}

/// A demo account: (org, USCC suffix, enterprise name, role, account id).
const DEMO_IDENTITIES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "bank-a",
        "1001",
        "Bank A Supply Chain Finance Dept.",
        "financier",
        "bank-a-finance",
    ),
    (
        "bank-b",
        "1002",
        "Bank B Factoring Co., Ltd.",
        "financier",
        "bank-b-factoring",
    ),
    (
        "bank-a",
        "2001",
        "Great Wall Motor Works Co., Ltd.",
        "core-enterprise",
        "carmaker",
    ),
    (
        "bank-a",
        "3001",
        "Tier-1 Gearbox Co., Ltd.",
        "supplier",
        "gearbox",
    ),
    (
        "bank-a",
        "3002",
        "Tier-2 Castings Co., Ltd.",
        "supplier",
        "castings",
    ),
    (
        "bank-b",
        "3003",
        "Tier-3 Foundry Co., Ltd.",
        "supplier",
        "foundry",
    ),
    (
        "bank-b",
        "4001",
        "Supply Chain Finance Regulator",
        "regulator",
        "regulator",
    ),
];

fn uscc(suffix: &str) -> Result<String, DevnetError> {
    uscc_with_check(&format!("91310000MA1FL{suffix}"))
        .ok_or_else(|| DevnetError::Setup(format!("bad demo USCC suffix {suffix}")))
}

/// A dev node's config: fast blocks, the DevApi on, every other setting at its default.
fn dev_config(
    node_id: impl Into<String>,
    genesis: PathBuf,
    grpc_listen: SocketAddr,
    network: Option<vchain_node::config::NetworkSection>,
) -> NodeConfig {
    NodeConfig {
        node_id: node_id.into(),
        data_dir: PathBuf::from("."),
        genesis,
        grpc_listen,
        block_interval_ms: 100,
        block_interval_min_ms: 10,
        block_tx_target: 2_000,
        mempool_mib_max: vchain_node::config::MEMPOOL_MIB_MAX_DEFAULT,
        mempool_max: 50_000,
        submit_timeout_ms: 30_000,
        dev_api: true,
        snapshot_interval: 1_000,
        snapshot_log_mib: vchain_node::config::SNAPSHOT_LOG_MIB_DEFAULT,
        storage: vchain_node::config::StorageSection::default(),
        archive_dir: None,
        event_subscriptions_max: vchain_node::config::EVENT_SUBSCRIPTIONS_MAX,
        metrics: None,
        network,
        rules_version_max: None,
    }
}

/// Paths of a dev data directory.
pub fn config_path(data_dir: &Path) -> PathBuf {
    data_dir.join("config.toml")
}

/// Creates (or with `reset`, recreates) a dev data directory and returns its config.
/// An existing directory is reused as it is.
pub fn prepare(
    data_dir: &Path,
    grpc_listen: SocketAddr,
    reset: bool,
    now_ms: u64,
) -> Result<NodeConfig, DevnetError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| DevnetError::Setup(format!("{what}: {e}"));
    if reset && data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .map_err(|e| setup(&format!("removing {}", data_dir.display()), &e))?;
    }
    let config_file = config_path(data_dir);
    if config_file.exists() {
        let mut config = NodeConfig::load(&config_file)?;
        config.grpc_listen = grpc_listen;
        return Ok(config);
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| setup(&format!("creating {}", data_dir.display()), &e))?;
    let (organisations, identities, _) = demo_parties(data_dir, now_ms)?;
    // The node's key is listed, so the dev chain certifies its blocks (a set of one, ADR 0015)
    // and an auditor's bundle from it verifies like one from a consortium.
    let node_key = vchain_node::network::NodeKey::load_or_create(data_dir)
        .map_err(|e| setup("the node key", &e))?;
    let genesis = Genesis {
        chain_id: "vchain-dev".into(),
        genesis_time_ms: now_ms,
        params: Params::default(),
        consensus: GenesisConsensus {
            engine: "solo".into(),
            nodes: vec![GenesisNode {
                node_id: "node-1".into(),
                org_id: "bank-a".into(),
                public_key: node_key.public_key_hex(),
                certificate: String::new(),
            }],
        },
        organisations,
        identities,
        development: true,
        // New chains start on the newest rules (e.g. lineages 1,024 splits deep by default).
        rules_version: vchain_contracts::RULES_VERSION_MAX,
    };
    genesis.state().map_err(|e| setup("demo genesis", &e))?;
    let genesis_text =
        toml::to_string_pretty(&genesis).map_err(|e| setup("writing genesis", &e))?;
    std::fs::write(data_dir.join("genesis.toml"), genesis_text)
        .map_err(|e| setup("writing genesis.toml", &e))?;
    let config = dev_config("node-1", PathBuf::from("genesis.toml"), grpc_listen, None);
    let config_text = toml::to_string_pretty(&config).map_err(|e| setup("writing config", &e))?;
    std::fs::write(&config_file, config_text).map_err(|e| setup("writing config.toml", &e))?;
    NodeConfig::load(&config_file).map_err(DevnetError::from)
}

/// Makes the demo banks' root CAs and the demo parties' keys and certificates (keystore
/// `<dir>/keystore.json`, CA certificates `<dir>/<bank>-ca.pem`) and returns the genesis
/// organisations and identities they sign for.
/// The demo banks' root CAs by organisation id.
type DevCas = std::collections::BTreeMap<&'static str, vchain_pki::RootCa>;

fn demo_parties(
    dir: &Path,
    now_ms: u64,
) -> Result<(Vec<GenesisOrganisation>, Vec<GenesisIdentity>, DevCas), DevnetError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| DevnetError::Setup(format!("{what}: {e}"));
    let data_dir = dir;
    let mut keystore = Keystore::load_or_create(&data_dir.join("keystore.json"))
        .map_err(|e| setup("keystore", &e))?
        .with_kdf_params(KdfParams::insecure_fast());
    let since_ms = now_ms.saturating_sub(DAY_MS);
    let mut cas = DevCas::new();
    for org_id in ["bank-a", "bank-b"] {
        let validity = vchain_pki::Validity {
            not_before_ms: since_ms,
            not_after_ms: since_ms + DEV_CA_DAYS * DAY_MS,
        };
        let ca = vchain_pki::RootCa::generate(org_id, validity)
            .map_err(|e| setup("making a dev root CA", &e))?;
        keystore
            .import(
                &format!("{org_id}-ca"),
                None,
                ca.signing_key(),
                DEV_PASSPHRASE,
            )
            .map_err(|e| setup("storing a dev CA key", &e))?;
        std::fs::write(ca_certificate_path(dir, org_id), ca.certificate().to_pem())
            .map_err(|e| setup("writing a dev CA certificate", &e))?;
        cas.insert(org_id, ca);
    }
    let account_validity = vchain_pki::Validity {
        not_before_ms: since_ms,
        not_after_ms: since_ms + DEV_ACCOUNT_CERTIFICATE_DAYS * DAY_MS,
    };
    let mut new_account =
        |org_id: &str, account_id: &str, role: &str| -> Result<GenesisAccount, DevnetError> {
            let key = keystore
                .generate(account_id, Some(account_id), DEV_PASSPHRASE)
                .map_err(|e| setup("generating a key", &e))?;
            let role = vchain_contracts::genesis::parse_role(role)
                .and_then(vchain_contracts::cert_role)
                .ok_or_else(|| DevnetError::Setup(format!("demo role {role:?}")))?;
            let ca = cas
                .get(org_id)
                .ok_or_else(|| DevnetError::Setup(format!("no dev CA for {org_id}")))?;
            let subject = vchain_pki::Subject {
                organisation: org_id.to_owned(),
                common_name: account_id.to_owned(),
                role,
            };
            let certificate = ca
                .issue(&subject, key.as_bytes(), account_validity)
                .map_err(|e| setup("certifying a dev account", &e))?;
            Ok(GenesisAccount {
                account_id: account_id.to_owned(),
                public_key: hex::encode(key.as_bytes()),
                certificate: certificate.to_pem(),
            })
        };
    let organisations = vec![
        GenesisOrganisation {
            org_id: "bank-a".into(),
            name: "Bank A".into(),
            uscc: uscc("0001")?,
            admins: vec![new_account("bank-a", "bank-a-admin", "administrator")?],
            root_ca_certificate: cas["bank-a"].certificate().to_pem(),
        },
        GenesisOrganisation {
            org_id: "bank-b".into(),
            name: "Bank B".into(),
            uscc: uscc("0002")?,
            admins: vec![new_account("bank-b", "bank-b-admin", "administrator")?],
            root_ca_certificate: cas["bank-b"].certificate().to_pem(),
        },
    ];
    let mut identities = Vec::new();
    for (org, suffix, name, role, account) in DEMO_IDENTITIES {
        identities.push(GenesisIdentity {
            org_id: (*org).into(),
            uscc: uscc(suffix)?,
            name: (*name).into(),
            role: (*role).into(),
            legal_representative: String::new(),
            accounts: vec![new_account(org, account, role)?],
        });
    }
    keystore
        .save()
        .map_err(|e| setup("saving the keystore", &e))?;
    Ok((organisations, identities, cas))
}

/// A dev node certificate (PEM) from `ca` for `node_id` and its network key (hex).
fn node_certificate(
    ca: &vchain_pki::RootCa,
    node_id: &str,
    public_key_hex: &str,
    now_ms: u64,
) -> Result<String, DevnetError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| DevnetError::Setup(format!("{what}: {e}"));
    let key: [u8; 32] = hex::decode(public_key_hex)
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| DevnetError::Setup(format!("node key of {node_id} is not 32 bytes")))?;
    let since_ms = now_ms.saturating_sub(DAY_MS);
    let validity = vchain_pki::Validity {
        not_before_ms: since_ms,
        not_after_ms: (since_ms + DEV_ACCOUNT_CERTIFICATE_DAYS * DAY_MS)
            .min(ca.validity().not_after_ms),
    };
    let subject = vchain_pki::Subject {
        organisation: ca.organisation().to_owned(),
        common_name: node_id.to_owned(),
        role: vchain_pki::CertRole::Node,
    };
    ca.issue(&subject, &key, validity)
        .map(|c| c.to_pem())
        .map_err(|e| setup("certifying a dev node", &e))
}

/// A free loopback port for a listener ([`ports::free_loopback_port`]).
fn free_loopback_port() -> Result<u16, DevnetError> {
    ports::free_loopback_port().map_err(|e| DevnetError::Setup(format!("finding a free port: {e}")))
}

/// Creates `nodes` dev nodes under `dir` (`dir/node-1` ...) sharing one genesis with `engine`
/// (`raft` or `pbft`), the demo parties (keystore in `dir`), a network key per node (under
/// PBFT also its consensus key), and configs with free loopback ports for gRPC and
/// peer-to-peer. Returns the configs, node 1 first.
pub fn prepare_cluster(
    dir: &Path,
    nodes: usize,
    now_ms: u64,
    engine: &str,
) -> Result<Vec<NodeConfig>, DevnetError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| DevnetError::Setup(format!("{what}: {e}"));
    if !matches!(engine, "raft" | "pbft") {
        return Err(DevnetError::Setup(format!(
            "a dev cluster runs raft or pbft, not {engine:?}"
        )));
    }
    if !(1..=16).contains(&nodes) {
        return Err(DevnetError::Setup(format!(
            "a dev cluster has 1 to 16 nodes, not {nodes}"
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| setup(&format!("creating {}", dir.display()), &e))?;
    let (organisations, identities, cas) = demo_parties(dir, now_ms)?;
    let mut members = Vec::new();
    for i in 1..=nodes {
        let node_dir = dir.join(format!("node-{i}"));
        std::fs::create_dir_all(&node_dir).map_err(|e| setup("creating a node dir", &e))?;
        let key = vchain_node::network::NodeKey::load_or_create(&node_dir)
            .map_err(|e| setup("node key", &e))?;
        let org = if i % 2 == 1 { "bank-a" } else { "bank-b" };
        members.push((
            format!("node-{i}"),
            org,
            key.public_key_hex(),
            key.peer_id(),
            free_loopback_port()?,
            free_loopback_port()?,
        ));
    }
    let genesis = Genesis {
        chain_id: "vchain-dev".into(),
        genesis_time_ms: now_ms,
        params: Params::default(),
        consensus: GenesisConsensus {
            engine: engine.into(),
            nodes: members
                .iter()
                .map(|(node_id, org, public_key, ..)| {
                    let ca = cas
                        .get(org)
                        .ok_or_else(|| DevnetError::Setup(format!("no dev CA for {org}")))?;
                    Ok(GenesisNode {
                        node_id: node_id.clone(),
                        org_id: (*org).into(),
                        public_key: public_key.clone(),
                        certificate: node_certificate(ca, node_id, public_key, now_ms)?,
                    })
                })
                .collect::<Result<_, DevnetError>>()?,
        },
        organisations,
        identities,
        development: true,
        // New chains start on the newest rules (e.g. lineages 1,024 splits deep by default).
        rules_version: vchain_contracts::RULES_VERSION_MAX,
    };
    genesis.state().map_err(|e| setup("cluster genesis", &e))?;
    let genesis_text =
        toml::to_string_pretty(&genesis).map_err(|e| setup("writing genesis", &e))?;
    std::fs::write(dir.join("genesis.toml"), genesis_text)
        .map_err(|e| setup("writing genesis.toml", &e))?;
    let mut configs = Vec::new();
    for (node_id, _, _, _, grpc_port, p2p_port) in &members {
        let peers = members
            .iter()
            .filter(|(other, ..)| other != node_id)
            .map(|(_, _, _, peer, _, port)| format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}"))
            .collect();
        let config = dev_config(
            node_id.clone(),
            PathBuf::from("../genesis.toml"),
            SocketAddr::from(([127, 0, 0, 1], *grpc_port)),
            Some(vchain_node::config::NetworkSection {
                listen: format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
                peers,
                tick_ms: 100,
                clock_skew_ms_max: vchain_node::config::CLOCK_SKEW_MS_MAX_DEFAULT,
            }),
        );
        let path = dir.join(node_id).join("config.toml");
        let text = toml::to_string_pretty(&config).map_err(|e| setup("writing config", &e))?;
        std::fs::write(&path, text).map_err(|e| setup("writing config.toml", &e))?;
        configs.push(NodeConfig::load(&path)?);
    }
    Ok(configs)
}

/// A node prepared to join a dev cluster: its config, network public key (hex) and
/// certificate (PEM) from its bank's dev CA.
#[derive(Debug, Clone)]
pub struct JoiningNode {
    /// The node's config.
    pub config: NodeConfig,
    /// Its network public key, hex.
    pub public_key: String,
    /// Its certificate, PEM, for the `AddConsensusNode` proposal.
    pub certificate: String,
}

/// Prepares a node of `org_id` that is not in genesis to join the dev cluster under `dir` (made
/// by [`prepare_cluster`]): its directory, network key, certificate (from the bank's dev CA in
/// the keystore) and config, dialling every genesis node. It only takes part once the members
/// pass an `AddConsensusNode` proposal naming it with the returned key and certificate.
pub fn prepare_joining_node(
    dir: &Path,
    node_id: &str,
    org_id: &str,
    now_ms: u64,
) -> Result<JoiningNode, DevnetError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| DevnetError::Setup(format!("{what}: {e}"));
    let genesis = vchain_node::load_genesis(&dir.join("genesis.toml"))?;
    let mut peers = Vec::new();
    for node in &genesis.consensus.nodes {
        let config = NodeConfig::load(&dir.join(&node.node_id).join("config.toml"))?;
        let listen = config
            .network
            .map(|n| n.listen)
            .ok_or_else(|| DevnetError::Setup(format!("{} has no [network]", node.node_id)))?;
        let peer = vchain_node::network::peer_id_from_public_key_hex(&node.public_key)
            .map_err(|e| setup("genesis node key", &e))?;
        peers.push(format!("{listen}/p2p/{peer}"));
    }
    let node_dir = dir.join(node_id);
    std::fs::create_dir_all(&node_dir).map_err(|e| setup("creating a node dir", &e))?;
    let key = vchain_node::network::NodeKey::load_or_create(&node_dir)
        .map_err(|e| setup("node key", &e))?;
    let config = dev_config(
        node_id,
        PathBuf::from("../genesis.toml"),
        SocketAddr::from(([127, 0, 0, 1], free_loopback_port()?)),
        Some(vchain_node::config::NetworkSection {
            listen: format!("/ip4/127.0.0.1/tcp/{}", free_loopback_port()?),
            peers,
            tick_ms: 100,
            clock_skew_ms_max: vchain_node::config::CLOCK_SKEW_MS_MAX_DEFAULT,
        }),
    );
    let path = node_dir.join("config.toml");
    let text = toml::to_string_pretty(&config).map_err(|e| setup("writing config", &e))?;
    std::fs::write(&path, text).map_err(|e| setup("writing config.toml", &e))?;
    let ca_pem = std::fs::read_to_string(ca_certificate_path(dir, org_id))
        .map_err(|e| setup(&format!("reading the dev CA of {org_id}"), &e))?;
    let ca_certificate =
        vchain_pki::Certificate::from_pem(&ca_pem).map_err(|e| setup("dev CA certificate", &e))?;
    let ca_key = Keystore::load_or_create(&dir.join("keystore.json"))
        .and_then(|ks| ks.unlock(&format!("{org_id}-ca"), DEV_PASSPHRASE))
        .map_err(|e| setup(&format!("unlocking the dev CA key of {org_id}"), &e))?;
    let ca =
        vchain_pki::RootCa::from_parts(ca_certificate, ca_key).map_err(|e| setup("dev CA", &e))?;
    let public_key = key.public_key_hex();
    let certificate = node_certificate(&ca, node_id, &public_key, now_ms)?;
    Ok(JoiningNode {
        config: NodeConfig::load(&path)?,
        public_key,
        certificate,
    })
}

/// A summary of the dev chain's accounts for the terminal.
pub fn describe(data_dir: &Path, genesis: &Genesis, grpc: SocketAddr) -> String {
    let mut out = format!(
        "vchain dev node\n  endpoint   http://{grpc}\n  data dir   {}\n  keystore   {} (passphrase {DEV_PASSPHRASE:?})\n\n  account            role              USCC                org\n",
        data_dir.display(),
        data_dir.join("keystore.json").display(),
    );
    for org in &genesis.organisations {
        for admin in &org.admins {
            out.push_str(&format!(
                "  {:<18} {:<17} {:<19} {}\n",
                admin.account_id, "administrator", org.uscc, org.org_id
            ));
        }
    }
    for identity in &genesis.identities {
        for account in &identity.accounts {
            out.push_str(&format!(
                "  {:<18} {:<17} {:<19} {}\n",
                account.account_id, identity.role, identity.uscc, identity.org_id
            ));
        }
    }
    out
}
