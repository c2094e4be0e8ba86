//! `vchain proposal ...`: the changes that can be proposed and their text.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{parse_hex32, Hex32, TxOpts};

/// `proposal ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ProposalCmd {
    /// Submit a proposal; your organisation's approval counts at once.
    #[command(subcommand)]
    Submit(ProposalAction),
    /// Show a proposal: its change, votes, status and whole history.
    Get {
        /// Proposal id, e.g. P000000000001.
        proposal_id: String,
    },
    /// List proposals in submission order (all pages).
    List {
        /// Only proposals still open for votes.
        #[arg(long)]
        open: bool,
    },
    /// Vote for your organisation on an open proposal (one vote per organisation).
    Vote {
        #[command(flatten)]
        tx: TxOpts,
        /// Proposal id, e.g. P000000000001.
        proposal_id: String,
        /// Approve the proposal.
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        /// Disapprove the proposal.
        #[arg(long)]
        reject: bool,
    },
}

/// Title and reason of a proposal.
#[derive(Debug, Args)]
pub(crate) struct ProposalText {
    /// Short title shown to voters [default: one naming the change].
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// Why the change is proposed.
    #[arg(long, default_value = "")]
    pub(crate) reason: String,
}

/// `proposal submit ...`: the change proposed.
#[derive(Debug, Subcommand)]
pub(crate) enum ProposalAction {
    /// Add a consensus node run by your organisation.
    AddNode {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
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
    /// Remove a consensus node run by your organisation.
    RemoveNode {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of a current consensus node.
        #[arg(long)]
        node_id: String,
    },
    /// Admit a member organisation with its administrator accounts.
    AddOrganisation {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Short id of the new organisation.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// Legal name.
        #[arg(long)]
        name: String,
        /// Unified social credit code (also the administrator identity's id).
        #[arg(long)]
        uscc: String,
        /// An administrator account as ACCOUNT=PUBLIC_KEY_HEX (repeat for more; at least one
        /// of these or --admin-certificate).
        #[arg(long = "admin", value_parser = parse_admin, value_name = "ACCOUNT=HEX", required_unless_present = "admin_certificates")]
        admins: Vec<(String, Hex32)>,
        /// An administrator account certified by the new organisation's CA (--ca-cert): the
        /// account id and key are the certificate's (repeat for more).
        #[arg(long = "admin-certificate", value_name = "PATH", requires = "ca_cert")]
        admin_certificates: Vec<PathBuf>,
        /// The organisation's root CA certificate file (DER or PEM).
        #[arg(long, value_name = "PATH")]
        ca_cert: Option<PathBuf>,
    },
    /// Remove a member organisation (it must run no consensus node).
    RemoveOrganisation {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of a current member organisation.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
    },
    /// Replace a member organisation's root CA certificate.
    RotateCa {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// Id of a current member organisation.
        #[arg(long = "org", value_name = "ORG")]
        org_id: String,
        /// The new root CA certificate file (DER or PEM).
        #[arg(long, value_name = "PATH")]
        ca_cert: PathBuf,
    },
    /// Change chain parameters: the node's current ones with the given ones replaced.
    SetParams {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        #[command(flatten)]
        params: ParamChanges,
    },
    /// Schedule the chain's next rules version to activate at a height (a rolling upgrade:
    /// upgrade every node's release before that height; docs/operations.md, "Upgrades").
    ScheduleUpgrade {
        #[command(flatten)]
        tx: TxOpts,
        #[command(flatten)]
        text: ProposalText,
        /// The rules version to switch to: the chain's current one + 1 (`vchain status` shows
        /// it).
        #[arg(long)]
        version: u32,
        /// Height of the first block under the new rules: at least 16 blocks after the block
        /// that passes the proposal. Give the banks time to upgrade their nodes.
        #[arg(long, value_name = "HEIGHT")]
        activation_height: u64,
    },
}

/// Chain parameters to change (the time zone cannot change).
#[derive(Debug, Args, Default, Clone, Copy)]
pub(crate) struct ParamChanges {
    /// Longest tenor, days.
    #[arg(long)]
    pub(crate) max_tenor_days: Option<u32>,
    /// Smallest child of a split, minor units.
    #[arg(long)]
    pub(crate) min_split_amount: Option<u64>,
    /// Most children of one split.
    #[arg(long)]
    pub(crate) split_fanout_max: Option<u32>,
    /// Days after maturity before an unredeemed voucher is destroyed.
    #[arg(long)]
    pub(crate) redemption_grace_days: Option<u32>,
    /// Most transactions in a block.
    #[arg(long)]
    pub(crate) block_tx_max: Option<u32>,
    /// Largest block, bytes.
    #[arg(long)]
    pub(crate) block_bytes_max: Option<u32>,
    /// Largest transaction, bytes.
    #[arg(long)]
    pub(crate) tx_bytes_max: Option<u32>,
    /// Most expired vouchers destroyed in one block.
    #[arg(long)]
    pub(crate) destroy_per_block_max: Option<u32>,
    /// Approval threshold: a proposal passes with more than this per cent of members (50..=99).
    #[arg(long)]
    pub(crate) proposal_approval_percent: Option<u32>,
    /// How long a proposal stays open, milliseconds.
    #[arg(long)]
    pub(crate) proposal_ttl_ms: Option<u64>,
    /// Deepest lineage (splits of splits), 1..=1024, 0 for the rules version's default (32
    /// under v2, 1024 from v3); from chain rules version 2 on.
    #[arg(long)]
    pub(crate) lineage_depth_max: Option<u32>,
}

/// Parses `ACCOUNT=HEX` for `--admin`.
fn parse_admin(s: &str) -> Result<(String, Hex32), String> {
    let (account, key) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ACCOUNT=PUBLIC_KEY_HEX, got {s:?}"))?;
    if account.is_empty() {
        return Err("the account id before '=' is empty".into());
    }
    Ok((account.to_owned(), parse_hex32(key)?))
}
