//! Test harness: a one-node chain over a [`MemoryLedger`], built from a fixed genesis (two member
//! banks; a financier, a core enterprise with two accounts, three suppliers, a regulator and a
//! warehouse operator, all registered by bank A), executing blocks with the real contracts.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use ed25519_dalek::SigningKey;
use prost::Message;
use vchain_contracts::execute::{execute_block, BlockContext, BlockOutcome};
use vchain_contracts::genesis::{
    Genesis, GenesisAccount, GenesisConsensus, GenesisIdentity, GenesisNode, GenesisOrganisation,
    Params,
};
use vchain_contracts::{keys, validate};
use vchain_ledger::{MemoryLedger, StateReader, WriteSet};
use vchain_proto::v1::{
    transaction_body::Operation, Account, CreditLine, ErrorCode, Event, EventKind, Identity,
    SignedTransaction, TransactionBody, TxResult, Voucher,
};
use vchain_wallet::transaction;

/// Chain id of the test chain.
pub(crate) const CHAIN_ID: &str = "vchain-test";
/// 2024-01-01T12:00:00+08:00: noon in the chain's time zone, far from a day boundary.
pub(crate) const GENESIS_TIME_MS: u64 = 1_704_081_600_000;
/// Chain time between two blocks.
pub(crate) const BLOCK_INTERVAL_MS: u64 = 1_000;
/// Milliseconds in a day.
pub(crate) const DAY_MS: u64 = 86_400_000;

/// Administrator of member bank A (which registered every genesis identity).
pub(crate) const ADMIN_A: &str = "bank-a-admin";
/// Administrator of member bank B.
pub(crate) const ADMIN_B: &str = "bank-b-admin";
/// The financier's account.
pub(crate) const FINANCIER: &str = "fin";
/// The core enterprise's first account.
pub(crate) const CORE: &str = "core";
/// The core enterprise's second account.
pub(crate) const CORE_2: &str = "core-treasury";
/// Supplier accounts (three identities).
pub(crate) const SUP1: &str = "sup-1";
/// Second supplier.
pub(crate) const SUP2: &str = "sup-2";
/// Third supplier.
pub(crate) const SUP3: &str = "sup-3";
/// The regulator's account.
pub(crate) const REGULATOR: &str = "regulator";
/// The warehouse operator's account.
pub(crate) const WAREHOUSE: &str = "warehouse";

/// Every genesis account with its key seed, organisation, USCC number and role.
const PARTIES: [(&str, u8, &str, u32, &str); 10] = [
    (ADMIN_A, 1, "bank-a", 1, "administrator"),
    (ADMIN_B, 2, "bank-b", 2, "administrator"),
    (FINANCIER, 3, "bank-a", 10, "financier"),
    (CORE, 4, "bank-a", 20, "core-enterprise"),
    (CORE_2, 5, "bank-a", 20, "core-enterprise"),
    (SUP1, 6, "bank-a", 31, "supplier"),
    (SUP2, 7, "bank-a", 32, "supplier"),
    (SUP3, 8, "bank-a", 33, "supplier"),
    (REGULATOR, 9, "bank-a", 40, "regulator"),
    (WAREHOUSE, 10, "bank-a", 50, "warehouse-operator"),
];

/// A valid unified social credit code, distinct for each `n`.
pub(crate) fn uscc(n: u32) -> String {
    validate::uscc_with_check(&format!("91310000MA1FL{n:04}")).expect("17 alphabet characters")
}

/// The deterministic key with seed `seed`.
pub(crate) fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// USCC of the financier.
pub(crate) fn fin_uscc() -> String {
    uscc(10)
}

/// USCC of the core enterprise.
pub(crate) fn core_uscc() -> String {
    uscc(20)
}

/// USCC of supplier `n` (1..=3).
pub(crate) fn sup_uscc(n: u32) -> String {
    uscc(30 + n)
}

