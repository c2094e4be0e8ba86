//! Certifying blocks on chains whose engine does not (raft, solo; ADR 0015): the producer's part
//! around the [`Certifier`] state machine. After applying a block this node signs it with its
//! consensus key (if the chain lists it with that key) and tells its peers; peers' signatures
//! come back through the producer's queue; a majority of the height's validators makes the
//! certificate, stored beside the block (`RocksLedger::store_certificate`) and served by
//! `GetBlock` and the sync protocol.
//!
//! What is missed is made up for without trusting anyone: while a round stays open this node
//! sends its own signature again ([`RESEND_INTERVAL`]); a member whose first signature arrives
//! for a block already certified here (it was down when the others signed) is answered with this
//! node's own at once; and a round open for [`FETCH_AFTER`] is completed by fetching the whole
//! certificate from a peer, kept only if it verifies ([`Certifier::offered`]). After a restart the blocks applied without a certificate (at most
//! [`RECOVER_BLOCKS_MAX`]) are opened again and signed again: the same stored block, so the
//! same statement, never a second block for one height.
//!
//! Evidence of a member signing two blocks at one height is stored (a consensus record, so it
//! survives restarts), logged, and raised as a [`NodeAlert`] on every event stream.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tracing::{debug, error, info, warn};
use vchain_contracts::commit_certificate::Validators;
use vchain_proto::v1::{ConsensusConfig, EquivocationEvidence, NodeAlert};

use super::engine_loop::{Producer, Wake};
use super::{Chain, ChainError};
use crate::certification::{Certifier, Evidence, Notice, Received};
use crate::network::NodeKey;

/// How often this node sends its signatures of still-open rounds again.
const RESEND_INTERVAL: Duration = Duration::from_secs(1);
/// Most open rounds whose signature one resend repeats (the newest are the ones peers need).
const RESEND_ROUNDS_MAX: usize = 64;
/// How often this node asks a peer for certificates it could not complete itself.
const FETCH_INTERVAL: Duration = Duration::from_secs(2);
/// Most certificates asked for at once.
const FETCH_ROUNDS_MAX: usize = 16;
/// A round open this long is fetched from a peer rather than waited for.
const FETCH_AFTER: Duration = Duration::from_secs(2);
/// Most blocks without a certificate reopened after a restart.
const RECOVER_BLOCKS_MAX: u64 = 256;
/// Certification lag (blocks) past which the node warns.
const LAG_WARNING_BLOCKS: u64 = 32;
/// How often the lag warning may repeat.
const LAG_WARNING_INTERVAL: Duration = Duration::from_secs(30);
/// Consensus-record prefix under which evidence is kept.
const EVIDENCE_RECORD_PREFIX: &str = "evidence/";

/// The producer's certification state (raft and solo chains).
pub(super) struct Certification {
    certifier: Certifier,
    /// This node's id and consensus key, if the chain lists this node with this key.
    signer: Option<(String, NodeKey)>,
    /// The validators of the next height (the set recorded at the head).
    validators: Option<Validators>,
    last_resend: Instant,
    last_fetch: Instant,
    last_lag_warning: Option<Instant>,
    /// True while a fetch from a peer is under way.
    fetching: Arc<AtomicBool>,
    /// Which peer the next fetch asks (in turn).
    fetch_turn: usize,
    /// When each round still open was opened (the loop's clock, never the certifier's).
    opened_at: std::collections::BTreeMap<u64, Instant>,
}

/// The validators a consensus configuration names, or `None` (logged) if they cannot sign,
/// for example a genesis that lists no keys.
fn validators_of(config: &ConsensusConfig) -> Option<Validators> {
    match Validators::from_config(config) {
        Ok(validators) => Some(validators),
        Err(error) => {
            warn!(%error, "the chain's consensus nodes cannot certify blocks (no usable keys); blocks stay uncertified");
            None
        }
    }
}

