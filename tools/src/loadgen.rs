//! `fieldsync-tools loadgen`: load on a running server, measured. It signs in the
//! demo users over HTTP, opens N `graphql-transport-ws` subscribers spread
//! over users, roles and subscriptions, drives M `updateTask` mutations a
//! second, and reports connections held, events delivered per second,
//! end-to-end latency (mutation sent → event received), gaps, duplicates
//! and the server's memory. It only ever talks to a loopback address.
//!
//! - [`target`]: the `--url`, and the loopback check.
//! - [`api`]: the GraphQL-over-HTTP calls.
//! - [`subscriber`]: one WebSocket subscriber, resuming from its cursor.
//! - [`mutator`]: the writes at a steady rate.
//! - [`tracker`]: one subscriber's tally of versions and latencies.
//! - [`report`]: the figures.
//! - [`rss`]: the server's resident memory from `/proc`.

mod api;
mod mutator;
pub mod push_burst;
mod report;
mod rss;
mod subscriber;
mod target;
mod tracker;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use report::{Percentiles, Report, Storm};
use subscriber::{Feed, Shared, Subscriber};
use target::Target;
use tracker::Tracker;

/// The demo logins subscribers are spread over (`<local>@<org>.local`);
/// the first is the administrator who also writes.
const LOGINS: [&str; 7] = [
    "admin", "worker1", "worker2", "worker3", "worker4", "client1", "client2",
];
/// Tasks that drive subscribers, each running its share concurrently: the
/// client's task count stays bounded however many subscribers there are.
const DRIVER_TASKS: usize = 16;
/// WebSocket handshakes in flight at once.
const HANDSHAKES_IN_FLIGHT: usize = 64;
/// Pause after the last subscriber connected, so their subscriptions are
/// open and the server's memory has settled before it is read.
const SETTLE: Duration = Duration::from_secs(2);
/// After the writes stop, events may still be on their way: wait until
/// none arrived for [`QUIET`], at most [`DRAIN_MAX`].
const QUIET: Duration = Duration::from_millis(500);
const DRAIN_MAX: Duration = Duration::from_secs(15);
/// How often the run looks at the counters.
const POLL: Duration = Duration::from_millis(50);

/// What went wrong before any load could be measured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--url` is not an `http://` URL.
    #[error("invalid --url {0}")]
    BadUrl(String),
    /// `--url` names a host that is not this machine.
    #[error("refusing {0}: the load generator only targets loopback (127.0.0.1, ::1, localhost)")]
    NotLoopback(String),
    /// The server could not be reached over HTTP.
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The push burst's mock Expo could not listen.
    #[error("cannot listen on {address}")]
    Listen {
        /// The address asked for.
        address: std::net::SocketAddr,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// The server answered a setup call with a GraphQL error.
    #[error("GraphQL error: {0}")]
    Graphql(String),
}

/// How to load the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// `http://127.0.0.1:PORT` (loopback only).
    pub url: String,
    /// The demo organisation's slug (logins are `admin@<org>.local`, …).
    pub org: String,
    /// Password of every demo login.
    pub password: String,
    /// Subscriber connections to open.
    pub subscribers: usize,
    /// Mutations per second over HTTP; 0 leaves the subscribers idle.
    pub rate: u32,
    /// Length of the measured phase, after everyone connected.
    pub duration: Duration,
    /// A third into the measured phase, every subscriber drops its socket
    /// and resumes from its last cursor, all at once.
    pub reconnect_storm: bool,
    /// The server's process id, to read its RSS.
    pub server_pid: Option<u32>,
}

/// One demo user, signed in.
struct User {
    token: Arc<str>,
    admin: bool,
    buildings: Vec<String>,
}

