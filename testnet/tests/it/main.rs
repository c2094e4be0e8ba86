//! The integration tests of `testnet`, one module per concern, compiled as one test binary:
//! each binary links the whole dependency graph again, so one binary instead of one per file
//! saves minutes of release linking in CI. Run one module with `cargo test --release
//! --workspace --test it -- MODULE::`.

mod common;
mod crash_cluster;
mod disk_faults;
mod flood_cluster;
mod pbft_quorum;
mod sensors;
mod soak_cluster;
mod testnet;
