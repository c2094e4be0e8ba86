//! The integration tests of `consensus`, one module per concern, compiled as one test binary:
//! each binary links the whole dependency graph again, so one binary instead of one per file
//! saves minutes of release linking in CI. Run one module with `cargo test --release
//! --workspace --test it -- MODULE::`.

mod pbft_simulation;
mod raft_cluster;
mod sim;
