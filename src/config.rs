//! Settings: built-in defaults, overlaid by `fieldsync.toml`, overlaid by
//! `FIELDSYNC_*` environment variables, then validated once at start.
//!
//! Environment variables name a section and a key joined by one underscore:
//! `FIELDSYNC_DATABASE_URL` sets `database.url`, `FIELDSYNC_AUTH_JWT_SECRET`
//! sets `auth.jwt_secret`. Lists (such as `auth.public_keys`) belong in the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The sections an environment variable may address, in matching order.
const SECTIONS: [&str; 8] = [
    "server", "database", "auth", "graphql", "sync", "ws", "log", "push",
];

/// A setting that is missing, malformed or out of range; names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or environment could not be read into [`Settings`].
    #[error("configuration could not be read")]
    Read(#[from] Box<figment::Error>),
    /// A value was read but is not acceptable.
    #[error("invalid setting `{setting}`: {problem}")]
    Invalid {
        /// Dotted name of the setting, e.g. `database.url`.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Everything the server and the CLI read from configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// HTTP listener and request limits.
    pub server: ServerSettings,
    /// Where the data lives.
    pub database: DatabaseSettings,
    /// Token verification and built-in login.
    pub auth: AuthSettings,
    /// GraphQL execution limits and developer tooling.
    pub graphql: GraphqlSettings,
    /// Offline sync and the change log.
    pub sync: SyncSettings,
    /// The WebSocket endpoint `/graphql/ws`: timeouts and limits.
    pub ws: WsSettings,
    /// Log filter and format.
    pub log: LogSettings,
    /// Push notification providers and delivery.
    pub push: PushSettings,
}

/// HTTP listener and request limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// A request still running after this long is answered 408.
    pub request_timeout_secs: u64,
    /// Origins allowed by CORS; empty allows none, `["*"]` allows any.
    pub cors_origins: Vec<String>,
    /// Behind a proxy you trust: take the client's address (for sign-in
    /// limits) from the last `X-Forwarded-For` entry instead of the peer.
    pub trust_forwarded_for: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            cors_origins: Vec::new(),
            trust_forwarded_for: false,
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH?mode=rwc` or `postgres://USER@HOST/DB`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL only: the schema to create and use instead of `public`.
    pub schema: Option<String>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://fieldsync.db?mode=rwc".into(),
            max_connections: 8,
            schema: None,
        }
    }
}

impl DatabaseSettings {
    /// True when the URL names an SQLite database.
    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    /// The directory of the SQLite file, when there is one.
    fn sqlite_dir(&self) -> Option<PathBuf> {
        let rest = self.url.strip_prefix("sqlite:")?;
        let path = rest.trim_start_matches("//").split('?').next()?;
        if path.is_empty() || path.starts_with(":memory:") {
            return None;
        }
        Some(
            Path::new(path)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        )
    }
}

/// Signature algorithm of a configured public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
}

/// One identity provider public key in a PEM file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicKeySettings {
    /// The `kid` header that selects this key.
    pub kid: String,
    /// The algorithm tokens signed with it must declare.
    pub algorithm: KeyAlgorithm,
    /// Path of the PEM file.
    pub path: PathBuf,
}