impl Certification {
    /// Certification for `chain`, resumed from its ledger: the validators at the head, this
    /// node's key, and the blocks applied since the last certificate reopened.
    pub(super) fn resume(chain: &Chain) -> Result<Self, ChainError> {
        let config = vchain_contracts::consensus_config(&*chain.ledger)?;
        let validators = validators_of(&config);
        let signer = match NodeKey::load_or_create(&chain.config.data_dir) {
            Ok(key) => {
                let listed = config
                    .nodes
                    .iter()
                    .find(|n| n.node_id == chain.config.node_id);
                match listed {
                    Some(node) if node.public_key.as_slice() == key.public_key_bytes() => {
                        Some((chain.config.node_id.clone(), key))
                    }
                    Some(_) => {
                        warn!(node_id = %chain.config.node_id, "the chain lists this node under another key than its node key: it does not sign blocks");
                        None
                    }
                    None => None,
                }
            }
            Err(error) => {
                warn!(%error, "no node key: this node does not sign blocks");
                None
            }
        };
        let mut certification = Certification {
            certifier: Certifier::new(chain.chain_id.clone()),
            signer,
            validators,
            last_resend: Instant::now(),
            last_fetch: Instant::now(),
            last_lag_warning: None,
            fetching: Arc::new(AtomicBool::new(false)),
            fetch_turn: 0,
            opened_at: std::collections::BTreeMap::new(),
        };
        // Blocks applied before a restart whose certificate never completed: reopen them (with
        // the set at the head; a certificate made by another set will not verify and is not
        // kept).
        let head = chain.head()?.height;
        if certification.validators.is_none() {
            return Ok(certification);
        }
        let mut from = head;
        while from > 0 && head - from < RECOVER_BLOCKS_MAX {
            if chain.ledger.certificate(from)?.is_some() || chain.ledger.block(from)?.is_none() {
                break;
            }
            from -= 1;
        }
        for height in from + 1..=head {
            if let Some(hash) = chain
                .ledger
                .block(height)?
                .and_then(|block| block.header)
                .map(|header| vchain_contracts::block::block_hash(&header))
            {
                certification.open(height, hash);
            }
        }
        if head > from {
            info!(
                from = from + 1,
                to = head,
                "blocks without a certificate reopened for certification"
            );
        }
        chain.certified_height.store(
            from.max(certification.certifier.certified_through()),
            Ordering::Relaxed,
        );
        Ok(certification)
    }

    /// Opens the round of the block at `height` with hash `hash`, signing it if this node is
    /// a validator; returns the notice to send.
    fn open(&mut self, height: u64, hash: [u8; 32]) -> Option<Notice> {
        let validators = self.validators.clone()?;
        let own = self.signer.as_ref().and_then(|(node_id, key)| {
            validators.key(node_id)?;
            let signature = key.sign(&self.certifier.statement(height, &hash));
            Some((node_id.clone(), signature))
        });
        let notice = own.as_ref().map(|(_, signature)| Notice {
            height,
            block_hash: hash,
            signature: *signature,
        });
        let need = validators.quorum();
        self.certifier.applied(height, hash, validators, need, own);
        self.opened_at.insert(height, Instant::now());
        notice
    }
}

impl Producer {
    /// After this node applied the block at `height` with hash `hash`: sign it, tell the peers,
    /// and if it changed the consensus membership, learn the next height's validators.
    pub(super) fn certify_applied(
        &mut self,
        height: u64,
        hash: [u8; 32],
        membership_changed: bool,
    ) -> Result<(), ChainError> {
        let Some(certification) = &mut self.certification else {
            return Ok(());
        };
        if let Some(notice) = certification.open(height, hash) {
            if let Some(peers) = &self.chain.peers {
                let _ = peers.network.broadcast_certification(notice.encode());
            }
        }
        if membership_changed {
            let config = vchain_contracts::consensus_config(&*self.chain.ledger)?;
            certification.validators = validators_of(&config);
        }
        self.finish_certification()
    }

