//! The running network: one spawned task owns the `Swarm`; a [`NetworkHandle`] talks to it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{AsyncWriteExt, FutureExt, StreamExt};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ListenError, NetworkBehaviour, SwarmEvent};
use libp2p::{
    allow_block_list, connection_limits, noise, tcp, yamux, Multiaddr, PeerId, Stream, Swarm,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, error, info, warn, Instrument};

use super::chunk::{Assembler, Chunk};
use super::codec::{
    read_prefixed, write_prefixed, Frame, SyncCodec, MESSAGE_PROTOCOL, SYNC_PROTOCOL,
};
use super::{
    NetworkConfig, NetworkError, PeerAddress, COMMAND_QUEUE_MAX, CONNECTIONS_MAX,
    CONNECTIONS_PER_PEER_MAX, FRAME_BYTES_MAX, INBOUND_STREAMS_PER_PEER_MAX, LISTEN_TIMEOUT,
    PENDING_INCOMING_CONNECTIONS_MAX, STREAM_OPEN_TIMEOUT, SYNC_CONCURRENT_REQUESTS_MAX,
    SYNC_REQUEST_BYTES_MAX, SYNC_RESPONSE_BYTES_MAX,
};

/// How often the swarm task looks for peers due a redial.
const REDIAL_TICK: Duration = Duration::from_millis(100);
/// A connection that lasted this long resets its peer's redial backoff; a shorter one (say, a
/// peer that accepts the handshake and then refuses us) keeps doubling it.
const STABLE_CONNECTION_MIN: Duration = Duration::from_secs(10);

/// What the network tells the node's event loop.
#[derive(Debug)]
pub enum NetworkEvent {
    /// A consensus message from a member, in the order that member sent them.
    Consensus {
        /// Sender.
        from: PeerId,
        /// The message, opaque to the network.
        bytes: Vec<u8>,
    },
    /// A member's consensus incarnation notice (opaque to the network).
    Incarnations {
        /// Sender.
        from: PeerId,
        /// The notice.
        bytes: Vec<u8>,
    },
    /// A member's signature of a block it applied (opaque to the network; see
    /// `certification`).
    Certification {
        /// Sender.
        from: PeerId,
        /// The signature notice.
        bytes: Vec<u8>,
    },
    /// A member's wall clock reading.
    Clock {
        /// Sender.
        from: PeerId,
        /// Its clock, milliseconds since the Unix epoch.
        wall_ms: u64,
    },
    /// Transactions a member forwarded or broadcast (validate before use).
    Transactions {
        /// Sender.
        from: PeerId,
        /// Encoded transactions, opaque to the network.
        txs: Vec<Vec<u8>>,
    },
    /// A member asks for sync data. Send the answer (at most [`SYNC_RESPONSE_BYTES_MAX`]
    /// bytes) on `reply` within the request timeout; dropping `reply` fails the request.
    SyncRequest {
        /// Requester.
        from: PeerId,
        /// The request, opaque to the network.
        bytes: Vec<u8>,
        /// Where the response goes.
        reply: oneshot::Sender<Vec<u8>>,
    },
    /// The first connection to a member was established.
    PeerConnected {
        /// The member.
        peer: PeerId,
        /// Its address on that connection.
        address: Multiaddr,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer outside the membership tried to connect and was refused.
    ConnectionRefused {
        /// Its PeerId, when the handshake got far enough to prove one.
        peer: Option<PeerId>,
        /// Where it connected from.
        address: Multiaddr,
    },
}

/// Starts networks. See [`Network::start`].
#[derive(Debug)]
pub struct Network;

/// A handle on a running network; cheap to clone. The network stops on
/// [`NetworkHandle::shutdown`] or when every handle is dropped.
#[derive(Clone)]
pub struct NetworkHandle {
    local_peer_id: PeerId,
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for NetworkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandle")
            .field("local_peer_id", &self.local_peer_id)
            .finish_non_exhaustive()
    }
}

