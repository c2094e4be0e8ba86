//! vchain trace bundles (issue 14): an auditor exports one voucher's whole history from a node
//! and checks it with nothing but the chain's genesis file, trusting no node.
//!
//! Owns: building a bundle from a view of a node's ledger ([`build`] over a [`BundleSource`]),
//! its encoding with limits ([`encode`], [`decode`]), and the offline verifier ([`verify`],
//! returning a [`VerifiedLineage`] or a [`VerifyError`] with a stable [`code`](VerifyError::code)).
//! The format is `proto/vchain/v1/bundle.proto`; the rules are in `docs/verification.md`.
//!
//! Must not depend on: any I/O (no tokio, tonic, RocksDB, clock or network). The node
//! implements [`BundleSource`] over a RocksDB snapshot; the CLI calls [`decode`] and [`verify`].
//!
//! ```no_run
//! # fn example(bytes: &[u8], genesis: &vchain_contracts::genesis::Genesis) {
//! match vchain_bundle::decode(bytes).and_then(|bundle| vchain_bundle::verify(&bundle, genesis)) {
//!     Ok(lineage) => print!("{lineage}"),
//!     Err(error) => eprintln!("{}: {error}", error.code()),
//! }
//! # }
//! ```

mod builder;
mod error;
pub mod limits;
mod lineage;
mod source;
mod validators;
mod verify;

use prost::Message;
pub use vchain_proto::v1::TraceBundle;

pub use builder::build;
pub use error::{BuildError, VerifyError};
pub use lineage::{VerifiedChange, VerifiedEvent, VerifiedLineage, VerifiedTip, VerifiedVoucher};
pub use source::BundleSource;
pub use verify::verify;

/// The bytes of `bundle` as the format defines them (standard protobuf encoding).
pub fn encode(bundle: &TraceBundle) -> Vec<u8> {
    bundle.encode_to_vec()
}

/// Reads an encoded bundle: refused past [`limits::BUNDLE_BYTES_MAX`] before decoding.
pub fn decode(bytes: &[u8]) -> Result<TraceBundle, VerifyError> {
    if bytes.len() > limits::BUNDLE_BYTES_MAX {
        return Err(VerifyError::TooLarge {
            what: "bytes",
            got: bytes.len(),
            max: limits::BUNDLE_BYTES_MAX,
        });
    }
    TraceBundle::decode(bytes).map_err(|error| VerifyError::Malformed {
        why: error.to_string(),
    })
}
