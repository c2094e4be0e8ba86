//! What a network starts with; limits checked by [`NetworkConfig::validate`].

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

use super::{NetworkError, NodeKey};

/// A peer to dial: its identity and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress {
    /// Who must answer at `address` (checked by the Noise handshake).
    pub peer_id: PeerId,
    /// Where it listens, without the `/p2p/` suffix.
    pub address: Multiaddr,
}

impl FromStr for PeerAddress {
    type Err = NetworkError;

    /// Parses `<multiaddr>/p2p/<peer id>`, e.g. `/ip4/10.0.0.2/tcp/7100/p2p/12D3Koo...`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| NetworkError::PeerAddressInvalid {
            address: text.to_owned(),
            why: why.to_owned(),
        };
        let mut address: Multiaddr = text
            .parse()
            .map_err(|e: libp2p::multiaddr::Error| invalid(&e.to_string()))?;
        match address.pop() {
            Some(Protocol::P2p(peer_id)) => Ok(Self { peer_id, address }),
            _ => Err(invalid("must end in /p2p/<peer id>")),
        }
    }
}

impl std::fmt::Display for PeerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/p2p/{}", self.address, self.peer_id)
    }
}

/// How to start a [`Network`](super::Network).
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// This node's key; its PeerId is the node's identity.
    pub key: NodeKey,
    /// Where to listen, e.g. `/ip4/0.0.0.0/tcp/7100` (`/tcp/0` picks a free port).
    pub listen_address: Multiaddr,
    /// Peers to dial at start and to redial whenever their connection drops (members only).
    pub dial: Vec<PeerAddress>,
    /// The membership set: the only peers that may connect. Updated by
    /// [`NetworkHandle::set_members`](super::NetworkHandle::set_members).
    pub members: BTreeSet<PeerId>,
    /// A connection with no open stream is closed after this long. libp2p's default is 10 s,
    /// which would drop quiet consortium links; the default here is one hour.
    pub idle_connection_timeout: Duration,
    /// A sync request with no response after this long fails; also bounds reading an inbound
    /// request and answering it.
    pub request_timeout: Duration,
    /// First wait before redialling a dropped peer; doubled after each failed dial.
    pub redial_backoff_initial: Duration,
    /// Longest wait between redials.
    pub redial_backoff_max: Duration,
    /// Most events waiting for the node's event loop.
    pub event_queue_max: usize,
    /// Most messages waiting to be written to one peer.
    pub peer_send_queue_max: usize,
}

/// Default idle timeout: an hour.
pub(crate) const IDLE_CONNECTION_TIMEOUT_DEFAULT: Duration = Duration::from_secs(3_600);
/// Shortest idle timeout accepted (tests prove the setting with short values).
const IDLE_CONNECTION_TIMEOUT_MIN: Duration = Duration::from_millis(100);
/// Longest idle timeout accepted.
const IDLE_CONNECTION_TIMEOUT_MAX: Duration = Duration::from_secs(24 * 3_600);
/// Request timeout range.
const REQUEST_TIMEOUT_MIN: Duration = Duration::from_millis(100);
const REQUEST_TIMEOUT_MAX: Duration = Duration::from_secs(600);
/// Queue bound ceilings.
const EVENT_QUEUE_MAX_LIMIT: usize = 1_000_000;
const PEER_SEND_QUEUE_MAX_LIMIT: usize = 100_000;

impl NetworkConfig {
    /// A config with the production defaults: no peers to dial and no members besides none.
    pub fn new(key: NodeKey, listen_address: Multiaddr) -> Self {
        Self {
            key,
            listen_address,
            dial: Vec::new(),
            members: BTreeSet::new(),
            idle_connection_timeout: IDLE_CONNECTION_TIMEOUT_DEFAULT,
            request_timeout: Duration::from_secs(30),
            redial_backoff_initial: Duration::from_millis(500),
            redial_backoff_max: Duration::from_secs(30),
            event_queue_max: 4_096,
            peer_send_queue_max: 1_024,
        }
    }

    /// Checks every limit and that every peer to dial is a member.
    pub(crate) fn validate(&self) -> Result<(), NetworkError> {
        let invalid = |field, why: String| Err(NetworkError::Config { field, why });
        if !(IDLE_CONNECTION_TIMEOUT_MIN..=IDLE_CONNECTION_TIMEOUT_MAX)
            .contains(&self.idle_connection_timeout)
        {
            return invalid(
                "idle_connection_timeout",
                format!(
                    "must be {IDLE_CONNECTION_TIMEOUT_MIN:?}..={IDLE_CONNECTION_TIMEOUT_MAX:?}"
                ),
            );
        }
        if !(REQUEST_TIMEOUT_MIN..=REQUEST_TIMEOUT_MAX).contains(&self.request_timeout) {
            return invalid(
                "request_timeout",
                format!("must be {REQUEST_TIMEOUT_MIN:?}..={REQUEST_TIMEOUT_MAX:?}"),
            );
        }
        if self.redial_backoff_initial.is_zero()
            || self.redial_backoff_initial > self.redial_backoff_max
        {
            return invalid(
                "redial_backoff_initial",
                "must be non-zero and at most redial_backoff_max".to_owned(),
            );
        }
        if self.redial_backoff_max > Duration::from_secs(3_600) {
            return invalid("redial_backoff_max", "must be at most an hour".to_owned());
        }
        if !(1..=EVENT_QUEUE_MAX_LIMIT).contains(&self.event_queue_max) {
            return invalid(
                "event_queue_max",
                format!("must be 1..={EVENT_QUEUE_MAX_LIMIT}"),
            );
        }
        if !(1..=PEER_SEND_QUEUE_MAX_LIMIT).contains(&self.peer_send_queue_max) {
            return invalid(
                "peer_send_queue_max",
                format!("must be 1..={PEER_SEND_QUEUE_MAX_LIMIT}"),
            );
        }
        let local = self.key.peer_id();
        for peer in &self.dial {
            if peer.peer_id == local {
                return invalid("dial", format!("{peer} is this node"));
            }
            if !self.members.contains(&peer.peer_id) {
                return invalid("dial", format!("{peer} is not a member"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_address_round_trips_and_limits_are_checked() {
        let key = NodeKey::generate();
        let text = format!("/ip4/127.0.0.1/tcp/7100/p2p/{}", key.peer_id());
        let parsed: PeerAddress = text.parse().expect("parse");
        assert_eq!(parsed.peer_id, key.peer_id());
        assert_eq!(parsed.to_string(), text);
        assert!("/ip4/127.0.0.1/tcp/7100".parse::<PeerAddress>().is_err());

        let local = NodeKey::generate();
        let mut config = NetworkConfig::new(local, "/ip4/127.0.0.1/tcp/0".parse().expect("addr"));
        assert!(config.validate().is_ok());
        config.dial.push(parsed);
        assert!(
            matches!(
                config.validate(),
                Err(NetworkError::Config { field: "dial", .. })
            ),
            "a non-member is never dialled"
        );
        config.members.insert(key.peer_id());
        assert!(config.validate().is_ok());
        config.idle_connection_timeout = Duration::ZERO;
        assert!(matches!(
            config.validate(),
            Err(NetworkError::Config {
                field: "idle_connection_timeout",
                ..
            })
        ));
    }
}
