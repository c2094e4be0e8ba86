//! What a PBFT replica keeps on disk (ADR 0014): enough that after a crash it never signs a
//! second, different message for a (view, sequence, phase) or a view it already signed for,
//! and still carries into a view change the proofs it held.
//!
//! The record is written whole (in the engine's `Ready::persist.hard_state`) whenever it
//! changes, before any message it mentions is sent. It holds only the height after the last
//! commit (a replica votes nowhere else), so its size is bounded by one block plus signatures.

use prost::Message;

use super::certificates::{WireCertificate, WirePrepared};
use super::messages::{SignedBody, WireVote};

/// The durable record.
#[derive(Clone, PartialEq, Message)]
pub struct WireDurable {
    /// The view the replica is in (or moving to).
    #[prost(uint64, tag = "1")]
    pub view: u64,
    /// Whether that view started (a new-view accepted); false while changing views.
    #[prost(bool, tag = "2")]
    pub active: bool,
    /// The certificate of the last height the replica committed.
    #[prost(message, optional, tag = "3")]
    pub committed: Option<WireCertificate>,
    /// Its best prepared certificate for the height after.
    #[prost(message, optional, tag = "4")]
    pub prepared: Option<WirePrepared>,
    /// The block of that prepared certificate (so a commit found after a crash can be
    /// applied).
    #[prost(bytes = "vec", tag = "5")]
    pub prepared_block: Vec<u8>,
    /// Every vote it signed above its last commit, as sent.
    #[prost(message, repeated, tag = "6")]
    pub own_votes: Vec<WireVote>,
    /// The view-changes it signed for views above the last it started.
    #[prost(message, repeated, tag = "7")]
    pub own_view_changes: Vec<SignedBody>,
    /// The new-view that started its view (signed by that view's primary).
    #[prost(message, optional, tag = "8")]
    pub new_view: Option<SignedBody>,
    /// The primary's pre-prepare (without its block) of every slot it voted in: after a
    /// restart the pre-prepare it agreed to stands, not another one a faulty primary sends.
    #[prost(message, repeated, tag = "9")]
    pub pre_prepares: Vec<WireVote>,
    /// The validator sets it knows, by first height: after a restart the node tells it only
    /// the current one, and the certificates of earlier heights (in view-changes) are checked
    /// against the sets that made them.
    #[prost(message, repeated, tag = "10")]
    pub validator_sets: Vec<WireValidatorSet>,
}

/// A validator set and the first height it decides.
#[derive(Clone, PartialEq, Message)]
pub struct WireValidatorSet {
    /// The first height.
    #[prost(uint64, tag = "1")]
    pub from: u64,
    /// The validators, sorted.
    #[prost(string, repeated, tag = "2")]
    pub validators: Vec<String>,
}