    /// A peer's signature notice or a fetched certificate.
    pub(super) fn certification_input(&mut self, wake: Wake) -> Result<(), ChainError> {
        let Some(certification) = &mut self.certification else {
            return Ok(());
        };
        match wake {
            Wake::Certification { from, bytes } => {
                let Some(notice) = Notice::decode(&bytes) else {
                    debug!(%from, bytes = bytes.len(), "malformed certification notice dropped");
                    return Ok(());
                };
                let received = certification.certifier.received(
                    &from,
                    notice.height,
                    notice.block_hash,
                    notice.signature,
                );
                match received {
                    Received::Refused => {
                        debug!(%from, height = notice.height, "certification signature refused (not a member of that height, or it does not verify)");
                    }
                    // Its first signature for a block certified here already: it was likely
                    // down when this node's went out, so it gets this node's now (once; a
                    // duplicate is Ignored, so two nodes never answer each other forever).
                    Received::Late => {
                        if let (Some(own), Some(peers)) = (
                            certification.certifier.own_notice(notice.height),
                            &self.chain.peers,
                        ) {
                            if let Some(peer) = peers.peer_of(&from) {
                                let _ = peers.network.send_certification(peer, own.encode());
                            }
                        }
                    }
                    _ => {}
                }
            }
            Wake::CertificateFetched(certificate) => {
                // Offering has effects (it may close the round): not a match guard.
                let accepted = certification.certifier.offered(&certificate);
                debug!(
                    height = certificate.height,
                    accepted, "fetched certificate judged"
                );
            }
            _ => {}
        }
        self.finish_certification()
    }

    /// Each turn: send open rounds' signatures again, fetch what lags from a peer, warn of a
    /// growing lag.
    pub(super) fn certification_tick(&mut self) -> Result<(), ChainError> {
        let Some(certification) = &mut self.certification else {
            return Ok(());
        };
        let resend_due = certification.last_resend.elapsed() >= RESEND_INTERVAL;
        let fetch_due = certification.last_fetch.elapsed() >= FETCH_INTERVAL
            && !certification.fetching.load(Ordering::SeqCst);
        // Nothing is due most turns: no ledger read then.
        if !resend_due && !fetch_due {
            return Ok(());
        }
        let head = self.chain.head()?.height;
        if resend_due {
            certification.last_resend = Instant::now();
            if let Some(peers) = &self.chain.peers {
                let open = certification.certifier.open(usize::MAX);
                let newest = open.len().saturating_sub(RESEND_ROUNDS_MAX);
                for (height, block_hash, own) in &open[newest..] {
                    if let Some(signature) = own {
                        let notice = Notice {
                            height: *height,
                            block_hash: *block_hash,
                            signature: *signature,
                        };
                        let _ = peers.network.broadcast_certification(notice.encode());
                    }
                }
            }
        }
        if fetch_due {
            certification.last_fetch = Instant::now();
            let open = certification.certifier.open(usize::MAX);
            let still_open: std::collections::BTreeSet<u64> =
                open.iter().map(|(height, ..)| *height).collect();
            certification
                .opened_at
                .retain(|height, _| still_open.contains(height));
            let behind: Vec<u64> = open
                .iter()
                .map(|(height, ..)| *height)
                .filter(|height| {
                    certification
                        .opened_at
                        .get(height)
                        .is_none_or(|at| at.elapsed() >= FETCH_AFTER)
                })
                .take(FETCH_ROUNDS_MAX)
                .collect();
            if let (false, Some(peers), Some(runtime)) =
                (behind.is_empty(), &self.chain.peers, &self.runtime)
            {
                let others: Vec<_> = self
                    .chain
                    .voters()
                    .into_iter()
                    .filter(|node| *node != self.chain.config.node_id)
                    .filter_map(|node| peers.peer_of(&node))
                    .collect();
                if !others.is_empty() {
                    let peer = others[certification.fetch_turn % others.len()];
                    certification.fetch_turn = certification.fetch_turn.wrapping_add(1);
                    let network = peers.network.clone();
                    let wake = self.chain.wake.clone();
                    let fetching = certification.fetching.clone();
                    fetching.store(true, Ordering::SeqCst);
                    runtime.spawn(async move {
                        for height in behind {
                            match crate::sync::fetch_certificate(&network, peer, height).await {
                                Ok(Some(certificate)) => {
                                    let _ = wake.try_send(Wake::CertificateFetched(certificate));
                                }
                                Ok(None) => break, // the peer has none yet either
                                Err(error) => {
                                    debug!(%error, %peer, height, "certificate fetch failed");
                                    break;
                                }
                            }
                        }
                        fetching.store(false, Ordering::SeqCst);
                    });
                }
            }
        }
        let lag = head.saturating_sub(self.chain.certified_height.load(Ordering::Relaxed));
        if lag >= LAG_WARNING_BLOCKS
            && certification
                .last_lag_warning
                .is_none_or(|at| at.elapsed() >= LAG_WARNING_INTERVAL)
        {
            certification.last_lag_warning = Some(Instant::now());
            warn!(
                lag,
                head,
                certified_height = head - lag,
                "blocks are not being certified: too few members sign (down, cut off, or keys that do not match the chain's)"
            );
        }
        Ok(())
    }

