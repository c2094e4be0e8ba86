//! Benchmark fixtures: a RocksDB-backed chain with a genesis of many suppliers, signed
//! transactions, and a block pipeline identical to the node's (batch signature verification,
//! execution, state tree update, sealing, one synced RocksDB commit).
//!
//! Owns: nothing the node uses; it only drives the public APIs of `contracts` and `ledger`.

pub mod ceiling;

use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use prost::Message;
use vchain_contracts::block::{seal, BlockDraft};
use vchain_contracts::genesis::{
    Genesis, GenesisAccount, GenesisConsensus, GenesisIdentity, GenesisNode, GenesisOrganisation,
    Params,
};
use vchain_contracts::tx::{tx_hash, Hash};
use vchain_contracts::validate::uscc_with_check;
use vchain_contracts::{execute_block, BlockContext};
use vchain_ledger::{BlockCommit, RocksLedger};
use vchain_proto::v1::transaction_body::Operation;
use vchain_proto::v1::*;
use vchain_wallet::transaction;

/// Chain time of genesis in the fixtures (2026-01-01T00:00:00Z).
pub const GENESIS_TIME_MS: u64 = 1_767_225_600_000;
/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;
/// The fixtures' accounts carry the dev chain's names, so `vchain-bench` (which signs as these)
/// can drive a node started on a fixture's ledger: bank A's administrator, its financier and
/// the core enterprise.
pub const ADMINISTRATOR: &str = "bank-a-admin";
/// The financier (grants the core enterprise its credit line).
pub const FINANCIER: &str = "bank-a-finance";
/// The core enterprise (issues every voucher).
pub const CORE_ENTERPRISE: &str = "carmaker";

/// A chain on disk with keys for its accounts.
pub struct BenchChain {
    /// The ledger.
    pub ledger: RocksLedger,
    /// Chain id.
    pub chain_id: String,
    /// Supplier account ids, `supplier-0000` ...
    pub suppliers: Vec<String>,
    keys: std::collections::BTreeMap<String, SigningKey>,
    nonces: std::collections::BTreeMap<String, u64>,
    height: u64,
    time_ms: u64,
    head_hash: Hash,
    /// The genesis the chain started from (a node opening this ledger needs the same file).
    pub genesis: Genesis,
}

fn key_for(index: u32) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&index.to_le_bytes());
    seed[31] = 0x5a;
    SigningKey::from_bytes(&seed)
}

fn uscc(n: u32) -> String {
    uscc_with_check(&format!("9131{n:013}")).expect("17 digits make a code")
}

/// Timing of one committed block.
#[derive(Debug, Clone, Copy)]
pub struct BlockTiming {
    /// Transactions in the block.
    pub txs: usize,
    /// Transactions rejected.
    pub rejected: usize,
    /// Signature check + execution + tree update + seal + synced commit.
    pub total: Duration,
    /// Signature check and execution.
    pub execute: Duration,
    /// State tree update.
    pub tree: Duration,
    /// Sealing and the synced RocksDB commit (staged: building the batch, after waiting for
    /// the block before to be durable).
    pub commit: Duration,
}

impl BenchChain {
    /// A fresh chain in `dir` with `suppliers` supplier accounts, a financier and a core
    /// enterprise holding a large credit line.
    pub fn new(dir: &Path, suppliers: u32, params: Params) -> Self {
        Self::new_at(dir, suppliers, params, GENESIS_TIME_MS)
    }