/// Runs the load and measures it. Protocol errors are in the report
/// (`protocol_errors`); only setup failures are an `Err`.
pub async fn run(options: &Options) -> Result<Report, Error> {
    let target = Target::parse(&options.url)?;
    let api = api::Api::new(&target)?;
    let users = sign_in(&api, options).await?;
    let admin = users[0].token.clone();
    let baseline = api.task_baseline(&admin).await?;
    let epoch = Instant::now();
    let shared = Arc::new(Shared {
        ws_url: target.ws.clone(),
        epoch,
        handshakes: Semaphore::new(HANDSHAKES_IN_FLIGHT),
        stop: CancellationToken::new(),
        storm: CancellationToken::new(),
        counters: Default::default(),
    });
    let rss = || options.server_pid.and_then(rss::rss_kib);
    let mut report = Report {
        subscribers: options.subscribers,
        duration_secs: options.duration.as_secs_f64(),
        rss_before_kib: rss(),
        ..Report::default()
    };

    // Connect everyone, bounded by the handshake limit.
    let subscribers = plan(options.subscribers, &users, &baseline);
    report.gap_checked = subscribers
        .iter()
        .filter(|s| s.tracker.is_complete())
        .count();
    let mut drivers = spawn_drivers(subscribers, &shared);
    let counters = &shared.counters;
    let connecting = Instant::now();
    while counters.connected.load(Ordering::Relaxed) + counters.gave_up.load(Ordering::Relaxed)
        < options.subscribers
    {
        tokio::time::sleep(POLL).await;
    }
    report.connect_secs = connecting.elapsed().as_secs_f64();
    report.connected = counters.connected.load(Ordering::Relaxed);
    tokio::time::sleep(SETTLE).await;
    report.rss_connected_kib = rss();

    // The measured phase: writes, and maybe the storm.
    let events_before = counters.events.load(Ordering::Relaxed);
    let stop_writes = CancellationToken::new();
    let writes = mutator::Writes {
        api,
        token: admin,
        tasks: baseline.versions.keys().cloned().collect(),
        epoch,
    };
    let writer = tokio::spawn(mutator::run(writes, options.rate, stop_writes.clone()));
    if options.reconnect_storm {
        tokio::time::sleep(options.duration / 3).await;
        report.storm = Some(storm(&shared, options.duration * 2 / 3).await);
    } else {
        tokio::time::sleep(options.duration).await;
    }
    stop_writes.cancel();
    let writes = writer.await.unwrap_or_default();
    drain(&shared).await;
    report.events = counters.events.load(Ordering::Relaxed) - events_before;
    report.events_per_sec = report.events as f64 / options.duration.as_secs_f64().max(0.001);
    report.rss_after_kib = rss();
    report.connections_held = counters.open.load(Ordering::Relaxed);

    // Stop, and add up every subscriber's tally.
    shared.stop.cancel();
    let mut latencies = Vec::new();
    while let Some(trackers) = drivers.join_next().await {
        for mut tracker in trackers.unwrap_or_default() {
            tracker.finish(&writes.finals);
            report.gaps += tracker.gaps;
            report.duplicates += tracker.duplicates;
            latencies.append(&mut tracker.latencies_us);
        }
    }
    report.latency = Percentiles::of_micros(&mut latencies);
    let mut mutation_latencies = writes.latencies_us;
    report.mutation_latency = Percentiles::of_micros(&mut mutation_latencies);
    report.mutations_sent = writes.sent;
    report.mutations_failed = writes.failed;
    report.mutations_skipped = writes.skipped;
    report.gave_up = counters.gave_up.load(Ordering::Relaxed);
    report.protocol_errors = counters.protocol_errors.load(Ordering::Relaxed);
    report.connect_failures = counters.connect_failures.load(Ordering::Relaxed);
    report.slow_closes = counters.slow_closes.load(Ordering::Relaxed);
    report.lost = counters.lost.load(Ordering::Relaxed);
    Ok(report)
}

/// Signs in every demo login and finds the buildings each may see.
async fn sign_in(api: &api::Api, options: &Options) -> Result<Vec<User>, Error> {
    let mut users = Vec::with_capacity(LOGINS.len());
    for (index, local) in LOGINS.iter().enumerate() {
        let email = format!("{local}@{}.local", options.org);
        let token: Arc<str> = api.login(&email, &options.password).await?.into();
        let buildings = api.buildings(&token).await?;
        users.push(User {
            token,
            admin: index == 0,
            buildings,
        });
    }
    Ok(users)
}

/// Subscriber `i` signs in as login `i % 7`, and alternates between
/// `changes(entityTypes: [TASK])` and `taskChanged` of one of the user's
/// buildings, in turn. Every one resumes after the baseline cursor, so
/// none misses a change made while others still connect.
fn plan(count: usize, users: &[User], baseline: &api::TaskBaseline) -> Vec<Subscriber> {
    (0..count)
        .map(|i| {
            let user = &users[i % users.len()];
            let round = i / users.len();
            let feed = if round.is_multiple_of(2) || user.buildings.is_empty() {
                Feed::Changes
            } else {
                let building = &user.buildings[(round / 2) % user.buildings.len()];
                Feed::TaskChanged(building.clone())
            };
            let complete = user.admin && matches!(feed, Feed::Changes);
            let seen = if complete {
                baseline.versions.clone()
            } else {
                HashMap::new()
            };
            Subscriber {
                token: user.token.clone(),
                feed,
                cursor: baseline.cursor.clone(),
                tracker: Tracker::new(complete, seen),
            }
        })
        .collect()
}

/// Deals subscribers round-robin to [`DRIVER_TASKS`] tasks, each running
/// its share concurrently; each task returns its subscribers' tallies.
fn spawn_drivers(subscribers: Vec<Subscriber>, shared: &Arc<Shared>) -> JoinSet<Vec<Tracker>> {
    let mut shares: Vec<Vec<Subscriber>> = (0..DRIVER_TASKS).map(|_| Vec::new()).collect();
    for (i, subscriber) in subscribers.into_iter().enumerate() {
        shares[i % DRIVER_TASKS].push(subscriber);
    }
    let mut drivers = JoinSet::new();
    for share in shares.into_iter().filter(|s| !s.is_empty()) {
        let shared = shared.clone();
        drivers.spawn(async move {
            futures_util::future::join_all(share.into_iter().map(|s| s.run(shared.clone()))).await
        });
    }
    drivers
}

/// Drops every socket at once and waits (within `budget`) until all resumed.
async fn storm(shared: &Shared, budget: Duration) -> Storm {
    let counters = &shared.counters;
    let dropped = counters.open.load(Ordering::Relaxed);
    let started = Instant::now();
    shared.storm.cancel();
    let mut recovery_secs = None;
    while started.elapsed() < budget {
        let resumed = counters.resumed.load(Ordering::Relaxed);
        if recovery_secs.is_none() && resumed >= dropped {
            recovery_secs = Some(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(POLL).await;
    }
    Storm {
        dropped,
        resumed: counters.resumed.load(Ordering::Relaxed),
        recovery_secs,
    }
}

/// Waits until no event arrived for [`QUIET`] (at most [`DRAIN_MAX`]).
async fn drain(shared: &Shared) {
    let started = Instant::now();
    let mut last = shared.counters.events.load(Ordering::Relaxed);
    let mut quiet_since = Instant::now();
    while started.elapsed() < DRAIN_MAX && quiet_since.elapsed() < QUIET {
        tokio::time::sleep(POLL).await;
        let now = shared.counters.events.load(Ordering::Relaxed);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
}
