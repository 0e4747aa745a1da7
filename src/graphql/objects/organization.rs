//! The `Organization` type.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::organization;

use super::gid;

/// The tenant: every user, building and task belongs to exactly one.
pub struct Organization(pub organization::Model);

#[Object]
impl Organization {
    /// Unique id.
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// URL-safe short name, used in demo logins.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
