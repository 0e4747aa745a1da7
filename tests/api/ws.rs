//! GraphQL over WebSocket at `/graphql/ws`, driven with raw frames: both
//! subprotocols, every graphql-ws close code, keep-alive, token expiry and
//! the per-connection limits.

use std::time::Duration;

use entity::enums::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::helpers::{Backend, PROGRESS, TestApp, spawn_app, spawn_app_with};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const TRANSPORT: &str = "graphql-transport-ws";
const LEGACY: &str = "graphql-ws";
/// How long a test waits for any one frame.
const WAIT: Duration = Duration::from_secs(5);

fn ws_url(app: &TestApp) -> String {
    format!("{}/graphql/ws", app.address.replacen("http://", "ws://", 1))
}

/// Opens a socket offering `protocol`; checks the server echoed it.
async fn connect(app: &TestApp, protocol: &str) -> Socket {
    connect_to(&ws_url(app), protocol).await
}

/// Opens a socket to `url` offering `protocol`; checks the server echoed it.
pub async fn connect_to(url: &str, protocol: &str) -> Socket {
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
    let (socket, response) = connect_async(request).await.expect("upgraded");
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    send_text(socket, message.to_string()).await;
}

async fn send_text(socket: &mut Socket, text: String) {
    socket
        .send(Message::Text(text.into()))
        .await
        .expect("frame sent");
}

/// The next JSON message; panics on a close or after [`WAIT`].
pub async fn recv(socket: &mut Socket) -> Value {
    recv_within(socket, WAIT).await
}

/// The next JSON message; panics on a close or after `wait`.
async fn recv_within(socket: &mut Socket, wait: Duration) -> Value {
    loop {
        let frame = tokio::time::timeout(wait, socket.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .expect("frame read");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON message"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

/// The next message that is not a keep-alive.
pub async fn recv_operation(socket: &mut Socket) -> Value {
    recv_operation_within(socket, WAIT).await
}

/// The next message that is not a keep-alive, within `wait` for each frame.
pub async fn recv_operation_within(socket: &mut Socket, wait: Duration) -> Value {
    loop {
        let message = recv_within(socket, wait).await;
        if !matches!(message["type"].as_str(), Some("ka" | "ping")) {
            return message;
        }
    }
}

/// Reads until the server's close frame: its code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("closed in time");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket failed before closing: {e}"),
        }
    }
}

/// `connection_init` with `token`, expecting `connection_ack`.
pub async fn init(socket: &mut Socket, token: &str) {
    let payload = json!({ "authorization": format!("Bearer {token}") });
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(recv(socket).await["type"], "connection_ack");
}

/// A graphql-transport-ws socket acknowledged for `token`.
pub async fn ready_socket(app: &TestApp, token: &str) -> Socket {
    let mut socket = connect(app, TRANSPORT).await;
    init(&mut socket, token).await;
    socket
}

pub fn subscribe(id: &str, query: &str, variables: Value) -> Value {
    json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })
}

#[tokio::test]
async fn an_upgrade_without_a_graphql_subprotocol_is_refused_before_the_upgrade() {
    let app = spawn_app(Backend::Sqlite).await;
    for offered in [None, Some("mqtt")] {
        let mut request = ws_url(&app).into_client_request().expect("request");
        if let Some(offered) = offered {
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", offered.parse().unwrap());
        }
        match connect_async(request).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status(), 400, "{offered:?}");
                let body: Value =
                    serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                        .expect("JSON body");
                assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
            }
            other => panic!("expected a 400 refusal for {offered:?}, got {other:?}"),
        }
    }
    assert!(app.healthy().await);
}

#[tokio::test]
async fn a_message_that_is_not_json_closes_4400() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    send_text(&mut socket, "{ not json".into()).await;
    assert_eq!(closed(&mut socket).await.0, 4400);
    assert!(app.healthy().await);
}

#[tokio::test]
async fn an_unknown_message_type_or_a_bad_payload_closes_4400() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    send(&mut socket, json!({ "type": "start", "id": "1" })).await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4400);
    assert!(reason.contains("start"), "{reason}");

    let mut socket = ready_socket(&app, &app.admin()).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": 42 } }),
    )
    .await;
    assert_eq!(closed(&mut socket).await.0, 4400);
}

