//! `vchain explorer`: a web explorer for people, served by the CLI binary.
//!
//! The explorer is a gRPC client of one node, like every other command: it signs each read as
//! the `--reader` account, so it shows exactly what that account may see (a supplier its own
//! vouchers and their lineage; an auditor everything), and the node's refusals are shown as
//! such, with their rule codes. It never touches a ledger itself.
//!
//! What it serves on the one address it is given:
//! - `/` and its assets (`assets.rs`): a single-page app in plain HTML, CSS and JavaScript,
//!   compiled into the binary, so it works with no internet;
//! - `/api/...` (`api.rs`): JSON documents for the pages (`shape.rs`, `lineage.rs`), with the
//!   explorer's own checks of commit certificates (`verification.rs`);
//! - `/api/live` (`live.rs`): Server-Sent Events fed by one event stream from the node and a
//!   head poll.
//!
//! Everything is bounded: page sizes, live pages, requests in flight, the time a request may
//! take, the blocks and marks remembered. Requests naming another host than the one served are
//! refused, so a web page elsewhere cannot read the explorer through DNS rebinding.
//!
//! Must not depend on: RocksDB or the node's internals (gRPC only), a CDN or web fonts.

mod api;
mod assets;
mod error;
mod guard;
mod lineage;
mod live;
mod node;
mod query;
mod shape;
mod verification;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use vchain_wallet::{Client, Signer};

use self::guard::Hosts;
use self::live::Live;
use self::node::Node;
use self::verification::Verifier;

/// Blocks one page of the block list shows by default.
pub(crate) const BLOCKS_PAGE_DEFAULT: u64 = 20;
/// Most blocks one page of the block list shows (each is one read of a whole block).
pub(crate) const BLOCKS_PAGE_MAX: u64 = 50;
/// Transactions one page of a block shows.
pub(crate) const BLOCK_TXS_PAGE_MAX: usize = 200;
/// Vouchers one page of an account's list shows.
pub(crate) const VOUCHERS_PAGE_MAX: u64 = 100;
/// Proposals one page shows.
pub(crate) const PROPOSALS_PAGE_MAX: u64 = 100;
/// Recent events one answer lists.
pub(crate) const EVENTS_PAGE_MAX: u64 = 200;
/// Browsers fed live at once.
pub(crate) const LIVE_SUBSCRIBERS_MAX: usize = 64;
/// Messages queued for one browser before it is told it fell behind.
pub(crate) const LIVE_BUFFER_MAX: usize = 256;
/// Newest events kept for the home page and the pledge notices.
pub(crate) const RECENT_EVENTS_MAX: usize = 2_000;
/// Blocks the event stream replays when the explorer starts.
pub(crate) const REPLAY_BLOCKS_MAX: u64 = 1_000;
/// How often the node's head is read for the live pages.
pub(crate) const HEAD_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Requests served at once (a live stream counts only while it starts).
pub(crate) const REQUESTS_IN_FLIGHT_MAX: usize = 64;
/// Longest a request may take to answer (several node calls and certificate checks).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest one node call may take (less than `--rpc-timeout-secs` when that is longer).
pub(crate) const NODE_CALL_TIMEOUT_MAX: Duration = Duration::from_secs(10);
/// Encoded bytes of committed blocks kept for certificate walks.
pub(crate) const BLOCK_CACHE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Certificate marks kept.
pub(crate) const VERIFICATION_CACHE_MAX: usize = 10_000;
/// Distinct blocks checked to mark one voucher verified.
pub(crate) const VOUCHER_BLOCKS_CHECKED_MAX: usize = 64;
/// Blocks below the head searched for the newest one with a certificate.
pub(crate) const CERTIFIED_SEARCH_BLOCKS_MAX: u64 = 16;
/// How long stopping waits for open requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