/// The test genesis with `params`.
pub(crate) fn genesis(params: Params) -> Genesis {
    let account = |id: &str, seed: u8| GenesisAccount {
        account_id: id.into(),
        public_key: hex::encode(key(seed).verifying_key().as_bytes()),
        certificate: String::new(),
    };
    let org = |org_id: &str, name: &str, n: u32, admin: &str, seed: u8| GenesisOrganisation {
        org_id: org_id.into(),
        name: name.into(),
        uscc: uscc(n),
        admins: vec![account(admin, seed)],
        root_ca_certificate: String::new(),
    };
    let mut identities: Vec<GenesisIdentity> = Vec::new();
    for (id, seed, org_id, n, role) in PARTIES.iter().skip(2) {
        match identities.iter_mut().find(|i| i.uscc == uscc(*n)) {
            Some(identity) => identity.accounts.push(account(id, *seed)),
            None => identities.push(GenesisIdentity {
                org_id: (*org_id).into(),
                uscc: uscc(*n),
                name: format!("{role} {n}"),
                role: (*role).into(),
                legal_representative: String::new(),
                accounts: vec![account(id, *seed)],
            }),
        }
    }
    Genesis {
        chain_id: CHAIN_ID.into(),
        genesis_time_ms: GENESIS_TIME_MS,
        params,
        consensus: GenesisConsensus {
            engine: "solo".into(),
            nodes: vec![GenesisNode {
                node_id: "node-a".into(),
                org_id: "bank-a".into(),
                public_key: String::new(),
                certificate: String::new(),
            }],
        },
        organisations: vec![
            org("bank-a", "Bank A", 1, ADMIN_A, 1),
            org("bank-b", "Bank B", 2, ADMIN_B, 2),
        ],
        identities,
        development: false,
        rules_version: 0,
    }
}

/// The 32-byte network key of test consensus node number `n`. Seeds from 100 on, so no node key
/// is also an account key of the harness.
pub(crate) fn node_key(n: u8) -> [u8; 32] {
    key(100u8.checked_add(n).expect("node number below 156"))
        .verifying_key()
        .to_bytes()
}

/// A certificate (PEM) from `ca` for account `account_id` with `role` and `public_key`, valid
/// for the CA's whole validity period.
pub(crate) fn account_certificate(
    ca: &vchain_pki::RootCa,
    account_id: &str,
    role: vchain_proto::v1::Role,
    public_key: &[u8; 32],
) -> Vec<u8> {
    account_certificate_valid(ca, account_id, role, public_key, ca.validity())
}

/// [`account_certificate`] valid for `validity`.
pub(crate) fn account_certificate_valid(
    ca: &vchain_pki::RootCa,
    account_id: &str,
    role: vchain_proto::v1::Role,
    public_key: &[u8; 32],
    validity: vchain_pki::Validity,
) -> Vec<u8> {
    let subject = vchain_pki::Subject {
        organisation: ca.organisation().to_owned(),
        common_name: account_id.to_owned(),
        role: vchain_contracts::cert_role(role).expect("a certifiable role"),
    };
    ca.issue(&subject, public_key, validity)
        .expect("certificate")
        .to_pem()
        .into_bytes()
}

/// Bank A's root CA for the certified test chains: valid from a year before genesis for ten
/// years.
pub(crate) fn bank_a_ca() -> vchain_pki::RootCa {
    vchain_pki::RootCa::generate(
        "bank-a",
        vchain_pki::Validity {
            not_before_ms: GENESIS_TIME_MS - 365 * DAY_MS,
            not_after_ms: GENESIS_TIME_MS + 3650 * DAY_MS,
        },
    )
    .expect("root CA")
}

/// The test genesis with bank A certified by `ca`: its root CA in genesis and a certificate from
/// it for every bank A account (bank B keeps bare keys), each valid for `validity(account)`.
pub(crate) fn certified_genesis_with(
    ca: &vchain_pki::RootCa,
    params: Params,
    validity: impl Fn(&str) -> vchain_pki::Validity,
) -> Genesis {
    let mut genesis = genesis(params);
    let role_of = |account_id: &str| {
        let (_, _, _, _, role) = PARTIES
            .iter()
            .find(|(id, ..)| *id == account_id)
            .expect("a harness account");
        vchain_contracts::genesis::parse_role(role).expect("role")
    };
    let certify = |account: &mut GenesisAccount| {
        let seed = PARTIES
            .iter()
            .find(|(id, ..)| *id == account.account_id)
            .map(|(_, seed, ..)| *seed)
            .expect("a harness account");
        let pem = account_certificate_valid(
            ca,
            &account.account_id,
            role_of(&account.account_id),
            &key(seed).verifying_key().to_bytes(),
            validity(&account.account_id),
        );
        account.certificate = String::from_utf8(pem).expect("PEM is text");
    };
    for org in genesis
        .organisations
        .iter_mut()
        .filter(|o| o.org_id == "bank-a")
    {
        org.root_ca_certificate = ca.certificate().to_pem();
        org.admins.iter_mut().for_each(certify);
    }
    for identity in genesis
        .identities
        .iter_mut()
        .filter(|i| i.org_id == "bank-a")
    {
        identity.accounts.iter_mut().for_each(certify);
    }
    genesis
}

