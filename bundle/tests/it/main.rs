//! The integration tests of `bundle`, one module per concern, compiled as one test binary:
//! each binary links the whole dependency graph again, so one binary instead of one per file
//! saves minutes of release linking in CI. Run one module with `cargo test --release
//! --workspace --test it -- MODULE::`.

mod common;
mod roundtrip;
mod tamper;
mod vectors;