#[tokio::test]
async fn subscribe_before_the_ack_closes_4401() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = connect(&app, TRANSPORT).await;
    send(&mut socket, subscribe("1", "{ me { id } }", json!({}))).await;
    assert_eq!(closed(&mut socket).await, (4401, "Unauthorized".into()));
}

#[tokio::test]
async fn connection_init_without_a_valid_token_closes_4403() {
    let app = spawn_app(Backend::Sqlite).await;
    let expired = app
        .state
        .tokens
        .issue_with_ttl(app.demo.admin, app.demo.org_id, Role::Admin, 0)
        .expect("token")
        .token;
    let payloads = [
        json!({}),
        json!({ "authorization": "Bearer not-a-jwt" }),
        json!({ "authToken": "not-a-jwt" }),
        json!({ "Authorization": format!("Bearer {expired}x") }),
    ];
    for payload in payloads {
        let mut socket = connect(&app, TRANSPORT).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(code, 4403, "{payload}: {reason}");
        assert!(reason.starts_with("Forbidden"), "{reason}");
        assert!(reason.len() <= 123);
    }
    // The accepted spellings of the token.
    let token = app.admin();
    for payload in [
        json!({ "authToken": token }),
        json!({ "Authorization": format!("bearer {token}") }),
        json!({ "token": token }),
    ] {
        let mut socket = connect(&app, TRANSPORT).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    }
}

/// Opens a socket whose upgrade request carries `Authorization: <value>`.
async fn connect_with_header(app: &TestApp, value: &str) -> Socket {
    let mut request = ws_url(app).into_client_request().expect("request");
    let headers = request.headers_mut();
    headers.insert("Sec-WebSocket-Protocol", TRANSPORT.parse().unwrap());
    headers.insert("Authorization", value.parse().unwrap());
    connect_async(request).await.expect("upgraded").0
}

/// Who the socket is signed in as, asked over the socket.
async fn me_over(socket: &mut Socket) -> Value {
    send(socket, subscribe("me", "{ me { id } }", json!({}))).await;
    recv_operation(socket).await["payload"]["data"]["me"]["id"].clone()
}

/// Native clients and integrators may authenticate the upgrade itself with
/// `Authorization: Bearer`; a token in `connection_init` still wins, and a
/// bad header token is refused like a bad payload one.
#[tokio::test]
async fn the_upgrade_may_carry_the_token_in_an_authorization_header() {
    let app = spawn_app(Backend::Sqlite).await;
    let admin = app.demo.admin.to_string();
    let mut socket = connect_with_header(&app, &format!("Bearer {}", app.admin())).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    assert_eq!(me_over(&mut socket).await, admin.as_str());

    let mut socket = connect_with_header(&app, &format!("Bearer {}", app.admin())).await;
    init(&mut socket, &app.client(1)).await;
    assert_eq!(
        me_over(&mut socket).await,
        app.demo.clients[0].to_string().as_str()
    );

    let mut socket = connect_with_header(&app, "Bearer not-a-jwt").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4403, "{reason}");
}

#[tokio::test]
async fn no_connection_init_in_time_closes_4408() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.init_timeout_ms = 200).await;
    let mut socket = connect(&app, TRANSPORT).await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!(code, 4408, "{reason}");
}

#[tokio::test]
async fn a_running_operation_id_reused_closes_4409() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    let watch = "subscription { changes(entityTypes: [TASK]) { cursor } }";
    send(&mut socket, subscribe("dup", watch, json!({}))).await;
    send(&mut socket, subscribe("dup", watch, json!({}))).await;
    assert_eq!(
        closed(&mut socket).await,
        (4409, "Subscriber for dup already exists".into())
    );
}

#[tokio::test]
async fn a_second_connection_init_closes_4429() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    let payload = json!({ "authorization": format!("Bearer {}", app.admin()) });
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(
        closed(&mut socket).await,
        (4429, "Too many initialisation requests".into())
    );
}

