//! Test harness: a real server on port 0 against a fresh database (an
//! SQLite file, or a fresh PostgreSQL schema when
//! `FIELDSYNC_TEST_POSTGRES_URL` is set), with two demo organisations.

use std::path::PathBuf;

use entity::enums::Role;
use entity::ids::{OrganizationId, UserId};
use fieldsync::Application;
use fieldsync::config::{KeyAlgorithm, PublicKeySettings, Settings};
use fieldsync::demo::{self, DemoOrg};
use fieldsync::state::AppState;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The HS256 secret every test server uses.
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";

/// Sets a task's progress (`$id`, `$p`), answering the outcome.
pub const PROGRESS: &str =
    "mutation($id: ID!, $p: Int!) { updateTaskProgress(id: $id, progress: $p) { outcome } }";

/// Which database a test runs against.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A fresh SQLite file in a temporary directory.
    Sqlite,
    /// A fresh schema in the PostgreSQL database at this URL.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `FIELDSYNC_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("FIELDSYNC_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(Backend::Postgres)
    }
}

/// Runs each listed `async fn(Backend)` as a test on SQLite and, when
/// configured, on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name($crate::helpers::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                match $crate::helpers::Backend::postgres() {
                    Some(backend) => super::$name(backend).await,
                    None => $crate::helpers::skip("FIELDSYNC_TEST_POSTGRES_URL is not set"),
                }
            })*
        }
    };
}

/// Skips a test whose environment is missing, saying why; fails it instead
/// under CI (`CI` set) or when PostgreSQL was asked for
/// (`FIELDSYNC_TEST_POSTGRES_URL` set), so a machine missing what the
/// suite needs cannot pass by skipping.
pub fn skip(why: &str) {
    let demanded = ["CI", "FIELDSYNC_TEST_POSTGRES_URL"]
        .into_iter()
        .find(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
    if let Some(var) = demanded {
        panic!("{why}, but {var} is set: this run must not skip");
    }
    eprintln!("skipped: {why}");
}

/// A running server and what tests need to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Cancelling it stops the server as a signal would.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The server's state (database, tokens).
    pub state: AppState,
    /// The first demo organisation (slug `demo`).
    pub demo: DemoOrg,
    /// A second organisation, for isolation checks.
    pub other: DemoOrg,
    /// HTTP client.
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Settings pointing at the backend, with test keys configured.
pub fn test_settings(backend: &Backend, dir: &std::path::Path) -> Settings {
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().expect("valid address");
    settings.auth.jwt_secret = Some(TEST_SECRET.into());
    let keys = fixtures().join("keys");
    settings.auth.public_keys = vec![
        PublicKeySettings {
            kid: "rsa-1".into(),
            algorithm: KeyAlgorithm::RS256,
            path: keys.join("rsa-public.pem"),
        },
        PublicKeySettings {
            kid: "ec-1".into(),
            algorithm: KeyAlgorithm::ES256,
            path: keys.join("ec-public.pem"),
        },
    ];
    settings.auth.jwks_file = Some(keys.join("jwks.json"));
    match backend {
        Backend::Sqlite => {
            settings.database.url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
        }
        Backend::Postgres(url) => {
            settings.database.url = url.clone();
            settings.database.max_connections = 4;
            settings.database.schema = Some(format!("t_{}", uuid::Uuid::now_v7().simple()));
        }
    }
    settings
}

/// The fixtures directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Starts a server with default test settings and two demo organisations.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a server after `adjust` has changed the test settings.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_prepared(backend, adjust, |_| {}).await
}

/// Starts a server after `adjust` has changed the test settings and
/// `prepare` the state built from them (to swap in a fake APNs transport,
/// say).
pub async fn spawn_app_prepared(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
    prepare: impl FnOnce(&mut AppState),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&backend, dir.path());
    adjust(&mut settings);
    let mut state = AppState::connect(settings).await.expect("state");
    prepare(&mut state);
    let demo = demo::seed(&state.db, "Demo").await.expect("demo org");
    let other = demo::seed(&state.db, "Other Org")
        .await
        .expect("second org");
    let app = Application::build(state.clone()).await.expect("bind");
    let address = format!("http://{}", app.local_addr().expect("addr"));
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run());
    TestApp {
        address,
        shutdown,
        state,
        demo,
        other,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

/// A GraphQL answer: HTTP status and JSON body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Parsed body (`Value::Null` when not JSON).
    pub body: Value,
}

