//! `vchain consensus ...`.

use std::path::PathBuf;

use clap::Subcommand;

use super::{parse_hex32, Hex32, TxOpts};

/// `consensus ...`: shorthands for `proposal submit add-node | remove-node`. A membership change
/// is a proposal; it takes effect when the member organisations pass it.
#[derive(Debug, Subcommand)]
pub(crate) enum ConsensusCmd {
    /// Propose adding a node run by your organisation to the voting membership (administrator).
    AddNode {
        #[command(flatten)]
        tx: TxOpts,
        /// Id of the new node (never one a current or removed node has had).
        #[arg(long)]
        node_id: String,
        /// Organisation that runs the node; must be the signer's.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// The node's 32-byte ed25519 network public key (its libp2p identity) as hex.
        #[arg(long, value_parser = parse_hex32, value_name = "HEX")]
        public_key: Hex32,
        /// The node's certificate (PEM or DER) from your organisation's CA (`vchain ca issue
        /// --role node`); required when the organisation has a root CA on chain.
        #[arg(long, value_name = "PATH")]
        certificate: Option<PathBuf>,
    },
    /// Propose removing a node run by your organisation from the voting membership, for good
    /// (administrator).
    RemoveNode {
        #[command(flatten)]
        tx: TxOpts,
        /// Id of a current consensus node.
        #[arg(long)]
        node_id: String,
    },
}
