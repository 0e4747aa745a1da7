//! Derived performance figures of a worker over a period.

use chrono::{DateTime, Utc};
use entity::enums::{Role, TaskStatus};
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{building_worker, task, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use super::{buildings, workers};
use crate::auth::Principal;
use crate::error::{Error, Result};

/// A worker's performance over `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerMetrics {
    /// The worker.
    pub worker_id: UserId,
    /// Start of the period.
    pub from: DateTime<Utc>,
    /// End of the period.
    pub to: DateTime<Utc>,
    /// Tasks the worker completed in the period.
    pub tasks_completed: u64,
    /// Mean time from start to completion of those tasks, in seconds.
    pub average_completion_seconds: Option<f64>,
    /// Share of completed tasks with a due date that were completed by it (0–1).
    pub on_time_rate: Option<f64>,
    /// Clocked-in hours inside the period (an open entry counts up to now).
    pub hours_worked: f64,
}

/// Computes a worker's metrics: administrators for anyone, workers for themselves.
pub async fn worker_metrics(
    db: &impl ConnectionTrait,
    principal: &Principal,
    worker_id: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<WorkerMetrics> {
    check_period(from, to)?;
    let worker = workers::readable_worker(db, principal, worker_id).await?;
    let mut team = measure(db, principal.org_id, &[worker.id], from, to).await?;
    Ok(team.remove(0))
}

/// The metrics of every active worker of the organisation, or of those
/// assigned to one building, in name order (administrators only): two
/// queries whatever the size of the team.
pub async fn team_metrics(
    db: &impl ConnectionTrait,
    principal: &Principal,
    building: Option<BuildingId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<WorkerMetrics>> {
    check_period(from, to)?;
    if !principal.is_admin() {
        return Err(Error::forbidden(
            "only administrators may read a team's figures",
        ));
    }
    let mut select = user::Entity::find()
        .filter(user::Column::OrgId.eq(principal.org_id))
        .filter(user::Column::Role.eq(Role::Worker))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::DeletedAt.is_null());
    if let Some(building) = building {
        buildings::get(db, principal, building).await?;
        let crew = building_worker::Entity::find()
            .select_only()
            .column(building_worker::Column::WorkerId)
            .filter(building_worker::Column::BuildingId.eq(building))
            .into_query();
        select = select.filter(user::Column::Id.in_subquery(crew));
    }
    let team: Vec<UserId> = select
        .order_by_asc(user::Column::Name)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    measure(db, principal.org_id, &team, from, to).await
}

fn check_period(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
    if from >= to {
        return Err(Error::bad_input("`from` must be before `to`"));
    }
    Ok(())
}

/// The figures of `team` (in that order), from one read of their completed
/// tasks and one of their time entries.
async fn measure(
    db: &impl ConnectionTrait,
    org: OrganizationId,
    team: &[UserId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<WorkerMetrics>> {
    if team.is_empty() {
        return Ok(Vec::new());
    }
    let completed = task::Entity::find()
        .filter(task::Column::OrgId.eq(org))
        .filter(task::Column::AssigneeId.is_in(team.iter().copied()))
        .filter(task::Column::Status.eq(TaskStatus::Completed))
        .filter(task::Column::DeletedAt.is_null())
        .filter(task::Column::CompletedAt.gte(from))
        .filter(task::Column::CompletedAt.lt(to))
        .all(db)
        .await?;
    let entries = workers::entries_overlapping(db, org, team, from, to).await?;
    let now = Utc::now();
    Ok(team
        .iter()
        .map(|worker| {
            let done: Vec<task::Model> = completed
                .iter()
                .filter(|t| t.assignee_id == Some(*worker))
                .cloned()
                .collect();
            let worked: Vec<entity::time_entry::Model> = entries
                .iter()
                .filter(|e| e.worker_id == *worker)
                .cloned()
                .collect();
            compute(*worker, from, to, &done, &worked, now)
        })
        .collect())
}

/// The arithmetic, separate from the queries so it can be tested alone.
fn compute(
    worker_id: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    completed: &[task::Model],
    entries: &[entity::time_entry::Model],
    now: DateTime<Utc>,
) -> WorkerMetrics {
    let durations: Vec<f64> = completed
        .iter()
        .filter_map(|t| Some((t.completed_at? - t.started_at?).num_milliseconds() as f64 / 1000.0))
        .collect();
    let average_completion_seconds =
        (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);
    let with_due: Vec<bool> = completed
        .iter()
        .filter_map(|t| Some(t.completed_at? <= t.due_at?))
        .collect();
    let on_time_rate = (!with_due.is_empty()).then(|| {
        with_due.iter().filter(|on_time| **on_time).count() as f64 / with_due.len() as f64
    });
    let worked_ms: i64 = entries
        .iter()
        .map(|e| {
            let start = e.clock_in_at.max(from);
            let end = e.clock_out_at.unwrap_or(now).min(to);
            (end - start).num_milliseconds().max(0)
        })
        .sum();
    WorkerMetrics {
        worker_id,
        from,
        to,
        tasks_completed: completed.len() as u64,
        average_completion_seconds,
        on_time_rate,
        hours_worked: worked_ms as f64 / 3_600_000.0,
    }
}
