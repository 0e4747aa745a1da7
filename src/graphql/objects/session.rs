//! The `AuthPayload` type returned by login and refresh.

use async_graphql::Object;
use chrono::{DateTime, Utc};

use super::user::User;
use crate::auth::session::Session;

/// A signed-in session.
pub struct AuthPayload(pub Session);

#[Object]
impl AuthPayload {
    /// Bearer token for `Authorization` and `connection_init`.
    async fn access_token(&self) -> &str {
        &self.0.access.token
    }
    /// When the access token expires; refresh before then.
    async fn access_token_expires_at(&self) -> DateTime<Utc> {
        self.0.access.expires_at
    }
    /// Single-use token for `refreshSession`; keep it secret.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    /// When the refresh token expires.
    async fn refresh_token_expires_at(&self) -> DateTime<Utc> {
        self.0.refresh_expires_at
    }
    /// The signed-in user.
    async fn user(&self) -> User {
        User::own(self.0.user.clone())
    }
}
