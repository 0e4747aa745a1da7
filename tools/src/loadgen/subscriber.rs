//! One simulated subscriber: a `graphql-transport-ws` connection with one
//! subscription, which resumes from its last cursor whenever the socket is
//! dropped (the reconnect storm, or a 1013 slow-consumer close).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};
use tokio_util::sync::CancellationToken;

use super::tracker::Tracker;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Small client buffers: tungstenite's 128 KiB default read buffer would
/// cost the load generator itself 1.3 GB at 10,000 connections.
const READ_BUFFER_BYTES: usize = 8 * 1024;
const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// How long the server may take to acknowledge `connection_init`.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts to open a socket (connect, init, subscribe) before giving up.
const CONNECT_ATTEMPTS: u32 = 5;
/// The subscription's operation id on its socket.
const OPERATION_ID: &str = "1";
/// The fields every subscriber selects.
const EVENT_FIELDS: &str = "cursor entityId version tombstone snapshot";

/// What a subscriber subscribes to.
#[derive(Debug, Clone)]
pub enum Feed {
    /// `changes(entityTypes: [TASK])`.
    Changes,
    /// `taskChanged(buildingId: …)`.
    TaskChanged(String),
}

impl Feed {
    /// The subscription document and its variables, resuming after `cursor`.
    fn request(&self, cursor: &str) -> Value {
        match self {
            Feed::Changes => json!({
                "query": format!(
                    "subscription($after: String) {{ changes(entityTypes: [TASK], after: $after) {{ {EVENT_FIELDS} }} }}"
                ),
                "variables": { "after": cursor },
            }),
            Feed::TaskChanged(building) => json!({
                "query": format!(
                    "subscription($b: ID!, $after: String) {{ taskChanged(buildingId: $b, after: $after) {{ {EVENT_FIELDS} }} }}"
                ),
                "variables": { "b": building, "after": cursor },
            }),
        }
    }
}

/// One subscriber to run: whose token, which feed, and its tally so far.
pub struct Subscriber {
    /// The user's access token.
    pub token: Arc<str>,
    /// What it subscribes to.
    pub feed: Feed,
    /// Resume after this cursor (first the run's starting cursor).
    pub cursor: String,
    /// What it has seen.
    pub tracker: Tracker,
}

/// Counters every subscriber updates, read by the run while it goes.
#[derive(Debug, Default)]
pub struct Counters {
    /// Subscribers whose first socket is subscribed.
    pub connected: AtomicUsize,
    /// Sockets open and subscribed right now.
    pub open: AtomicUsize,
    /// Subscribers that gave up (every attempt failed, or a protocol error).
    pub gave_up: AtomicUsize,
    /// Sockets re-opened after the storm.
    pub resumed: AtomicUsize,
    /// Events received by all subscribers.
    pub events: AtomicU64,
    /// Messages or closes the protocol does not allow here.
    pub protocol_errors: AtomicU64,
    /// TCP or handshake failures (retried).
    pub connect_failures: AtomicU64,
    /// Closes 1013 (slow consumer), after which the subscriber resumes.
    pub slow_closes: AtomicU64,
    /// Sockets lost without a close frame, after which it resumes.
    pub lost: AtomicU64,
}

/// What every subscriber of a run shares.
pub struct Shared {
    /// `ws://…/graphql/ws`.
    pub ws_url: String,
    /// The clock mutations stamp their send time against.
    pub epoch: Instant,
    /// Bounds handshakes in flight, so thousands of subscribers (or a
    /// storm) do not overflow the server's accept backlog at once.
    pub handshakes: Semaphore,
    /// Cancelled when the run ends.
    pub stop: CancellationToken,
    /// Cancelled when every subscriber should drop and resume.
    pub storm: CancellationToken,
    /// Live counters.
    pub counters: Counters,
}

/// Why a socket's session ended.
enum Ended {
    /// The run is over.
    Stopped,
    /// Drop and resume (storm, 1013, or a lost socket).
    Resume,
    /// A protocol error: this subscriber stops.
    Failed,
}