/// State read by handles and tasks without a round trip to the swarm task.
struct Shared {
    members: RwLock<BTreeSet<PeerId>>,
    /// Send queue of each connected peer's writer task.
    outbound: Mutex<HashMap<PeerId, mpsc::Sender<Vec<u8>>>>,
    listen_addrs: Mutex<Vec<Multiaddr>>,
    peer_send_queue_max: usize,
    request_timeout: Duration,
    /// The frame written first on every message stream this node opens (see
    /// [`NetworkHandle::announce`]); none until the node sets one.
    hello: RwLock<Option<Vec<u8>>>,
    /// Connections on which the peer did not speak this node's message protocol version.
    protocol_mismatches: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn is_member(&self, peer: &PeerId) -> bool {
        self.members
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(peer)
    }

    fn outbound(&self) -> MutexGuard<'_, HashMap<PeerId, mpsc::Sender<Vec<u8>>>> {
        self.outbound.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

type Reply<T> = oneshot::Sender<Result<T, NetworkError>>;

enum Command {
    Request {
        peer: PeerId,
        bytes: Vec<u8>,
        reply: Reply<Vec<u8>>,
    },
    SetMembers {
        members: BTreeSet<PeerId>,
        done: oneshot::Sender<()>,
    },
    Dial {
        peer: PeerAddress,
        done: Reply<()>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    /// First, so a non-member is denied before any other protocol sees the connection.
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    stream: libp2p_stream::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
}

impl Network {
    /// Builds the transport, listens on `config.listen_address` (returning once the listener
    /// reports its address), dials `config.dial`, and spawns the task that owns the swarm.
    pub async fn start(
        config: NetworkConfig,
    ) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), NetworkError> {
        config.validate()?;
        let local_peer_id = config.key.peer_id();
        let listen_error = |why: String| NetworkError::Listen {
            address: config.listen_address.clone(),
            why,
        };
        let request_config = request_response::Config::default()
            .with_request_timeout(config.request_timeout)
            .with_max_concurrent_streams(SYNC_CONCURRENT_REQUESTS_MAX);
        let idle_connection_timeout = config.idle_connection_timeout;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.key.to_keypair())
            .with_tokio()
            .with_tcp(
                tcp::Config::new().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| listen_error(format!("transport: {e}")))?
            .with_behaviour(|_| Behaviour {
                allow: allow_block_list::Behaviour::default(),
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_pending_incoming(Some(PENDING_INCOMING_CONNECTIONS_MAX))
                        .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER_MAX))
                        .with_max_established(Some(CONNECTIONS_MAX)),
                ),
                stream: libp2p_stream::Behaviour::new(),
                sync: request_response::Behaviour::with_codec(
                    SyncCodec,
                    [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                    request_config,
                ),
            })
            .map_err(|e| match e {})?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle_connection_timeout))
            .build();
        for member in &config.members {
            swarm.behaviour_mut().allow.allow_peer(*member);
        }
        ensure_port_free(&config.listen_address).map_err(listen_error)?;
        let mut control = swarm.behaviour().stream.new_control();
        let incoming = control
            .accept(MESSAGE_PROTOCOL)
            .map_err(|e| listen_error(e.to_string()))?;
        swarm
            .listen_on(config.listen_address.clone())
            .map_err(|e| listen_error(e.to_string()))?;
        let first_address = tokio::time::timeout(LISTEN_TIMEOUT, async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => return Ok(address),
                    SwarmEvent::ListenerClosed { reason, .. } => {
                        return Err(format!("listener closed: {reason:?}"))
                    }
                    SwarmEvent::ListenerError { error, .. } => return Err(error.to_string()),
                    _ => {}
                }
            }
        })
        .await
        .map_err(|_| listen_error(format!("no listen address after {LISTEN_TIMEOUT:?}")))?
        .map_err(listen_error)?;

        let span = tracing::info_span!("network", local = %local_peer_id);
        span.in_scope(|| info!(address = %first_address, "listening"));
        let shared = Arc::new(Shared {
            members: RwLock::new(config.members.clone()),
            outbound: Mutex::new(HashMap::new()),
            listen_addrs: Mutex::new(vec![first_address]),
            peer_send_queue_max: config.peer_send_queue_max,
            request_timeout: config.request_timeout,
            hello: RwLock::new(None),
            protocol_mismatches: std::sync::atomic::AtomicU64::new(0),
        });
        let (event_tx, event_rx) = mpsc::channel(config.event_queue_max);
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE_MAX);
        let accept = tokio::spawn(
            accept_loop(incoming, shared.clone(), event_tx.clone()).instrument(span.clone()),
        );
        let mut driver = Driver {
            swarm,
            shared: shared.clone(),
            events: event_tx,
            control,
            accept,
            writers: HashMap::new(),
            redial: HashMap::new(),
            pending_requests: HashMap::new(),
            pending_replies: FuturesUnordered::new(),
            backoff_initial: config.redial_backoff_initial,
            backoff_max: config.redial_backoff_max,
        };
        for peer in config.dial {
            driver.add_dial_target(peer);
        }
        tokio::spawn(driver.run(command_rx).instrument(span));
        Ok((
            NetworkHandle {
                local_peer_id,
                shared,
                commands: command_tx,
            },
            event_rx,
        ))
    }
}

