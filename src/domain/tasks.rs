//! Tasks: administrators see all; clients every task in their buildings;
//! workers the tasks assigned to them and the open, unassigned tasks in the
//! buildings they are assigned to.

use chrono::{DateTime, Utc};
use entity::enums::{Role, TaskPriority, TaskStatus};
use entity::ids::{BuildingId, TaskId, UserId};
use entity::task;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, QueryFilter, Select};

use super::pagination::{Page, PageRequest, SortKey, paginate_in};
use super::scope::{BuildingScope, in_org};
use crate::auth::Principal;
use crate::error::{Error, Result};

/// Narrows a task list; every field is optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this building.
    pub building_id: Option<BuildingId>,
    /// Only these statuses.
    pub statuses: Vec<TaskStatus>,
    /// Only tasks assigned to this user.
    pub assignee_id: Option<UserId>,
    /// Only this priority.
    pub priority: Option<TaskPriority>,
    /// Only tasks due before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks due at or after this time.
    pub due_after: Option<DateTime<Utc>>,
}

/// The tasks the caller may see, before filtering and paging.
async fn visible(db: &impl ConnectionTrait, principal: &Principal) -> Result<Select<task::Entity>> {
    let scope = BuildingScope::of(db, principal).await?;
    let mut condition = scope.condition(task::Column::BuildingId);
    if principal.role == Role::Worker {
        condition = condition.add(
            Condition::any()
                .add(task::Column::AssigneeId.eq(principal.user_id))
                .add(
                    Condition::all()
                        .add(task::Column::AssigneeId.is_null())
                        .add(
                            task::Column::Status
                                .is_not_in([TaskStatus::Completed, TaskStatus::Cancelled]),
                        ),
                ),
        );
    }
    Ok(in_org::<task::Entity>(principal)
        .filter(task::Column::DeletedAt.is_null())
        .filter(condition))
}

/// A page of visible tasks matching the filter.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &TaskFilter,
    order: Option<&SortKey<task::Model>>,
    page: &PageRequest,
) -> Result<Page<task::Model>> {
    let mut select = visible(db, principal).await?;
    if let Some(building) = filter.building_id {
        select = select.filter(task::Column::BuildingId.eq(building));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(task::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(assignee) = filter.assignee_id {
        select = select.filter(task::Column::AssigneeId.eq(assignee));
    }
    if let Some(priority) = filter.priority {
        select = select.filter(task::Column::Priority.eq(priority));
    }
    if let Some(before) = filter.due_before {
        select = select.filter(task::Column::DueAt.lt(before));
    }
    if let Some(after) = filter.due_after {
        select = select.filter(task::Column::DueAt.gte(after));
    }
    paginate_in(db, select, task::Column::Id, order, page).await
}

/// One visible task, or `NOT_FOUND`.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: TaskId,
) -> Result<task::Model> {
    visible(db, principal)
        .await?
        .filter(task::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("task"))
}
