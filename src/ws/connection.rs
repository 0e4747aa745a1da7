//! One socket's life: wait for `connection_init`, authenticate, run
//! operations (each in its own task), keep the peer alive, and close with the
//! graphql-ws close code that says why.
//!
//! Close codes (graphql-transport-ws; the legacy protocol differs where noted
//! in [`super`]):
//! - 4400 unparseable message, unknown type or bad payload;
//! - 4401 `subscribe` before the connection was acknowledged;
//! - 4403 `connection_init` refused (no, bad or expired token), the token
//!   expired during the connection, or the account was deactivated or changed;
//! - 4408 no `connection_init` within `ws.init_timeout_ms`;
//! - 4409 an operation id already running;
//! - 4429 a second `connection_init`, or too many connections for the user;
//! - 1001 the peer sent nothing for two keep-alive intervals;
//! - 1009 a message larger than `ws.max_message_bytes`;
//! - 1013 the outbound queue stayed full for `ws.slow_consumer_grace_ms`,
//!   or the database failed during init.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use async_graphql::Request;
use async_graphql::futures_util::StreamExt;
use async_graphql::futures_util::stream::{SplitSink, SplitStream};
use axum::extract::ws::{Message, WebSocket};
use chrono::Utc;
use serde_json::{Map, Value, json};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};

use super::WsState;
use super::limits::ConnectionSlot;
use super::operation::OperationTask;
use super::protocol::{ClientMessage, Invalid, Protocol, ServerMessage};
use super::send_queue::SendQueue;
use crate::auth::{Principal, principal};
use crate::config::WsSettings;
use crate::error::Error;
use crate::graphql::errors::{CODE_BAD_USER_INPUT, coded_error};
use crate::graphql::live::LiveOperation;

/// Largest outbound message; a result past it is replaced by an error.
/// Kept under the socket's `max_write_buffer_size`, which refuses any single
/// frame larger than itself.
pub const MAX_OUTBOUND_BYTES: usize = 1024 * 1024;

/// A connection after `connection_ack`.
struct Ready {
    principal: Principal,
    /// When the token stops being accepted (`exp` plus the leeway).
    expires: Instant,
    /// Counts against `ws.max_connections_per_user` until dropped.
    _slot: ConnectionSlot,
}

/// The per-connection state machine.
struct Connection {
    protocol: Protocol,
    state: WsState,
    settings: WsSettings,
    sends: SendQueue,
    ready: Option<Ready>,
    /// Running operations by client id.
    operations: HashMap<String, AbortHandle>,
    /// The operation tasks; dropping the set aborts them all.
    tasks: JoinSet<String>,
    /// When the peer last sent anything (a pong frame counts).
    last_seen: Instant,
    /// The client's address, for sign-in limits.
    address: Option<IpAddr>,
    /// The token of the upgrade request's `Authorization` header, used when
    /// `connection_init` carries none; dropped once initialised.
    upgrade_token: Option<Box<str>>,
}

/// Serves one upgraded socket until it closes. The socket is split before
/// the connection's future exists, so that future (held for the whole life
/// of every idle connection) keeps two pointers, not the socket's state.
pub fn serve(
    socket: WebSocket,
    protocol: Protocol,
    state: WsState,
    peer: Peer,
) -> impl Future<Output = ()> + Send {
    let (sink, stream) = socket.split();
    run(sink, stream, protocol, state, peer)
}

/// What the upgrade request told of the peer.
pub struct Peer {
    /// Its address (see `graphql::context::client_address`).
    pub address: Option<IpAddr>,
    /// The bearer token of its `Authorization` header, if any.
    pub token: Option<Box<str>>,
}

