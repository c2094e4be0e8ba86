//! A consensus node's incarnation, so that no node votes twice in one term (issue 10 §6).
//!
//! Raft's safety rests on every voter remembering its vote. A data directory that was wiped,
//! mounted empty or restored from an old copy forgets it: under the same node id the node could
//! vote again in a term it already voted in, and elect a second leader. So every consensus node
//! keeps an *incarnation* beside its Raft hard state (in `consensus_meta`, where a wipe or a
//! restore takes both): an `id` drawn when its consensus state is created, a `generation`
//! counted up (synced) at every start, and a `boot` drawn at every start. It announces it as the
//! first frame of every message stream it opens and once a second, together with the latest
//! incarnation it knows of every other node (gossip, so that a peer that missed a run learns of
//! it within a second).
//!
//! A node judges an announcement of node X against the latest it recorded (see [`judge`]):
//! another `id` (state recreated), an older `generation` (restored), or the same generation
//! with another `boot` (restored from the last run's copy) mean X's consensus state went back;
//! from then on X's votes count for nothing on this node, for good (recorded, so a restart
//! keeps it). The operator removes X and adds the machine again under a new node id through
//! governance (ids are never reused). When gossip shows a node that *its own* incarnation went
//! back, it stops voting and standing for election itself and says so; so does a node that
//! finds its consensus state missing while its ledger shows the chain ran.
//!
//! Owns: the records and the pure rule [`judge`]. Must not depend on: the network or the
//! engine (the producer hands the verdicts to the engine, the bridge hands notices in).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use prost::Message;
use rand_core::{OsRng, RngCore};
use tracing::{error, info, warn};
use vchain_ledger::RocksLedger;
use vchain_proto::v1::{Incarnation, IncarnationNotice};

/// Bytes of an incarnation's `id` and `boot`.
pub(crate) const RANDOM_BYTES: usize = 16;
/// Most other nodes' records a notice carries (the consensus membership is smaller).
pub(crate) const KNOWN_MAX: usize = 256;

const OWN_RECORD: &str = "incarnation";
const FORBIDDEN_RECORD: &str = "voting_forbidden";
const PEER_RECORD_PREFIX: &str = "peer/";
const REFUSED_RECORD_PREFIX: &str = "refused/";

/// What an announcement says about a node's consensus state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing recorded yet: first sight.
    New,
    /// The same run, or a later one: record it if newer.
    Current {
        /// True if it is newer than the record.
        newer: bool,
    },
    /// Its consensus state went back: why, for the operator.
    WentBack(&'static str),
}

/// Judges `announced` against `recorded`, the latest incarnation seen of the same node.
pub(crate) fn judge(recorded: Option<&Incarnation>, announced: &Incarnation) -> Verdict {
    let Some(recorded) = recorded else {
        return Verdict::New;
    };
    if announced.id != recorded.id {
        return Verdict::WentBack("its consensus state was created anew (wiped or mounted empty)");
    }
    if announced.generation < recorded.generation {
        return Verdict::WentBack(
            "its consensus state is older than a run already seen (restored)",
        );
    }
    if announced.generation == recorded.generation && announced.boot != recorded.boot {
        return Verdict::WentBack(
            "it restarted at a generation already seen (restored from the last run's copy)",
        );
    }
    Verdict::Current {
        newer: announced.generation > recorded.generation,
    }
}

fn well_formed(record: &Incarnation) -> bool {
    record.id.len() == RANDOM_BYTES
        && record.boot.len() == RANDOM_BYTES
        && !record.node_id.is_empty()
        && record.node_id.len() <= 128
}

/// This node's incarnation and what it knows and thinks of its peers'.
pub(crate) struct Incarnations {
    ledger: std::sync::Arc<RocksLedger>,
    own: Incarnation,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The latest incarnation seen of each other node.
    known: BTreeMap<String, Incarnation>,
    /// Nodes whose votes count for nothing here, with why.
    refused: BTreeMap<String, &'static str>,
    /// This node may not vote (its own state went back).
    forbidden: bool,
    /// Bumped on every change the engine must hear of.
    version: u64,
}