#[tokio::test]
async fn connections_past_the_per_user_limit_close_4429_and_free_their_slot() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.max_connections_per_user = 2).await;
    let token = app.worker(1);
    let first = ready_socket(&app, &token).await;
    let _second = ready_socket(&app, &token).await;
    let mut third = connect(&app, TRANSPORT).await;
    let payload = json!({ "authorization": format!("Bearer {token}") });
    send(
        &mut third,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(
        closed(&mut third).await,
        (4429, "Too many connections".into())
    );
    // Another user is not affected.
    let _other = ready_socket(&app, &app.worker(2)).await;

    drop(first);
    let mut freed = false;
    for _ in 0..50 {
        let mut socket = connect(&app, TRANSPORT).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": payload }),
        )
        .await;
        // The slot comes back once the server notices the drop: until then
        // the attempt is refused 4429, and tried again.
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("an answer in time")
            .expect("socket open")
            .expect("frame read");
        match frame {
            Message::Text(text) if text.contains("connection_ack") => {
                freed = true;
                break;
            }
            Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4429),
            other => panic!("expected an ack or 4429, got {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "a closed connection gives its slot back");
}

#[tokio::test]
async fn ping_is_answered_with_pong_echoing_the_payload() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.client(1)).await;
    send(
        &mut socket,
        json!({ "type": "ping", "payload": { "n": 7 } }),
    )
    .await;
    assert_eq!(
        recv(&mut socket).await,
        json!({ "type": "pong", "payload": { "n": 7 } })
    );
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(recv(&mut socket).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn the_server_pings_and_closes_a_peer_that_never_answers() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.keepalive_interval_ms = 250).await;
    let mut socket = ready_socket(&app, &app.client(1)).await;
    assert_eq!(recv(&mut socket).await, json!({ "type": "ping" }));
    // Answering keeps the connection open past two intervals...
    for _ in 0..3 {
        send(&mut socket, json!({ "type": "pong" })).await;
        assert_eq!(recv(&mut socket).await, json!({ "type": "ping" }));
    }
    // ...and silence does not.
    assert_eq!(
        closed(&mut socket).await,
        (1001, "keep-alive timeout".into())
    );
}

async fn a_query_over_the_socket_gets_next_then_complete(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    send(
        &mut socket,
        subscribe("q1", "{ me { email role } }", json!({})),
    )
    .await;
    let next = recv_operation(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["id"], "q1");
    assert_eq!(next["payload"]["data"]["me"]["role"], "ADMIN", "{next}");
    assert_eq!(
        recv_operation(&mut socket).await,
        json!({ "id": "q1", "type": "complete" })
    );
    // The id is free again once completed.
    send(&mut socket, subscribe("q1", "{ me { role } }", json!({}))).await;
    assert_eq!(recv_operation(&mut socket).await["type"], "next");
}

async fn a_mutation_over_the_socket_writes_and_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .query(
            &app.admin(),
            "{ tasks(first: 1) { edges { node { id } } } }",
        )
        .await
        .nodes("tasks")[0]["id"]
        .clone();
    let mut socket = ready_socket(&app, &app.admin()).await;
    let mutation = PROGRESS;
    send(
        &mut socket,
        subscribe("m1", mutation, json!({ "id": task, "p": 42 })),
    )
    .await;
    let next = recv_operation(&mut socket).await;
    assert_eq!(
        next["payload"]["data"]["updateTaskProgress"]["outcome"], "APPLIED",
        "{next}"
    );
    assert_eq!(recv_operation(&mut socket).await["type"], "complete");
    let progress = app
        .graphql(
            Some(&app.admin()),
            "query($id: ID!) { task(id: $id) { progress } }",
            json!({ "id": task }),
        )
        .await;
    assert_eq!(progress.ok()["task"]["progress"], 42);
}

