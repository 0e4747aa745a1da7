//! The one application state, built at start and shared by every handler.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::TokenService;
use crate::auth::throttle::SignInThrottle;
use crate::config::Settings;
use crate::domain::operations::Writer;
use crate::events::hub::Hub;
use crate::push::Senders;

/// What every request handler and resolver can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Pooled connection to SQLite or PostgreSQL.
    pub db: DatabaseConnection,
    /// The validated settings the process started with.
    pub settings: Arc<Settings>,
    /// Issues and verifies access tokens.
    pub tokens: Arc<TokenService>,
    /// Limits on sign-in attempts and password checks.
    pub sign_ins: Arc<SignInThrottle>,
    /// Begins and commits every write, and wakes the hub after each commit.
    pub writer: Writer,
    /// Broadcasts committed changes to this instance's subscribers.
    pub hub: Arc<Hub>,
    /// The push providers that are on (none: push is off).
    pub push: Senders,
}