const _: () = assert!(BLOCKS_PAGE_DEFAULT >= 1 && BLOCKS_PAGE_DEFAULT <= BLOCKS_PAGE_MAX);
const _: () = assert!(CERTIFIED_SEARCH_BLOCKS_MAX >= 1 && REPLAY_BLOCKS_MAX >= 1);
// A request makes node calls one after another: at least one must fit in its time.
const _: () = assert!(NODE_CALL_TIMEOUT_MAX.as_secs() * 2 < REQUEST_TIMEOUT.as_secs());
// The node pages at most 1000 vouchers and proposals; ours are never larger.
const _: () = assert!(VOUCHERS_PAGE_MAX <= 1_000);
const _: () = assert!(PROPOSALS_PAGE_MAX <= vchain_contracts::PROPOSALS_PAGE_MAX as u64);
// The largest block the chain can commit fits the block cache several times over.
const _: () = assert!(
    BLOCK_CACHE_BYTES_MAX >= 4 * vchain_contracts::limits::ENCODED_BLOCK_BYTES_LIMIT as usize
);
const _: () = assert!(EVENTS_PAGE_MAX as usize <= RECENT_EVENTS_MAX);
const _: () = assert!(LIVE_SUBSCRIBERS_MAX <= REQUESTS_IN_FLIGHT_MAX);

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The node, read as the reader.
    pub(crate) node: Arc<Node>,
    /// The live feed.
    pub(crate) live: Arc<Live>,
    /// Certificate marks.
    pub(crate) verifier: Verifier,
    /// The node's gRPC endpoint, shown on the status page.
    pub(crate) endpoint: String,
    /// The `Host` values requests may carry.
    pub(crate) hosts: Hosts,
    /// Places for requests in flight.
    pub(crate) in_flight: Arc<Semaphore>,
}

/// A bound explorer, ready to run.
#[derive(Debug)]
pub(crate) struct Explorer {
    listener: TcpListener,
    address: SocketAddr,
    state: Arc<AppState>,
}

impl Explorer {
    /// Binds `listen` (only it) and prepares to read the node behind `client` as `reader`.
    pub(crate) async fn bind(
        listen: SocketAddr,
        client: Client,
        reader: Signer,
        endpoint: String,
        genesis: Option<vchain_contracts::genesis::Genesis>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener
            .local_addr()
            .with_context(|| format!("listening on {listen}"))?;
        let state = Arc::new(AppState {
            node: Arc::new(Node::new(client, reader)),
            live: Arc::new(Live::default()),
            verifier: Verifier::new(genesis),
            endpoint,
            hosts: Hosts::for_address(address),
            in_flight: Arc::new(Semaphore::new(REQUESTS_IN_FLIGHT_MAX)),
        });
        Ok(Self {
            listener,
            address,
            state,
        })
    }

    /// The address served (the port chosen when `listen` asked for port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` resolves, then ends the live streams and waits at most
    /// [`SHUTDOWN_GRACE`] for open requests.
    pub(crate) async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener, state, ..
        } = self;
        let follower = tokio::spawn(live::follow_events(
            Arc::clone(&state.node),
            Arc::clone(&state.live),
        ));
        let poller = tokio::spawn(live::poll_head(
            Arc::clone(&state.node),
            Arc::clone(&state.live),
        ));
        let live = Arc::clone(&state.live);
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let serve = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
            shutdown.await;
            // Live streams never end by themselves: closing the hub ends them.
            live.close();
            let _ = stopping.send(());
        });
        let result = tokio::select! {
            result = serve => result.context("serving the explorer"),
            () = async {
                let _ = stopped.await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => Ok(()),
        };
        follower.abort();
        poller.abort();
        result
    }
}

/// Every route, guarded, with the shared state.
fn router(state: Arc<AppState>) -> Router {
    routes()
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            guard::guard,
        ))
        .with_state(state)
}

/// The route table.
fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/status", get(api::status))
        .route("/api/blocks", get(api::blocks))
        .route("/api/block/{height}", get(api::block))
        .route("/api/tx/{hash}", get(api::transaction))
        .route("/api/account/{id}", get(api::account))
        .route("/api/vouchers", get(api::vouchers))
        .route("/api/voucher/{id}", get(api::voucher))
        .route(
            "/api/voucher/{id}/verification",
            get(api::voucher_verification),
        )
        .route("/api/pledges", get(api::pledges))
        .route("/api/pledge/{number}", get(api::pledge))
        .route("/api/proposals", get(api::proposals))
        .route("/api/proposal/{id}", get(api::proposal))
        .route("/api/events", get(api::events))
        .route("/api/live", get(live::sse))
        .route("/api/{*rest}", get(api::no_such_endpoint))
        .fallback(assets::serve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_table_is_valid() {
        // Conflicting routes panic when the table is built: at start, not in a user's hands.
        let _ = routes();
    }
}
