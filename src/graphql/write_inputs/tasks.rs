//! Task write inputs, and the task operations built from them.

use async_graphql::{ID, InputObject, Json, MaybeUndefined};
use chrono::{DateTime, Utc};
use entity::enums::{TaskPriority, TaskStatus};
use serde_json::Value;

use crate::domain::operations::Operation;
use crate::domain::task_rules::TaskPatch;
use crate::domain::task_writes::{NewTask, TaskUpdate};
use crate::domain::writes::{ConflictResolution, ConflictStrategy};
use crate::error::{Error, Result};
use crate::graphql::inputs::parse_id;
use crate::graphql::json::snake_keys;

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// Your own id for it (UUID), so a create replayed from an offline queue is idempotent.
    pub id: Option<ID>,
    /// The building the work is in.
    pub building_id: ID,
    /// Short summary (1–200 characters).
    pub title: String,
    /// Details.
    #[graphql(default)]
    pub description: String,
    /// Trade or kind.
    #[graphql(default)]
    pub category: String,
    /// How urgent.
    #[graphql(default_with = "TaskPriority::Normal")]
    pub priority: TaskPriority,
    /// Who does it (administrators only); makes the task ASSIGNED.
    pub assignee_id: Option<ID>,
    /// When it is due.
    pub due_at: Option<DateTime<Utc>>,
}

impl CreateTaskInput {
    /// The domain form.
    pub fn into_new_task(self) -> Result<NewTask> {
        Ok(NewTask {
            id: self
                .id
                .as_ref()
                .map(|id| parse_id(id, "task"))
                .transpose()?,
            building_id: parse_id(&self.building_id, "building")?,
            title: self.title,
            description: self.description,
            category: self.category,
            priority: self.priority,
            assignee_id: self
                .assignee_id
                .as_ref()
                .map(|id| parse_id(id, "user"))
                .transpose()?,
            due_at: self.due_at,
        })
    }
}

/// Fields to change on a task; omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct TaskPatchInput {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New priority.
    pub priority: Option<TaskPriority>,
    /// New status (the status machine applies).
    pub status: Option<TaskStatus>,
    /// New assignee; `null` unassigns.
    pub assignee_id: MaybeUndefined<ID>,
    /// New progress, 0–100.
    pub progress: Option<i32>,
    /// New due time; `null` clears it.
    pub due_at: MaybeUndefined<DateTime<Utc>>,
}

impl TaskPatchInput {
    /// The domain form.
    pub fn into_patch(self) -> Result<TaskPatch> {
        let assignee_id = match self.assignee_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(parse_id(&id, "user")?)),
        };
        Ok(TaskPatch {
            title: self.title,
            description: self.description,
            category: self.category,
            priority: self.priority,
            status: self.status,
            assignee_id,
            progress: self.progress,
            due_at: match self.due_at {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(at) => Some(Some(at)),
            },
        })
    }
}

/// `updateTask` inside a sync batch.
#[derive(InputObject)]
pub struct UpdateTaskOperation {
    /// Which task.
    pub id: ID,
    /// The version you edited; omit to edit whatever is current.
    pub expected_version: Option<i32>,
    /// What to change.
    pub patch: TaskPatchInput,
    /// What to do if the server moved on.
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `deleteTask` inside a sync batch.
#[derive(InputObject)]
pub struct DeleteTaskOperation {
    /// Which task.
    pub id: ID,
    /// The version you saw; a different one answers CONFLICT.
    pub expected_version: Option<i32>,
}

/// `resolveSyncConflict` inside a sync batch.
#[derive(InputObject)]
pub struct ResolveConflictOperation {
    /// Which conflict.
    pub id: ID,
    /// How to settle it.
    pub resolution: ConflictResolution,
    /// For MERGED: the fields to write (camelCase names).
    pub patch: Option<Json<Value>>,
}

/// An `UpdateTask` operation from its parts.
pub fn update_operation(
    id: ID,
    expected_version: Option<i32>,
    patch: TaskPatchInput,
    strategy: ConflictStrategy,
) -> Result<Operation> {
    Ok(Operation::UpdateTask(TaskUpdate::new(
        parse_id(&id, "task")?,
        expected_version,
        patch.into_patch()?,
        strategy,
    )))
}

/// A `ResolveConflict` operation from its parts.
pub fn resolve_operation(
    id: ID,
    resolution: ConflictResolution,
    patch: Option<Json<Value>>,
) -> Result<Operation> {
    let patch = match patch.map(|p| p.0) {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(snake_keys(map)),
        Some(_) => return Err(Error::bad_input("patch must be an object")),
    };
    Ok(Operation::ResolveConflict {
        id: parse_id(&id, "sync conflict")?,
        resolution,
        patch,
    })
}
