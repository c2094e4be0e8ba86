//! vchain's wire and state types, generated from `proto/vchain/v1/*.proto`.
//!
//! Owns: the protobuf schema of transactions, blocks, state values, proofs and the gRPC API.
//! Must not depend on: anything but prost (and tonic with the `grpc` feature; serde and hex with
//! the `serde` feature), so that the execution crates can use the types without pulling in I/O.
//!
//! With the `serde` feature every message, enum and oneof implements `serde::Serialize` in
//! vchain's JSON mapping (bytes as hex, enums by name, u64 as numbers: see ADR 0013), derived
//! from the descriptors by `build.rs`; programs that print messages (the CLI) turn it on.
//!
//! Every message here is encoded canonically by prost (fields in tag order, no maps), which is
//! what lets the ledger hash encoded bytes and every node agree on them.

#![allow(missing_docs, unreachable_pub, clippy::all)]

#[cfg(feature = "serde")]
mod json;

/// Version 1 of the vchain protocol.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/vchain.v1.rs"));
}

/// Encoded `FileDescriptorSet` of every vchain proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/vchain_descriptor.bin"));

/// gRPC metadata (trailers) of a refusal: the rule code's name (an `ErrorCode` such as
/// `NONCE_TAKEN`), so a program tells refusals apart without parsing the message.
pub const ERROR_CODE_METADATA: &str = "x-vchain-error-code";
/// gRPC metadata of a refusal or answer about one transaction: its hash, lowercase hex.
pub const TX_HASH_METADATA: &str = "x-vchain-tx-hash";
/// gRPC metadata of an answer about a committed transaction: the height of its block.
pub const HEIGHT_METADATA: &str = "x-vchain-height";

pub use prost::Message;
