//! The rules of a task's life: the patch a write may carry, the status
//! machine, the consequences of a change (timestamps, implied statuses) and
//! how concurrent edits of each field merge.

use chrono::{DateTime, Utc};
use entity::enums::{Role, TaskPriority, TaskStatus};
use entity::ids::UserId;
use entity::task;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::domain::merge::Rule;
use crate::error::{Error, Result};

/// Fields a task update may change; `None` leaves a field alone. Field names
/// are those of the stored model, so a patch compares directly with
/// change-log snapshots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// New priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<TaskPriority>,
    /// New status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// New assignee; `Some(None)` unassigns.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub assignee_id: Option<Option<UserId>>,
    /// New progress, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<i32>,
    /// New due time; `Some(None)` clears it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub due_at: Option<Option<DateTime<Utc>>>,
}

/// A field that is present deserialises to `Some`, even when `null`.
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl TaskPatch {
    /// The patch as a map of stored field names to values.
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Reads a patch from stored field names, refusing unknown fields.
    pub fn from_map(map: Map<String, Value>) -> Result<Self> {
        serde_json::from_value(Value::Object(map))
            .map_err(|e| Error::bad_input(format!("invalid task patch: {e}")))
    }

    /// Checks lengths and ranges.
    pub fn validate(&self) -> Result<()> {
        if let Some(title) = &self.title {
            check_text("title", title, 1, 200)?;
        }
        if let Some(description) = &self.description {
            check_text("description", description, 0, 10_000)?;
        }
        if let Some(category) = &self.category {
            check_text("category", category, 0, 64)?;
        }
        if let Some(progress) = self.progress
            && !(0..=100).contains(&progress)
        {
            return Err(Error::bad_input(format!(
                "progress must be between 0 and 100, not {progress}"
            )));
        }
        Ok(())
    }

    /// Writes the patch's fields onto a model.
    pub fn apply_to(&self, task: &mut task::Model) {
        if let Some(v) = &self.title {
            task.title = v.trim().to_owned();
        }
        if let Some(v) = &self.description {
            task.description = v.clone();
        }
        if let Some(v) = &self.category {
            task.category = v.trim().to_owned();
        }
        if let Some(v) = self.priority {
            task.priority = v;
        }
        if let Some(v) = self.status {
            task.status = v;
        }
        if let Some(v) = self.assignee_id {
            task.assignee_id = v;
        }
        if let Some(v) = self.progress {
            task.progress = v;
        }
        if let Some(v) = self.due_at {
            task.due_at = v;
        }
    }

    /// The stored names of the fields this patch sets.
    pub fn fields(&self) -> Vec<String> {
        self.to_map().keys().cloned().collect()
    }
}

/// Refuses text outside `min..=max` characters.
pub fn check_text(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let len = value.trim().chars().count();
    if len < min || value.chars().count() > max {
        return Err(Error::bad_input(format!(
            "{field} must be {min} to {max} characters"
        )));
    }
    Ok(())
}

/// Whether a task may move from one status to another.
pub fn can_transition(from: TaskStatus, to: TaskStatus) -> bool {
    use TaskStatus::*;
    from == to
        || matches!(
            (from, to),
            (Pending, Assigned | InProgress | Cancelled)
                | (Assigned, Pending | InProgress | Blocked | Cancelled)
                | (InProgress, Assigned | Blocked | Completed | Cancelled)
                | (Blocked, Assigned | InProgress | Cancelled)
        )
}

/// The error for a forbidden transition, naming both states.
pub fn illegal_transition(from: TaskStatus, to: TaskStatus) -> Error {
    Error::bad_input(format!(
        "a task cannot go from {} to {}",
        status_name(from),
        status_name(to)
    ))
}

