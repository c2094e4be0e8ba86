//! Live updates: one `SubscribeEvents` stream from the node and one head poll feed every
//! browser through Server-Sent Events (`/api/live`), so new blocks and events appear without a
//! reload.
//!
//! Two tasks run beside the server. The event follower keeps one stream open (resuming after
//! the last event it saw when the stream breaks, without repeating or skipping one), keeps the
//! newest [`RECENT_EVENTS_MAX`] events for the home page and the pledge notices, and publishes
//! each event. The head poller reads the node's public status every [`HEAD_POLL_INTERVAL`] and
//! publishes the head when it moves (blocks without events move it too) and whether the node is
//! reachable. Each browser gets a bounded queue; one that falls behind is told to reload
//! (`lagged`) instead of slowing the others; at most [`LIVE_SUBSCRIBERS_MAX`] at once.
//!
//! Owns: the live feed and its SSE endpoint. Must not depend on: the pages' shapes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt as _;
use vchain_proto::v1::Event;

use super::error::{codes, ApiError};
use super::node::Node;
use super::{
    AppState, HEAD_POLL_INTERVAL, LIVE_BUFFER_MAX, LIVE_SUBSCRIBERS_MAX, RECENT_EVENTS_MAX,
    REPLAY_BLOCKS_MAX,
};
use crate::json;

/// First wait before subscribing again after the stream broke.
const RETRY_MIN: Duration = Duration::from_millis(500);
/// Longest wait between attempts.
const RETRY_MAX: Duration = Duration::from_secs(10);

/// One message to every browser: an SSE event name and its JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LiveMessage {
    /// `head`, `event`, `node`.
    pub(crate) kind: &'static str,
    /// The JSON document.
    pub(crate) data: Value,
}

/// The hub: what the tasks publish and the browsers receive.
#[derive(Debug)]
pub(crate) struct Live {
    /// Taken at shutdown, which ends every browser's stream.
    sender: Mutex<Option<broadcast::Sender<Arc<LiveMessage>>>>,
    subscribers: Arc<Semaphore>,
    /// The newest events, oldest first.
    recent: Mutex<VecDeque<Value>>,
    /// The last head and node state published (sent first to a new browser).
    head: Mutex<Option<Value>>,
    node: Mutex<Option<Value>>,
}

impl Default for Live {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(LIVE_BUFFER_MAX);
        Self {
            sender: Mutex::new(Some(sender)),
            subscribers: Arc::new(Semaphore::new(LIVE_SUBSCRIBERS_MAX)),
            recent: Mutex::new(VecDeque::new()),
            head: Mutex::new(None),
            node: Mutex::new(None),
        }
    }
}

impl Live {
    /// Sends `data` as `kind` to every browser.
    fn publish(&self, kind: &'static str, data: Value) {
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = sender.as_ref() {
            // No browser listening is not an error.
            let _ = sender.send(Arc::new(LiveMessage { kind, data }));
        }
    }

    /// Publishes a node's alert (not a chain event) to every page.
    pub(crate) fn publish_alert(&self, alert: &vchain_proto::v1::NodeAlert) {
        self.publish("alert", json::to_json(alert));
    }

    /// Publishes a committed event and keeps it among the recent ones.
    pub(crate) fn publish_event(&self, event: &Event) {
        let data = json::to_json(event);
        {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent.push_back(data.clone());
            while recent.len() > RECENT_EVENTS_MAX {
                recent.pop_front();
            }
        }
        self.publish("event", data);
    }

    /// Publishes the head when it differs from the last one published.
    pub(crate) fn publish_head(&self, head: Value) {
        let mut last = self.head.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() == Some(&head) {
            return;
        }
        *last = Some(head.clone());
        drop(last);
        self.publish("head", head);
    }

    /// Publishes whether the node is reachable when that changes.
    pub(crate) fn publish_node(&self, state: Value) {
        let mut last = self.node.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() == Some(&state) {
            return;
        }
        *last = Some(state.clone());
        drop(last);
        self.publish("node", state);
    }

