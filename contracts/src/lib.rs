//! vchain's native contracts: identities and accounts, credit lines, the digital debt voucher
//! lifecycle (issue, split, transfer, redeem, destroy, trace) and consortium governance
//! (proposals and votes), as a deterministic state machine.
//!
//! Owns: every ledger rule of the domain brief, the state key layout ([`keys`]), genesis,
//! transaction authentication and block assembly, and the read policy: how a signed read
//! authenticates its reader ([`read`]) and what that reader may see ([`visibility`]).
//!
//! Must not depend on: any I/O (no tokio, tonic, RocksDB, clock or OS randomness). Execution is
//! a pure function of (state, block): it reads state through [`vchain_ledger::StateReader`] and
//! returns writes, results and events; the node persists them.
//!
//! ```
//! use vchain_contracts::execute::{execute_block, BlockContext};
//! use vchain_ledger::memory::MemoryLedger;
//! # let genesis: vchain_contracts::genesis::Genesis = toml_free_genesis();
//! let mut ledger = MemoryLedger::default();
//! ledger.apply(&genesis.state().expect("valid genesis")).expect("apply");
//! let outcome = execute_block(&ledger, &BlockContext { height: 1, timestamp_ms: genesis.genesis_time_ms }, &[])
//!     .expect("storage works");
//! assert!(outcome.results.is_empty());
//! # fn toml_free_genesis() -> vchain_contracts::genesis::Genesis {
//! #     use vchain_contracts::genesis::*;
//! #     let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
//! #     Genesis {
//! #         chain_id: "doc".into(), genesis_time_ms: 1_700_000_000_000, params: Params::default(),
//! #         consensus: GenesisConsensus { engine: "solo".into(), nodes: vec![GenesisNode { node_id: "n1".into(), org_id: "bank-a".into(), public_key: String::new(), certificate: String::new() }] },
//! #         organisations: vec![GenesisOrganisation { org_id: "bank-a".into(), name: "Bank A".into(),
//! #             uscc: vchain_contracts::validate::uscc_with_check("91310000MA1FL0001").unwrap(),
//! #             admins: vec![GenesisAccount { account_id: "bank-a-admin".into(), public_key: hex::encode(key.as_bytes()), certificate: String::new() }],
//! #             root_ca_certificate: String::new() }],
//! #         identities: vec![],
//! #         development: false,
//! #         rules_version: 0,
//! #     }
//! # }
//! ```

pub mod audit;
pub mod block;
mod certificates;
pub mod chain_params;
pub mod commit_certificate;
mod context;
pub mod error;
pub mod execute;
pub mod genesis;
pub mod keys;
pub mod limits;
pub mod merkle;
mod ops;
pub mod read;
pub mod rules;
pub mod signature;
mod state;
pub mod trace;
pub mod tx;
pub mod validate;
pub mod verified;
pub mod visibility;

pub use certificates::{
    cert_role, certificate_der, check_account_certificate, check_node_certificate, check_root_ca,
    CheckedCertificate, CERTIFICATE_BYTES_MAX, SUBJECT_ACCOUNT, SUBJECT_NODE,
};
pub use error::{ExecError, Rejection};
pub use execute::{
    chain_step_due, check_tx, check_txs, execute_block, execute_block_verified, BatchCheck,
    BlockContext, BlockOutcome, CheckError, CheckedTx,
};
pub use limits::{PLEDGE_LAPSES_PER_BLOCK_MAX, PROPOSAL_EXPIRY_PER_BLOCK_MAX};
pub use ops::certificate::{
    certificate_record, certificates_expiring, revoked_certificates, CERTIFICATES_PAGE_MAX,
};
pub use ops::consensus::{consensus_config, CONSENSUS_NODES_MAX};
pub use ops::device::{READING_BYTES_MAX, READING_SKEW_MS_MAX};
pub use ops::governance::{
    approval_percent, passes, proposal, proposal_events, proposal_ttl_ms, proposals,
    EVENTS_PER_PROPOSAL_MAX, ORGANISATIONS_MAX, PROPOSALS_PAGE_MAX, ROOT_CA_CERTIFICATE_BYTES_MAX,
};
pub use ops::pledge::{active_pledge, pledge, ASSET_RECEIPT, ASSET_VOUCHER};
pub use rules::{block_rules, BlockRules, RULES_VERSION_MAX};
pub use state::read_message;