/// Token verification and built-in login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// HS256 secret; when unset one is generated into `secret_file`.
    pub jwt_secret: Option<String>,
    /// Where the generated secret is kept; defaults to beside the SQLite file.
    pub secret_file: Option<PathBuf>,
    /// Required `iss` claim.
    pub issuer: String,
    /// Required `aud` claim.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Lifetime of access tokens issued by login and refresh.
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl_secs: u64,
    /// RS256/ES256 public keys of an identity provider, chosen by `kid`.
    pub public_keys: Vec<PublicKeySettings>,
    /// A JWKS document on disk, consulted by `kid` after `public_keys`.
    pub jwks_file: Option<PathBuf>,
    /// Logins per email (known or not) per minute, as a burst that refills
    /// evenly; beyond it `RATE_LIMITED`.
    pub sign_ins_per_email_per_minute: u32,
    /// Logins and refreshes per client address per minute, likewise.
    pub sign_ins_per_address_per_minute: u32,
    /// Password checks (argon2) running at once; 0 means one per core.
    pub password_checks_at_once: usize,
    /// How long a login waits for a password check turn before `RATE_LIMITED`.
    pub password_check_wait_ms: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            secret_file: None,
            issuer: "fieldsync".into(),
            audience: "fieldsync".into(),
            leeway_secs: 30,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            public_keys: Vec::new(),
            jwks_file: None,
            sign_ins_per_email_per_minute: 5,
            sign_ins_per_address_per_minute: 60,
            password_checks_at_once: 0,
            password_check_wait_ms: 2000,
        }
    }
}

/// GraphQL execution limits and developer tooling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GraphqlSettings {
    /// Whether `__schema`/`__type` queries are answered.
    pub introspection: bool,
    /// Whether GET /graphql serves GraphiQL to browsers.
    pub graphiql: bool,
    /// Deepest selection allowed.
    pub max_depth: usize,
    /// Largest query complexity allowed (each field, aliases included, costs 1).
    pub max_complexity: usize,
    /// Largest batch of operations in one POST; 0 refuses batches.
    pub max_batch_size: usize,
    /// Largest `first` a connection accepts.
    pub max_page_size: u64,
}

impl Default for GraphqlSettings {
    fn default() -> Self {
        Self {
            introspection: true,
            graphiql: true,
            max_depth: 12,
            max_complexity: 500,
            max_batch_size: 0,
            max_page_size: 100,
        }
    }
}

/// Offline sync and the change log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncSettings {
    /// Days superseded change-log rows are kept; older sync cursors expire.
    pub retention_days: u32,
    /// How often each instance reads the change log without being woken
    /// (a commit here or a PostgreSQL notification wakes it at once): the
    /// most a lost notification delays an event.
    pub poll_interval_ms: u64,
    /// How far ahead of the server's clock a queued operation's
    /// `occurredAt` may be (a phone's clock runs fast); such a time counts
    /// as now. Further ahead is refused.
    pub clock_skew_secs: u64,
    /// How far back `occurredAt` may be: the longest a phone may work
    /// offline and still have its times stamped as they happened.
    pub offline_window_hours: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            retention_days: 30,
            poll_interval_ms: 500,
            clock_skew_secs: 300,
            offline_window_hours: 168,
        }
    }
}

/// The WebSocket endpoint `/graphql/ws`: timeouts and limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WsSettings {
    /// A connection that has not sent `connection_init` by then is closed 4408.
    pub init_timeout_ms: u64,
    /// How often the server pings (`ping` / legacy `ka`); a peer silent for
    /// two intervals is closed 1001.
    pub keepalive_interval_ms: u64,
    /// How often a connection re-reads its user, closing 4403 when the
    /// account was deactivated or its role changed.
    pub recheck_interval_ms: u64,
    /// Operations running at once on one connection.
    pub max_operations: usize,
    /// Largest inbound message (and frame), in bytes; larger ones close 1009.
    pub max_message_bytes: usize,
    /// Open connections one user may hold; past it the newest closes 4429.
    pub max_connections_per_user: usize,
    /// Outbound messages queued per connection; a subscription waits for
    /// room (protocol messages have a little headroom above it).
    pub outbound_queue: usize,
    /// How long the peer may take nothing from a full outbound queue before
    /// the connection is closed 1013.
    pub slow_consumer_grace_ms: u64,
}

impl Default for WsSettings {
    fn default() -> Self {
        Self {
            init_timeout_ms: 3_000,
            keepalive_interval_ms: 12_000,
            recheck_interval_ms: 30_000,
            max_operations: 100,
            max_message_bytes: 64 * 1024,
            max_connections_per_user: 20,
            outbound_queue: 256,
            slow_consumer_grace_ms: 5000,
        }
    }
}

