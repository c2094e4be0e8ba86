//! A real chain in memory for bundle tests: a PBFT genesis with four validators of two banks,
//! blocks executed by the contracts and sealed, each certified by exactly a quorum of the
//! validators of its height (read from `p/consensus` after the block before, as a node does),
//! and a [`BundleSource`] over it.
//!
//! The story: a credit line, an issuance, splits two deep, a transfer, a financing, a fifth
//! validator voted in, a redemption requested and confirmed, and the chain destroying what was
//! left unredeemed past its grace period.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ed25519_dalek::{Signer, SigningKey};
use vchain_bundle::BundleSource;
use vchain_contracts::block::{block_hash, seal, BlockDraft};
use vchain_contracts::commit_certificate::{statement, Validators};
use vchain_contracts::execute::{execute_block, BlockContext};
use vchain_contracts::genesis::{
    Genesis, GenesisAccount, GenesisConsensus, GenesisIdentity, GenesisNode, GenesisOrganisation,
    Params,
};
use vchain_contracts::{consensus_config, keys, validate};
use vchain_ledger::{LedgerError, MemoryLedger, StateReader};
use vchain_proto::v1::submit_proposal::Action;
use vchain_proto::v1::{
    transaction_body::Operation, AddConsensusNode, Block, CommitCertificate, CommitSignature,
    ConfirmRedemption, Consideration, ErrorCode, GrantCreditLine, IssueVoucher, RequestRedemption,
    SignedTransaction, SplitVoucher, StateProof, SubmitProposal, TradeDocument, TransferVoucher,
    VoteOnProposal, Voucher,
};
use vchain_wallet::transaction;

/// Chain id.
pub(crate) const CHAIN_ID: &str = "vchain-bundle-test";
/// 2024-01-01T12:00:00+08:00.
pub(crate) const GENESIS_TIME_MS: u64 = 1_704_081_600_000;
/// Milliseconds in a day.
pub(crate) const DAY_MS: u64 = 86_400_000;

/// (account, key seed, organisation, USCC number, role) of every genesis account.
const PARTIES: [(&str, u8, &str, u32, &str); 8] = [
    ("bank-a-admin", 1, "bank-a", 1, "administrator"),
    ("bank-b-admin", 2, "bank-b", 2, "administrator"),
    ("fin", 3, "bank-a", 10, "financier"),
    ("core", 4, "bank-a", 20, "core-enterprise"),
    ("sup-1", 6, "bank-a", 31, "supplier"),
    ("sup-2", 7, "bank-a", 32, "supplier"),
    ("sup-3", 8, "bank-a", 33, "supplier"),
    ("regulator", 9, "bank-a", 40, "regulator"),
];

/// The genesis validators: (node id, organisation, key seed).
pub(crate) const NODES: [(&str, &str, u8); 4] = [
    ("node-a", "bank-a", 101),
    ("node-b", "bank-a", 102),
    ("node-c", "bank-b", 103),
    ("node-d", "bank-b", 104),
];
/// The validator voted in during the story.
pub(crate) const NEW_NODE: (&str, &str, u8) = ("node-e", "bank-b", 105);

fn uscc(n: u32) -> String {
    validate::uscc_with_check(&format!("91310000MA1FL{n:04}")).expect("17 alphabet characters")
}

/// The deterministic key of seed `seed`.
pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// The test genesis: PBFT over [`NODES`].
pub(crate) fn genesis() -> Genesis {
    let account = |id: &str, seed: u8| GenesisAccount {
        account_id: id.into(),
        public_key: hex::encode(key(seed).verifying_key().as_bytes()),
        certificate: String::new(),
    };
    let mut identities: Vec<GenesisIdentity> = Vec::new();
    for (id, seed, org_id, n, role) in PARTIES.iter().skip(2) {
        identities.push(GenesisIdentity {
            org_id: (*org_id).into(),
            uscc: uscc(*n),
            name: format!("{role} {n}"),
            role: (*role).into(),
            legal_representative: String::new(),
            accounts: vec![account(id, *seed)],
        });
    }
    let org = |org_id: &str, n: u32, admin: &str, seed: u8| GenesisOrganisation {
        org_id: org_id.into(),
        name: org_id.to_uppercase(),
        uscc: uscc(n),
        admins: vec![account(admin, seed)],
        root_ca_certificate: String::new(),
    };
    Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: GENESIS_TIME_MS,
        params: Params::default(),
        consensus: GenesisConsensus {
            engine: "pbft".into(),
            nodes: NODES
                .iter()
                .map(|(id, org, seed)| GenesisNode {
                    node_id: (*id).into(),
                    org_id: (*org).into(),
                    public_key: hex::encode(key(*seed).verifying_key().as_bytes()),
                    certificate: String::new(),
                })
                .collect(),
        },
        organisations: vec![
            org("bank-a", 1, "bank-a-admin", 1),
            org("bank-b", 2, "bank-b-admin", 2),
        ],
        identities,
        development: false,
        rules_version: 0,
    }
}

