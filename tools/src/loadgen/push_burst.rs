//! `fieldsync-tools loadgen --push-burst N`: how long a committed change takes to
//! reach the push provider, under a burst of N notifications. The load
//! generator plays Expo (a local server speaking its push API, which the
//! server under test must be pointed at with `push.expo_base_url`),
//! registers 100 Expo devices for the demo's worker1, assigns N/100 tasks to
//! worker1 as fast as the server answers, and times each message from its
//! assignment request to the provider request that carries it.

use std::collections::HashMap;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Value, json};

use super::Error;
use super::api::Api;
use super::report::Percentiles;
use super::target::Target;

/// Devices registered for worker1: each assignment is this many messages.
const DEVICES: usize = 100;
/// How long to wait for the last message after the last assignment.
const DRAIN: Duration = Duration::from_secs(60);

/// How to run the burst.
#[derive(Debug, Clone)]
pub struct BurstOptions {
    /// The server, `http://127.0.0.1:PORT`.
    pub url: String,
    /// The demo organisation's slug.
    pub org: String,
    /// Password of the demo logins.
    pub password: String,
    /// Notifications in the burst (rounded up to a multiple of 100).
    pub notifications: usize,
    /// Where the mock Expo listens; the server's `push.expo_base_url`.
    pub mock: SocketAddr,
}

/// What the burst measured.
#[derive(Debug, Clone)]
pub struct BurstReport {
    /// Messages expected.
    pub expected: usize,
    /// Messages the mock received.
    pub received: usize,
    /// Provider requests (Expo takes up to 100 messages each).
    pub requests: usize,
    /// From the assignment request to the provider request, per message.
    pub latency: Percentiles,
    /// From the first assignment to the last message.
    pub elapsed: Duration,
}

impl std::fmt::Display for BurstReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.latency;
        writeln!(f, "push burst")?;
        writeln!(
            f,
            "  messages received      {} of {}",
            self.received, self.expected
        )?;
        writeln!(f, "  provider requests      {}", self.requests)?;
        writeln!(
            f,
            "  burst delivered in     {:.0} ms",
            self.elapsed.as_secs_f64() * 1000.0
        )?;
        writeln!(
            f,
            "  change → provider (ms) p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
            l.p50, l.p95, l.p99, l.max
        )
    }
}

/// What the mock saw: each message's task id and arrival time.
#[derive(Default)]
struct Arrivals {
    messages: Vec<(String, Instant)>,
    requests: usize,
}

/// Runs the burst against a server whose Expo base URL is `options.mock`.
pub async fn run(options: &BurstOptions) -> Result<BurstReport, Error> {
    let target = Target::parse(&options.url)?;
    let api = Api::new(&target)?;
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let listener = tokio::net::TcpListener::bind(options.mock)
        .await
        .map_err(|source| Error::Listen {
            address: options.mock,
            source,
        })?;
    let mock = axum::Router::new()
        .route("/--/api/v2/push/send", axum::routing::post(send))
        .route(
            "/--/api/v2/push/getReceipts",
            axum::routing::post(|| async { Json(json!({ "data": {} })) }),
        )
        .with_state(arrivals.clone());
    let server = tokio::spawn(async move { axum::serve(listener, mock).await });

    let admin = api
        .login(&format!("admin@{}.local", options.org), &options.password)
        .await?;
    let worker = api
        .login(&format!("worker1@{}.local", options.org), &options.password)
        .await?;
    let me = api.call(Some(&worker), "{ me { id } }", json!({})).await?;
    let worker_id = me["me"]["id"].clone();
    let building = api
        .buildings(&worker)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Graphql("worker1 has no building".into()))?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let tokens: Vec<String> = (0..DEVICES)
        .map(|i| format!("ExponentPushToken[burst-{run}-{i:03}]"))
        .collect();
    let burst = Burst {
        api: &api,
        admin: &admin,
        worker: &worker,
        tokens: &tokens,
    };
    let assignments = options.notifications.div_ceil(DEVICES).max(1);
    let outcome = burst
        .run(&building, &worker_id, assignments, &arrivals)
        .await;
    // Whatever happened, worker1 keeps no fake devices and the port is freed.
    let cleaned = burst.unregister().await;
    server.abort();
    let (started, sent_at) = outcome?;
    cleaned?;
    let expected = assignments * DEVICES;
    let arrivals = arrivals
        .lock()
        .map_err(|_| Error::Graphql("mock poisoned".into()))?;
    let mut micros: Vec<u32> = arrivals
        .messages
        .iter()
        .filter_map(|(task, at)| {
            let sent = sent_at.get(task)?;
            let micros = at.saturating_duration_since(*sent).as_micros();
            Some(u32::try_from(micros).unwrap_or(u32::MAX))
        })
        .collect();
    let last = arrivals.messages.iter().map(|(_, at)| *at).max();
    Ok(BurstReport {
        expected,
        received: micros.len(),
        requests: arrivals.requests,
        latency: Percentiles::of_micros(&mut micros),
        elapsed: last.map_or(Duration::ZERO, |last| last - started),
    })
}