/// [`certified_genesis_with`] every certificate valid as long as the CA.
pub(crate) fn certified_genesis(ca: &vchain_pki::RootCa, params: Params) -> Genesis {
    certified_genesis_with(ca, params, |_| ca.validity())
}

/// A raft consensus node of the test genesis: `node_id`, run by `org_id`, with [`node_key`]`(n)`.
pub(crate) fn raft_node(node_id: &str, org_id: &str, n: u8) -> GenesisNode {
    GenesisNode {
        node_id: node_id.into(),
        org_id: org_id.into(),
        public_key: hex::encode(node_key(n)),
        certificate: String::new(),
    }
}

/// The test genesis with `params` and a raft engine over `node-a` (bank A, [`node_key`]`(1)`) and
/// `node-b` (bank B, [`node_key`]`(2)`), for rules that only networked engines allow.
pub(crate) fn raft_genesis(params: Params) -> Genesis {
    let mut genesis = genesis(params);
    genesis.consensus = GenesisConsensus {
        engine: "raft".into(),
        nodes: vec![
            raft_node("node-a", "bank-a", 1),
            raft_node("node-b", "bank-b", 2),
        ],
    };
    genesis
}

/// One executed block: its context, transactions, outcome and the state root after it.
#[derive(Debug, Clone)]
pub(crate) struct BlockRecord {
    pub(crate) context: BlockContext,
    pub(crate) transactions: Vec<SignedTransaction>,
    pub(crate) outcome: BlockOutcome,
    pub(crate) root: [u8; 32],
}

/// A chain under test.
pub(crate) struct TestChain {
    pub(crate) genesis: Genesis,
    pub(crate) ledger: MemoryLedger,
    /// The secondary index (holder and issuer keys), maintained from each block's index writes.
    pub(crate) index: BTreeSet<Vec<u8>>,
    /// Height of the last executed block (0: genesis).
    pub(crate) height: u64,
    /// Chain time of the next block.
    pub(crate) time_ms: u64,
    /// Every executed block, for replay.
    pub(crate) history: Vec<BlockRecord>,
    keys: BTreeMap<String, SigningKey>,
    documents: u64,
}

impl TestChain {
    /// A chain from the test genesis with default parameters.
    pub(crate) fn new() -> Self {
        Self::with_params(Params::default())
    }

    /// A chain from the test genesis with `params`.
    pub(crate) fn with_params(params: Params) -> Self {
        Self::from_genesis(genesis(params))
    }

    /// A chain from `genesis` (whose accounts must use the harness's keys).
    pub(crate) fn from_genesis(genesis: Genesis) -> Self {
        let mut ledger = MemoryLedger::new();
        ledger
            .apply(&genesis.state().expect("valid genesis"))
            .expect("apply genesis");
        let keys = PARTIES
            .iter()
            .map(|(id, seed, ..)| ((*id).to_owned(), key(*seed)))
            .collect();
        let time_ms = genesis.genesis_time_ms + BLOCK_INTERVAL_MS;
        Self {
            genesis,
            ledger,
            index: BTreeSet::new(),
            height: 0,
            time_ms,
            history: Vec::new(),
            keys,
            documents: 0,
        }
    }

    /// Makes `key` the key the harness signs with for `account`.
    pub(crate) fn add_key(&mut self, account: &str, key: SigningKey) {
        self.keys.insert(account.to_owned(), key);
    }

    /// The key of `account`.
    pub(crate) fn key_of(&self, account: &str) -> &SigningKey {
        self.keys
            .get(account)
            .unwrap_or_else(|| panic!("no key for account {account}"))
    }

    /// The account's next nonce in committed state (0 for an unknown account).
    pub(crate) fn nonce(&self, account: &str) -> u64 {
        self.try_get::<Account>(&keys::account(account))
            .map_or(0, |a| a.next_nonce)
    }

    /// `op` signed by `signer` with `nonce`.
    pub(crate) fn sign(&self, signer: &str, nonce: u64, op: Operation) -> SignedTransaction {
        transaction::sign(
            &transaction::body(CHAIN_ID, signer, nonce, op),
            self.key_of(signer),
        )
    }

    /// `op` signed by `signer` with its next committed nonce.
    pub(crate) fn tx(&self, signer: &str, op: Operation) -> SignedTransaction {
        self.sign(signer, self.nonce(signer), op)
    }