    /// [`BenchChain::new`] with genesis at `genesis_time_ms` (a fixture a node runs on starts
    /// shortly before now, so that its vouchers have not matured by the node's clock).
    pub fn new_at(dir: &Path, suppliers: u32, params: Params, genesis_time_ms: u64) -> Self {
        let ledger = RocksLedger::open(dir).expect("open ledger");
        let mut keys = std::collections::BTreeMap::new();
        let mut account = |id: &str, index: u32| {
            let key = key_for(index);
            let public_key = hex::encode(key.verifying_key().as_bytes());
            keys.insert(id.to_owned(), key);
            GenesisAccount {
                account_id: id.to_owned(),
                public_key,
                certificate: String::new(),
            }
        };
        let mut identities = vec![
            GenesisIdentity {
                org_id: "bank-a".into(),
                uscc: uscc(2),
                name: "Financier".into(),
                role: "financier".into(),
                legal_representative: String::new(),
                accounts: vec![account(FINANCIER, 2)],
            },
            GenesisIdentity {
                org_id: "bank-a".into(),
                uscc: uscc(3),
                name: "Core".into(),
                role: "core-enterprise".into(),
                legal_representative: String::new(),
                accounts: vec![account(CORE_ENTERPRISE, 3)],
            },
        ];
        let supplier_ids: Vec<String> =
            (0..suppliers).map(|i| format!("supplier-{i:04}")).collect();
        for (i, id) in supplier_ids.iter().enumerate() {
            let n = 10 + i as u32;
            identities.push(GenesisIdentity {
                org_id: "bank-a".into(),
                uscc: uscc(n),
                name: id.clone(),
                role: "supplier".into(),
                legal_representative: String::new(),
                accounts: vec![account(id, n)],
            });
        }
        let genesis = Genesis {
            chain_id: "bench".into(),
            genesis_time_ms,
            params,
            consensus: GenesisConsensus {
                engine: "solo".into(),
                nodes: vec![GenesisNode {
                    node_id: "n1".into(),
                    org_id: "bank-a".into(),
                    public_key: String::new(),
                    certificate: String::new(),
                }],
            },
            organisations: vec![GenesisOrganisation {
                org_id: "bank-a".into(),
                name: "Bank".into(),
                uscc: uscc(1),
                admins: vec![account(ADMINISTRATOR, 1)],
                root_ca_certificate: String::new(),
            }],
            identities,
            development: false,
            rules_version: vchain_contracts::RULES_VERSION_MAX,
        };
        let mut chain = BenchChain {
            ledger,
            chain_id: genesis.chain_id.clone(),
            suppliers: supplier_ids,
            keys,
            nonces: Default::default(),
            height: 0,
            time_ms: genesis_time_ms,
            head_hash: [0; 32],
            genesis: genesis.clone(),
        };
        let state = genesis.state().expect("bench genesis");
        let tree = chain.ledger.prepare_state(&state).expect("tree");
        let outcome = vchain_contracts::BlockOutcome {
            state_writes: state,
            ..Default::default()
        };
        let draft = BlockDraft {
            chain_id: chain.chain_id.clone(),
            height: 0,
            prev_hash: [0; 32],
            timestamp_ms: genesis_time_ms,
            proposer: "genesis".into(),
        };
        let (block, hash) = seal(draft, Vec::new(), &outcome, tree.root);
        chain.write(&block, hash, &outcome, &tree, false);
        chain.head_hash = hash;
        let core = uscc(3);
        let grant = chain.sign(
            FINANCIER,
            Operation::GrantCreditLine(GrantCreditLine {
                core_enterprise: core,
                currency: "CNY".into(),
                limit: u64::MAX / 4,
            }),
        );
        chain.commit_block(vec![grant]);
        chain
    }

    /// Commits the block ([`RocksLedger::commit_block`]), or stages it
    /// ([`RocksLedger::stage_block`]): its write then proceeds on the ledger's thread until the
    /// next block's commit or [`BenchChain::settle`].
    fn write(
        &self,
        block: &Block,
        hash: Hash,
        outcome: &vchain_contracts::BlockOutcome,
        tree: &vchain_ledger::TreeUpdate,
        behind: bool,
    ) {
        let header = block.header.as_ref().expect("header");
        let tx_hashes: Vec<Hash> = block
            .transactions
            .iter()
            .map(|t| tx_hash(&t.body))
            .collect();
        let bytes = block.encode_to_vec();
        let commit = BlockCommit {
            height: header.height,
            block_hash: hash,
            state_root: tree.root,
            timestamp_ms: header.timestamp_ms,
            block_bytes: &bytes,
            tx_hashes: &tx_hashes,
            state_writes: &outcome.state_writes,
            tree,
            index_writes: &outcome.index_writes,
            certificate: None,
        };
        if behind {
            self.ledger.stage_block(&commit).expect("stage");
        } else {
            self.ledger.commit_block(&commit).expect("commit");
        }
    }

    /// Waits until the last staged block is durable ([`BenchChain::run_block`]); returns how
    /// long that took.
    pub fn settle(&self) -> Duration {
        let started = Instant::now();
        self.ledger.wait_committed().expect("commit");
        started.elapsed()
    }

    /// The key `account` signs with.
    pub fn key(&self, account: &str) -> &SigningKey {
        &self.keys[account]
    }

    /// Signs `operation` as `account` with its next nonce.
    pub fn sign(&mut self, account: &str, operation: Operation) -> SignedTransaction {
        let nonce = self.nonces.entry(account.to_owned()).or_insert(0);
        let body = transaction::body(&self.chain_id, account, *nonce, operation);
        *nonce += 1;
        transaction::sign(&body, &self.keys[account])
    }

    /// Runs the node's block pipeline on `transactions` and commits the block; returns timing.
    pub fn commit_block(&mut self, transactions: Vec<SignedTransaction>) -> (BlockTiming, Block) {
        self.run_block(transactions, false)
    }