async fn run(
    sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    protocol: Protocol,
    state: WsState,
    peer: Peer,
) {
    let settings = state.app.settings.ws.clone();
    let (sends, writer) = SendQueue::start(
        sink,
        settings.outbound_queue,
        Duration::from_millis(settings.slow_consumer_grace_ms),
    );
    let mut connection = Connection {
        protocol,
        state,
        sends: sends.clone(),
        ready: None,
        operations: HashMap::new(),
        tasks: JoinSet::new(),
        last_seen: Instant::now(),
        address: peer.address,
        upgrade_token: peer.token,
        settings,
    };
    let init_deadline = Instant::now() + Duration::from_millis(connection.settings.init_timeout_ms);
    let keepalive_every = Duration::from_millis(connection.settings.keepalive_interval_ms);
    let mut keepalive = tokio::time::interval_at(Instant::now() + keepalive_every, keepalive_every);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let recheck_every = Duration::from_millis(connection.settings.recheck_interval_ms);
    let mut recheck = tokio::time::interval_at(Instant::now() + recheck_every, recheck_every);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Only polled once ready; the value is a placeholder until then.
    let far_future = Instant::now() + Duration::from_secs(365 * 24 * 3600);

    let shutdown = connection.state.shutdown.clone();
    loop {
        let expires = connection.ready.as_ref().map(|r| r.expires);
        // Biased, in this order: timers before frames, so a peer that floods
        // frames still meets its deadlines; frames before finished
        // operations, so the messages of one write are handled in order
        // against the operations they saw running.
        tokio::select! {
            biased;
            _ = sends.closed() => break,
            _ = shutdown.cancelled() => sends.close(1001, "Server shutting down"),
            _ = tokio::time::sleep_until(init_deadline), if connection.ready.is_none() => {
                sends.close(4408, "Connection initialisation timeout");
            }
            _ = tokio::time::sleep_until(expires.unwrap_or(far_future)), if expires.is_some() => {
                sends.close(4403, "Forbidden: token expired");
            }
            _ = keepalive.tick() => connection.keep_alive(keepalive_every),
            // Handlers that may read the database are boxed: their futures
            // are large, and inline they would stay part of this one, held
            // by every idle connection.
            _ = recheck.tick(), if connection.ready.is_some() => Box::pin(connection.recheck()).await,
            frame = stream.next() => {
                connection.last_seen = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => Box::pin(connection.on_text(text.as_str())).await,
                    Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                        Ok(text) => Box::pin(connection.on_text(text)).await,
                        Err(_) => connection.invalid(Invalid {
                            id: None,
                            reason: "Invalid message received".into(),
                        }),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => {
                        sends.echo_close();
                        break;
                    }
                    Some(Err(e)) => {
                        let (code, reason) = read_error_close(&e);
                        tracing::debug!(error = %e, "websocket read failed");
                        sends.close(code, reason);
                        break;
                    }
                }
            }
            Some(finished) = connection.tasks.join_next_with_id(), if !connection.tasks.is_empty() => {
                connection.finished(finished);
            }
        }
    }
    // Stop every operation before the writer goes away.
    connection.tasks.abort_all();
    drop(connection);
    let _ = writer.await;
}

/// The close code for a failed read: 1009 for an oversized message.
/// axum hides tungstenite's error type, so its message is what we can match.
fn read_error_close(error: &axum::Error) -> (u16, &'static str) {
    if error.to_string().contains("Space limit exceeded") {
        (1009, "Message too big")
    } else {
        (1002, "Protocol error")
    }
}

impl Connection {
    /// Dispatches one text message.
    async fn on_text(&mut self, text: &str) {
        match super::protocol::parse(self.protocol, text) {
            Ok(message) => self.on_message(message).await,
            Err(invalid) => self.invalid(invalid),
        }
    }

    async fn on_message(&mut self, message: ClientMessage) {
        match message {
            ClientMessage::ConnectionInit { payload } => self.on_init(payload).await,
            ClientMessage::Ping { payload } => {
                self.send(ServerMessage::Pong(payload.as_ref()));
            }
            ClientMessage::Pong => {}
            ClientMessage::Subscribe { id, request } => self.on_subscribe(id, *request),
            ClientMessage::Complete { id } => {
                // The client asked: no `complete` goes back.
                if let Some(handle) = self.operations.remove(&id) {
                    handle.abort();
                }
            }
            ClientMessage::Terminate => self.sends.close(1000, "Normal closure"),
        }
    }