    /// Signs a raw body with `signer`'s key.
    pub(crate) fn sign_body(&self, signer: &str, body: &TransactionBody) -> SignedTransaction {
        transaction::sign(body, self.key_of(signer))
    }

    /// The context of the next block.
    pub(crate) fn next_context(&self) -> BlockContext {
        BlockContext {
            height: self.height + 1,
            timestamp_ms: self.time_ms,
        }
    }

    /// Executes `transactions` as the next block, applies its writes and advances height and time.
    pub(crate) fn block(&mut self, transactions: Vec<SignedTransaction>) -> BlockOutcome {
        let context = self.next_context();
        let mut outcome = execute_block(&self.ledger, &context, &transactions)
            .expect("execution must not fail on a sound ledger");
        assert_eq!(
            outcome.results.len(),
            transactions.len(),
            "one result per transaction"
        );
        assert_eq!(outcome.messages.len(), transactions.len());
        // History keeps the outcome exactly as execution returned it, for replays.
        let executed = outcome.clone();
        // Results are consensus data: never words. Each rejection's words go to the index only;
        // the tests read them back into the result to assert on them.
        for (result, message) in outcome.results.iter_mut().zip(&outcome.messages) {
            assert!(result.message.is_empty(), "a result carries words");
            let key = keys::rejection_message(&result.tx_hash.clone().try_into().expect("hash"));
            if result.code() == ErrorCode::Ok {
                assert!(message.is_empty());
            } else {
                assert_eq!(
                    outcome.index_writes.get(&key),
                    Some(&Some(message.clone().into_bytes())),
                    "a rejection's words are in the index"
                );
            }
            result.message = message.clone();
        }
        let root = self
            .ledger
            .apply(&outcome.state_writes)
            .expect("apply block");
        // The mirror holds the holder and issuer keys; rejection words (`tm/`) are not kept.
        for (key, value) in &without_messages(&outcome.index_writes) {
            match value {
                Some(_) => {
                    self.index.insert(key.clone());
                }
                None => {
                    self.index.remove(key);
                }
            }
        }
        self.height = context.height;
        self.time_ms += BLOCK_INTERVAL_MS;
        self.history.push(BlockRecord {
            context,
            transactions,
            outcome: executed,
            root,
        });
        outcome
    }

    /// Submits `op` signed by `signer` (next nonce) alone in a block; returns the block's outcome.
    pub(crate) fn submit_outcome(&mut self, signer: &str, op: Operation) -> BlockOutcome {
        let tx = self.tx(signer, op);
        self.block(vec![tx])
    }

    /// Submits `op` signed by `signer` (next nonce) alone in a block; returns its result.
    pub(crate) fn submit(&mut self, signer: &str, op: Operation) -> TxResult {
        let mut outcome = self.submit_outcome(signer, op);
        outcome.results.remove(0)
    }

    /// Submits `op` and asserts it succeeded; returns its events.
    pub(crate) fn ok(&mut self, signer: &str, op: Operation) -> Vec<Event> {
        let result = self.submit(signer, op);
        assert_ok(&result);
        result.events
    }

    /// Submits `op` by `signer` and asserts it was rejected with `code`, with a message containing
    /// every one of `fragments`, and that it changed nothing but the signer's nonce. Returns the
    /// message.
    pub(crate) fn reject(
        &mut self,
        signer: &str,
        op: Operation,
        code: ErrorCode,
        fragments: &[&str],
    ) -> String {
        let tx = self.tx(signer, op);
        self.reject_tx(signer, tx, code, fragments)
    }

    /// Like [`Self::reject`] for a transaction built by the caller.
    pub(crate) fn reject_tx(
        &mut self,
        signer: &str,
        tx: SignedTransaction,
        code: ErrorCode,
        fragments: &[&str],
    ) -> String {
        let before = self.ledger.clone();
        let account_before = self.account(signer);
        let outcome = self.block(vec![tx]);
        let result = &outcome.results[0];
        assert_rejection(result, code, fragments);
        assert!(
            outcome.system_events.is_empty(),
            "no system events expected: {:?}",
            outcome.system_events
        );
        assert!(
            without_messages(&outcome.index_writes).is_empty(),
            "a rejected transaction wrote index keys: {:?}",
            printable(&outcome.index_writes)
        );
        let written: Vec<Vec<u8>> = outcome.state_writes.keys().cloned().collect();
        assert_eq!(
            written,
            vec![keys::account(signer)],
            "a rejected transaction wrote more than its nonce: {:?}",
            printable(&outcome.state_writes)
        );
        let account_after = self.account(signer);
        assert_eq!(
            account_after,
            Account {
                next_nonce: account_before.next_nonce + 1,
                ..account_before
            },
            "only the nonce changes"
        );
        let mut expected = before;
        let mut nonce_only = WriteSet::new();
        nonce_only.insert(keys::account(signer), Some(account_after.encode_to_vec()));
        expected.apply(&nonce_only).expect("apply");
        assert_eq!(
            expected.root(),
            self.ledger.root(),
            "state differs from the state before plus the spent nonce"
        );
        result.message.clone()
    }