/// Log filter and format.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// A `tracing_subscriber::EnvFilter` directive; `RUST_LOG` wins when set.
    pub filter: String,
    /// Emit JSON lines instead of human-readable text.
    pub json: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "info,sqlx=warn,sqlx::postgres::notice=warn,sea_orm_migration=warn".into(),
            json: false,
        }
    }
}

/// Push notification providers and delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PushSettings {
    /// Expo's push API base URL (`https://exp.host` in production); unset
    /// turns Expo delivery off.
    pub expo_base_url: Option<String>,
    /// Expo access token, sent as `Authorization: Bearer` when set.
    pub expo_access_token: Option<String>,
    /// URL scheme of the app's deep links (`<scheme>://tasks/<id>`).
    pub deep_link_scheme: String,
    /// Delivery attempts before a notification is marked failed.
    pub max_attempts: i32,
    /// How often the router and the sender look for work without a wake-up.
    pub worker_interval_ms: u64,
    /// Base delay of the exponential retry backoff.
    pub retry_base_ms: u64,
    /// A notification claimed for sending longer ago than this belongs to a
    /// sender that died, and is claimed again.
    pub claim_timeout_secs: u64,
    /// Expo receipts are read this long after the ticket (Expo advises ~15
    /// minutes; they are kept 24 hours).
    pub expo_receipt_delay_secs: u64,
    /// Low-urgency updates of one entity within this window are folded into
    /// one notification, sent at the end of the window.
    pub collapse_window_secs: u64,
    /// How long a provider keeps trying to reach an offline device
    /// (APNs `apns-expiration`, Expo `ttl`).
    pub ttl_secs: u64,
    /// APNs token-auth key (the `.p8` file from Apple); unset turns APNs off.
    pub apns_key_path: Option<PathBuf>,
    /// The key's id (10 characters, from Apple's developer account).
    pub apns_key_id: Option<String>,
    /// The Apple developer team id.
    pub apns_team_id: Option<String>,
    /// The app's bundle id, sent as `apns-topic`.
    pub apns_topic: Option<String>,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            expo_base_url: None,
            expo_access_token: None,
            deep_link_scheme: "fieldsync".into(),
            max_attempts: 5,
            worker_interval_ms: 500,
            retry_base_ms: 1000,
            claim_timeout_secs: 60,
            expo_receipt_delay_secs: 900,
            collapse_window_secs: 60,
            ttl_secs: 86_400,
            apns_key_path: None,
            apns_key_id: None,
            apns_team_id: None,
            apns_topic: None,
        }
    }
}