/// A chain: state, blocks and certificates.
pub(crate) struct Chain {
    pub(crate) genesis: Genesis,
    pub(crate) ledger: MemoryLedger,
    pub(crate) blocks: Vec<Block>,
    pub(crate) certificates: BTreeMap<u64, CommitCertificate>,
    pub(crate) time_ms: u64,
    /// Certificates signed by the first quorum of ids instead of the last.
    pub(crate) sign_first: bool,
    validator_keys: BTreeMap<String, SigningKey>,
    documents: u64,
}

impl Chain {
    /// A chain at genesis.
    pub(crate) fn new() -> Self {
        let genesis = genesis();
        let mut ledger = MemoryLedger::new();
        ledger
            .apply(&genesis.state().expect("valid genesis"))
            .expect("apply genesis");
        let validator_keys = NODES
            .iter()
            .chain(std::iter::once(&NEW_NODE))
            .map(|(id, _, seed)| ((*id).to_owned(), key(*seed)))
            .collect();
        Self {
            time_ms: genesis.genesis_time_ms + 1_000,
            genesis,
            ledger,
            blocks: Vec::new(),
            certificates: BTreeMap::new(),
            sign_first: false,
            validator_keys,
            documents: 0,
        }
    }

    /// Height of the last block.
    pub(crate) fn height(&self) -> u64 {
        self.blocks.len() as u64
    }

    fn nonce(&self, account: &str) -> u64 {
        self.ledger
            .get(&keys::account(account))
            .expect("reads")
            .map_or(0, |bytes| {
                <vchain_proto::v1::Account as prost::Message>::decode(bytes.as_slice())
                    .expect("account")
                    .next_nonce
            })
    }

    /// `op` signed by `signer` with its next nonce.
    pub(crate) fn tx(&self, signer: &str, op: Operation) -> SignedTransaction {
        let seed = PARTIES
            .iter()
            .find(|(id, ..)| *id == signer)
            .map(|(_, seed, ..)| *seed)
            .expect("a party");
        transaction::sign(
            &transaction::body(CHAIN_ID, signer, self.nonce(signer), op),
            &key(seed),
        )
    }

    /// Executes, seals and certifies the next block; every transaction must succeed.
    pub(crate) fn commit(&mut self, transactions: Vec<SignedTransaction>) -> Block {
        let height = self.height() + 1;
        // The validators of this height: the configuration after the block before.
        let config = consensus_config(&self.ledger).expect("consensus config");
        let context = BlockContext {
            height,
            timestamp_ms: self.time_ms,
        };
        let outcome = execute_block(&self.ledger, &context, &transactions).expect("executes");
        for (result, message) in outcome.results.iter().zip(&outcome.messages) {
            assert_eq!(result.code(), ErrorCode::Ok, "{message}");
        }
        let root = self.ledger.apply(&outcome.state_writes).expect("apply");
        let prev_hash = self
            .blocks
            .last()
            .map_or([0; 32], |b| block_hash(b.header.as_ref().expect("header")));
        let draft = BlockDraft {
            chain_id: CHAIN_ID.into(),
            height,
            prev_hash,
            timestamp_ms: self.time_ms,
            proposer: config.nodes[0].node_id.clone(),
        };
        let (block, hash) = seal(draft, transactions, &outcome, root);
        let validators = Validators::from_config(&config).expect("validators");
        let signed = statement(CHAIN_ID, height, 0, &hash);
        // Exactly a quorum; by default the last ids, so the validator voted in signs the
        // blocks after its arrival and a verifier must know the set changed.
        let skip = if self.sign_first {
            0
        } else {
            validators.len() - validators.quorum()
        };
        let signatures = validators
            .node_ids()
            .skip(skip)
            .take(validators.quorum())
            .map(|id| CommitSignature {
                node_id: id.to_owned(),
                signature: self.validator_keys[id].sign(&signed).to_bytes().to_vec(),
            })
            .collect();
        self.certificates.insert(
            height,
            CommitCertificate {
                height,
                view: 0,
                block_hash: hash.to_vec(),
                signatures,
            },
        );
        self.blocks.push(block.clone());
        self.time_ms += 1_000;
        block
    }

    /// One transaction alone in a block; returns its events.
    pub(crate) fn run(&mut self, signer: &str, op: Operation) -> Vec<vchain_proto::v1::Event> {
        let tx = self.tx(signer, op);
        let mut block = self.commit(vec![tx]);
        block.results.remove(0).events
    }

    /// The voucher `id` at the tip.
    pub(crate) fn voucher(&self, id: &str) -> Voucher {
        let bytes = self
            .ledger
            .get(&keys::voucher(id))
            .expect("reads")
            .expect("voucher");
        <Voucher as prost::Message>::decode(bytes.as_slice()).expect("voucher")
    }

    fn document(&mut self) -> TradeDocument {
        self.documents += 1;
        TradeDocument {
            kind: "invoice".into(),
            number: format!("INV-{:06}", self.documents),
            hash: vec![self.documents as u8; 32],
        }
    }

