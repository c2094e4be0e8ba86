//! The integration tests of `node`, one module per concern, compiled as one test binary:
//! each binary links the whole dependency graph again, so one binary instead of one per file
//! saves minutes of release linking in CI. Run one module with `cargo test --release
//! --workspace --test it -- MODULE::`.

mod archive;
mod backup;
mod block_cadence;
mod certification;
mod client_contract;
mod collateral;
mod common;
mod hostile;
mod lifecycle;
mod metrics;
mod network;
mod pbft_cluster;
mod quiet_chain;
mod raft_cluster;
mod read_access;
mod rules_upgrade;
mod wallet_rules;