impl Subscriber {
    /// Runs until the run stops; returns the tally.
    pub async fn run(mut self, shared: Arc<Shared>) -> Tracker {
        let counters = &shared.counters;
        let mut first = true;
        let mut stormed = false;
        loop {
            let Some(mut socket) = self.open(&shared).await else {
                counters.gave_up.fetch_add(1, Ordering::Relaxed);
                return self.tracker;
            };
            counters.open.fetch_add(1, Ordering::Relaxed);
            if first {
                counters.connected.fetch_add(1, Ordering::Relaxed);
                first = false;
            } else if stormed {
                counters.resumed.fetch_add(1, Ordering::Relaxed);
            }
            let ended = self.read(&mut socket, &shared, !stormed).await;
            counters.open.fetch_sub(1, Ordering::Relaxed);
            match ended {
                Ended::Stopped => {
                    let _ = socket.close(None).await;
                    return self.tracker;
                }
                Ended::Resume => {
                    stormed |= shared.storm.is_cancelled();
                    // Dropping the socket drops the TCP connection at once.
                    drop(socket);
                }
                Ended::Failed => {
                    counters.protocol_errors.fetch_add(1, Ordering::Relaxed);
                    counters.gave_up.fetch_add(1, Ordering::Relaxed);
                    return self.tracker;
                }
            }
        }
    }

