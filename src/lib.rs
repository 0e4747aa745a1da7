//! fieldsync: the real-time GraphQL server of a building-operations platform.
//!
//! Crate map, top to bottom: a module uses only the modules below it
//! (`tests/api/layers.rs` checks), and data flows one way, from a request
//! through the rules and the change log to every subscriber's socket.
//! - [`http`]: the axum router: `/graphql`, `/healthz`, `/readyz`,
//!   `/metrics`, and the socket route of [`ws`].
//! - [`ws`]: `/graphql/ws`, GraphQL over WebSocket (both subprotocols):
//!   connections, close codes, operation tasks, delivery lanes, send queues.
//! - [`graphql`]: the API, thin: schema, resolvers, objects, errors, event
//!   renderings, and the `live` seam a socket transport calls.
//! - [`state`]: [`AppState`](state::AppState), the wiring of the parts below.
//! - [`push`]: push notifications: routing rules, the notifications outbox,
//!   delivery to APNs and Expo, receipts.
//! - [`sync`]: offline batches (`syncPush`) and the delta pull (`syncPull`).
//! - [`events`]: the live hub (one change-log tailer per process) and each
//!   subscriber's filtered feed.
//! - [`domain`]: the rules: visibility (SQL and in memory, side by side),
//!   the write path and its versioned writes, merge, conflicts, reads.
//! - [`changelog`]: the change log: record, read after a seq, snapshot at a
//!   version, client cursors, priorities, retention.
//! - [`auth`]: tokens, the principal, login and refresh sessions.
//! - [`db`] and [`telemetry`]: connection and migrations; logs and metrics.
//! - [`config`] and [`error`]: settings; the error of the layers below graphql.
//!
//! Around the server: [`cli`] (what `main.rs`'s commands do) and [`demo`]
//! (the demo organisation). Tables live in the `entity` crate, their history
//! in `migration`; the load generator and the offline-sync simulation in the
//! `tools` crate (`fieldsync-tools`).
//!
//! [`Application`] wires these together; `main.rs` and the tests both use it.

pub mod auth;
pub mod changelog;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod push;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::TokenService;
use crate::config::Settings;
use crate::state::AppState;

impl AppState {
    /// Connects to the database, applies migrations and loads the keys.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let db = db::connect(&settings.database).await.with_context(|| {
            format!("cannot open database `{}`", redact(&settings.database.url))
        })?;
        let applied = db::migrate(&db).await.context("migrations failed")?;
        if applied > 0 {
            tracing::info!(applied, "migrations applied");
        }
        let tokens = TokenService::from_settings(&settings).context("invalid key material")?;
        let committed = changelog::CommitSignal::default();
        let hub = events::hub::Hub::starting_now(&db, committed.clone()).await?;
        let writer = domain::operations::Writer::new(db.clone(), committed);
        let push = push::Senders::from_settings(&settings.push, None)
            .context("push notifications cannot start")?;
        let sign_ins = Arc::new(auth::throttle::SignInThrottle::new(&settings.auth));
        Ok(Self {
            db,
            settings: Arc::new(settings),
            tokens: Arc::new(tokens),
            sign_ins,
            writer,
            hub,
            push,
        })
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
}

impl Application {
    /// Binds the listener of `state.settings.server.bind`.
    pub async fn build(state: AppState) -> anyhow::Result<Self> {
        // Installed before any job counts anything.
        telemetry::metrics();
        // Before serving, so no write made through this server predates the
        // router's first cursor (which starts at the newest change).
        if !state.push.providers().is_empty() {
            push::router::ensure_cursors(&state.db)
                .await
                .context("cannot read the push router's cursor")?;
        }
        let bind = state.settings.server.bind;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        Ok(Self {
            listener,
            state,
            shutdown: CancellationToken::new(),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Cancelling this token stops the server gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves, and runs the background jobs, until the shutdown token is cancelled.
    pub async fn run(self) -> std::io::Result<()> {
        let hub = self.state.hub.clone();
        let poll = Duration::from_millis(self.state.settings.sync.poll_interval_ms);
        tokio::spawn(
            hub.clone()
                .run(self.state.db.clone(), poll, self.shutdown.clone()),
        );
        if !self.state.settings.database.is_sqlite() {
            let url = self.state.settings.database.url.clone();
            tokio::spawn(hub.listen(url, self.shutdown.clone()));
        }
        tokio::spawn(changelog::retention::run(
            self.state.db.clone(),
            self.state.settings.sync.retention_days,
            self.shutdown.clone(),
        ));
        push::spawn(
            &self.state.db,
            &self.state.hub,
            &self.state.settings.push,
            self.state.push.clone(),
            self.shutdown.clone(),
        );
        let router = http::router(self.state, self.shutdown.clone());
        let shutdown = self.shutdown;
        // Sign-in limits count per client address.
        let router = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}

/// A database URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
