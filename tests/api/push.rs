//! Push notifications end to end: a GraphQL write goes through the change
//! log, the router and the sender to a local mock of Expo's push API, which
//! answers as Expo does (tickets, ticket errors, 5xx).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use entity::enums::NotificationStatus;
use entity::ids::UserId;
use entity::notification;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_with};

const REGISTER: &str = "mutation($t: String!) { registerDevice(provider: EXPO, token: $t, platform: \"ios\", environment: \"production\", appVersion: \"1.4.0\") { id } }";
const ASSIGN: &str =
    "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
const WORKER_PHONE: &str = "ExponentPushToken[worker1-phone-0000000]";
const ADMIN_PHONE: &str = "ExponentPushToken[admin-phone-000000000]";

/// How the mock answers a send request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// An `ok` ticket per message.
    Accept,
    /// A `DeviceNotRegistered` ticket error per message.
    DeviceNotRegistered,
    /// 503 to the first request, then `ok` tickets.
    UnavailableOnce,
}

/// What the mock saw.
#[derive(Default)]
struct Seen {
    /// Send requests received, answered or not.
    requests: usize,
    /// Messages of the requests it answered 200.
    answered: Vec<Value>,
    /// The `Authorization` header of the last request.
    authorization: Option<String>,
}

#[derive(Clone)]
struct Mock {
    script: Script,
    seen: Arc<Mutex<Seen>>,
}