/// The GraphQL name of a status.
pub fn status_name(status: TaskStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Fills in what follows from a change: assigning a pending task makes it
/// ASSIGNED, unassigning an assigned one makes it PENDING, starting stamps
/// `started_at`, completing stamps `completed_at` and sets progress to 100.
pub fn settle(before: &task::Model, after: &mut task::Model, now: DateTime<Utc>) {
    if after.assignee_id.is_some() && after.status == TaskStatus::Pending {
        after.status = TaskStatus::Assigned;
    }
    if after.assignee_id.is_none() && after.status == TaskStatus::Assigned {
        after.status = TaskStatus::Pending;
    }
    if after.status != before.status {
        if after.status == TaskStatus::InProgress && after.started_at.is_none() {
            after.started_at = Some(now);
        }
        if after.status == TaskStatus::Completed {
            let started = *after.started_at.get_or_insert(now);
            // Never before it started (a start stamped later than an
            // offline completion reached the server first).
            after.completed_at = Some(now.max(started));
            after.progress = 100;
        }
    }
}

/// Who may change what: administrators anything; workers the status and
/// progress of tasks assigned to them; clients nothing after creation.
pub fn authorize_update(
    principal: &Principal,
    task: &task::Model,
    patch: &TaskPatch,
) -> Result<()> {
    match principal.role {
        Role::Admin => Ok(()),
        Role::Worker => {
            if task.assignee_id != Some(principal.user_id) {
                return Err(Error::forbidden(
                    "workers may change only tasks assigned to them",
                ));
            }
            let only_own_fields = patch
                .fields()
                .iter()
                .all(|f| f == "status" || f == "progress");
            if only_own_fields {
                Ok(())
            } else {
                Err(Error::forbidden(
                    "workers may change only the status and progress of their tasks",
                ))
            }
        }
        Role::Client => Err(Error::forbidden(
            "clients may open service requests but not change tasks",
        )),
    }
}

/// How each task field merges when both sides changed it.
pub fn merge_rule(field: &str) -> Rule {
    match field {
        "progress" => Rule::Max,
        "status" => Rule::Ranked(status_rank),
        "priority" => Rule::Ranked(priority_rank),
        _ => Rule::Conflict,
    }
}

/// Whether the server's value of a field already holds the client's edit:
/// equal, or ahead of it under the field's merge rule.
pub fn dominates(field: &str, server: &Value, client: &Value) -> bool {
    if server == client {
        return true;
    }
    match merge_rule(field) {
        Rule::Max => matches!((server.as_f64(), client.as_f64()), (Some(s), Some(c)) if s >= c),
        Rule::Ranked(rank) => {
            matches!((server.as_str().and_then(rank), client.as_str().and_then(rank)), (Some(s), Some(c)) if s >= c)
        }
        Rule::Conflict => false,
    }
}

/// Status precedence: later stages win, and terminal states win over all
/// (a completion beats a racing cancellation).
fn status_rank(value: &str) -> Option<u8> {
    [
        "PENDING",
        "ASSIGNED",
        "IN_PROGRESS",
        "BLOCKED",
        "CANCELLED",
        "COMPLETED",
    ]
    .iter()
    .position(|s| *s == value)
    .map(|p| p as u8)
}

/// Priority precedence: the more urgent wins.
fn priority_rank(value: &str) -> Option<u8> {
    ["LOW", "NORMAL", "HIGH", "URGENT"]
        .iter()
        .position(|s| *s == value)
        .map(|p| p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_machine_allows_forward_steps_and_refuses_leaving_terminal_states() {
        assert!(can_transition(TaskStatus::Assigned, TaskStatus::InProgress));
        assert!(can_transition(TaskStatus::Blocked, TaskStatus::InProgress));
        assert!(!can_transition(
            TaskStatus::Completed,
            TaskStatus::InProgress
        ));
        assert!(!can_transition(TaskStatus::Pending, TaskStatus::Completed));
        assert_eq!(
            illegal_transition(TaskStatus::Completed, TaskStatus::Pending).to_string(),
            "a task cannot go from COMPLETED to PENDING"
        );
    }

    #[test]
    fn a_patch_round_trips_through_its_map_and_null_unassigns() {
        let patch = TaskPatch {
            assignee_id: Some(None),
            progress: Some(40),
            ..Default::default()
        };
        let map = patch.to_map();
        assert_eq!(map.get("assignee_id"), Some(&Value::Null));
        assert_eq!(TaskPatch::from_map(map).unwrap(), patch);
    }
}