    /// The newest `limit` recent events that `keep` accepts, newest first.
    pub(crate) fn recent(&self, limit: usize, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .iter()
            .rev()
            .filter(|e| keep(e))
            .take(limit)
            .cloned()
            .collect()
    }

    /// A new browser's queue, with its place among the [`LIVE_SUBSCRIBERS_MAX`].
    fn subscribe(
        &self,
    ) -> Result<(broadcast::Receiver<Arc<LiveMessage>>, OwnedSemaphorePermit), ApiError> {
        let permit = Arc::clone(&self.subscribers)
            .try_acquire_owned()
            .map_err(|_| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    codes::TOO_MANY_SUBSCRIBERS,
                    format!("the explorer feeds at most {LIVE_SUBSCRIBERS_MAX} live pages at once"),
                )
            })?;
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        let sender = sender
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("the explorer is stopping"))?;
        Ok((sender.subscribe(), permit))
    }

    /// Ends every browser's stream (at shutdown) and stops the tasks.
    pub(crate) fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn closed(&self) -> bool {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// The messages a new browser gets first: the last head and node state.
    fn greeting(&self) -> Vec<Arc<LiveMessage>> {
        let head = self.head.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let node = self.node.lock().unwrap_or_else(|p| p.into_inner()).clone();
        [("node", node), ("head", head)]
            .into_iter()
            .filter_map(|(kind, data)| data.map(|data| Arc::new(LiveMessage { kind, data })))
            .collect()
    }
}

/// Where to resume a broken event stream: the height of the last event seen and how many of
/// that height's events were seen, so a new stream from that height skips exactly those (the
/// node sends a block's events in one order every time).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resume {
    height: u64,
    seen_at_height: usize,
    /// Events still to skip on the current stream.
    skip: usize,
}

impl Resume {
    /// The `from_height` of the next stream: the last event's height (its block is sent again
    /// and the events already seen skipped), or `None` before any event.
    pub(crate) fn resume_height(&self) -> Option<u64> {
        (self.height > 0).then_some(self.height)
    }

    /// A new stream begins.
    pub(crate) fn restart(&mut self) {
        self.skip = self.seen_at_height;
    }

    /// Whether `height`'s event is new (and counts it).
    pub(crate) fn admit(&mut self, height: u64) -> bool {
        if height < self.height {
            return false;
        }
        if height == self.height && self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        if height > self.height {
            self.height = height;
            self.seen_at_height = 0;
            self.skip = 0;
        }
        self.seen_at_height += 1;
        true
    }
}