async fn a_task_change_over_http_reaches_a_changes_subscriber(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app
        .query(
            &app.admin(),
            "{ tasks(first: 1) { edges { node { id } } } }",
        )
        .await
        .nodes("tasks")[0]["id"]
        .clone();
    // Subscribing `after` the newest change makes the feed start exactly
    // there, however long the server takes to open it.
    let cursor = app.newest_cursor().await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    send(
        &mut socket,
        subscribe(
            "live",
            "subscription($after: String) { changes(entityTypes: [TASK], after: $after) { cursor entityId } }",
            json!({ "after": cursor }),
        ),
    )
    .await;
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { updateTaskProgress(id: $id, progress: 77) { outcome } }",
        json!({ "id": task }),
    )
    .await
    .ok();
    loop {
        let event = recv_operation(&mut socket).await;
        assert_eq!(event["type"], "next", "{event}");
        assert_eq!(event["id"], "live");
        let change = &event["payload"]["data"]["changes"];
        assert!(change["cursor"].is_string(), "{event}");
        if change["entityId"] == task {
            break;
        }
    }
    // Completing from the client stops the stream: no `complete` comes back.
    send(&mut socket, json!({ "id": "live", "type": "complete" })).await;
    send(&mut socket, json!({ "type": "ping" })).await;
    assert_eq!(recv_operation(&mut socket).await["type"], "pong");
}

#[tokio::test]
async fn an_invalid_operation_gets_one_error_message_with_codes() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.worker(1)).await;
    send(&mut socket, subscribe("bad", "{ noSuchField }", json!({}))).await;
    send(&mut socket, subscribe("good", "{ me { role } }", json!({}))).await;
    let error = recv_operation(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "bad");
    let errors = error["payload"].as_array().expect("an errors array");
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| e["extensions"]["code"].is_string()));
    // Nothing more for `bad`: the next messages are all `good`'s.
    let next = recv_operation(&mut socket).await;
    assert_eq!(
        (next["id"].as_str(), next["type"].as_str()),
        (Some("good"), Some("next"))
    );
    assert_eq!(recv_operation(&mut socket).await["id"], "good");
}

#[tokio::test]
async fn the_legacy_protocol_works_end_to_end() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.keepalive_interval_ms = 200).await;
    let mut socket = connect(&app, LEGACY).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authToken": app.client(1) } }),
    )
    .await;
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    assert_eq!(recv(&mut socket).await["type"], "ka");
    send(
        &mut socket,
        json!({ "id": "1", "type": "start", "payload": { "query": "{ me { role } }" } }),
    )
    .await;
    let data = recv_operation(&mut socket).await;
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(data["payload"]["data"]["me"]["role"], "CLIENT");
    assert_eq!(
        recv_operation(&mut socket).await,
        json!({ "id": "1", "type": "complete" })
    );
    // A keep-alive arrives on the interval.
    assert_eq!(recv(&mut socket).await["type"], "ka");
    // Protocol mistakes are `error` messages; the socket stays open.
    send_text(&mut socket, "nonsense".into()).await;
    assert_eq!(recv_operation(&mut socket).await["type"], "error");
    send(
        &mut socket,
        json!({ "id": "2", "type": "start", "payload": { "query": "{ nope }" } }),
    )
    .await;
    let error = recv_operation(&mut socket).await;
    assert_eq!(
        (error["type"].as_str(), error["id"].as_str()),
        (Some("error"), Some("2"))
    );
    send(&mut socket, json!({ "type": "connection_terminate" })).await;
    assert_eq!(closed(&mut socket).await.0, 1000);
}

#[tokio::test]
async fn the_legacy_protocol_refuses_a_bad_token_with_connection_error() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = connect(&app, LEGACY).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authToken": "nope" } }),
    )
    .await;
    let error = recv(&mut socket).await;
    assert_eq!(error["type"], "connection_error", "{error}");
    assert!(error["payload"]["message"].is_string());
    assert_eq!(closed(&mut socket).await.0, 4403);
}

#[tokio::test]
async fn a_token_expiring_during_the_connection_closes_4403() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.auth.leeway_secs = 0).await;
    let token = app
        .state
        .tokens
        .issue_with_ttl(app.demo.workers[0], app.demo.org_id, Role::Worker, 2)
        .expect("token")
        .token;
    let mut socket = ready_socket(&app, &token).await;
    let (code, reason) = closed(&mut socket).await;
    assert_eq!((code, reason.as_str()), (4403, "Forbidden: token expired"));
}