    /// Opens a subscribed socket, retrying; `None` when the run stopped, all
    /// attempts failed or the server refused (counted as a protocol error).
    async fn open(&self, shared: &Shared) -> Option<Socket> {
        for attempt in 1..=CONNECT_ATTEMPTS {
            let Ok(permit) = shared.handshakes.acquire().await else {
                return None;
            };
            if shared.stop.is_cancelled() {
                return None;
            }
            match self.handshake(shared).await {
                Ok(socket) => return Some(socket),
                Err(Refused::Connect(error)) => {
                    tracing::debug!(%error, attempt, "loadgen connect failed");
                    shared
                        .counters
                        .connect_failures
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(Refused::Protocol(why)) => {
                    tracing::warn!(%why, "loadgen handshake refused");
                    shared
                        .counters
                        .protocol_errors
                        .fetch_add(1, Ordering::Relaxed);
                    return None;
                }
            }
            drop(permit);
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        None
    }

    /// Connect, `connection_init`, wait for the ack, `subscribe`.
    async fn handshake(&self, shared: &Shared) -> Result<Socket, Refused> {
        let mut request = shared
            .ws_url
            .as_str()
            .into_client_request()
            .map_err(|e| Refused::Protocol(e.to_string()))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(WRITE_BUFFER_BYTES);
        let (mut socket, _) = connect_async_with_config(request, Some(config), true)
            .await
            .map_err(|e| Refused::Connect(e.to_string()))?;
        let init = json!({
            "type": "connection_init",
            "payload": { "authorization": format!("Bearer {}", self.token) },
        });
        send(&mut socket, &init).await?;
        let ack = async {
            loop {
                match socket.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let message: Value = serde_json::from_str(&text)
                            .map_err(|_| Refused::Protocol(format!("not JSON: {text}")))?;
                        match message["type"].as_str() {
                            Some("connection_ack") => return Ok(()),
                            Some("ping") => send(&mut socket, &json!({ "type": "pong" })).await?,
                            _ => return Err(Refused::Protocol(format!("before ack: {text}"))),
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return Err(Refused::Protocol(format!("closed before ack: {frame:?}")));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(Refused::Connect(e.to_string())),
                    None => return Err(Refused::Connect("closed before ack".into())),
                }
            }
        };
        match tokio::time::timeout(ACK_TIMEOUT, ack).await {
            Ok(result) => result?,
            Err(_) => return Err(Refused::Connect("no connection_ack in time".into())),
        }
        let subscribe = json!({
            "id": OPERATION_ID,
            "type": "subscribe",
            "payload": self.feed.request(&self.cursor),
        });
        send(&mut socket, &subscribe).await?;
        Ok(socket)
    }

    /// Reads events until the run stops, a storm (if `storm_pending`), a
    /// resumable close, or a protocol error.
    async fn read(&mut self, socket: &mut Socket, shared: &Shared, storm_pending: bool) -> Ended {
        loop {
            let frame = tokio::select! {
                biased;
                _ = shared.stop.cancelled() => return Ended::Stopped,
                _ = shared.storm.cancelled(), if storm_pending => return Ended::Resume,
                frame = socket.next() => frame,
            };
            match frame {
                Some(Ok(Message::Text(text))) => match self.on_text(&text, shared) {
                    Reply::Nothing => {}
                    Reply::Pong => {
                        if send(socket, &json!({ "type": "pong" })).await.is_err() {
                            shared.counters.lost.fetch_add(1, Ordering::Relaxed);
                            return Ended::Resume;
                        }
                    }
                    Reply::Fail(why) => {
                        tracing::warn!(%why, "loadgen subscriber: protocol error");
                        return Ended::Failed;
                    }
                },
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    if code == Some(1013) {
                        shared.counters.slow_closes.fetch_add(1, Ordering::Relaxed);
                        return Ended::Resume;
                    }
                    tracing::warn!(?frame, "loadgen subscriber: unexpected close");
                    return Ended::Failed;
                }
                Some(Ok(Message::Binary(_))) => {
                    tracing::warn!("loadgen subscriber: unexpected binary message");
                    return Ended::Failed;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::debug!(%error, "loadgen subscriber: socket lost");
                    shared.counters.lost.fetch_add(1, Ordering::Relaxed);
                    return Ended::Resume;
                }
                None => {
                    shared.counters.lost.fetch_add(1, Ordering::Relaxed);
                    return Ended::Resume;
                }
            }
        }
    }

    /// Handles one text message.
    fn on_text(&mut self, text: &Utf8Bytes, shared: &Shared) -> Reply {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return Reply::Fail(format!("not JSON: {text}"));
        };
        match message["type"].as_str() {
            Some("next") if message["id"] == OPERATION_ID => {
                let payload = &message["payload"];
                if payload.get("errors").is_some() {
                    return Reply::Fail(format!("errors in an event: {text}"));
                }
                let Some(event) = payload["data"].as_object().and_then(|d| d.values().next())
                else {
                    return Reply::Fail(format!("an event without data: {text}"));
                };
                self.on_event(event, shared);
                Reply::Nothing
            }
            Some("ping") => Reply::Pong,
            Some("pong") => Reply::Nothing,
            _ => Reply::Fail(format!("unexpected message: {text}")),
        }
    }

    /// Records one event and moves the cursor past it.
    fn on_event(&mut self, event: &Value, shared: &Shared) {
        let received = Instant::now();
        shared.counters.events.fetch_add(1, Ordering::Relaxed);
        if let Some(cursor) = event["cursor"].as_str() {
            cursor.clone_into(&mut self.cursor);
        }
        let latency = event["snapshot"]["description"]
            .as_str()
            .and_then(super::mutator::sent_at_nanos)
            .map(|nanos| {
                let sent = shared.epoch + Duration::from_nanos(nanos);
                received.saturating_duration_since(sent)
            });
        self.tracker.record(
            event["entityId"].as_str().unwrap_or_default(),
            event["version"].as_i64().unwrap_or_default() as i32,
            event["tombstone"].as_bool().unwrap_or(false),
            latency,
        );
    }
}

/// Why a handshake failed.
enum Refused {
    /// TCP or WebSocket trouble: worth retrying.
    Connect(String),
    /// The server refused or broke the protocol: not retried.
    Protocol(String),
}

/// What to do after a message.
enum Reply {
    Nothing,
    Pong,
    Fail(String),
}

async fn send(socket: &mut Socket, message: &Value) -> Result<(), Refused> {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .map_err(|e| Refused::Connect(e.to_string()))
}