    /// Runs the node's block pipeline on `transactions`; returns timing. With `behind`, returns
    /// once the block is staged rather than durable ([`RocksLedger::stage_block`]): its write
    /// proceeds while the caller signs, executes and prepares the next block, which reads it
    /// through the ledger's caches, and the next block's commit phase includes waiting for it;
    /// [`BenchChain::settle`] waits for the last one. Read the chain's state through `ledger`
    /// only after settling.
    pub fn run_block(
        &mut self,
        transactions: Vec<SignedTransaction>,
        behind: bool,
    ) -> (BlockTiming, Block) {
        let started = Instant::now();
        self.height += 1;
        self.time_ms += 1_000;
        let context = BlockContext {
            height: self.height,
            timestamp_ms: self.time_ms,
        };
        // Read as the node's block producer reads: through the ledger's value cache.
        let outcome =
            execute_block(&self.ledger.cached_state(), &context, &transactions).expect("execute");
        let executed = started.elapsed();
        let tree = self
            .ledger
            .prepare_state(&outcome.state_writes)
            .expect("tree");
        let treed = started.elapsed();
        let draft = BlockDraft {
            chain_id: self.chain_id.clone(),
            height: self.height,
            prev_hash: self.head_hash,
            timestamp_ms: self.time_ms,
            proposer: "n1".into(),
        };
        let (block, hash) = seal(draft, transactions, &outcome, tree.root);
        self.write(&block, hash, &outcome, &tree, behind);
        self.head_hash = hash;
        let rejected = outcome.results.iter().filter(|r| r.code != 0).count();
        (
            BlockTiming {
                txs: block.transactions.len(),
                rejected,
                total: started.elapsed(),
                execute: executed,
                tree: treed - executed,
                commit: started.elapsed() - treed,
            },
            block,
        )
    }

    /// Issues one voucher of `amount` to each supplier; returns their ids in supplier order.
    pub fn issue_to_all(&mut self, amount: u64, batch: usize) -> Vec<String> {
        let suppliers = self.suppliers.clone();
        self.issue_to(&suppliers, amount, batch)
    }

    /// Issues one voucher of `amount` to each of `holders` (an account may be named many
    /// times), `batch` a block; returns their ids in order.
    pub fn issue_to(&mut self, holders: &[String], amount: u64, batch: usize) -> Vec<String> {
        let maturity =
            vchain_contracts::validate::format_date(((self.time_ms / DAY_MS) + 180) as u32);
        let mut ids = Vec::new();
        for (n, chunk) in holders.chunks(batch).enumerate() {
            let txs: Vec<SignedTransaction> = chunk
                .iter()
                .enumerate()
                .map(|(i, holder)| {
                    let invoice = format!("INV-{}-{n}-{i}-{holder}", self.height);
                    let hash = <sha2::Sha256 as sha2::Digest>::digest(invoice.as_bytes()).to_vec();
                    self.sign(
                        CORE_ENTERPRISE,
                        Operation::IssueVoucher(IssueVoucher {
                            holder: holder.clone(),
                            financier: uscc(2),
                            amount,
                            currency: "CNY".into(),
                            maturity_date: maturity.clone(),
                            trade_document: Some(TradeDocument {
                                kind: "invoice".into(),
                                number: invoice,
                                hash,
                            }),
                        }),
                    )
                })
                .collect();
            let (timing, block) = self.commit_block(txs);
            assert_eq!(
                timing.rejected,
                0,
                "setup issuance rejected: {:?}",
                block.results.iter().find(|r| r.code != 0)
            );
            for result in &block.results {
                ids.extend(
                    result
                        .events
                        .iter()
                        .filter(|e| e.kind() == EventKind::VoucherIssued)
                        .map(|e| e.voucher_id.clone()),
                );
            }
        }
        ids
    }

    /// The committed voucher `id`.
    pub fn voucher(&self, id: &str) -> Voucher {
        vchain_contracts::read_message(
            &self.ledger,
            &vchain_contracts::keys::voucher(id),
            "Voucher",
        )
        .expect("readable")
        .expect("exists")
    }

    /// Splits a piece of `piece` off `voucher_id` (held by `holder`), one block; returns the
    /// piece's and the remainder's ids: a supplier paying a sub-supplier.
    pub fn split_off(&mut self, holder: &str, voucher_id: &str, piece: u64) -> (String, String) {
        let amount = self.voucher(voucher_id).amount;
        let split = self.sign(
            holder,
            Operation::SplitVoucher(SplitVoucher {
                voucher_id: voucher_id.to_owned(),
                amounts: vec![piece, amount - piece],
            }),
        );
        let (timing, block) = self.commit_block(vec![split]);
        assert_eq!(timing.rejected, 0, "split rejected: {:?}", block.results);
        let children = self.voucher(voucher_id).children;
        (children[0].clone(), children[1].clone())
    }
}