#[tokio::test]
async fn a_server_shutting_down_closes_its_sockets_1001() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut idle = ready_socket(&app, &app.worker(1)).await;
    let mut following = ready_socket(&app, &app.admin()).await;
    send(
        &mut following,
        subscribe("s", "subscription { changes { cursor } }", json!({})),
    )
    .await;
    app.shutdown.cancel();
    for socket in [&mut idle, &mut following] {
        let (code, reason) = closed(socket).await;
        assert_eq!((code, reason.as_str()), (1001, "Server shutting down"));
    }
}

/// A client that closes (idle, mid-subscription, or before the handshake
/// is done) gets its close frame echoed, 1000, as RFC 6455 asks: the
/// graphql-ws client then reports a clean close, not 1006.
#[tokio::test]
async fn a_client_close_is_echoed_1000() {
    let app = spawn_app(Backend::Sqlite).await;
    let idle = ready_socket(&app, &app.worker(1)).await;
    let mut following = ready_socket(&app, &app.admin()).await;
    send(
        &mut following,
        subscribe("s", "subscription { changes { cursor } }", json!({})),
    )
    .await;
    let fresh = connect(&app, TRANSPORT).await;
    for mut socket in [idle, following, fresh] {
        socket
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: 1000.into(),
                reason: "bye".into(),
            }))
            .await
            .expect("close sent");
        assert_eq!(closed(&mut socket).await.0, 1000);
    }
}

async fn a_deactivated_users_socket_closes_4403_at_once(backend: Backend) {
    // The periodic re-check is far away: the close must come from the change itself.
    let app = spawn_app_with(backend, |s| s.ws.recheck_interval_ms = 600_000).await;
    let mut socket = ready_socket(&app, &app.worker(2)).await;
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { deactivateUser(id: $id) { outcome } }",
        json!({ "id": app.demo.workers[1].to_string() }),
    )
    .await
    .ok();
    assert_eq!(
        closed(&mut socket).await,
        (4403, "Forbidden: account is not active".into())
    );
}

crate::on_both_backends!(
    a_query_over_the_socket_gets_next_then_complete,
    a_mutation_over_the_socket_writes_and_answers,
    a_task_change_over_http_reaches_a_changes_subscriber,
    a_deactivated_users_socket_closes_4403_at_once,
);

#[tokio::test]
async fn operations_past_the_limit_get_an_error_and_the_connection_lives_on() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.max_operations = 2).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    let watch = "subscription { changes(entityTypes: [TASK]) { cursor } }";
    for id in ["a", "b", "c"] {
        send(&mut socket, subscribe(id, watch, json!({}))).await;
    }
    let error = recv_operation(&mut socket).await;
    assert_eq!(
        (error["type"].as_str(), error["id"].as_str()),
        (Some("error"), Some("c"))
    );
    assert_eq!(error["payload"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        error["payload"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too many operations")
    );
    // Completing one frees its place.
    send(&mut socket, json!({ "id": "a", "type": "complete" })).await;
    send(&mut socket, subscribe("d", "{ me { role } }", json!({}))).await;
    let next = recv_operation(&mut socket).await;
    assert_eq!(
        (next["type"].as_str(), next["id"].as_str()),
        (Some("next"), Some("d"))
    );
}

#[tokio::test]
async fn a_message_past_the_size_limit_closes_1009_and_the_server_stays_healthy() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    let query = format!("{{ me {{ id }} }} #{}", "x".repeat(70 * 1024));
    send(&mut socket, subscribe("big", &query, json!({}))).await;
    assert_eq!(closed(&mut socket).await.0, 1009);
    assert!(app.healthy().await);
    // Just under the limit is fine.
    let mut socket = ready_socket(&app, &app.admin()).await;
    let query = format!("{{ me {{ role }} }} #{}", "x".repeat(60 * 1024));
    send(&mut socket, subscribe("ok", &query, json!({}))).await;
    assert_eq!(recv_operation(&mut socket).await["type"], "next");
}

/// The server's count of sockets closed 1013.
async fn slow_consumers_closed(app: &TestApp) -> u64 {
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("fieldsync_ws_slow_consumers_closed_total "))
        .map_or(0, |v| v.trim().parse().expect("a count"))
}

