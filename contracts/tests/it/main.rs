//! The integration tests of `contracts`, one module per concern, compiled as one test binary:
//! each binary links the whole dependency graph again, so one binary instead of one per file
//! saves minutes of release linking in CI. Run one module with `cargo test --release
//! --workspace --test it -- MODULE::`.

mod audit_log;
mod block_checks;
mod certificates;
mod commit_certificates;
mod common;
mod consensus_nodes;
mod devices;
mod golden;
mod governance;
mod pledges;
mod properties;
mod rules;
mod rules_upgrade;
mod signatures;
mod trace_pages;
mod visibility;
