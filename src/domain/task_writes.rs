//! Versioned task writes: create (idempotent by client-supplied id), update
//! under a conflict strategy, delete. Each runs inside the caller's write
//! transaction and records its change-log row there.

use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, EntityType, Role, TaskPriority, TaskStatus};
use entity::ids::{BuildingId, TaskId, UserId};
use entity::{building_worker, task, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};

use super::buildings;
use super::conflicts;
use super::task_rules::{self, TaskPatch, check_text};
use super::tasks;
use super::versioned::{self, Edit, Reconciled, answer, conflict, locked, reconcile, save_as};
use super::writes::{ConflictStrategy, Outcome, Written, overridden};
use crate::auth::Principal;
use crate::error::{Error, Result};

/// A task to create.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Client-chosen id (makes an offline create idempotent); generated when absent.
    pub id: Option<TaskId>,
    /// Where the work is.
    pub building_id: BuildingId,
    /// Short summary.
    pub title: String,
    /// Details.
    pub description: String,
    /// Trade or kind.
    pub category: String,
    /// How urgent.
    pub priority: TaskPriority,
    /// Who does it (administrators only).
    pub assignee_id: Option<UserId>,
    /// When it is due.
    pub due_at: Option<DateTime<Utc>>,
}

/// An update of an existing task.
#[derive(Debug, Clone)]
pub struct TaskUpdate {
    /// Which task.
    pub id: TaskId,
    /// The version the client edited; `None` means "whatever is current".
    pub expected_version: Option<i32>,
    /// What to change.
    pub patch: TaskPatch,
    /// What to do if the server moved on.
    pub strategy: ConflictStrategy,
    /// Values this client's own earlier queued operations wrote to the task
    /// (see `operations::apply`): not concurrent changes to merge against.
    pub queued: Map<String, Value>,
    /// When the edit happened, if not now (a queued offline operation):
    /// the task's `startedAt` and `completedAt` are stamped with it.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl TaskUpdate {
    /// An update with nothing queued before it.
    pub fn new(
        id: TaskId,
        expected_version: Option<i32>,
        patch: TaskPatch,
        strategy: ConflictStrategy,
    ) -> Self {
        Self {
            id,
            expected_version,
            patch,
            strategy,
            queued: Map::new(),
            occurred_at: None,
        }
    }
}

/// Creates a task: administrators anywhere in the organisation, clients a
/// PENDING service request on one of their buildings. Replaying a create
/// with the same id by the same user returns the task as it stands.
pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    new: NewTask,
    cmid: Option<&str>,
) -> Result<Written> {
    match principal.role {
        Role::Admin => {}
        Role::Client if new.assignee_id.is_none() => {}
        Role::Client => return Err(Error::forbidden("clients may not assign tasks")),
        Role::Worker => return Err(Error::forbidden("workers may not create tasks")),
    }
    check_text("title", &new.title, 1, 200)?;
    check_text("description", &new.description, 0, 10_000)?;
    check_text("category", &new.category, 0, 64)?;
    // A building the caller may see, or NOT_FOUND.
    buildings::get(db, principal, new.building_id).await?;
    let id = new.id.unwrap_or_default();
    if let Some(existing) = task::Entity::find_by_id(id).one(db).await? {
        if existing.org_id == principal.org_id && existing.created_by == principal.user_id {
            return answer(Outcome::Applied, &existing, None);
        }
        return Err(Error::bad_input("this task id cannot be used"));
    }
    if let Some(assignee) = new.assignee_id {
        check_assignee(db, principal, new.building_id, assignee).await?;
    }
    let now = Utc::now();
    let model = task::Model {
        id,
        org_id: principal.org_id,
        building_id: new.building_id,
        title: new.title.trim().to_owned(),
        description: new.description,
        category: new.category.trim().to_owned(),
        priority: new.priority,
        status: if new.assignee_id.is_some() {
            TaskStatus::Assigned
        } else {
            TaskStatus::Pending
        },
        assignee_id: new.assignee_id,
        created_by: principal.user_id,
        progress: 0,
        due_at: new.due_at,
        started_at: None,
        completed_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    versioned::create(db, principal, model, cmid).await
}

/// Updates a task under its conflict strategy.
pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    update: TaskUpdate,
    cmid: Option<&str>,
) -> Result<Written> {
    update.patch.validate()?;
    let current = load_for_write(db, principal, update.id).await?;
    task_rules::authorize_update(principal, &current, &update.patch)?;
    let client = update.patch.to_map();
    let edit = Edit {
        expected: update.expected_version,
        strategy: update.strategy,
        client: &client,
        queued: Some(&update.queued),
    };
    // A status that won a merge must still be reachable from where the
    // task is now.
    let unreachable = |patch: &Map<String, Value>| {
        let status = patch.get("status")?;
        let status: TaskStatus = serde_json::from_value(status.clone()).ok()?;
        (!task_rules::can_transition(current.status, status)).then(|| "status".to_owned())
    };
    let (patch, outcome, merged_fields) = match reconcile(
        db,
        principal,
        &current,
        edit,
        task_rules::merge_rule,
        unreachable,
    )
    .await?
    {
        Reconciled::Write {
            patch,
            outcome,
            merged_fields,
        } => (TaskPatch::from_map(patch)?, outcome, merged_fields),
        Reconciled::Conflict(answer) => return Ok(answer),
    };
    let saved = write(db, principal, &current, &patch, update.occurred_at, cmid).await?;
    let mut answer = answer(outcome, &saved, None)?;
    answer.merged_fields = merged_fields;
    answer.overridden_fields = overridden(&client, &answer.snapshot);
    Ok(answer)
}

