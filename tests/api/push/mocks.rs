//! Local stand-ins for the push providers: an axum server speaking Expo's
//! push API (gzip bodies, tickets, receipts, 429/5xx), and an APNs transport
//! that answers as APNs does (a2 cannot reach a local server), plus the
//! helpers the push tests share.

use std::collections::{HashMap, VecDeque};
use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use entity::enums::NotificationStatus;
use entity::ids::UserId;
use entity::notification;
use fieldsync::push::apns::{ApnsReply, ApnsRequest, ApnsTransport};
use fieldsync::push::{Senders, apns::ApnsSender};
use futures_util::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_prepared};

pub const ASSIGN: &str =
    "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
pub const WORKER_PHONE: &str = "ExponentPushToken[worker1-phone-0000000]";
pub const ADMIN_PHONE: &str = "ExponentPushToken[admin-phone-000000000]";
pub const TOPIC: &str = "com.example.fieldsync";

/// How the Expo mock answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// An `ok` ticket per message, `ok` receipts.
    Accept,
    /// A `DeviceNotRegistered` ticket error per message.
    DeviceNotRegistered,
    /// 503 to the first send request, then `ok` tickets.
    UnavailableOnce,
    /// 429 `TOO_MANY_REQUESTS` to the first send request, then `ok` tickets.
    TooManyRequestsOnce,
    /// Never answers a send request (a provider that hangs mid-send).
    Hang,
    /// `ok` tickets, then `DeviceNotRegistered` receipts.
    ReceiptDeviceNotRegistered,
}

/// What the Expo mock saw.
#[derive(Default)]
pub struct Seen {
    /// Send requests received, answered or not.
    pub requests: usize,
    /// Messages of the send requests it answered 200.
    pub answered: Vec<Value>,
    /// The `Authorization` header of the last request.
    pub authorization: Option<String>,
    /// Whether every request body came gzip-compressed.
    pub all_gzip: bool,
    /// The ids of each receipts request.
    pub receipt_requests: Vec<Vec<String>>,
}

#[derive(Clone)]
struct Mock {
    script: Script,
    seen: Arc<Mutex<Seen>>,
}

/// Starts the Expo mock on a free port; returns its base URL and log.
pub async fn start_expo(script: Script) -> (String, Arc<Mutex<Seen>>) {
    let mock = Mock {
        script,
        seen: Arc::new(Mutex::new(Seen {
            all_gzip: true,
            ..Seen::default()
        })),
    };
    let seen = mock.seen.clone();
    let app = axum::Router::new()
        .route("/--/api/v2/push/send", axum::routing::post(send))
        .route("/--/api/v2/push/getReceipts", axum::routing::post(receipts))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind mock");
    let url = format!("http://{}", listener.local_addr().expect("mock addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// The JSON of a request body, gunzipped when it says so; notes gzip.
fn body_json(seen: &mut Seen, headers: &HeaderMap, body: &[u8]) -> Value {
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    seen.all_gzip &= gzip;
    let mut bytes = Vec::new();
    if gzip {
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut bytes)
            .expect("valid gzip");
    } else {
        bytes = body.to_vec();
    }
    serde_json::from_slice(&bytes).expect("JSON body")
}

async fn send(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    let messages = {
        let mut seen = mock.seen.lock().expect("mock lock");
        seen.requests += 1;
        seen.authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let messages = body_json(&mut seen, &headers, &body);
        let first = seen.requests == 1;
        match mock.script {
            Script::UnavailableOnce if first => {
                return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
            }
            Script::TooManyRequestsOnce if first => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "errors": [{ "code": "TOO_MANY_REQUESTS", "message": "slow down" }] })),
                )
                    .into_response();
            }
            _ => {}
        }
        messages
    };
    if mock.script == Script::Hang {
        std::future::pending::<()>().await;
    }
    let messages = messages.as_array().cloned().expect("an array of messages");
    assert!(messages.len() <= 100, "Expo takes at most 100 messages");
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
    mock.seen
        .lock()
        .expect("mock lock")
        .answered
        .extend(messages);
    Json(json!({ "data": tickets })).into_response()
}

async fn receipts(State(mock): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    let mut seen = mock.seen.lock().expect("mock lock");
    let request = body_json(&mut seen, &headers, &body);
    let ids: Vec<String> = serde_json::from_value(request["ids"].clone()).expect("ids");
    assert!(ids.len() <= 1000, "Expo takes at most 1000 ids");
    let data: serde_json::Map<String, Value> = ids
        .iter()
        .map(|id| {
            let receipt = match mock.script {
                Script::ReceiptDeviceNotRegistered => json!({
                    "status": "error",
                    "message": "The device cannot receive push notifications anymore",
                    "details": { "error": "DeviceNotRegistered" }
                }),
                _ => json!({ "status": "ok" }),
            };
            (id.clone(), receipt)
        })
        .collect();
    seen.receipt_requests.push(ids);
    Json(json!({ "data": data })).into_response()
}