/// The burst's own steps, between sign-in and clean-up.
struct Burst<'a> {
    api: &'a Api,
    admin: &'a str,
    worker: &'a str,
    tokens: &'a [String],
}

impl Burst<'_> {
    /// Registers the devices, creates the tasks and assigns them as fast as
    /// the server answers; waits for the messages. Answers when the burst
    /// started and when each task's assignment was sent.
    async fn run(
        &self,
        building: &str,
        worker_id: &Value,
        assignments: usize,
        arrivals: &Mutex<Arrivals>,
    ) -> Result<(Instant, HashMap<String, Instant>), Error> {
        for token in self.tokens {
            self.api
                .call(
                    Some(self.worker),
                    "mutation($t: String!) { registerDevice(provider: EXPO, token: $t, platform: IOS, environment: \"production\") { id } }",
                    json!({ "t": token }),
                )
                .await?;
        }
        let mut tasks = Vec::with_capacity(assignments);
        for i in 0..assignments {
            let created = self
                .api
                .call(
                    Some(self.admin),
                    "mutation($b: ID!, $t: String!) { createTask(input: { buildingId: $b, title: $t }) { entityId } }",
                    json!({ "b": building, "t": format!("Push burst {i}") }),
                )
                .await?;
            tasks.push(
                created["createTask"]["entityId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        let started = Instant::now();
        let mut sent_at = HashMap::new();
        for task in &tasks {
            sent_at.insert(task.clone(), Instant::now());
            self.api
                .call(
                    Some(self.admin),
                    "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }",
                    json!({ "id": task, "w": worker_id }),
                )
                .await?;
        }
        let expected = assignments * DEVICES;
        let deadline = Instant::now() + DRAIN;
        while arrivals.lock().map_or(0, |a| a.messages.len()) < expected
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok((started, sent_at))
    }

    /// Unregisters every device of the burst (one never registered answers
    /// `false`, which is fine).
    async fn unregister(&self) -> Result<(), Error> {
        for token in self.tokens {
            self.api
                .call(
                    Some(self.worker),
                    "mutation($t: String!) { unregisterDevice(token: $t) }",
                    json!({ "t": token }),
                )
                .await?;
        }
        Ok(())
    }
}

/// The mock's send endpoint: notes each message's arrival, answers tickets.
async fn send(State(arrivals): State<Arc<Mutex<Arrivals>>>, body: Bytes) -> Json<Value> {
    let now = Instant::now();
    let mut json = Vec::new();
    if flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut json)
        .is_err()
    {
        json = body.to_vec();
    }
    let messages: Vec<Value> = serde_json::from_slice(&json).unwrap_or_default();
    if let Ok(mut arrivals) = arrivals.lock() {
        arrivals.requests += 1;
        for message in &messages {
            let task = message["data"]["entityId"].as_str().unwrap_or_default();
            arrivals.messages.push((task.to_owned(), now));
        }
    }
    let tickets: Vec<Value> = messages
        .iter()
        .map(|_| json!({ "status": "ok", "id": uuid::Uuid::now_v7().to_string() }))
        .collect();
    Json(json!({ "data": tickets }))
}