impl Settings {
    /// Reads defaults < `file` (if it exists) < `FIELDSYNC_*`, then validates.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        let settings: Settings = Figment::new()
            .merge(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("FIELDSYNC_").map(|key| env_key_to_path(key.as_str()).into()))
            .extract()
            .map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value that serde's types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::Invalid {
                setting,
                problem: problem.into(),
            })
        };
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("database.url", "must start with sqlite: or postgres://");
        }
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if let Some(schema) = &self.database.schema {
            let ok = !schema.is_empty()
                && schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return invalid("database.schema", "letters, digits and _ only");
            }
        }
        if self.server.body_limit_bytes < 1024 {
            return invalid("server.body_limit_bytes", "must be at least 1024");
        }
        if self.server.request_timeout_secs == 0 {
            return invalid("server.request_timeout_secs", "must be at least 1");
        }
        // An origin that is not a header value would be dropped silently,
        // turning CORS off for it.
        let bad_origin = self.server.cors_origins.iter().any(|origin| {
            origin != "*"
                && (!(origin.starts_with("http://") || origin.starts_with("https://"))
                    || origin.ends_with('/')
                    || axum::http::HeaderValue::from_str(origin).is_err())
        });
        if bad_origin {
            return invalid(
                "server.cors_origins",
                "each must be \"*\" or an origin like https://app.example.com (no path)",
            );
        }
        if let Some(secret) = &self.auth.jwt_secret
            && secret.len() < 32
        {
            return invalid("auth.jwt_secret", "must be at least 32 bytes");
        }
        if self.auth.issuer.is_empty() {
            return invalid("auth.issuer", "must not be empty");
        }
        if self.auth.audience.is_empty() {
            return invalid("auth.audience", "must not be empty");
        }
        if self.auth.leeway_secs > 300 {
            return invalid("auth.leeway_secs", "must be at most 300");
        }
        if self.auth.access_token_ttl_secs == 0 {
            return invalid("auth.access_token_ttl_secs", "must be at least 1");
        }
        if self.auth.refresh_token_ttl_secs < self.auth.access_token_ttl_secs {
            return invalid(
                "auth.refresh_token_ttl_secs",
                "must not be shorter than auth.access_token_ttl_secs",
            );
        }
        if self.graphql.max_depth == 0 {
            return invalid("graphql.max_depth", "must be at least 1");
        }
        if self.graphql.max_complexity == 0 {
            return invalid("graphql.max_complexity", "must be at least 1");
        }
        if !(10..=3_600_000).contains(&self.sync.poll_interval_ms) {
            return invalid("sync.poll_interval_ms", "must be between 10 and 3600000");
        }
        if self.sync.clock_skew_secs > 86_400 {
            return invalid("sync.clock_skew_secs", "must be at most 86400");
        }
        if !(1..=24 * 366).contains(&self.sync.offline_window_hours) {
            return invalid("sync.offline_window_hours", "must be 1 to 8784");
        }
        if self.sync.retention_days == 0 {
            return invalid("sync.retention_days", "must be at least 1");
        }
        if self.graphql.max_page_size == 0 {
            return invalid("graphql.max_page_size", "must be at least 1");
        }
        self.validate_ws()?;
        self.validate_push()?;
        Ok(())
    }

    /// Checks the `[push]` section.
    fn validate_push(&self) -> Result<(), ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::Invalid {
                setting,
                problem: problem.into(),
            })
        };
        let push = &self.push;
        if let Some(url) = &push.expo_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return invalid("push.expo_base_url", "must start with https:// or http://");
        }
        if push.expo_access_token.as_deref() == Some("") {
            return invalid("push.expo_access_token", "must not be empty when set");
        }
        let scheme = &push.deep_link_scheme;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return invalid(
                "push.deep_link_scheme",
                "a URL scheme: a letter, then letters, digits, +, - or .",
            );
        }
        if !(1..=50).contains(&push.max_attempts) {
            return invalid("push.max_attempts", "must be 1 to 50");
        }
        if !(10..=600_000).contains(&push.worker_interval_ms) {
            return invalid("push.worker_interval_ms", "must be 10 to 600000");
        }
        if !(1..=3_600_000).contains(&push.retry_base_ms) {
            return invalid("push.retry_base_ms", "must be 1 to 3600000");
        }
        if !(1..=86_400).contains(&push.claim_timeout_secs) {
            return invalid("push.claim_timeout_secs", "must be 1 to 86400");
        }
        if push.expo_receipt_delay_secs > 86_400 {
            return invalid(
                "push.expo_receipt_delay_secs",
                "must be at most 86400 (Expo keeps receipts 24 hours)",
            );
        }
        if push.collapse_window_secs > 3_600 {
            return invalid("push.collapse_window_secs", "must be at most 3600");
        }
        if !(1..=2_419_200).contains(&push.ttl_secs) {
            return invalid("push.ttl_secs", "must be 1 to 2419200 (28 days)");
        }
        if push.apns_key_path.is_some() {
            let missing = [
                ("push.apns_key_id", &push.apns_key_id),
                ("push.apns_team_id", &push.apns_team_id),
                ("push.apns_topic", &push.apns_topic),
            ]
            .into_iter()
            .find(|(_, value)| value.as_deref().is_none_or(str::is_empty));
            if let Some((setting, _)) = missing {
                return invalid(setting, "must be set when push.apns_key_path is");
            }
        }
        Ok(())
    }

    /// Checks the `[ws]` section.
    fn validate_ws(&self) -> Result<(), ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::Invalid {
                setting,
                problem: problem.into(),
            })
        };
        let ws = &self.ws;
        if !(10..=600_000).contains(&ws.init_timeout_ms) {
            return invalid("ws.init_timeout_ms", "must be 10 to 600000");
        }
        if !(10..=3_600_000).contains(&ws.keepalive_interval_ms) {
            return invalid("ws.keepalive_interval_ms", "must be 10 to 3600000");
        }
        if !(10..=3_600_000).contains(&ws.recheck_interval_ms) {
            return invalid("ws.recheck_interval_ms", "must be 10 to 3600000");
        }
        if !(1..=10_000).contains(&ws.max_operations) {
            return invalid("ws.max_operations", "must be 1 to 10000");
        }
        if !(1024..=16 * 1024 * 1024).contains(&ws.max_message_bytes) {
            return invalid("ws.max_message_bytes", "must be 1024 to 16777216");
        }
        if ws.max_connections_per_user == 0 {
            return invalid("ws.max_connections_per_user", "must be at least 1");
        }
        if !(8..=65_536).contains(&ws.outbound_queue) {
            return invalid("ws.outbound_queue", "must be 8 to 65536");
        }
        if !(100..=600_000).contains(&ws.slow_consumer_grace_ms) {
            return invalid("ws.slow_consumer_grace_ms", "must be 100 to 600000");
        }
        Ok(())
    }

    /// Where the generated HS256 secret is kept when none is configured.
    pub fn secret_file(&self) -> PathBuf {
        self.auth.secret_file.clone().unwrap_or_else(|| {
            self.database
                .sqlite_dir()
                .unwrap_or_default()
                .join("fieldsync.secret")
        })
    }
}

