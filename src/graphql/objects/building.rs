//! The `Building` type.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::building;
use entity::enums::BuildingStatus;

use super::gid;

/// A building the organisation operates.
pub struct Building(pub building::Model);

#[Object]
impl Building {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Street address.
    async fn address(&self) -> &str {
        &self.0.address
    }
    /// Operational condition.
    async fn status(&self) -> BuildingStatus {
        self.0.status
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