impl NetworkHandle {
    /// This node's PeerId.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared
            .listen_addrs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Peers with at least one open connection.
    pub fn connected_peers(&self) -> BTreeSet<PeerId> {
        self.shared.outbound().keys().copied().collect()
    }

    /// Peer connections, since start, on which the peer did not speak this node's version of
    /// the message protocol (it runs a release with another network protocol version).
    pub fn protocol_mismatches(&self) -> u64 {
        self.shared
            .protocol_mismatches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a consensus message to `peer` (fire-and-forget, in order per peer). Fails fast
    /// if the peer is not a connected member or its queue is full; a message queued when the
    /// connection drops is lost.
    pub fn send_consensus(&self, peer: PeerId, bytes: Vec<u8>) -> Result<(), NetworkError> {
        self.queue(peer, Frame::Consensus(bytes).encode()?)
    }

    /// Forwards admitted transactions to `peer` (normally the leader), on the same ordered
    /// stream as consensus messages, in as many frames as [`super::TRANSACTIONS_PER_BATCH_MAX`]
    /// and [`FRAME_BYTES_MAX`] need (a batch of large transactions exceeds one frame).
    pub fn forward_transactions(
        &self,
        peer: PeerId,
        txs: Vec<Vec<u8>>,
    ) -> Result<(), NetworkError> {
        for batch in super::codec::frame_batches(txs) {
            self.queue(peer, Frame::Transactions(batch).encode()?)?;
        }
        Ok(())
    }

    /// Sets the frame written first on every message stream this node opens from now on (its
    /// consensus incarnation notice), and sends it to every connected member now.
    pub(crate) fn announce(&self, notice: Vec<u8>) -> Result<usize, NetworkError> {
        let body = Frame::Incarnations(notice).encode()?;
        *self
            .shared
            .hello
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(body.clone());
        let mut sent = 0;
        for peer in self.connected_peers() {
            if self.queue(peer, body.clone()).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends every connected member this node's signature of a block it applied (opaque
    /// bytes, at most 256); returns how many peers took it. Best effort: a member that misses
    /// it fetches the certificate once complete.
    pub fn broadcast_certification(&self, notice: Vec<u8>) -> Result<usize, NetworkError> {
        let body = Frame::Certification(notice).encode()?;
        let mut sent = 0;
        for peer in self.connected_peers() {
            if self.queue(peer, body.clone()).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends `peer` this node's signature of a block it applied (opaque bytes, at most 256).
    pub fn send_certification(&self, peer: PeerId, notice: Vec<u8>) -> Result<(), NetworkError> {
        self.queue(peer, Frame::Certification(notice).encode()?)
    }

    /// Tells every connected member this node's clock; returns how many peers took it.
    pub(crate) fn broadcast_clock(&self, wall_ms: u64) -> Result<usize, NetworkError> {
        let body = Frame::Clock(wall_ms).encode()?;
        let mut sent = 0;
        for peer in self.connected_peers() {
            if self.queue(peer, body.clone()).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    fn queue(&self, peer: PeerId, body: Vec<u8>) -> Result<(), NetworkError> {
        if !self.shared.is_member(&peer) {
            return Err(NetworkError::NotMember { peer });
        }
        let queue = self
            .shared
            .outbound()
            .get(&peer)
            .cloned()
            .ok_or(NetworkError::NotConnected { peer })?;
        queue.try_send(body).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => NetworkError::QueueFull {
                peer,
                queue_max: self.shared.peer_send_queue_max,
            },
            mpsc::error::TrySendError::Closed(_) => NetworkError::NotConnected { peer },
        })
    }

    /// Sends a sync request to a connected member and waits for its response (at most
    /// [`SYNC_REQUEST_BYTES_MAX`] out, [`SYNC_RESPONSE_BYTES_MAX`] back, within the
    /// configured request timeout).
    pub async fn request(&self, peer: PeerId, bytes: Vec<u8>) -> Result<Vec<u8>, NetworkError> {
        if bytes.len() > SYNC_REQUEST_BYTES_MAX {
            return Err(NetworkError::TooLarge {
                what: "sync request",
                got: bytes.len(),
                max: SYNC_REQUEST_BYTES_MAX,
            });
        }
        let (reply, response) = oneshot::channel();
        self.command(Command::Request { peer, bytes, reply })
            .await?;
        // The behaviour times the request out; this outer bound only guards a stalled task.
        let outer = self.shared.request_timeout + Duration::from_secs(5);
        match tokio::time::timeout(outer, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(NetworkError::Stopped),
            Err(_) => Err(NetworkError::RequestFailed {
                peer,
                why: format!("no answer from the network task after {outer:?}"),
            }),
        }
    }

    /// Fetches a chunked transfer from `peer`: asks with `request_for(i)` for chunk 0, 1, ...
    /// until the peer's chunks say the transfer is complete; refuses more than `bytes_max`.
    pub async fn fetch_chunked(
        &self,
        peer: PeerId,
        mut request_for: impl FnMut(u32) -> Vec<u8>,
        bytes_max: usize,
    ) -> Result<Vec<u8>, NetworkError> {
        let mut assembler = Assembler::new(bytes_max);
        while let Some(index) = assembler.next_index() {
            let response = self.request(peer, request_for(index)).await?;
            assembler.push(Chunk::decode(&response)?)?;
        }
        assembler.finish()
    }

    /// Replaces the membership set. New members may connect (and are dialled if they have a
    /// dial address); peers no longer in the set are disconnected at once.
    pub async fn set_members(&self, members: BTreeSet<PeerId>) -> Result<(), NetworkError> {
        let (done, wait) = oneshot::channel();
        self.command(Command::SetMembers { members, done }).await?;
        wait.await.map_err(|_| NetworkError::Stopped)
    }

    /// Adds a member's address to dial now and redial whenever the connection drops.
    pub async fn dial(&self, peer: PeerAddress) -> Result<(), NetworkError> {
        let (done, wait) = oneshot::channel();
        self.command(Command::Dial { peer, done }).await?;
        wait.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Closes every connection and listener and stops the network task. Idempotent.
    pub async fn shutdown(&self) -> Result<(), NetworkError> {
        let (done, wait) = oneshot::channel();
        if self
            .commands
            .send(Command::Shutdown { done })
            .await
            .is_err()
        {
            return Ok(());
        }
        // A dropped `done` means the task already ended: stopped either way.
        let _ = wait.await;
        Ok(())
    }

    async fn command(&self, command: Command) -> Result<(), NetworkError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| NetworkError::Stopped)
    }
}

/// A peer we keep a connection to.
struct DialTarget {
    address: Multiaddr,
    backoff: Duration,
    /// When to dial next; `None` while connected or while a dial is in flight.
    due: Option<Instant>,
    /// When the current connection was established.
    connected_at: Option<Instant>,
}

type PendingReply = BoxFuture<'static, (PeerId, Option<Vec<u8>>, ResponseChannel<Vec<u8>>)>;

/// The task that owns the swarm.
struct Driver {
    swarm: Swarm<Behaviour>,
    shared: Arc<Shared>,
    events: mpsc::Sender<NetworkEvent>,
    control: libp2p_stream::Control,
    accept: JoinHandle<()>,
    writers: HashMap<PeerId, JoinHandle<()>>,
    redial: HashMap<PeerId, DialTarget>,
    pending_requests: HashMap<OutboundRequestId, (PeerId, Reply<Vec<u8>>)>,
    pending_replies: FuturesUnordered<PendingReply>,
    backoff_initial: Duration,
    backoff_max: Duration,
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(REDIAL_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let done = loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => break None,
                    Some(Command::Shutdown { done }) => break Some(done),
                    Some(command) => self.on_command(command),
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some((peer, response, channel)) = self.pending_replies.next(),
                    if !self.pending_replies.is_empty() => self.on_reply(peer, response, channel),
                _ = tick.tick() => self.redial_due(),
            }
        };
        info!("network stopping");
        self.accept.abort();
        for (_, writer) in self.writers.drain() {
            writer.abort();
        }
        self.shared.outbound().clear();
        for (_, (_, reply)) in self.pending_requests.drain() {
            let _ = reply.send(Err(NetworkError::Stopped));
        }
        drop(self.swarm);
        info!("network stopped");
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Request { peer, bytes, reply } => {
                if !self.shared.is_member(&peer) {
                    let _ = reply.send(Err(NetworkError::NotMember { peer }));
                } else if !self.swarm.is_connected(&peer) {
                    let _ = reply.send(Err(NetworkError::NotConnected { peer }));
                } else {
                    let id = self.swarm.behaviour_mut().sync.send_request(&peer, bytes);
                    self.pending_requests.insert(id, (peer, reply));
                }
            }
            Command::SetMembers { members, done } => {
                self.set_members(members);
                let _ = done.send(());
            }
            Command::Dial { peer, done } => {
                let result = if self.shared.is_member(&peer.peer_id) {
                    self.add_dial_target(peer);
                    Ok(())
                } else {
                    Err(NetworkError::NotMember { peer: peer.peer_id })
                };
                let _ = done.send(result);
            }
            // Handled by `run`.
            Command::Shutdown { done } => {
                let _ = done.send(());
            }
        }
    }

    fn set_members(&mut self, members: BTreeSet<PeerId>) {
        let old = std::mem::replace(
            &mut *self
                .shared
                .members
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            members.clone(),
        );
        for added in members.difference(&old) {
            info!(peer = %added, "member added");
            self.swarm.behaviour_mut().allow.allow_peer(*added);
            if let Some(target) = self.redial.get_mut(added) {
                target.backoff = self.backoff_initial;
                target.due = Some(Instant::now());
            }
        }
        for removed in old.difference(&members) {
            info!(peer = %removed, "member removed; closing its connections");
            // Closes every connection to it; ConnectionClosed follows.
            self.swarm.behaviour_mut().allow.disallow_peer(*removed);
            if let Some(target) = self.redial.get_mut(removed) {
                target.due = None;
            }
        }
    }

    fn add_dial_target(&mut self, peer: PeerAddress) {
        let due = (!self.swarm.is_connected(&peer.peer_id)).then(Instant::now);
        self.redial.insert(
            peer.peer_id,
            DialTarget {
                address: peer.address,
                backoff: self.backoff_initial,
                due,
                connected_at: None,
            },
        );
    }

    fn schedule_redial(&mut self, peer: &PeerId) {
        if !self.shared.is_member(peer) || self.swarm.is_connected(peer) {
            return;
        }
        if let Some(target) = self.redial.get_mut(peer) {
            debug!(%peer, backoff = ?target.backoff, "redial scheduled");
            target.due = Some(Instant::now() + target.backoff);
            target.backoff = (target.backoff * 2).min(self.backoff_max);
        }
    }

    fn redial_due(&mut self) {
        let now = Instant::now();
        let due: Vec<(PeerId, Multiaddr)> = self
            .redial
            .iter()
            .filter(|(_, target)| target.due.is_some_and(|due| due <= now))
            .map(|(peer, target)| (*peer, target.address.clone()))
            .collect();
        for (peer, address) in due {
            if let Some(target) = self.redial.get_mut(&peer) {
                target.due = None;
            }
            if !self.shared.is_member(&peer) || self.swarm.is_connected(&peer) {
                continue;
            }
            debug!(%peer, %address, "dialling");
            let opts = DialOpts::peer_id(peer)
                .addresses(vec![address])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, "dial not started: {e}");
                self.schedule_redial(&peer);
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                let mut addrs = self
                    .shared
                    .listen_addrs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if !addrs.contains(&address) {
                    addrs.push(address);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.shared
                    .listen_addrs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|a| a != &address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let address = endpoint.get_remote_address().clone();
                info!(peer = %peer_id, %address, connections = num_established.get(), "connected");
                if let Some(target) = self.redial.get_mut(&peer_id) {
                    target.due = None;
                    target.connected_at.get_or_insert_with(Instant::now);
                }
                if !self.writers.contains_key(&peer_id) {
                    let (queue, rx) = mpsc::channel(self.shared.peer_send_queue_max);
                    self.shared.outbound().insert(peer_id, queue);
                    let writer = write_loop(peer_id, self.control.clone(), rx, self.shared.clone())
                        .instrument(tracing::Span::current());
                    self.writers.insert(peer_id, tokio::spawn(writer));
                    self.emit(NetworkEvent::PeerConnected {
                        peer: peer_id,
                        address,
                    });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                info!(peer = %peer_id, connections = num_established, cause = ?cause, "connection closed");
                if num_established == 0 {
                    self.shared.outbound().remove(&peer_id);
                    if let Some(writer) = self.writers.remove(&peer_id) {
                        writer.abort();
                    }
                    self.emit(NetworkEvent::PeerDisconnected { peer: peer_id });
                    if let Some(target) = self.redial.get_mut(&peer_id) {
                        let stable = target
                            .connected_at
                            .take()
                            .is_some_and(|at| at.elapsed() >= STABLE_CONNECTION_MIN);
                        if stable {
                            target.backoff = self.backoff_initial;
                        }
                    }
                    self.schedule_redial(&peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!(peer = ?peer_id, "dial failed: {error}");
                if let Some(peer) = peer_id {
                    self.schedule_redial(&peer);
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => match error {
                ListenError::Denied { cause } => {
                    warn!(peer = ?peer_id, address = %send_back_addr, "refused connection from a non-member: {cause}");
                    self.emit(NetworkEvent::ConnectionRefused {
                        peer: peer_id,
                        address: send_back_addr,
                    });
                }
                other => debug!(address = %send_back_addr, "inbound connection failed: {other}"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync_event(event),
            _ => {}
        }
    }

    fn on_sync_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if !self.shared.is_member(&peer) {
                        warn!(%peer, "sync request from a non-member dropped");
                        return;
                    }
                    let (reply, answer) = oneshot::channel();
                    let event = NetworkEvent::SyncRequest {
                        from: peer,
                        bytes: request,
                        reply,
                    };
                    if self.emit(event) {
                        let timeout = self.shared.request_timeout;
                        self.pending_replies.push(
                            async move {
                                let response = tokio::time::timeout(timeout, answer)
                                    .await
                                    .ok()
                                    .and_then(Result::ok);
                                (peer, response, channel)
                            }
                            .boxed(),
                        );
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, "sync request failed: {error}");
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::RequestFailed {
                        peer,
                        why: error.to_string(),
                    }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, "answering a sync request failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_reply(
        &mut self,
        peer: PeerId,
        response: Option<Vec<u8>>,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        match response {
            Some(bytes) if bytes.len() > SYNC_RESPONSE_BYTES_MAX => {
                warn!(%peer, bytes = bytes.len(), max = SYNC_RESPONSE_BYTES_MAX, "sync response too large; dropped");
            }
            Some(bytes) => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, bytes)
                    .is_err()
                {
                    debug!(%peer, "sync requester went away before the response");
                }
            }
            None => debug!(%peer, "sync request not answered in time; dropped"),
        }
    }

    /// Hands an event to the node without ever waiting for it; false if it was dropped.
    fn emit(&self, event: NetworkEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(event)) => {
                warn!(?event, "event queue full; event dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// libp2p binds its listeners with `SO_REUSEPORT`, so a second node configured on a taken port
/// would silently share it (and its inbound connections) with the first. A plain bind without
/// that option fails on a taken port: try one first and refuse to start on failure.
fn ensure_port_free(address: &Multiaddr) -> Result<(), String> {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    for protocol in address.iter() {
        match protocol {
            Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            Protocol::Ip6(v6) => ip = Some(std::net::IpAddr::V6(v6)),
            Protocol::Tcp(port) if port != 0 => {
                if let Some(ip) = ip {
                    let probe = std::net::SocketAddr::new(ip, port);
                    std::net::TcpListener::bind(probe)
                        .map_err(|e| format!("{probe} is not free: {e}"))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Attempts to open a peer's message stream before a frame is given up.
const STREAM_OPEN_ATTEMPTS_MAX: u32 = 5;

/// Writes one peer's queued frames on a single outbound stream, in queue order. A frame whose
/// write fails is dropped (at most once) and the next frame opens a fresh stream.
async fn write_loop(
    peer: PeerId,
    mut control: libp2p_stream::Control,
    mut queue: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
) {
    let mut stream: Option<Stream> = None;
    // Said once per peer connection: the peer runs a release that speaks another protocol.
    let mut protocol_refusal_logged = false;
    while let Some(body) = queue.recv().await {
        // Opening can fail transiently (the connection or the peer's handler is not ready yet,
        // e.g. right after connecting under load). Nothing was written, so retrying cannot
        // duplicate the frame: try a few times with backoff before giving it up.
        let mut attempt = 0;
        while stream.is_none() {
            match tokio::time::timeout(
                STREAM_OPEN_TIMEOUT,
                control.open_stream(peer, MESSAGE_PROTOCOL),
            )
            .await
            {
                Ok(Ok(mut opened)) => {
                    // The node's incarnation first: the peer judges this stream's consensus
                    // messages (votes above all) knowing which incarnation sent them.
                    let hello = shared
                        .hello
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    let greeted = match hello {
                        Some(hello) => write_prefixed(&mut opened, &hello, FRAME_BYTES_MAX)
                            .await
                            .is_ok(),
                        None => true,
                    };
                    if greeted {
                        stream = Some(opened);
                    } else if attempt >= STREAM_OPEN_ATTEMPTS_MAX {
                        warn!(%peer, "cannot greet on a new message stream, message dropped");
                        break;
                    }
                }
                Ok(Err(libp2p_stream::OpenStreamError::UnsupportedProtocol(protocol))) => {
                    // Not transient: the peer's release does not speak this one's version of the
                    // message protocol (the version is in its name). Retrying cannot help.
                    if !protocol_refusal_logged {
                        shared
                            .protocol_mismatches
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        error!(
                            %peer,
                            protocol = %protocol,
                            "the peer does not speak this node's message protocol: it runs a vchain release with another network protocol version; run releases that share one (docs/operations.md, \"Upgrades\")"
                        );
                        protocol_refusal_logged = true;
                    }
                    break;
                }
                Ok(Err(e)) if attempt < STREAM_OPEN_ATTEMPTS_MAX => {
                    debug!(%peer, attempt, "cannot open message stream yet: {e}");
                }
                Ok(Err(e)) => {
                    warn!(%peer, "cannot open message stream, message dropped: {e}");
                    break;
                }
                Err(_) => {
                    warn!(%peer, "opening message stream timed out, message dropped");
                    break;
                }
            }
            if stream.is_none() {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(5))).await;
            }
        }
        if stream.is_none() {
            continue;
        }
        if let Some(open) = stream.as_mut() {
            let written = async {
                write_prefixed(open, &body, FRAME_BYTES_MAX).await?;
                open.flush().await
            }
            .await;
            if let Err(e) = written {
                warn!(%peer, "message stream broke, message dropped: {e}");
                stream = None;
            }
        }
    }
    if let Some(mut open) = stream {
        let _ = open.close().await;
    }
}

/// Accepts members' inbound message streams (at most [`INBOUND_STREAMS_PER_PEER_MAX`] each)
/// and runs a reader per stream.
async fn accept_loop(
    mut incoming: libp2p_stream::IncomingStreams,
    shared: Arc<Shared>,
    events: mpsc::Sender<NetworkEvent>,
) {
    let mut readers: JoinSet<PeerId> = JoinSet::new();
    let mut open: HashMap<PeerId, usize> = HashMap::new();
    loop {
        tokio::select! {
            next = incoming.next() => {
                let Some((peer, stream)) = next else { break };
                if !shared.is_member(&peer) {
                    warn!(%peer, "message stream from a non-member refused");
                    continue;
                }
                let count = open.entry(peer).or_default();
                if *count >= INBOUND_STREAMS_PER_PEER_MAX {
                    warn!(%peer, max = INBOUND_STREAMS_PER_PEER_MAX, "too many message streams; refused");
                    continue;
                }
                *count += 1;
                readers.spawn(
                    read_loop(peer, stream, shared.clone(), events.clone())
                        .instrument(tracing::Span::current()),
                );
            }
            Some(finished) = readers.join_next(), if !readers.is_empty() => {
                if let Ok(peer) = finished {
                    if let Some(count) = open.get_mut(&peer) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            open.remove(&peer);
                        }
                    }
                }
            }
        }
    }
}

/// Reads frames from one inbound stream until it ends, breaks, or its peer stops being a
/// member. Waits for room in the event queue, which pushes back on the sender.
async fn read_loop(
    peer: PeerId,
    mut stream: Stream,
    shared: Arc<Shared>,
    events: mpsc::Sender<NetworkEvent>,
) -> PeerId {
    loop {
        let body = match read_prefixed(&mut stream, FRAME_BYTES_MAX).await {
            Ok(Some(body)) => body,
            Ok(None) => break,
            Err(e) => {
                debug!(%peer, "message stream ended: {e}");
                break;
            }
        };
        // Checked per frame: a peer removed a moment ago gets nothing more through.
        if !shared.is_member(&peer) {
            warn!(%peer, "message from a removed member dropped; closing its stream");
            break;
        }
        let event = match Frame::decode(&body) {
            Ok(Frame::Consensus(bytes)) => NetworkEvent::Consensus { from: peer, bytes },
            Ok(Frame::Transactions(txs)) => NetworkEvent::Transactions { from: peer, txs },
            Ok(Frame::Incarnations(bytes)) => NetworkEvent::Incarnations { from: peer, bytes },
            Ok(Frame::Certification(bytes)) => NetworkEvent::Certification { from: peer, bytes },
            Ok(Frame::Clock(wall_ms)) => NetworkEvent::Clock {
                from: peer,
                wall_ms,
            },
            Err(e) => {
                warn!(%peer, "malformed message, closing its stream: {e}");
                break;
            }
        };
        if events.send(event).await.is_err() {
            break;
        }
    }
    peer
}