/// Applies a checked patch to the current row and records the change;
/// returns the row as stored (unchanged when the patch changes nothing).
/// A start or completion is stamped `occurred_at`, or now.
async fn write(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: &task::Model,
    patch: &TaskPatch,
    occurred_at: Option<DateTime<Utc>>,
    cmid: Option<&str>,
) -> Result<task::Model> {
    let now = Utc::now();
    let mut next = current.clone();
    patch.apply_to(&mut next);
    if patch.status == Some(TaskStatus::Assigned) && next.assignee_id.is_none() {
        return Err(Error::bad_input("an ASSIGNED task needs an assignee"));
    }
    task_rules::settle(current, &mut next, occurred_at.unwrap_or(now));
    if !task_rules::can_transition(current.status, next.status) {
        return Err(task_rules::illegal_transition(current.status, next.status));
    }
    if next.assignee_id != current.assignee_id
        && let Some(assignee) = next.assignee_id
    {
        check_assignee(db, principal, next.building_id, assignee).await?;
    }
    save_as(db, principal, current, next, ChangeOp::Updated, now, cmid).await
}

/// Soft-deletes a task (administrators only).
pub async fn delete(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: TaskId,
    expected_version: Option<i32>,
    cmid: Option<&str>,
) -> Result<Written> {
    if !principal.is_admin() {
        return Err(Error::forbidden("only administrators may delete tasks"));
    }
    let current = load_for_write(db, principal, id).await?;
    if expected_version.is_some_and(|expected| expected != current.version) {
        return conflict(db, &current, Map::new(), expected_version).await;
    }
    let now = Utc::now();
    let mut next = current.clone();
    next.deleted_at = Some(now);
    let saved = save_as(db, principal, &current, next, ChangeOp::Deleted, now, cmid).await?;
    conflicts::close_for_deleted(db, principal, EntityType::Task, current.id.into_uuid()).await?;
    answer(Outcome::Applied, &saved, None)
}

/// The visible task, locked for the rest of the transaction on PostgreSQL
/// (SQLite's IMMEDIATE transaction already holds the write lock).
pub async fn load_for_write(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: TaskId,
) -> Result<task::Model> {
    tasks::get(db, principal, id).await?;
    locked(db, task::Entity::find_by_id(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("task"))
}

/// An assignee must be an active worker of the organisation assigned to the building.
async fn check_assignee(
    db: &impl ConnectionTrait,
    principal: &Principal,
    building: BuildingId,
    assignee: UserId,
) -> Result<()> {
    let worker = user::Entity::find_by_id(assignee)
        .filter(user::Column::OrgId.eq(principal.org_id))
        .one(db)
        .await?
        .filter(|u| u.active && u.deleted_at.is_none() && u.role == Role::Worker)
        .ok_or_else(|| {
            Error::bad_input("the assignee must be an active worker of this organisation")
        })?;
    let assigned = building_worker::Entity::find_by_id((building, worker.id))
        .one(db)
        .await?
        .is_some();
    if !assigned {
        return Err(Error::bad_input(
            "the assignee is not assigned to this task's building",
        ));
    }
    Ok(())
}