/// An APNs stand-in: answers each device token from its script (200 once
/// the script runs out) and keeps every request.
#[derive(Default)]
pub struct FakeApns {
    scripts: Mutex<HashMap<String, VecDeque<(u16, &'static str)>>>,
    /// Every request, in order.
    pub requests: Mutex<Vec<ApnsRequest>>,
}

impl FakeApns {
    /// Answers `token`'s next requests with `replies` (status, reason).
    pub fn script(&self, token: &str, replies: &[(u16, &'static str)]) {
        self.scripts
            .lock()
            .unwrap()
            .insert(token.to_owned(), replies.iter().copied().collect());
    }

    /// The requests to `token`.
    pub fn to(&self, token: &str) -> Vec<ApnsRequest> {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|r| r.device_token == token)
            .cloned()
            .collect()
    }
}

impl ApnsTransport for FakeApns {
    fn post<'a>(&'a self, request: &'a ApnsRequest) -> BoxFuture<'a, Result<ApnsReply, String>> {
        Box::pin(async move {
            self.requests.lock().unwrap().push(request.clone());
            let next = self
                .scripts
                .lock()
                .unwrap()
                .get_mut(&request.device_token)
                .and_then(VecDeque::pop_front);
            let (status, reason) = next.unwrap_or((200, ""));
            Ok(ApnsReply {
                status,
                apns_id: Some(uuid::Uuid::now_v7().to_string()),
                reason: (!reason.is_empty()).then(|| reason.to_owned()),
            })
        })
    }
}

/// A server whose Expo sender talks to a mock run by `script` and whose
/// APNs sender to a fake; fast polls and retries. `adjust` tunes the rest.
pub async fn app_with_providers(
    backend: Backend,
    script: Script,
    adjust: impl FnOnce(&mut fieldsync::config::Settings),
) -> (TestApp, Arc<Mutex<Seen>>, Arc<FakeApns>) {
    let (url, seen) = start_expo(script).await;
    let apns = Arc::new(FakeApns::default());
    let transport = apns.clone();
    let app = spawn_app_prepared(
        backend,
        |settings| {
            settings.push.expo_base_url = Some(url);
            settings.push.expo_access_token = Some("expo-test-access-token".into());
            settings.push.apns_topic = Some(TOPIC.into());
            settings.push.worker_interval_ms = 50;
            settings.push.retry_base_ms = 20;
            adjust(settings);
        },
        |state| {
            let settings = state.settings.push.clone();
            state.push = Senders {
                apns: Some(Arc::new(ApnsSender::new(
                    transport,
                    TOPIC.into(),
                    Duration::from_secs(settings.ttl_secs),
                ))),
                ..state.push.clone()
            };
        },
    )
    .await;
    (app, seen, apns)
}

/// Registers a push token for the holder of `token`.
pub async fn register(app: &TestApp, token: &str, provider: &str, push_token: &str) {
    let answer = app
        .graphql(
            Some(token),
            "mutation($p: PushProvider!, $t: String!) { registerDevice(provider: $p, token: $t, platform: IOS, environment: \"production\", appVersion: \"1.4.0\") { id } }",
            json!({ "p": provider, "t": push_token }),
        )
        .await;
    answer.ok();
}

/// Has the admin assign a pending task of worker1's building to worker1;
/// returns the task's id and title.
pub async fn assign_to_worker1(app: &TestApp) -> (String, String) {
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
pub async fn notifications_of(app: &TestApp, user: UserId) -> Vec<notification::Model> {
    notification::Entity::find()
        .filter(notification::Column::UserId.eq(user))
        .all(&app.state.db)
        .await
        .expect("notifications")
}

/// Waits (up to 20 s) until `user` has `count` notifications in `status`;
/// returns all of theirs.
pub async fn wait_for(
    app: &TestApp,
    user: UserId,
    status: NotificationStatus,
    count: usize,
) -> Vec<notification::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = notifications_of(app, user).await;
        if rows.iter().filter(|r| r.status == status).count() >= count {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "fewer than {count} {status:?} notifications; rows: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits (up to 20 s) until the router has read every change so far.
pub async fn wait_routed(app: &TestApp) {
    let newest = fieldsync::changelog::newest_seq(&app.state.db)
        .await
        .expect("newest seq");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cursor = entity::push_cursor::Entity::find_by_id("router".to_owned())
            .one(&app.state.db)
            .await
            .expect("cursor");
        if cursor.is_some_and(|c| c.seq >= newest) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the router is stuck"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The one row of `rows` in `status`.
pub fn only(rows: &[notification::Model], status: NotificationStatus) -> notification::Model {
    let matching: Vec<_> = rows.iter().filter(|r| r.status == status).collect();
    assert_eq!(matching.len(), 1, "{rows:?}");
    matching[0].clone()
}