/// A socket with a tiny receive buffer, so a peer that stops reading fills
/// the server's queue after a few dozen events rather than megabytes.
async fn connect_slow(app: &TestApp) -> Socket {
    let address: std::net::SocketAddr = app.address["http://".len()..].parse().expect("address");
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(2048).expect("small buffer");
    let stream = tcp.connect(address).await.expect("connected");
    let mut request = ws_url(app).into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", TRANSPORT.parse().expect("header"));
    let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .expect("upgraded");
    socket
}

/// The versions of `task` in a `changes` event, if it is one of `task`'s.
fn version_of(event: &Value, task: &Value) -> Option<(i64, String)> {
    let change = &event["payload"]["data"]["changes"];
    (change["entityId"] == *task).then(|| {
        (
            change["version"].as_i64().expect("version"),
            change["cursor"].as_str().expect("cursor").to_owned(),
        )
    })
}

/// [`first_task_and_cursor`], after giving the task a description of
/// `bytes`, so each of its events weighs that much: the kernel's socket
/// buffers, which grow to megabytes on loopback, then hold a few hundred
/// events, not thousands, and a reader that does not keep up really holds
/// the server back.
async fn heavy_task_and_cursor(app: &TestApp, bytes: usize) -> (Value, i64, String) {
    let (id, _, _) = first_task_and_cursor(app).await;
    let long = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: ID!, $d: String!) { updateTask(id: $id, patch: { description: $d }) { outcome } }",
            json!({ "id": id, "d": "x".repeat(bytes) }),
        )
        .await;
    assert_eq!(long.ok()["updateTask"]["outcome"], "APPLIED");
    first_task_and_cursor(app).await
}

/// The first task's id and version, and a cursor at the newest change.
async fn first_task_and_cursor(app: &TestApp) -> (Value, i64, String) {
    let task = app
        .query(
            &app.admin(),
            "{ tasks(first: 1) { edges { node { id version } } } }",
        )
        .await
        .nodes("tasks")[0]
        .clone();
    let version = task["version"].as_i64().expect("version");
    (task["id"].clone(), version, app.newest_cursor().await)
}

