//! The error type of the auth and domain layers: what went wrong, phrased as
//! what the caller may be told. `graphql::errors` turns it into a GraphQL
//! error with `extensions.code`; infrastructure failures are logged there once
//! and reach the client only as `INTERNAL`.

use sea_orm::DbErr;

/// Result of an auth or domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an operation did not happen. Retrying with the same input never helps.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials, or credentials that are invalid, expired or revoked. `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but their role does not allow this. `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(String),
    /// Missing, deleted, in another organisation, or invisible to the caller:
    /// deliberately indistinguishable. `NOT_FOUND`.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that can never be accepted as given. `BAD_USER_INPUT`.
    #[error("{0}")]
    BadUserInput(String),
    /// A feature this server is not configured for (push without a
    /// provider). `UNAVAILABLE`.
    #[error("{0}")]
    Unavailable(String),
    /// Too many attempts, or too much work waiting; try again after
    /// `retry_after`. `RATE_LIMITED`.
    #[error("too many attempts; try again in {} s", retry_after_secs(*.retry_after))]
    RateLimited {
        /// How long until an attempt can succeed.
        retry_after: std::time::Duration,
    },
    /// A sync cursor older than the change-log retention. `CURSOR_EXPIRED`.
    #[error("the sync cursor is older than the change-log retention; reload in full")]
    CursorExpired,
    /// The database failed; details are logged, not shown. `INTERNAL`.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// Anything else that is our fault; details are logged, not shown. `INTERNAL`.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The `extensions.code` a client sees for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound(_) => "NOT_FOUND",
            Error::BadUserInput(_) => "BAD_USER_INPUT",
            Error::Unavailable(_) => "UNAVAILABLE",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::CursorExpired => "CURSOR_EXPIRED",
            Error::Database(_) | Error::Internal(_) => "INTERNAL",
        }
    }

    /// True for failures that are ours (logged once, shown as `INTERNAL`).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Database(_) | Error::Internal(_))
    }

    /// The message a client sees: internal details are withheld.
    pub fn public_message(&self) -> String {
        match self {
            Error::Database(_) | Error::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }

    /// Whole seconds until a rate-limited attempt can succeed (at least 1),
    /// for `extensions.retryAfterSeconds`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after } => Some(retry_after_secs(*retry_after)),
            _ => None,
        }
    }

    /// Shorthand for [`Error::BadUserInput`].
    pub fn bad_input(message: impl Into<String>) -> Self {
        Error::BadUserInput(message.into())
    }

    /// Shorthand for [`Error::Forbidden`].
    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden(message.into())
    }
}

/// A wait in whole seconds, rounded up, at least 1.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}
