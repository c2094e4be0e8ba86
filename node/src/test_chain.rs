//! A one-node Solo chain for the node's own unit tests, made in memory: the dev chain maker
//! (`vchain-devnet`) depends on this crate, so unit tests cannot use it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use ed25519_dalek::SigningKey;
use vchain_contracts::genesis::{
    Genesis, GenesisAccount, GenesisConsensus, GenesisNode, GenesisOrganisation, Params,
};
use vchain_proto::v1::{transaction_body::Operation, SignedTransaction};

use vchain_consensus::Engine;

use crate::chain::Chain;
use crate::clock::ChainClock;
use crate::config::NodeConfig;

/// The administrator whose key [`solo`] returns.
pub(crate) const ADMIN: &str = "bank-a-admin";
/// A second administrator of the same bank, for operations on another account.
pub(crate) const SECOND_ADMIN: &str = "bank-a-ops";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// A Solo chain whose one bank has two administrators ([`ADMIN`], [`SECOND_ADMIN`]): the
/// node's config (data in `dir`, gRPC on a free loopback port), the genesis and [`ADMIN`]'s key.
pub(crate) fn solo(dir: &Path, now_ms: u64) -> (NodeConfig, Genesis, SigningKey) {
    let admin = |account_id: &str, seed: u8| GenesisAccount {
        account_id: account_id.into(),
        public_key: hex::encode(key(seed).verifying_key().as_bytes()),
        certificate: String::new(),
    };
    let genesis = Genesis {
        chain_id: "vchain-unit".into(),
        genesis_time_ms: now_ms,
        params: Params::default(),
        consensus: GenesisConsensus {
            engine: "solo".into(),
            nodes: vec![GenesisNode {
                node_id: "node-1".into(),
                org_id: "bank-a".into(),
                public_key: String::new(),
                certificate: String::new(),
            }],
        },
        organisations: vec![GenesisOrganisation {
            org_id: "bank-a".into(),
            name: "Bank A".into(),
            uscc: vchain_contracts::validate::uscc_with_check("91310000MA1FL0001")
                .expect("a valid USCC"),
            admins: vec![admin(ADMIN, 1), admin(SECOND_ADMIN, 2)],
            root_ca_certificate: String::new(),
        }],
        identities: vec![],
        development: true,
        rules_version: 0,
    };
    let config = NodeConfig {
        node_id: "node-1".into(),
        data_dir: dir.to_path_buf(),
        genesis: PathBuf::from("genesis.toml"),
        grpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        block_interval_ms: 100,
        block_interval_min_ms: 10,
        block_tx_target: 2_000,
        mempool_mib_max: crate::config::MEMPOOL_MIB_MAX_DEFAULT,
        mempool_max: 50_000,
        submit_timeout_ms: 30_000,
        dev_api: false,
        snapshot_interval: 1_000,
        snapshot_log_mib: crate::config::SNAPSHOT_LOG_MIB_DEFAULT,
        storage: crate::config::StorageSection::default(),
        archive_dir: None,
        event_subscriptions_max: crate::config::EVENT_SUBSCRIPTIONS_MAX,
        metrics: None,
        network: None,
        rules_version_max: None,
    };
    (config, genesis, key(1))
}

/// Starts a [`solo`] chain with its data in `dir`: `adjust` changes its config first, and `wrap`
/// may wrap its consensus engine (pass `|engine| engine` to keep it). Returns the chain, its
/// block producer's thread and [`ADMIN`]'s key.
pub(crate) fn start_solo(
    dir: &Path,
    adjust: impl FnOnce(&mut NodeConfig),
    wrap: impl FnOnce(Box<dyn Engine>) -> Box<dyn Engine>,
) -> (Arc<Chain>, JoinHandle<()>, SigningKey) {
    let clock = Arc::new(ChainClock::default());
    let (mut config, genesis, key) = solo(dir, clock.now_ms());
    adjust(&mut config);
    let (chain, producer) =
        Chain::start_with_engine(config, &genesis, clock, None, wrap).expect("chain starts");
    (chain, producer, key)
}

/// `operation` as [`ADMIN`]'s transaction number `nonce`, signed as a wallet signs it.
pub(crate) fn sign(
    chain_id: &str,
    nonce: u64,
    operation: Operation,
    key: &SigningKey,
) -> SignedTransaction {
    vchain_wallet::transaction::sign(
        &vchain_wallet::transaction::body(chain_id, ADMIN, nonce, operation),
        key,
    )
}

/// [`ADMIN`]'s transaction number `nonce` freezing [`SECOND_ADMIN`] for `reason`: a
/// transaction that passes every check, for tests of admission and block cadence.
pub(crate) fn freeze_second_admin(
    chain_id: &str,
    nonce: u64,
    reason: &str,
    key: &SigningKey,
) -> SignedTransaction {
    sign(
        chain_id,
        nonce,
        Operation::FreezeAccount(vchain_proto::v1::FreezeAccount {
            account_id: SECOND_ADMIN.into(),
            reason: reason.into(),
        }),
        key,
    )
}
