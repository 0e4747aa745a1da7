//! `/graphql/ws`: GraphQL over WebSocket, fieldsync's own protocol layer over
//! `Schema::execute_stream`, speaking `graphql-transport-ws` (graphql-ws) and
//! the legacy `graphql-ws` (subscriptions-transport-ws).
//!
//! Ours rather than async-graphql's, whose layer departs from the graphql-ws
//! close codes (see STACK.md): a client that gets 1002/1011 where 4403 was due
//! stops reconnecting, stranding an app whose token merely expired.
//!
//! The legacy protocol follows subscriptions-transport-ws where the two
//! differ: an invalid message, an unknown type, `start` before init and a
//! second `connection_init` get an `error` message and the socket stays open;
//! a duplicate id stops the old operation and starts the new one; a refused
//! `connection_init` gets `connection_error` and then the same close code as
//! graphql-transport-ws (4403, or 4429 for too many connections). Init
//! timeout, token expiry and deactivation close as in graphql-transport-ws.
//!
//! - [`protocol`]: the messages of both dialects.
//! - [`connection`]: one socket's state machine and the close codes.
//! - [`operation`]: one operation's task, sending what the API's
//!   `graphql::live` seam yields (results, and a subscription's events
//!   rendered once per alike subscribers) in its lane.
//! - [`lanes`]: the delivery order of queued messages.
//! - [`send_queue`]: the bounded outbound queue and its writer task.
//! - [`limits`]: connections per user.

pub mod connection;
pub mod lanes;
pub mod limits;
pub mod operation;
pub mod protocol;
pub mod send_queue;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use tokio_util::sync::CancellationToken;

use crate::domain::facts::Facts;
use crate::domain::visibility::LoggedChange;
use crate::graphql::AppSchema;
use crate::graphql::context::client_address;
use crate::graphql::errors::{CODE_BAD_USER_INPUT, coded_error};
use crate::graphql::renderings::Renderings;
use crate::state::AppState;
use protocol::Protocol;

/// tungstenite reads into a buffer of this size, touched in full on the
/// first read: 128 KiB by default, which an idle subscriber would hold in
/// RSS forever. Messages larger than this still arrive, in several reads.
const READ_BUFFER_BYTES: usize = 1024;
/// Outbound bytes gathered before a write to the socket.
const WRITE_BUFFER_BYTES: usize = 1024;
/// The most a socket's write buffer may hold (it only grows past
/// `WRITE_BUFFER_BYTES` while writes stall). It must exceed the largest
/// single message, [`connection::MAX_OUTBOUND_BYTES`].
const MAX_WRITE_BUFFER_BYTES: usize = 2 * 1024 * 1024;

/// What the WebSocket handler shares.
#[derive(Clone)]
pub struct WsState {
    /// The application state.
    pub app: AppState,
    /// The executable schema, built once.
    pub schema: AppSchema,
    /// Cancelled when the server stops: every socket closes 1001.
    pub shutdown: CancellationToken,
    /// Subscription events rendered once for every operation alike.
    pub renderings: Arc<Renderings>,
    /// Open connections per user, against `ws.max_connections_per_user`.
    pub connections: limits::ConnectionCounts,
}

/// The `/graphql/ws` route, with its own state. Also starts the task that
/// closes a user's sockets the moment their account is deactivated.
pub fn routes(app: AppState, schema: AppSchema, shutdown: CancellationToken) -> Router {
    let state = WsState {
        renderings: Arc::default(),
        app,
        schema,
        shutdown,
        connections: limits::ConnectionCounts::default(),
    };
    tokio::spawn(close_deactivated(
        state.app.hub.subscribe(),
        state.connections.clone(),
    ));
    Router::new()
        .route("/graphql/ws", get(upgrade))
        .with_state(state)
}

/// GET /graphql/ws: upgrades when the client offers one of our subprotocols,
/// refuses with 400 before the upgrade otherwise.
async fn upgrade(
    State(state): State<WsState>,
    extensions: Extensions,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade.protocols(Protocol::NAMES),
        Err(rejection) => return refuse(rejection.status(), &rejection.body_text()),
    };
    let Some(protocol) = upgrade
        .selected_protocol()
        .and_then(|v| v.to_str().ok())
        .and_then(Protocol::from_name)
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws",
        );
    };
    let limits = &state.app.settings.ws;
    let peer = connection::Peer {
        address: client_address(
            &extensions,
            &headers,
            state.app.settings.server.trust_forwarded_for,
        ),
        token: headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(connection::strip_bearer)
            .map(String::into_boxed_str),
    };
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| connection::serve(socket, protocol, state, peer))
}

/// A refusal before the upgrade: a status and one coded GraphQL error.
fn refuse(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [coded_error(message, CODE_BAD_USER_INPUT)] });
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Watches the change log for users who lost access (deactivated or
/// deleted) and closes their sockets with 4403 at once; the periodic
/// re-check in each connection covers changes made outside the API.
async fn close_deactivated(
    mut changes: tokio::sync::broadcast::Receiver<Arc<LoggedChange>>,
    connections: limits::ConnectionCounts,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let row = match changes.recv().await {
            Ok(row) => row,
            // Missed rows: the per-connection re-check catches up with them.
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        };
        if row.entity_type != entity::enums::EntityType::User {
            continue;
        }
        let user = Facts::of(row.entity_type, &row.snapshot);
        if user.inactive || user.deleted {
            let user = entity::ids::UserId::from(row.entity_id);
            connections.close_user(user, 4403, "Forbidden: account is not active");
        }
    }
}