impl Incarnations {
    /// Opens this node's incarnation at start: creates it with fresh consensus state, else
    /// counts a new generation (synced before the node says anything). A node whose consensus
    /// state is missing while its ledger shows committed blocks (`chain_ran`) may not vote.
    pub(crate) fn open(
        ledger: std::sync::Arc<RocksLedger>,
        node_id: &str,
        consensus_state_exists: bool,
        chain_ran: bool,
    ) -> Result<Self, vchain_ledger::LedgerError> {
        let decode = |bytes: Vec<u8>| Incarnation::decode(bytes.as_slice()).ok();
        let stored = ledger.consensus_record(OWN_RECORD)?.and_then(decode);
        let mut forbidden = ledger.consensus_record(FORBIDDEN_RECORD)?.is_some();
        let mut boot = vec![0u8; RANDOM_BYTES];
        OsRng.fill_bytes(&mut boot);
        let own = match stored.filter(|s| s.node_id == node_id && well_formed(s)) {
            Some(stored) => Incarnation {
                generation: stored.generation.saturating_add(1),
                boot,
                ..stored
            },
            None => {
                if consensus_state_exists || chain_ran {
                    forbidden = true;
                    error!(
                        node_id,
                        "this node's consensus state is missing or not its own, yet its ledger shows the chain ran: it may have voted before, so it will not vote or stand for election; remove it and add it again under a new node id through governance"
                    );
                }
                let mut id = vec![0u8; RANDOM_BYTES];
                OsRng.fill_bytes(&mut id);
                Incarnation {
                    node_id: node_id.to_owned(),
                    id,
                    generation: 1,
                    boot,
                }
            }
        };
        ledger.put_consensus_record(OWN_RECORD, &own.encode_to_vec())?;
        if forbidden {
            ledger.put_consensus_record(FORBIDDEN_RECORD, &[1])?;
        }
        let mut state = State {
            forbidden,
            ..State::default()
        };
        // What this node recorded of its peers before, and whom it refused.
        for node in ledger.consensus_record_names(PEER_RECORD_PREFIX)? {
            if let Some(record) = ledger
                .consensus_record(&format!("{PEER_RECORD_PREFIX}{node}"))?
                .and_then(decode)
            {
                state.known.insert(node, record);
            }
        }
        for node in ledger.consensus_record_names(REFUSED_RECORD_PREFIX)? {
            state
                .refused
                .insert(node, "its consensus state went back (recorded earlier)");
        }
        info!(
            generation = own.generation,
            refused = state.refused.len(),
            voting_forbidden = forbidden,
            "consensus incarnation"
        );
        Ok(Self {
            ledger,
            own,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The notice this node announces: its own incarnation and the latest it knows of others.
    pub(crate) fn notice(&self) -> Vec<u8> {
        let state = self.lock();
        IncarnationNotice {
            own: Some(self.own.clone()),
            known: state.known.values().take(KNOWN_MAX).cloned().collect(),
        }
        .encode_to_vec()
    }

    /// Takes in a notice from `from` (the node id its network key belongs to). Storage failing
    /// is logged, never fatal here: the record is advisory until it is written.
    pub(crate) fn receive(&self, from: &str, bytes: &[u8]) {
        let Ok(notice) = IncarnationNotice::decode(bytes) else {
            warn!(%from, "an incarnation notice that does not decode; ignored");
            return;
        };
        if let Some(own) = notice.own.filter(well_formed) {
            if own.node_id != from {
                warn!(%from, claims = %own.node_id, "an incarnation notice for another node id; ignored");
            } else {
                self.take(own, from, false);
            }
        }
        for record in notice.known.into_iter().take(KNOWN_MAX).filter(well_formed) {
            if record.node_id == self.own.node_id {
                self.about_me(&record, from);
            } else if record.node_id != from {
                self.take(record, from, true);
            }
        }
    }

    /// Judges a record of another node, announced by itself or (`gossip`) relayed by `via`.
    /// Gossip may be stale: an older generation relayed says nothing (the relaying node has
    /// not heard of the later run yet); the node itself announcing an older one went back.
    fn take(&self, record: Incarnation, via: &str, gossip: bool) {
        let node = record.node_id.clone();
        let mut state = self.lock();
        if state.refused.contains_key(&node) {
            return;
        }
        if gossip
            && state
                .known
                .get(&node)
                .is_some_and(|known| known.id == record.id && record.generation < known.generation)
        {
            return;
        }
        match judge(state.known.get(&node), &record) {
            Verdict::WentBack(why) => {
                error!(
                    node = %node, via, why,
                    "a consensus node's state went back: its votes count for nothing from now on; remove it and add it again under a new node id through governance"
                );
                state.refused.insert(node.clone(), why);
                state.version += 1;
                drop(state);
                if let Err(e) = self
                    .ledger
                    .put_consensus_record(&format!("{REFUSED_RECORD_PREFIX}{node}"), &[1])
                {
                    warn!(%e, "could not record a refusal");
                }
            }
            Verdict::New | Verdict::Current { newer: true } => {
                let bytes = record.encode_to_vec();
                state.known.insert(node.clone(), record);
                drop(state);
                if let Err(e) = self
                    .ledger
                    .put_consensus_record(&format!("{PEER_RECORD_PREFIX}{node}"), &bytes)
                {
                    warn!(%e, "could not record a peer's incarnation");
                }
            }
            Verdict::Current { newer: false } => {}
        }
    }

    /// A peer's record of this node: one newer than this node's own incarnation means this
    /// node's consensus state went back.
    fn about_me(&self, record: &Incarnation, via: &str) {
        let went_back = match judge(Some(record), &self.own) {
            Verdict::WentBack(why) => Some(why),
            _ => None,
        };
        let Some(why) = went_back else { return };
        let mut state = self.lock();
        if state.forbidden {
            return;
        }
        state.forbidden = true;
        state.version += 1;
        drop(state);
        error!(
            via, why,
            "peers have seen a later incarnation of this node: its consensus state went back, so it will not vote or stand for election; remove it and add it again under a new node id through governance"
        );
        if let Err(e) = self.ledger.put_consensus_record(FORBIDDEN_RECORD, &[1]) {
            warn!(%e, "could not record that this node may not vote");
        }
    }

    /// This node's own consensus state went back, as the consensus engine found (`why`): a
    /// leader showed it log entries it had acknowledged and no longer holds. Restored from a
    /// copy taken during the run it is restored into, a node is simply the next run to its
    /// peers, so only it can tell. It stops voting for good (recorded, so a restart keeps it),
    /// and says so. Storage failing is logged: the engine has stopped voting for this run.
    pub(crate) fn forbid_own_voting(&self, why: &str) {
        let mut state = self.lock();
        if state.forbidden {
            return;
        }
        state.forbidden = true;
        state.version += 1;
        drop(state);
        error!(
            why,
            "this node acknowledged consensus log entries it no longer holds: its data directory went back (restored from an older copy, or wiped), so it will not vote or stand for election; it keeps following the chain; remove it and add it again under a new node id through governance"
        );
        if let Err(e) = self.ledger.put_consensus_record(FORBIDDEN_RECORD, &[1]) {
            warn!(%e, "could not record that this node may not vote");
        }
    }

    /// The nodes whose votes count for nothing here.
    pub(crate) fn refused(&self) -> BTreeSet<String> {
        self.lock().refused.keys().cloned().collect()
    }

    /// True if this node may not vote.
    pub(crate) fn voting_forbidden(&self) -> bool {
        self.lock().forbidden
    }

    /// Changes so far (the producer re-reads the verdicts when this moves).
    pub(crate) fn version(&self) -> u64 {
        self.lock().version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incarnation(id: u8, generation: u64, boot: u8) -> Incarnation {
        Incarnation {
            node_id: "node-3".into(),
            id: vec![id; RANDOM_BYTES],
            generation,
            boot: vec![boot; RANDOM_BYTES],
        }
    }

    #[test]
    fn a_restart_or_reconnect_is_current_and_a_wipe_or_restore_went_back() {
        let seen = incarnation(1, 5, 9);
        assert_eq!(judge(None, &seen), Verdict::New);
        // The same run reconnecting, and the next run.
        assert_eq!(judge(Some(&seen), &seen), Verdict::Current { newer: false });
        assert_eq!(
            judge(Some(&seen), &incarnation(1, 6, 2)),
            Verdict::Current { newer: true }
        );
        // Wiped: a new id. Restored: an older generation, or the last one with another boot.
        assert!(matches!(
            judge(Some(&seen), &incarnation(2, 9, 9)),
            Verdict::WentBack(_)
        ));
        assert!(matches!(
            judge(Some(&seen), &incarnation(1, 4, 9)),
            Verdict::WentBack(_)
        ));
        assert!(matches!(
            judge(Some(&seen), &incarnation(1, 5, 3)),
            Verdict::WentBack(_)
        ));
    }

    /// A rolling restart: every node starts a new generation, and gossip still carries the old
    /// one for a while. Stale gossip must refuse no one; the node itself going back must.
    #[test]
    fn stale_gossip_refuses_no_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = std::sync::Arc::new(RocksLedger::open(dir.path()).expect("ledger"));
        let me = Incarnations::open(ledger, "node-1", false, false).expect("open");
        let notice = |own: Incarnation, known: Vec<Incarnation>| {
            IncarnationNotice {
                own: Some(own),
                known,
            }
            .encode_to_vec()
        };
        let mut relay = incarnation(7, 1, 7);
        relay.node_id = "node-2".into();
        // node-3 announces its second run, then node-2 relays its first one: stale.
        me.receive("node-3", &notice(incarnation(1, 2, 2), vec![]));
        me.receive("node-2", &notice(relay.clone(), vec![incarnation(1, 1, 1)]));
        assert!(me.refused().is_empty(), "{:?}", me.refused());
        // node-3 itself announcing its first run again: restored.
        me.receive("node-3", &notice(incarnation(1, 1, 5), vec![]));
        assert_eq!(me.refused(), BTreeSet::from(["node-3".to_owned()]));
        assert!(!me.voting_forbidden());
        // Gossip showing this node later than it is: it went back itself.
        let mut later_me = me.own.clone();
        later_me.generation += 1;
        me.receive("node-2", &notice(relay, vec![later_me]));
        assert!(me.voting_forbidden());
    }
}