#[tokio::test]
async fn a_consumer_too_slow_is_closed_1013_and_resumes_without_loss() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.ws.outbound_queue = 8;
        s.ws.slow_consumer_grace_ms = 300;
    })
    .await;
    let (id, first_version, start) = heavy_task_and_cursor(&app, 9_000).await;
    let watch = "subscription($after: String) { changes(entityTypes: [TASK], after: $after) { cursor entityId version snapshot } }";
    let mut slow = connect_slow(&app).await;
    init(&mut slow, &app.admin()).await;
    send(&mut slow, subscribe("s", watch, json!({ "after": start }))).await;
    let closed_before = slow_consumers_closed(&app).await;

    // Write without reading until the server gives up on the socket.
    let mut writes = 0;
    while slow_consumers_closed(&app).await == closed_before {
        assert!(writes < 3000, "the queue never filled");
        for _ in 0..20 {
            writes += 1;
            app.graphql(
                Some(&app.admin()),
                PROGRESS,
                json!({ "id": id, "p": writes % 90 + 1 }),
            )
            .await
            .ok();
        }
    }
    let last_version = first_version + writes;

    // What was already on its way arrives, then the 1013 close.
    let mut seen = Vec::new();
    let mut cursor = start.clone();
    loop {
        let frame = tokio::time::timeout(WAIT, slow.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("frame");
        match frame {
            Message::Text(text) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                if let Some((version, at)) = version_of(&event, &id) {
                    seen.push(version);
                    cursor = at;
                }
            }
            Message::Close(Some(frame)) => {
                assert_eq!(u16::from(frame.code), 1013, "{frame:?}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!((seen.len() as i64) < writes, "closed before the end");

    // Resuming from the last cursor received delivers the rest, once each.
    let mut resumed = ready_socket(&app, &app.admin()).await;
    send(
        &mut resumed,
        subscribe("r", watch, json!({ "after": cursor })),
    )
    .await;
    while seen.last() != Some(&last_version) {
        let event = recv_operation(&mut resumed).await;
        if let Some((version, _)) = version_of(&event, &id) {
            seen.push(version);
        }
    }
    let expected: Vec<i64> = (first_version + 1..=last_version).collect();
    assert_eq!(seen, expected, "no gap, no duplicate");
}

#[tokio::test]
async fn a_replay_longer_than_the_queue_reaches_a_reader_with_keepalives_between() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.ws.outbound_queue = 8;
        s.ws.keepalive_interval_ms = 300;
    })
    .await;
    // 600 events of ~10 KB, 6 MB, read through a tiny receive buffer at
    // ~2 ms an event: the server's send buffer (4 MB at most on Linux)
    // holds two thirds of it, so a ping queued as the replay starts waits
    // behind ~0.8 s of reading, and the reader answers it past two
    // intervals of silence. Its steady reading keeps the socket open.
    let (id, first_version, start) = heavy_task_and_cursor(&app, 9_900).await;
    let writes = 600;
    for n in 0..writes {
        app.graphql(
            Some(&app.admin()),
            PROGRESS,
            json!({ "id": id, "p": n % 90 + 1 }),
        )
        .await
        .ok();
    }

    let mut socket = connect_slow(&app).await;
    init(&mut socket, &app.admin()).await;
    let watch = "subscription($after: String) { changes(entityTypes: [TASK], after: $after) { cursor entityId version snapshot } }";
    send(
        &mut socket,
        subscribe("r", watch, json!({ "after": start })),
    )
    .await;
    let mut seen = Vec::new();
    let mut pings_between = 0;
    let read = |message: Value, seen: &mut Vec<i64>| {
        if message["type"] == "ping" {
            return Some(json!({ "type": "pong" }));
        }
        let (version, _) = version_of(&message, &id).unwrap_or_else(|| panic!("{message}"));
        seen.push(version);
        None
    };
    while seen.last() != Some(&(first_version + writes)) {
        let message = recv(&mut socket).await;
        if let Some(pong) = read(message, &mut seen) {
            pings_between += 1;
            send(&mut socket, pong).await;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let expected: Vec<i64> = (first_version + 1..=first_version + writes).collect();
    assert_eq!(seen, expected, "the whole replay, in order, on one socket");
    assert!(
        pings_between >= 1,
        "keep-alives reach the reader while the replay flows"
    );

    // Still open, and live: the next write arrives on the same socket.
    app.graphql(Some(&app.admin()), PROGRESS, json!({ "id": id, "p": 99 }))
        .await
        .ok();
    while seen.last() != Some(&(first_version + writes + 1)) {
        if let Some(pong) = read(recv(&mut socket).await, &mut seen) {
            send(&mut socket, pong).await;
        }
    }
}

/// Subscribers whose events render alike share one rendering; those whose
/// role or selection differs never get another's: an administrator sees
/// the creator's email, a client does not, and `@include(if: $full)` is
/// honoured per subscriber, however the events' renderings are shared.
#[tokio::test]
async fn shared_renderings_never_cross_roles_or_selections() {
    let app = spawn_app(Backend::Sqlite).await;
    let newest = fieldsync::changelog::newest_seq(&app.state.db)
        .await
        .unwrap();
    let document = "subscription($after: String, $full: Boolean!) { taskChanged(after: $after) { entityId entity { ... on Task { progress createdBy @include(if: $full) { email } } } } }";
    let mut sockets = Vec::new();
    for (token, full) in [
        (app.admin(), true),
        (app.admin(), false),
        (app.client(1), true),
        (app.admin(), true),
    ] {
        let mut socket = ready_socket(&app, &token).await;
        // Each resumes from its own cursor (the cursor also says when it
        // was issued, in seconds), so `after` differs on every socket.
        let issued = chrono::Utc::now() - chrono::Duration::seconds(sockets.len() as i64);
        let cursor = fieldsync::changelog::cursor::encode(newest, issued);
        let variables = json!({ "after": cursor, "full": full });
        send(&mut socket, subscribe("s", document, variables)).await;
        sockets.push(socket);
    }
    let task = app.task_in(0, "IN_PROGRESS").await;
    for p in [31, 32, 33] {
        app.graphql(Some(&app.admin()), PROGRESS, json!({ "id": task, "p": p }))
            .await
            .ok();
        let mut events = Vec::new();
        for socket in &mut sockets {
            let message = recv_operation(socket).await;
            assert_eq!(message["type"], "next", "{message}");
            events.push(message["payload"]["data"]["taskChanged"]["entity"].clone());
        }
        let [admin_full, admin_bare, client_full, admin_again] = &events[..] else {
            unreachable!()
        };
        // Whole objects: a rendering shared across selections or roles
        // would add, drop or fill a field.
        let creator = app.demo.email("admin");
        assert_eq!(
            *admin_full,
            json!({ "progress": p, "createdBy": { "email": creator } })
        );
        assert_eq!(admin_again, admin_full);
        assert_eq!(*admin_bare, json!({ "progress": p }));
        assert_eq!(
            *client_full,
            json!({ "progress": p, "createdBy": { "email": null } })
        );
    }
}

/// A subscription its resolver refuses (an expired cursor, a worker asking
/// for locations) answers one `next` with the coded error, then
/// `complete`; the socket carries on.
#[tokio::test]
async fn a_refused_subscription_gets_its_error_then_complete() {
    let app = spawn_app(Backend::Sqlite).await;
    let old =
        fieldsync::changelog::cursor::encode(0, chrono::Utc::now() - chrono::Duration::days(400));
    let cases = [
        (
            app.admin(),
            "subscription($c: String) { changes(after: $c) { cursor } }",
            json!({ "c": old }),
            "CURSOR_EXPIRED",
        ),
        (
            app.worker(1),
            "subscription { workerLocationUpdated { cursor } }",
            json!({}),
            "FORBIDDEN",
        ),
    ];
    for (token, query, variables, code) in cases {
        let mut socket = ready_socket(&app, &token).await;
        send(&mut socket, subscribe("s", query, variables)).await;
        let message = recv_operation(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(
            message["payload"]["errors"][0]["extensions"]["code"], code,
            "{message}"
        );
        assert_eq!(
            recv_operation(&mut socket).await,
            json!({ "id": "s", "type": "complete" })
        );
        send(&mut socket, subscribe("q", "{ me { id } }", json!({}))).await;
        assert_eq!(recv_operation(&mut socket).await["type"], "next");
    }
}

/// A subscription selects exactly one root field, directly (GraphQL's
/// "single root field" rule, which async-graphql does not check; and it
/// ignores fragments at a subscription's root): anything else gets an
/// `error` message naming the rule; fragments inside the field are fine.
#[tokio::test]
async fn a_subscription_must_select_one_root_field_directly() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut socket = ready_socket(&app, &app.admin()).await;
    for (id, query, rule) in [
        (
            "aliases",
            "subscription { a: changes { cursor } b: changes { cursor } }",
            "exactly one root field",
        ),
        (
            "fragment",
            "subscription { ...Feed } fragment Feed on SubscriptionRoot { taskChanged { cursor } }",
            "directly",
        ),
    ] {
        send(&mut socket, subscribe(id, query, json!({}))).await;
        let message = recv_operation(&mut socket).await;
        assert_eq!(message["type"], "error", "{message}");
        assert_eq!(message["id"], id);
        assert_eq!(
            message["payload"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
        assert!(
            message["payload"][0]["message"]
                .as_str()
                .unwrap()
                .contains(rule),
            "{message}"
        );
    }
    let cursor = app.newest_cursor().await;
    let one = "subscription($c: String) { taskChanged(after: $c) { ...Fields } } fragment Fields on ChangeEvent { version }";
    send(&mut socket, subscribe("one", one, json!({ "c": cursor }))).await;
    let task = app.task_in(0, "IN_PROGRESS").await;
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { updateTaskProgress(id: $id, progress: 5) { outcome } }",
        json!({ "id": task }),
    )
    .await
    .ok();
    let message = recv_operation(&mut socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["data"]["taskChanged"]["version"].is_i64());
}