    /// Stores the certificates completed, records and raises the evidence found, and publishes
    /// the certified height.
    fn finish_certification(&mut self) -> Result<(), ChainError> {
        let Some(certification) = &mut self.certification else {
            return Ok(());
        };
        for certificate in certification.certifier.take_certified() {
            match self
                .chain
                .ledger
                .store_certificate(certificate.height, &certificate.encode_to_vec())
            {
                Ok(()) => debug!(
                    height = certificate.height,
                    signers = certificate.signatures.len(),
                    "block certified"
                ),
                // The block is not stored here (history an installed snapshot skipped).
                Err(error) => debug!(%error, height = certificate.height, "certificate not stored"),
            }
        }
        for evidence in certification.certifier.take_evidence() {
            self.chain.raise_equivocation(&evidence);
        }
        let through = certification.certifier.certified_through();
        self.chain
            .certified_height
            .fetch_max(through, Ordering::Relaxed);
        Ok(())
    }
}

impl Chain {
    /// Keeps `evidence` (a consensus record), logs it and sends it to every event stream.
    pub(super) fn raise_equivocation(&self, evidence: &Evidence) {
        let record = EquivocationEvidence {
            node_id: evidence.node_id.clone(),
            height: evidence.height,
            view: evidence.view,
            first_block_hash: evidence.first.0.to_vec(),
            first_signature: evidence.first.1.to_vec(),
            second_block_hash: evidence.second.0.to_vec(),
            second_signature: evidence.second.1.to_vec(),
        };
        error!(
            node_id = %evidence.node_id,
            height = evidence.height,
            view = evidence.view,
            first_block_hash = %hex::encode(evidence.first.0),
            second_block_hash = %hex::encode(evidence.second.0),
            "a consensus member signed two different blocks at one height; evidence kept"
        );
        let name = format!(
            "{EVIDENCE_RECORD_PREFIX}{:020}/{}",
            evidence.height, evidence.node_id
        );
        // Bounded across restarts too: the first pieces name the member well enough.
        let kept = self
            .ledger
            .consensus_record_names(EVIDENCE_RECORD_PREFIX)
            .map_or(0, |names| names.len());
        if kept < crate::certification::EVIDENCE_MAX {
            if let Err(error) = self
                .ledger
                .put_consensus_record(&name, &record.encode_to_vec())
            {
                warn!(%error, "could not store the evidence");
            }
        }
        let _ = self.alerts.send(Arc::new(NodeAlert {
            equivocation: Some(record),
            ..NodeAlert::default()
        }));
    }

    /// The evidence this node keeps, oldest height first.
    pub(crate) fn equivocations(&self) -> Result<Vec<EquivocationEvidence>, ChainError> {
        let mut found = Vec::new();
        // Names come back without the prefix.
        for name in self.ledger.consensus_record_names(EVIDENCE_RECORD_PREFIX)? {
            let name = format!("{EVIDENCE_RECORD_PREFIX}{name}");
            if let Some(bytes) = self.ledger.consensus_record(&name)? {
                if let Ok(evidence) = EquivocationEvidence::decode(bytes.as_slice()) {
                    found.push(evidence);
                }
            }
        }
        Ok(found)
    }

    /// Hands a peer's certification notice to the producer (dropped if its queue is full: the
    /// sender repeats it while the round is open).
    pub(crate) fn deliver_certification(&self, from: String, bytes: Vec<u8>) {
        if self
            .wake
            .try_send(Wake::Certification { from, bytes })
            .is_err()
        {
            debug!("producer queue full; dropping a certification notice");
        }
    }
}