/// Follows the node's events until the hub closes.
pub(crate) async fn follow_events(node: Arc<Node>, live: Arc<Live>) {
    let mut resume = Resume::default();
    let mut retry = RETRY_MIN;
    while !live.closed() {
        let from_height = match resume.resume_height() {
            Some(height) => Some(height),
            // The first stream replays the newest blocks, so the home page has history.
            None => node
                .public_status()
                .await
                .ok()
                .map(|s| s.height.saturating_sub(REPLAY_BLOCKS_MAX - 1).max(1)),
        };
        if let Some(from_height) = from_height {
            resume.restart();
            // A refused subscription (the node's streams are full, the node is down) is tried
            // again; the head poller tells the pages whether the node is reachable.
            if let Ok(mut stream) = node.subscribe(from_height).await {
                retry = RETRY_MIN;
                while let Ok(Some(envelope)) = stream.message().await {
                    if live.closed() {
                        return;
                    }
                    if let Some(event) = envelope.event {
                        if resume.admit(event.height) {
                            live.publish_event(&event);
                        }
                    }
                    // The node's own alerts (a member signing two blocks at one height).
                    if let Some(alert) = envelope.alert {
                        live.publish_alert(&alert);
                    }
                }
            }
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Polls the node's head until the hub closes.
pub(crate) async fn poll_head(node: Arc<Node>, live: Arc<Live>) {
    let mut interval = tokio::time::interval(HEAD_POLL_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !live.closed() {
        interval.tick().await;
        match node.public_status().await {
            Ok(status) => {
                live.publish_node(json!({ "reachable": true }));
                live.publish_head(json!({
                    "height": status.height,
                    "head_hash": hex::encode(&status.head_hash),
                    "time_ms": status.head_time_ms,
                    "leader": status.leader,
                    "view": status.consensus_view,
                    "mempool": status.mempool_size,
                }));
            }
            Err(e) => live.publish_node(json!({ "reachable": false, "error": e.to_string() })),
        }
    }
}

/// `GET /api/live`: the Server-Sent Events stream.
pub(crate) async fn sse(State(state): State<Arc<AppState>>) -> Response {
    let (receiver, permit) = match state.live.subscribe() {
        Ok(subscribed) => subscribed,
        Err(e) => return e.into_response(),
    };
    let greeting = tokio_stream::iter(
        state
            .live
            .greeting()
            .into_iter()
            .map(Ok::<_, BroadcastStreamRecvError>),
    );
    let stream = greeting
        .chain(BroadcastStream::new(receiver))
        .map(move |message| {
            // The permit lives as long as the stream: a closed page frees its place.
            let _held = &permit;
            Ok::<_, Infallible>(sse_event(message))
        });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// One message as an SSE event; a browser that fell behind is told to reload what it shows.
fn sse_event(message: Result<Arc<LiveMessage>, BroadcastStreamRecvError>) -> SseEvent {
    match message {
        Ok(m) => SseEvent::default().event(m.kind).data(m.data.to_string()),
        Err(BroadcastStreamRecvError::Lagged(missed)) => SseEvent::default()
            .event("lagged")
            .data(json!({ "missed": missed }).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_stream_neither_repeats_nor_skips_an_event() {
        let mut r = Resume::default();
        assert_eq!(r.resume_height(), None);
        // Block 4 has three events; the stream breaks after the second.
        assert!(r.admit(3));
        assert!(r.admit(4));
        assert!(r.admit(4));
        assert_eq!(r.resume_height(), Some(4));
        r.restart();
        // The new stream from 4 sends block 4's three events again, then block 5's.
        assert!(!r.admit(4));
        assert!(!r.admit(4));
        assert!(r.admit(4), "the third event of block 4 is new");
        assert!(r.admit(5));
        // Older heights never come through again.
        assert!(!r.admit(3));
        r.restart();
        assert!(!r.admit(5));
        assert!(r.admit(6));
    }

    #[test]
    fn the_hub_keeps_the_newest_events_and_publishes_changes_only() {
        let live = Live::default();
        let (mut receiver, _permit) = live.subscribe().expect("a place");
        for height in 1..=(RECENT_EVENTS_MAX as u64 + 5) {
            live.publish_event(&Event {
                height,
                ..Default::default()
            });
        }
        let newest = live.recent(3, |_| true);
        let heights: Vec<u64> = newest.iter().filter_map(|e| e["height"].as_u64()).collect();
        let top = RECENT_EVENTS_MAX as u64 + 5;
        assert_eq!(heights, [top, top - 1, top - 2]);
        assert_eq!(live.recent(usize::MAX, |_| true).len(), RECENT_EVENTS_MAX);
        // The receiver's queue is bounded: it lagged.
        assert!(matches!(
            receiver.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        live.publish_head(json!({ "height": 7 }));
        live.publish_head(json!({ "height": 7 }));
        let greeting = live.greeting();
        assert_eq!(greeting.len(), 1);
        assert_eq!(greeting[0].kind, "head");
        live.close();
        assert!(live.closed());
        assert!(live.subscribe().is_err(), "no new page after shutdown");
    }

    #[test]
    fn live_pages_are_bounded() {
        let live = Live::default();
        let held: Vec<_> = (0..LIVE_SUBSCRIBERS_MAX)
            .map(|_| live.subscribe().expect("a place"))
            .collect();
        let refused = live.subscribe().expect_err("full");
        assert_eq!(refused.code, codes::TOO_MANY_SUBSCRIBERS);
        drop(held);
        assert!(live.subscribe().is_ok(), "a closed page frees its place");
    }
}