    /// Executes `tx` alone in a block and asserts it was refused before its nonce was spent
    /// (authentication): `code`, message fragments, and no writes at all.
    pub(crate) fn refuse(
        &mut self,
        tx: SignedTransaction,
        code: ErrorCode,
        fragments: &[&str],
    ) -> String {
        let root = self.ledger.root();
        let outcome = self.block(vec![tx]);
        let result = &outcome.results[0];
        assert_rejection(result, code, fragments);
        assert!(
            outcome.state_writes.is_empty(),
            "a refused transaction wrote state: {:?}",
            printable(&outcome.state_writes)
        );
        assert!(
            without_messages(&outcome.index_writes).is_empty(),
            "a refused transaction wrote index keys"
        );
        assert!(outcome.system_events.is_empty());
        assert_eq!(self.ledger.root(), root);
        result.message.clone()
    }

    /// Moves chain time forward by `days` (the next block will carry the new time).
    pub(crate) fn advance_days(&mut self, days: u64) {
        self.time_ms += days * DAY_MS;
    }

    /// The chain-local day of the next block.
    pub(crate) fn today(&self) -> u32 {
        validate::local_day(self.time_ms, self.genesis.params.utc_offset_minutes)
    }

    /// The date `days` after the next block's day.
    pub(crate) fn date_in(&self, days: i64) -> String {
        let day = i64::from(self.today()) + days;
        validate::format_date(u32::try_from(day).expect("a day after 1970"))
    }

    /// Decodes the message at `key`, if any.
    pub(crate) fn try_get<M: Message + Default>(&self, key: &[u8]) -> Option<M> {
        let bytes = self.ledger.get(key).expect("memory ledger reads")?;
        Some(M::decode(bytes.as_slice()).expect("state value decodes"))
    }

    /// The raw value at `key`.
    pub(crate) fn raw(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.ledger.get(key).expect("memory ledger reads")
    }

    /// The voucher `id`.
    pub(crate) fn voucher(&self, id: &str) -> Voucher {
        self.try_get(&keys::voucher(id))
            .unwrap_or_else(|| panic!("voucher {id} exists"))
    }

    /// The account `id`.
    pub(crate) fn account(&self, id: &str) -> Account {
        self.try_get(&keys::account(id))
            .unwrap_or_else(|| panic!("account {id} exists"))
    }

    /// The identity `uscc`.
    pub(crate) fn identity(&self, uscc: &str) -> Identity {
        self.try_get(&keys::identity(uscc))
            .unwrap_or_else(|| panic!("identity {uscc} exists"))
    }

    /// The credit line `financier` (USCC) granted `core` (USCC).
    pub(crate) fn credit_line(&self, financier: &str, core: &str) -> CreditLine {
        self.try_get(&keys::credit_line(financier, core))
            .unwrap_or_else(|| panic!("credit line {financier}/{core} exists"))
    }

    /// The financier's line to the core enterprise.
    pub(crate) fn line(&self) -> CreditLine {
        self.credit_line(&fin_uscc(), &core_uscc())
    }

    /// Every voucher in state, by id.
    pub(crate) fn vouchers(&self) -> BTreeMap<String, Voucher> {
        self.ledger
            .scan_prefix(b"v/", None, usize::MAX)
            .expect("scan")
            .into_iter()
            .map(|(_, value)| {
                let voucher = Voucher::decode(value.as_slice()).expect("voucher decodes");
                (voucher.id.clone(), voucher)
            })
            .collect()
    }

    /// Every state entry under `prefix`.
    pub(crate) fn scan(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.ledger
            .scan_prefix(prefix, None, usize::MAX)
            .expect("scan")
    }

