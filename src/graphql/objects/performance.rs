//! The `WorkerMetrics` type.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use super::user::User;
use super::user_ref;
use crate::domain::performance;

/// A worker's performance over a period.
pub struct WorkerMetrics(pub performance::WorkerMetrics);

#[Object]
impl WorkerMetrics {
    /// The worker.
    async fn worker(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_ref(ctx, self.0.worker_id).await
    }
    /// Start of the period (inclusive).
    async fn from(&self) -> DateTime<Utc> {
        self.0.from
    }
    /// End of the period (exclusive).
    async fn to(&self) -> DateTime<Utc> {
        self.0.to
    }
    /// Tasks completed in the period.
    async fn tasks_completed(&self) -> u64 {
        self.0.tasks_completed
    }
    /// Mean seconds from start to completion; `null` without completed tasks.
    async fn average_completion_seconds(&self) -> Option<f64> {
        self.0.average_completion_seconds
    }
    /// Share (0–1) of completed tasks with a due date finished on time.
    async fn on_time_rate(&self) -> Option<f64> {
        self.0.on_time_rate
    }
    /// Clocked-in hours within the period.
    async fn hours_worked(&self) -> f64 {
        self.0.hours_worked
    }
}