/// Starts the mock Expo API on a free port; returns its base URL and log.
async fn start_mock(script: Script) -> (String, Arc<Mutex<Seen>>) {
    let mock = Mock {
        script,
        seen: Arc::default(),
    };
    let seen = mock.seen.clone();
    let app = axum::Router::new()
        .route("/--/api/v2/push/send", axum::routing::post(send))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind mock");
    let url = format!("http://{}", listener.local_addr().expect("mock addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn send(
    State(mock): State<Mock>,
    headers: axum::http::HeaderMap,
    Json(messages): Json<Vec<Value>>,
) -> Response {
    let mut seen = mock.seen.lock().expect("mock lock");
    seen.requests += 1;
    seen.authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if mock.script == Script::UnavailableOnce && seen.requests == 1 {
        return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
    }
    let tickets: Vec<Value> = messages
        .iter()
        .map(|m| match mock.script {
            Script::DeviceNotRegistered => json!({
                "status": "error",
                "message": format!("{} is not a registered push notification recipient", m["to"]),
                "details": { "error": "DeviceNotRegistered" }
            }),
            _ => json!({ "status": "ok", "id": uuid::Uuid::now_v7().to_string() }),
        })
        .collect();
    seen.answered.extend(messages);
    Json(json!({ "data": tickets })).into_response()
}

/// A server whose Expo sender talks to the mock, with fast polls and retries.
async fn app_with_mock(backend: Backend, script: Script) -> (TestApp, Arc<Mutex<Seen>>) {
    let (url, seen) = start_mock(script).await;
    let app = spawn_app_with(backend, |settings| {
        settings.push.expo_base_url = Some(url);
        settings.push.expo_access_token = Some("expo-test-access-token".into());
        settings.push.worker_interval_ms = 50;
        settings.push.retry_base_ms = 20;
    })
    .await;
    (app, seen)
}

async fn register(app: &TestApp, token: &str, push_token: &str) {
    app.graphql(Some(token), REGISTER, json!({ "t": push_token }))
        .await
        .ok();
}

/// Has the admin assign a pending task of worker1's building to worker1;
/// returns the task's id and title.
async fn assign_to_worker1(app: &TestApp) -> (String, String) {
    let building = app.demo.buildings[0].to_string();
    let answer = app
        .graphql(
            Some(&app.admin()),
            "query($b: ID!) { tasks(filter: { buildingId: $b, status: [PENDING] }, first: 1) { edges { node { id title } } } }",
            json!({ "b": building }),
        )
        .await;
    let task = answer
        .nodes("tasks")
        .into_iter()
        .next()
        .expect("a pending task in worker1's building");
    let id = task["id"].as_str().expect("id").to_owned();
    let assigned = app
        .graphql(
            Some(&app.admin()),
            ASSIGN,
            json!({ "id": id, "w": app.demo.workers[0].to_string() }),
        )
        .await;
    assert_eq!(assigned.ok()["assignTask"]["outcome"], "APPLIED");
    (id, task["title"].as_str().expect("title").to_owned())
}

/// The notification rows of a user.
async fn notifications_of(app: &TestApp, user: UserId) -> Vec<notification::Model> {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .all(&app.state.db)
        .await
        .expect("notifications")
}

/// Waits (up to 20 s) until worker1 has a notification in a final `status`.
async fn wait_for_worker1(app: &TestApp, status: NotificationStatus) -> notification::Model {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = notifications_of(app, app.demo.workers[0]).await;
        if let Some(row) = rows.iter().find(|r| r.status == status) {
            return row.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {status:?} notification for worker1; rows: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn an_assigned_worker_gets_one_push_with_a_deep_link(backend: Backend) {
    let (app, seen) = app_with_mock(backend, Script::Accept).await;
    register(&app, &app.worker(1), WORKER_PHONE).await;

    let (task_id, title) = assign_to_worker1(&app).await;

    let row = wait_for_worker1(&app, NotificationStatus::Sent).await;
    assert_eq!(row.attempts, 1);
    assert!(row.provider_ticket.is_some(), "the ticket is stored");
    assert!(row.sent_at.is_some());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.answered.len(), 1, "{:?}", seen.answered);
    let message = &seen.answered[0];
    assert_eq!(message["to"], WORKER_PHONE);
    assert_eq!(message["title"], "New task assigned");
    assert_eq!(message["body"], title);
    assert_eq!(message["priority"], "high");
    assert_eq!(
        message["data"],
        json!({ "url": format!("fieldsync://tasks/{task_id}"), "entityType": "TASK", "entityId": task_id })
    );
    assert_eq!(
        seen.authorization.as_deref(),
        Some("Bearer expo-test-access-token")
    );
}

async fn a_device_expo_no_longer_knows_is_deactivated(backend: Backend) {
    let (app, _seen) = app_with_mock(backend, Script::DeviceNotRegistered).await;
    register(&app, &app.worker(1), WORKER_PHONE).await;

    assign_to_worker1(&app).await;

    let row = wait_for_worker1(&app, NotificationStatus::Failed).await;
    assert!(
        row.error
            .as_deref()
            .is_some_and(|e| e.contains("DeviceNotRegistered")),
        "{row:?}"
    );
    let mine = app.query(&app.worker(1), "{ myDevices { id } }").await;
    assert_eq!(mine.ok()["myDevices"], json!([]));
}

async fn a_5xx_is_retried_and_the_push_delivered_once(backend: Backend) {
    let (app, seen) = app_with_mock(backend, Script::UnavailableOnce).await;
    register(&app, &app.worker(1), WORKER_PHONE).await;

    assign_to_worker1(&app).await;

    let row = wait_for_worker1(&app, NotificationStatus::Sent).await;
    assert_eq!(row.attempts, 2);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests, 2);
    assert_eq!(seen.answered.len(), 1, "delivered once");
}

async fn the_actor_is_never_notified_of_their_own_change(backend: Backend) {
    let (app, seen) = app_with_mock(backend, Script::Accept).await;
    register(&app, &app.worker(1), WORKER_PHONE).await;
    register(&app, &app.admin(), ADMIN_PHONE).await;

    assign_to_worker1(&app).await;

    wait_for_worker1(&app, NotificationStatus::Sent).await;
    // One change, routed in one transaction: had the admin been a
    // recipient, their row would exist by now.
    assert!(notifications_of(&app, app.demo.admin).await.is_empty());
    let seen = seen.lock().unwrap();
    let recipients: Vec<&Value> = seen.answered.iter().map(|m| &m["to"]).collect();
    assert_eq!(recipients, [WORKER_PHONE]);
}

/// Waits (up to 20 s) until `user` has a SENT notification; returns them all.
async fn wait_for_sent(app: &TestApp, user: UserId) -> Vec<notification::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = notifications_of(app, user).await;
        if rows.iter().any(|r| r.status == NotificationStatus::Sent) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no SENT notification; rows: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn a_critical_alert_reaches_the_buildings_clients_only(backend: Backend) {
    let (app, _seen) = app_with_mock(backend, Script::Accept).await;
    register(
        &app,
        &app.client(1),
        "ExponentPushToken[client1-phone-000000]",
    )
    .await;
    register(
        &app,
        &app.client(2),
        "ExponentPushToken[client2-phone-000000]",
    )
    .await;
    let raise = "mutation($b: ID!, $s: AlertSeverity!) { raiseComplianceAlert(input: { buildingId: $b, severity: $s, message: \"Sprinklers offline\" }) { outcome } }";
    let building3 = app.demo.buildings[2].to_string();
    for severity in ["WARNING", "CRITICAL"] {
        let answer = app
            .graphql(
                Some(&app.admin()),
                raise,
                json!({ "b": building3, "s": severity }),
            )
            .await;
        answer.ok();
    }
    let rows = wait_for_sent(&app, app.demo.clients[1]).await;
    assert_eq!(rows.len(), 1, "only the critical alert: {rows:?}");
    assert_eq!(
        rows[0].data["url"],
        format!("fieldsync://buildings/{building3}/compliance")
    );
    assert_eq!(rows[0].body, "Sprinklers offline");
    assert!(
        notifications_of(&app, app.demo.clients[0]).await.is_empty(),
        "client1 is not linked to building 3"
    );
    assert!(
        notifications_of(&app, app.demo.admin).await.is_empty(),
        "the actor is not told"
    );
}

async fn a_completed_task_reaches_the_buildings_clients(backend: Backend) {
    let (app, _seen) = app_with_mock(backend, Script::Accept).await;
    register(
        &app,
        &app.client(1),
        "ExponentPushToken[client1-phone-000000]",
    )
    .await;
    let tasks = app
        .graphql(
            Some(&app.worker(2)),
            "query($b: ID!) { tasks(filter: { buildingId: $b, status: [ASSIGNED] }) { edges { node { id } } } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    let id = tasks.nodes("tasks")[0]["id"].as_str().unwrap().to_owned();
    for step in ["startTask", "completeTask"] {
        let answer = app
            .graphql(
                Some(&app.worker(2)),
                &format!("mutation($id: ID!) {{ {step}(id: $id) {{ outcome }} }}"),
                json!({ "id": id }),
            )
            .await;
        answer.ok();
    }
    let rows = wait_for_sent(&app, app.demo.clients[0]).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].title, "Task completed");
    assert_eq!(rows[0].data["url"], format!("fieldsync://tasks/{id}"));
}

crate::on_both_backends!(
    a_critical_alert_reaches_the_buildings_clients_only,
    a_completed_task_reaches_the_buildings_clients,
    an_assigned_worker_gets_one_push_with_a_deep_link,
    a_device_expo_no_longer_knows_is_deactivated,
    a_5xx_is_retried_and_the_push_delivered_once,
    the_actor_is_never_notified_of_their_own_change,
);