impl Answer {
    /// `data` of the body.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The `extensions.code` of the first error, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// Panics unless the answer has no errors; returns `data`.
    pub fn ok(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.body
        );
        self.data()
    }

    /// The nodes of a connection at `data.<field>`.
    pub fn nodes(&self, field: &str) -> Vec<Value> {
        self.ok()[field]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("no connection at {field}: {}", self.body))
            .iter()
            .map(|edge| edge["node"].clone())
            .collect()
    }
}

impl TestApp {
    /// `POST /graphql` with an optional bearer token.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Answer {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, body }
    }

    /// A query as the holder of `token`, with no variables.
    pub async fn query(&self, token: &str, query: &str) -> Answer {
        self.graphql(Some(token), query, json!({})).await
    }

    /// An access token for a user of the given role in the given organisation.
    pub fn token(&self, user: UserId, org: OrganizationId, role: Role) -> String {
        self.state
            .tokens
            .issue(user, org, role)
            .expect("token")
            .token
    }

    /// The demo administrator's token.
    pub fn admin(&self) -> String {
        self.token(self.demo.admin, self.demo.org_id, Role::Admin)
    }

    /// `workerN@demo.local`'s token (1-based).
    pub fn worker(&self, n: usize) -> String {
        self.token(self.demo.workers[n - 1], self.demo.org_id, Role::Worker)
    }

    /// `clientN@demo.local`'s token (1-based).
    pub fn client(&self, n: usize) -> String {
        self.token(self.demo.clients[n - 1], self.demo.org_id, Role::Client)
    }

    /// The second organisation's administrator's token.
    pub fn other_admin(&self) -> String {
        self.token(self.other.admin, self.other.org_id, Role::Admin)
    }

    /// The id of the first task of demo building `building` (0-based) in
    /// `status`, as the administrator sees it.
    pub async fn task_in(&self, building: usize, status: &str) -> String {
        let query = format!(
            "query($b: ID!) {{ tasks(filter: {{ buildingId: $b, status: [{status}] }}) {{ edges {{ node {{ id }} }} }} }}"
        );
        let answer = self
            .graphql(
                Some(&self.admin()),
                &query,
                json!({ "b": self.demo.buildings[building].to_string() }),
            )
            .await;
        answer.nodes("tasks")[0]["id"]
            .as_str()
            .expect("a task id")
            .to_owned()
    }

    /// A cursor at the newest change: a feed opened `after:` it misses
    /// nothing written from here on, however long it takes to open.
    pub async fn newest_cursor(&self) -> String {
        let newest = fieldsync::changelog::newest_seq(&self.state.db)
            .await
            .expect("newest seq");
        fieldsync::changelog::cursor::encode(newest, chrono::Utc::now())
    }

    /// How many change-log rows the demo organisation has: a write that
    /// stored anything added one.
    pub async fn change_count(&self) -> u64 {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        entity::change::Entity::find()
            .filter(entity::change::Column::OrgId.eq(self.demo.org_id))
            .count(&self.state.db)
            .await
            .expect("changes counted")
    }

    /// True when `/healthz` answers 200.
    pub async fn healthy(&self) -> bool {
        self.client
            .get(format!("{}/healthz", self.address))
            .send()
            .await
            .map(|r| r.status() == StatusCode::OK)
            .unwrap_or(false)
    }
}

/// A `fieldsync serve` process of its own on a test app's database (the
/// same secret, so the app's tokens work against it); killed when dropped.
pub struct ServeProcess {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    child: std::process::Child,
}

impl ServeProcess {
    /// Starts `fieldsync serve` with `env` on top of the app's database
    /// settings and waits until it is ready.
    pub async fn start(app: &TestApp, env: &[(&str, &str)]) -> Self {
        let settings = &app.state.settings;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fieldsync"));
        command
            .arg("serve")
            .env("FIELDSYNC_SERVER_BIND", format!("127.0.0.1:{port}"))
            .env("FIELDSYNC_DATABASE_URL", &settings.database.url)
            .env("FIELDSYNC_AUTH_JWT_SECRET", TEST_SECRET)
            .env("FIELDSYNC_LOG_FILTER", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null());
        if let Some(schema) = &settings.database.schema {
            command.env("FIELDSYNC_DATABASE_SCHEMA", schema);
        }
        let mut process = Self {
            address: format!("http://127.0.0.1:{port}"),
            child: command.spawn().expect("start fieldsync serve"),
        };
        let ready = format!("{}/readyz", process.address);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while !app
            .client
            .get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("serve exited before it was ready ({status}); its stderr is above");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "serve never got ready"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        process
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