    /// Holders that the holder index lists for voucher `id`.
    pub(crate) fn indexed_holders(&self, id: &str) -> Vec<String> {
        let suffix = format!("/{id}");
        self.index
            .iter()
            .filter_map(|key| {
                let text = std::str::from_utf8(key).ok()?;
                text.strip_prefix("h/")?
                    .strip_suffix(&suffix)
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Writes `message` at `key` directly into state, bypassing the contracts (for states no
    /// operation can reach).
    pub(crate) fn patch<M: Message>(&mut self, key: Vec<u8>, message: &M) {
        self.ledger
            .apply(&WriteSet::from([(key, Some(message.encode_to_vec()))]))
            .expect("apply patch");
    }

    /// Writes raw `value` at `key` (or deletes it), bypassing the contracts.
    pub(crate) fn patch_raw(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.ledger
            .apply(&WriteSet::from([(key, value)]))
            .expect("apply patch");
    }

    /// A trade document nobody used yet.
    pub(crate) fn fresh_document(&mut self) -> vchain_proto::v1::TradeDocument {
        self.documents += 1;
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&self.documents.to_be_bytes());
        hash[31] = 0xd0;
        vchain_proto::v1::TradeDocument {
            kind: "invoice".into(),
            number: format!("INV-{:06}", self.documents),
            hash: hash.to_vec(),
        }
    }

    /// An issue of `amount` CNY to `holder` maturing in `days`, on the financier's line, with a
    /// fresh trade document.
    pub(crate) fn issue_op(&mut self, holder: &str, amount: u64, days: i64) -> Operation {
        let document = self.fresh_document();
        Operation::IssueVoucher(vchain_proto::v1::IssueVoucher {
            holder: holder.into(),
            financier: fin_uscc(),
            amount,
            currency: "CNY".into(),
            maturity_date: self.date_in(days),
            trade_document: Some(document),
        })
    }

    /// Grants the core enterprise a CNY line of `limit` from the financier.
    pub(crate) fn grant_line(&mut self, limit: u64) {
        self.ok(FINANCIER, ops::grant(&core_uscc(), "CNY", limit));
    }

    /// Issues (by `CORE`) a voucher of `amount` to `holder` maturing in `days`; returns its id.
    pub(crate) fn issue(&mut self, holder: &str, amount: u64, days: i64) -> String {
        let op = self.issue_op(holder, amount, days);
        let events = self.ok(CORE, op);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind(), EventKind::VoucherIssued);
        events[0].voucher_id.clone()
    }

    /// The id the next proposal will get.
    pub(crate) fn next_proposal_id(&self) -> String {
        let next = self.raw(keys::PROPOSAL_SEQ).map_or(1, |bytes| {
            u64::from_be_bytes(bytes.try_into().expect("u64"))
        });
        format!("P{next:012}")
    }

    /// The proposal `id`.
    pub(crate) fn proposal(&self, id: &str) -> vchain_proto::v1::Proposal {
        vchain_contracts::proposal(&self.ledger, id)
            .expect("reads")
            .unwrap_or_else(|| panic!("proposal {id} exists"))
    }

    /// The first administrator account of each current member organisation, by organisation.
    pub(crate) fn member_admins(&self) -> BTreeMap<String, String> {
        self.scan(keys::ORGANISATION_PREFIX)
            .into_iter()
            .map(|(_, value)| {
                vchain_proto::v1::Organisation::decode(value.as_slice()).expect("organisation")
            })
            .filter(|o| !o.removed)
            .map(|o| {
                let admin = self.identity(&o.uscc).accounts[0].clone();
                (o.org_id, admin)
            })
            .collect()
    }

    /// Submits `proposal` (a `SubmitProposal` operation) by `proposer`, then has the
    /// administrator of every other member organisation approve it, one block each, until it is
    /// decided; asserts it passed and returns the events of the transaction that passed it.
    pub(crate) fn govern(&mut self, proposer: &str, proposal: Operation) -> Vec<Event> {
        let id = self.next_proposal_id();
        let mut events = self.ok(proposer, proposal);
        let proposer_org = self.account(proposer).org_id;
        for (org_id, admin) in self.member_admins() {
            if self.proposal(&id).status() != vchain_proto::v1::ProposalStatus::Open {
                break;
            }
            if org_id == proposer_org {
                continue;
            }
            events = self.ok(&admin, ops::vote(&id, true));
        }
        let proposal = self.proposal(&id);
        assert_eq!(
            proposal.status(),
            vchain_proto::v1::ProposalStatus::Passed,
            "proposal {id}: {proposal:?}"
        );
        events
    }

    /// Splits `id` (held by `holder`) into `amounts`; returns the children's ids.
    pub(crate) fn split(&mut self, holder: &str, id: &str, amounts: &[u64]) -> Vec<String> {
        self.ok(holder, ops::split(id, amounts));
        self.voucher(id).children
    }
}

/// Index writes other than rejection messages (`tm/`).
pub(crate) fn without_messages(index_writes: &WriteSet) -> WriteSet {
    index_writes
        .iter()
        .filter(|(key, _)| !key.starts_with(b"tm/"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Asserts a result succeeded.
pub(crate) fn assert_ok(result: &TxResult) {
    assert_eq!(
        result.code(),
        ErrorCode::Ok,
        "expected success, got {}: {}",
        result.code().as_str_name(),
        result.message
    );
    assert!(result.message.is_empty());
}

/// Asserts a result is a rejection with `code` whose message contains each of `fragments`.
pub(crate) fn assert_rejection(result: &TxResult, code: ErrorCode, fragments: &[&str]) {
    assert_eq!(
        result.code(),
        code,
        "expected {}, got {}: {}",
        code.as_str_name(),
        result.code().as_str_name(),
        result.message
    );
    for fragment in fragments {
        assert!(
            result.message.contains(fragment),
            "message {:?} does not mention {fragment:?}",
            result.message
        );
    }
    assert!(
        result.events.is_empty(),
        "a rejected transaction has no events"
    );
}

/// Keys of a write set, printable.
pub(crate) fn printable(writes: &WriteSet) -> Vec<String> {
    writes
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// Builders of operations with test defaults.
pub(crate) mod ops {
    use vchain_proto::v1::submit_proposal::Action;
    use vchain_proto::v1::{
        transaction_body::Operation, AddConsensusNode, ConfirmRedemption, Consideration,
        FreezeAccount, FreezeVoucher, GrantCreditLine, LowerCreditLine, RaiseCreditLine,
        RegisterAccount, RegisterIdentity, RemoveConsensusNode, RequestRedemption,
        RevokeCreditLine, Role, SplitVoucher, SubmitProposal, TransferVoucher, UnfreezeAccount,
        UnfreezeVoucher, VoteOnProposal,
    };

    /// The agreement hash transfers carry by default.
    pub(crate) const AGREEMENT: [u8; 32] = [0xa5; 32];

    /// A `SubmitProposal` of `action` with a test title.
    pub(crate) fn propose(action: Action) -> Operation {
        Operation::SubmitProposal(SubmitProposal {
            action: Some(action),
            title: "test proposal".into(),
            reason: "a test needs it".into(),
        })
    }

    /// A vote on proposal `id`.
    pub(crate) fn vote(id: &str, approve: bool) -> Operation {
        Operation::VoteOnProposal(VoteOnProposal {
            proposal_id: id.into(),
            approve,
        })
    }

    /// A proposal to add a consensus node.
    pub(crate) fn add_consensus_node(node_id: &str, org_id: &str, public_key: &[u8]) -> Operation {
        propose(Action::AddConsensusNode(AddConsensusNode {
            node_id: node_id.into(),
            org_id: org_id.into(),
            public_key: public_key.to_vec(),
            certificate: Vec::new(),
        }))
    }

    /// A proposal to remove a consensus node.
    pub(crate) fn remove_consensus_node(node_id: &str) -> Operation {
        propose(Action::RemoveConsensusNode(RemoveConsensusNode {
            node_id: node_id.into(),
        }))
    }

    /// The old direct operation adding a consensus node (refused: it needs a proposal).
    pub(crate) fn direct_add_consensus_node(
        node_id: &str,
        org_id: &str,
        public_key: &[u8],
    ) -> Operation {
        Operation::AddConsensusNode(AddConsensusNode {
            node_id: node_id.into(),
            org_id: org_id.into(),
            public_key: public_key.to_vec(),
            certificate: Vec::new(),
        })
    }

    /// The old direct operation removing a consensus node (refused: it needs a proposal).
    pub(crate) fn direct_remove_consensus_node(node_id: &str) -> Operation {
        Operation::RemoveConsensusNode(RemoveConsensusNode {
            node_id: node_id.into(),
        })
    }

    pub(crate) fn register_identity(
        uscc: &str,
        role: Role,
        account_id: &str,
        public_key: &[u8],
    ) -> Operation {
        Operation::RegisterIdentity(RegisterIdentity {
            uscc: uscc.into(),
            name: format!("Enterprise {uscc}"),
            role: role.into(),
            legal_representative: "Zhang San".into(),
            account_id: account_id.into(),
            public_key: public_key.to_vec(),
            certificate: Vec::new(),
        })
    }

    /// [`register_identity`] with the first account's certificate (PEM or DER) instead of a
    /// bare key.
    pub(crate) fn register_certified_identity(
        uscc: &str,
        role: Role,
        account_id: &str,
        certificate: &[u8],
    ) -> Operation {
        let Operation::RegisterIdentity(mut op) = register_identity(uscc, role, account_id, &[])
        else {
            unreachable!("register_identity builds a RegisterIdentity");
        };
        op.certificate = certificate.to_vec();
        Operation::RegisterIdentity(op)
    }

    pub(crate) fn rotate_key(account_id: &str, certificate: &[u8]) -> Operation {
        Operation::RotateAccountKey(vchain_proto::v1::RotateAccountKey {
            account_id: account_id.into(),
            certificate: certificate.to_vec(),
        })
    }

    pub(crate) fn revoke_certificate(serial: &[u8], reason: &str) -> Operation {
        Operation::RevokeCertificate(vchain_proto::v1::RevokeCertificate {
            serial: serial.to_vec(),
            reason: reason.into(),
        })
    }

    pub(crate) fn register_account(uscc: &str, account_id: &str, public_key: &[u8]) -> Operation {
        Operation::RegisterAccount(RegisterAccount {
            uscc: uscc.into(),
            account_id: account_id.into(),
            public_key: public_key.to_vec(),
            certificate: Vec::new(),
        })
    }

    pub(crate) fn freeze_account(account_id: &str) -> Operation {
        Operation::FreezeAccount(FreezeAccount {
            account_id: account_id.into(),
            reason: "court order 2024-17".into(),
        })
    }

    pub(crate) fn unfreeze_account(account_id: &str) -> Operation {
        Operation::UnfreezeAccount(UnfreezeAccount {
            account_id: account_id.into(),
            reason: "order lifted".into(),
        })
    }

    pub(crate) fn grant(core: &str, currency: &str, limit: u64) -> Operation {
        Operation::GrantCreditLine(GrantCreditLine {
            core_enterprise: core.into(),
            currency: currency.into(),
            limit,
        })
    }

    pub(crate) fn raise(core: &str, amount: u64) -> Operation {
        Operation::RaiseCreditLine(RaiseCreditLine {
            core_enterprise: core.into(),
            amount,
        })
    }

    pub(crate) fn lower(core: &str, amount: u64) -> Operation {
        Operation::LowerCreditLine(LowerCreditLine {
            core_enterprise: core.into(),
            amount,
        })
    }

    pub(crate) fn revoke(core: &str) -> Operation {
        Operation::RevokeCreditLine(RevokeCreditLine {
            core_enterprise: core.into(),
            reason: "risk review".into(),
        })
    }

    pub(crate) fn split(voucher_id: &str, amounts: &[u64]) -> Operation {
        Operation::SplitVoucher(SplitVoucher {
            voucher_id: voucher_id.into(),
            amounts: amounts.to_vec(),
        })
    }

    pub(crate) fn transfer(voucher_id: &str, to: &str) -> Operation {
        Operation::TransferVoucher(TransferVoucher {
            voucher_id: voucher_id.into(),
            to: to.into(),
            agreement_hash: AGREEMENT.to_vec(),
            consideration: None,
        })
    }

    pub(crate) fn transfer_for(
        voucher_id: &str,
        to: &str,
        amount: u64,
        currency: &str,
    ) -> Operation {
        Operation::TransferVoucher(TransferVoucher {
            voucher_id: voucher_id.into(),
            to: to.into(),
            agreement_hash: AGREEMENT.to_vec(),
            consideration: Some(Consideration {
                amount,
                currency: currency.into(),
            }),
        })
    }

    pub(crate) fn request(voucher_id: &str) -> Operation {
        Operation::RequestRedemption(RequestRedemption {
            voucher_id: voucher_id.into(),
        })
    }

    pub(crate) fn confirm(voucher_id: &str) -> Operation {
        Operation::ConfirmRedemption(ConfirmRedemption {
            voucher_id: voucher_id.into(),
            payment_reference: "BANK-TX-0001".into(),
        })
    }

    pub(crate) fn freeze_voucher(voucher_id: &str) -> Operation {
        Operation::FreezeVoucher(FreezeVoucher {
            voucher_id: voucher_id.into(),
            reason: "court order".into(),
        })
    }

    pub(crate) fn unfreeze_voucher(voucher_id: &str) -> Operation {
        Operation::UnfreezeVoucher(UnfreezeVoucher {
            voucher_id: voucher_id.into(),
            reason: "order lifted".into(),
        })
    }
}