    /// graphql-transport-ws closes 4400; the legacy protocol answers with an
    /// `error` message and carries on, as subscriptions-transport-ws does.
    fn invalid(&self, invalid: Invalid) {
        match self.protocol {
            Protocol::TransportWs => self.sends.close(4400, &invalid.reason),
            Protocol::Legacy => {
                let payload = json!({ "message": invalid.reason });
                self.send(ServerMessage::Error {
                    id: invalid.id.as_deref(),
                    payload: &payload,
                });
            }
        }
    }

    async fn on_init(&mut self, payload: Option<Map<String, Value>>) {
        if self.ready.is_some() {
            match self.protocol {
                Protocol::TransportWs => self.sends.close(4429, "Too many initialisation requests"),
                Protocol::Legacy => {
                    let payload = json!({ "message": "Too many initialisation requests" });
                    self.send(ServerMessage::Error {
                        id: None,
                        payload: &payload,
                    });
                }
            }
            return;
        }
        let token = payload.as_ref().and_then(bearer_token);
        let Some(token) = token.or_else(|| self.upgrade_token.take().map(String::from)) else {
            return self.refuse("missing token");
        };
        self.upgrade_token = None;
        let app = &self.state.app;
        let authenticated =
            match principal::authenticate_session(&app.db, &app.tokens, &token).await {
                Ok(authenticated) => authenticated,
                Err(Error::Unauthenticated(message)) => return self.refuse(&message),
                Err(other) => {
                    tracing::error!(error = %other, "websocket authentication failed");
                    self.sends.close(1013, "try again later");
                    return;
                }
            };
        let principal = authenticated.principal;
        let max = self.settings.max_connections_per_user;
        let Some(slot) = self
            .state
            .connections
            .acquire(principal.user_id, max, self.sends.clone())
        else {
            tracing::info!(user.id = %principal.user_id, max, "too many websocket connections");
            return self.close_refused(4429, "Too many connections");
        };
        let leeway = chrono::Duration::seconds(app.settings.auth.leeway_secs.min(3600) as i64);
        let left = (authenticated.expires_at + leeway - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        self.ready = Some(Ready {
            principal,
            expires: Instant::now() + left,
            _slot: slot,
        });
        self.send(ServerMessage::Ack);
        if self.protocol == Protocol::Legacy {
            // subscriptions-transport-ws sends the first `ka` right after the ack.
            self.send(ServerMessage::KeepAlive);
        }
    }

    /// Refuses `connection_init` with 4403.
    fn refuse(&self, why: &str) {
        self.close_refused(4403, &format!("Forbidden: {why}"));
    }

    /// Closes after a refused init; the legacy protocol first says why in a
    /// `connection_error` message, as subscriptions-transport-ws does.
    fn close_refused(&self, code: u16, reason: &str) {
        if self.protocol == Protocol::Legacy {
            self.send(ServerMessage::ConnectionError { message: reason });
        }
        self.sends.close(code, reason);
    }

    fn on_subscribe(&mut self, id: String, request: Request) {
        let Some(ready) = &self.ready else {
            match self.protocol {
                Protocol::TransportWs => self.sends.close(4401, "Unauthorized"),
                Protocol::Legacy => {
                    self.operation_error(&id, "connection not initialised", "UNAUTHENTICATED")
                }
            }
            return;
        };
        let principal = ready.principal;
        if let Some(running) = self.operations.get(&id) {
            match self.protocol {
                Protocol::TransportWs => {
                    self.sends
                        .close(4409, &format!("Subscriber for {id} already exists"));
                    return;
                }
                // subscriptions-transport-ws stops the old operation and starts the new one.
                Protocol::Legacy => {
                    running.abort();
                    self.operations.remove(&id);
                }
            }
        }
        let max = self.settings.max_operations;
        if self.operations.len() >= max {
            let message = format!("too many operations: at most {max} at once on a connection");
            return self.operation_error(&id, &message, CODE_BAD_USER_INPUT);
        }
        let live = LiveOperation::start(
            &self.state.schema,
            &self.state.renderings,
            &self.state.app.db,
            principal,
            self.address,
            request,
        );
        let live = match live {
            Ok(live) => live,
            Err(message) => return self.operation_error(&id, &message, CODE_BAD_USER_INPUT),
        };
        let operation = OperationTask {
            id: id.clone(),
            live,
            sends: self.sends.clone(),
            protocol: self.protocol,
        };
        let handle = self.tasks.spawn(operation.run());
        self.operations.insert(id, handle);
    }

    /// An `error` message for one operation, with a coded error.
    fn operation_error(&self, id: &str, message: &str, code: &str) {
        let errors = json!([coded_error(message, code)]);
        self.send(ServerMessage::Error {
            id: Some(id),
            payload: &errors,
        });
    }

    /// An operation task ended: forget it, unless the id was reused since.
    fn finished(&mut self, result: Result<(tokio::task::Id, String), tokio::task::JoinError>) {
        match result {
            Ok((task, id)) => {
                if self.operations.get(&id).is_some_and(|h| h.id() == task) {
                    self.operations.remove(&id);
                }
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                tracing::error!(error = %e, "websocket operation task failed");
                self.operations.retain(|_, h| h.id() != e.id());
            }
        }
    }

    /// Sends a keep-alive, or closes 1001 when the peer has gone quiet: sent
    /// nothing and read nothing the server had to wait for, for two intervals.
    fn keep_alive(&self, every: Duration) {
        let alive = self
            .sends
            .peer_read_at()
            .map_or(self.last_seen, |read| read.max(self.last_seen));
        if alive.elapsed() > every * 2 {
            self.sends.close(1001, "keep-alive timeout");
            return;
        }
        if self.ready.is_none() && self.protocol == Protocol::Legacy {
            return;
        }
        self.send(ServerMessage::KeepAlive);
        if self.protocol == Protocol::Legacy {
            // Legacy clients never answer `ka`; a protocol-level ping gets
            // an automatic pong from every WebSocket stack, proving liveness.
            self.sends.send_message(Message::Ping(Default::default()));
        }
    }

    /// Re-reads the user: a deactivated or changed account closes 4403.
    async fn recheck(&self) {
        let Some(ready) = &self.ready else { return };
        let current = ready.principal;
        match principal::load(&self.state.app.db, current.user_id).await {
            Ok(now) if now == current => {}
            Ok(_) => self.sends.close(4403, "Forbidden: account changed"),
            Err(Error::Unauthenticated(_)) => {
                self.sends.close(4403, "Forbidden: account is not active");
            }
            Err(e) => tracing::warn!(error = %e, "websocket principal re-check failed"),
        }
    }

    fn send(&self, message: ServerMessage<'_>) {
        self.sends.send(message.to_text(self.protocol));
    }
}

/// The token of a `connection_init` payload: `authorization`,
/// `Authorization`, `authToken` or `token` (raw or `Bearer …`), at the top
/// level or under `headers`.
fn bearer_token(payload: &Map<String, Value>) -> Option<String> {
    const KEYS: [&str; 4] = ["authorization", "Authorization", "authToken", "token"];
    fn find(map: &Map<String, Value>) -> Option<&str> {
        KEYS.iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str))
    }
    let value = find(payload).or_else(|| payload.get("headers")?.as_object().and_then(find))?;
    strip_bearer(value)
}

/// The token of an `Authorization` value, raw or `Bearer …`.
pub fn strip_bearer(value: &str) -> Option<String> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => value,
    };
    (!token.is_empty()).then(|| token.to_owned())
}