/// `DATABASE_URL` → `database.url`; keys outside the known sections pass
/// through unchanged (and are ignored on extraction).
fn env_key_to_path(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    for section in SECTIONS {
        if let Some(rest) = key.strip_prefix(section).and_then(|r| r.strip_prefix('_')) {
            return format!("{section}.{rest}");
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_map_to_section_and_key() {
        assert_eq!(env_key_to_path("DATABASE_URL"), "database.url");
        assert_eq!(
            env_key_to_path("AUTH_ACCESS_TOKEN_TTL_SECS"),
            "auth.access_token_ttl_secs"
        );
        assert_eq!(env_key_to_path("TEST_POSTGRES_URL"), "test_postgres_url");
        assert_eq!(env_key_to_path("PUSH_EXPO_BASE_URL"), "push.expo_base_url");
    }

    #[test]
    fn secret_file_sits_beside_the_sqlite_file() {
        let mut settings = Settings::default();
        settings.database.url = "sqlite:///var/lib/fs/data.db?mode=rwc".into();
        assert_eq!(
            settings.secret_file(),
            PathBuf::from("/var/lib/fs/fieldsync.secret")
        );
    }

    #[test]
    fn a_bad_deep_link_scheme_is_refused_by_name() {
        let mut settings = Settings::default();
        settings.push.deep_link_scheme = "1 bad".into();
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("push.deep_link_scheme"), "{err}");
    }

    #[test]
    fn a_short_secret_is_refused_by_name() {
        let mut settings = Settings::default();
        settings.auth.jwt_secret = Some("short".into());
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("auth.jwt_secret"), "{err}");
    }

    #[test]
    fn cors_origins_are_checked_at_start() {
        let mut settings = Settings::default();
        settings.server.cors_origins = vec!["*".into(), "https://app.example.com".into()];
        assert!(settings.validate().is_ok());
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://bad\norigin",
        ] {
            settings.server.cors_origins = vec![bad.into()];
            let err = settings.validate().unwrap_err().to_string();
            assert!(err.contains("server.cors_origins"), "{bad}: {err}");
        }
    }
}