    /// The date `days` after the next block's day.
    pub(crate) fn date_in(&self, days: i64) -> String {
        let today = validate::local_day(self.time_ms, self.genesis.params.utc_offset_minutes);
        validate::format_date(u32::try_from(i64::from(today) + days).expect("a day"))
    }
}

/// Ids of the story's vouchers.
pub(crate) struct Story {
    pub(crate) chain: Chain,
    /// The issued voucher.
    pub(crate) root: String,
    /// Its split pieces: [a, b]; `a` split again into [a1, a2].
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) a1: String,
    pub(crate) a2: String,
}

/// Plays the story and returns the chain with the voucher ids.
pub(crate) fn story() -> Story {
    story_signed(false)
}

/// [`story`] with certificates signed by the first quorum of ids (`sign_first`): the genesis
/// validators alone then sign every block, before and after the fifth joins.
pub(crate) fn story_signed(sign_first: bool) -> Story {
    let mut chain = Chain::new();
    chain.sign_first = sign_first;
    chain.run(
        "fin",
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: uscc(20),
            currency: "CNY".into(),
            limit: 1_000_000,
        }),
    );
    let document = chain.document();
    let maturity = chain.date_in(10);
    let events = chain.run(
        "core",
        Operation::IssueVoucher(IssueVoucher {
            holder: "sup-1".into(),
            financier: uscc(10),
            amount: 600_000,
            currency: "CNY".into(),
            maturity_date: maturity,
            trade_document: Some(document),
        }),
    );
    let root = events[0].voucher_id.clone();
    let split = |chain: &mut Chain, id: &str, amounts: &[u64]| -> Vec<String> {
        chain.run(
            "sup-1",
            Operation::SplitVoucher(SplitVoucher {
                voucher_id: id.into(),
                amounts: amounts.to_vec(),
            }),
        );
        chain.voucher(id).children
    };
    let first = split(&mut chain, &root, &[400_000, 200_000]);
    let (a, b) = (first[0].clone(), first[1].clone());
    let second = split(&mut chain, &a, &[100_000, 300_000]);
    let (a1, a2) = (second[0].clone(), second[1].clone());
    let transfer = |to: &str, id: &str, consideration: Option<u64>| {
        Operation::TransferVoucher(TransferVoucher {
            voucher_id: id.into(),
            to: to.into(),
            agreement_hash: vec![0xa5; 32],
            consideration: consideration.map(|amount| Consideration {
                amount,
                currency: "CNY".into(),
            }),
        })
    };
    // A transfer and a financing in one block.
    let t1 = chain.tx("sup-1", transfer("sup-2", &a1, None));
    let nonce_next = {
        let mut t = chain.tx("sup-1", transfer("fin", &a2, Some(290_000)));
        // Same signer, next nonce: re-sign with nonce + 1.
        let mut body =
            <vchain_proto::v1::TransactionBody as prost::Message>::decode(t.body.as_slice())
                .expect("body");
        body.nonce += 1;
        t = transaction::sign(&body, &key(6));
        t
    };
    chain.commit(vec![t1, nonce_next]);
    // A fifth validator, voted in: bank B proposes, bank A approves (the passing vote changes
    // the set).
    chain.run(
        "bank-b-admin",
        Operation::SubmitProposal(SubmitProposal {
            action: Some(Action::AddConsensusNode(AddConsensusNode {
                node_id: NEW_NODE.0.into(),
                org_id: NEW_NODE.1.into(),
                public_key: key(NEW_NODE.2).verifying_key().to_bytes().to_vec(),
                certificate: Vec::new(),
            })),
            title: "a fifth validator".into(),
            reason: "resilience".into(),
        }),
    );
    chain.run(
        "bank-a-admin",
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: "P000000000001".into(),
            approve: true,
        }),
    );
    assert_eq!(
        consensus_config(&chain.ledger).expect("config").nodes.len(),
        5
    );
    chain.run("sup-2", transfer("sup-3", &a1, None));
    // Maturity: sup-3 asks for payment of a1, the core enterprise confirms it.
    chain.time_ms += 10 * DAY_MS;
    chain.run(
        "sup-3",
        Operation::RequestRedemption(RequestRedemption {
            voucher_id: a1.clone(),
        }),
    );
    chain.run(
        "core",
        Operation::ConfirmRedemption(ConfirmRedemption {
            voucher_id: a1.clone(),
            payment_reference: "BANK-TX-0001".into(),
        }),
    );
    // Past the grace period: the chain destroys b and a2 at the next block.
    chain.time_ms += 8 * DAY_MS;
    chain.commit(Vec::new());
    Story {
        chain,
        root,
        a,
        b,
        a1,
        a2,
    }
}

impl BundleSource for Chain {
    fn tip_height(&self) -> Result<u64, LedgerError> {
        Ok(self.height())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        Ok(height
            .checked_sub(1)
            .and_then(|i| self.blocks.get(i as usize))
            .cloned())
    }

    fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, LedgerError> {
        Ok(self.certificates.get(&height).cloned())
    }

    fn state(&self) -> &dyn StateReader {
        &self.ledger
    }

    fn prove(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, StateProof), LedgerError> {
        self.ledger.prove(key)
    }
}
