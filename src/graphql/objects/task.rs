//! The `Task` type.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{TaskPriority, TaskStatus};
use entity::task;

use super::building::Building;
use super::user::User;
use super::{building_ref, gid, user_ref};

/// A piece of work in a building.
pub struct Task(pub task::Model);

#[Object]
impl Task {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// The building the work is in.
    async fn building(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Building>> {
        building_ref(ctx, self.0.building_id).await
    }
    /// Short summary.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Details.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Free-form trade or kind (plumbing, electrical, …).
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// How urgent it is.
    async fn priority(&self) -> TaskPriority {
        self.0.priority
    }
    /// Where it stands.
    async fn status(&self) -> TaskStatus {
        self.0.status
    }
    /// The worker doing it, if assigned.
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.assignee_id {
            Some(id) => user_ref(ctx, id).await,
            None => Ok(None),
        }
    }
    /// Who opened it; `null` where you may not see that user.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_ref(ctx, self.0.created_by).await
    }
    /// Percent done, 0–100.
    async fn progress(&self) -> i32 {
        self.0.progress
    }
    /// When it should be done.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// When work began (set by the server).
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    /// When it was completed (set by the server).
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// Incremented on every change; pass it back as `expectedVersion`.
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
