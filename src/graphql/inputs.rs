//! Input types, and parsing them into domain types at the edge.

use std::str::FromStr;

use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};
use entity::enums::{
    AlertSeverity, EntityType, InspectionResult, SyncConflictStatus, TaskPriority, TaskStatus,
    ViolationSeverity, ViolationStatus,
};

use crate::domain::compliance::{AlertFilter, InspectionFilter, ViolationFilter};
use crate::domain::conflicts::ConflictFilter;
use crate::domain::orders::{
    AlertOrderField, InspectionOrderField, TaskOrderField, UserOrderField, ViolationOrderField,
};
use crate::domain::pagination::{Order, Orderable, SortKey};
use crate::domain::tasks::TaskFilter;
use crate::error::Error;

/// Parses a GraphQL `ID` into a typed id, or `BAD_USER_INPUT`.
pub fn parse_id<T: FromStr>(id: &ID, what: &str) -> Result<T, Error> {
    id.parse()
        .map_err(|_| Error::bad_input(format!("`{}` is not a valid {what} id", id.as_str())))
}

/// Parses an optional `ID`.
pub fn parse_opt<T: FromStr>(id: &Option<ID>, what: &str) -> Result<Option<T>, Error> {
    id.as_ref().map(|id| parse_id(id, what)).transpose()
}

/// Narrows `tasks`; fields combine with AND.
#[derive(InputObject, Default)]
pub struct TaskFilterInput {
    /// Only tasks of this building.
    pub building_id: Option<ID>,
    /// Only tasks in one of these statuses.
    pub status: Option<Vec<TaskStatus>>,
    /// Only tasks assigned to this user.
    pub assignee_id: Option<ID>,
    /// Only tasks of this priority.
    pub priority: Option<TaskPriority>,
    /// Only tasks due before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks due at or after this time.
    pub due_after: Option<DateTime<Utc>>,
}

impl TryFrom<TaskFilterInput> for TaskFilter {
    type Error = Error;

    fn try_from(input: TaskFilterInput) -> Result<Self, Error> {
        Ok(TaskFilter {
            building_id: parse_opt(&input.building_id, "building")?,
            statuses: input.status.unwrap_or_default(),
            assignee_id: parse_opt(&input.assignee_id, "user")?,
            priority: input.priority,
            due_before: input.due_before,
            due_after: input.due_after,
        })
    }
}

/// Narrows `violations`.
#[derive(InputObject, Default)]
pub struct ViolationFilterInput {
    /// Only violations of this building.
    pub building_id: Option<ID>,
    /// Only violations in one of these statuses.
    pub status: Option<Vec<ViolationStatus>>,
    /// Only violations of this severity.
    pub severity: Option<ViolationSeverity>,
}

impl TryFrom<ViolationFilterInput> for ViolationFilter {
    type Error = Error;

    fn try_from(input: ViolationFilterInput) -> Result<Self, Error> {
        Ok(ViolationFilter {
            building_id: parse_opt(&input.building_id, "building")?,
            statuses: input.status.unwrap_or_default(),
            severity: input.severity,
        })
    }
}

/// Narrows `inspections`.
#[derive(InputObject, Default)]
pub struct InspectionFilterInput {
    /// Only inspections of this building.
    pub building_id: Option<ID>,
    /// Only inspections with this result.
    pub result: Option<InspectionResult>,
    /// Only inspections scheduled at or after this time.
    pub scheduled_after: Option<DateTime<Utc>>,
    /// Only inspections scheduled before this time.
    pub scheduled_before: Option<DateTime<Utc>>,
}

impl TryFrom<InspectionFilterInput> for InspectionFilter {
    type Error = Error;

    fn try_from(input: InspectionFilterInput) -> Result<Self, Error> {
        Ok(InspectionFilter {
            building_id: parse_opt(&input.building_id, "building")?,
            result: input.result,
            scheduled_after: input.scheduled_after,
            scheduled_before: input.scheduled_before,
        })
    }
}

/// Narrows `complianceAlerts`.
#[derive(InputObject, Default)]
pub struct ComplianceAlertFilterInput {
    /// Only alerts of this building.
    pub building_id: Option<ID>,
    /// Only acknowledged (true) or unacknowledged (false) alerts.
    pub acknowledged: Option<bool>,
    /// Only alerts of this severity.
    pub severity: Option<AlertSeverity>,
}

impl TryFrom<ComplianceAlertFilterInput> for AlertFilter {
    type Error = Error;

    fn try_from(input: ComplianceAlertFilterInput) -> Result<Self, Error> {
        Ok(AlertFilter {
            building_id: parse_opt(&input.building_id, "building")?,
            acknowledged: input.acknowledged,
            severity: input.severity,
        })
    }
}

/// Narrows `conflicts`; fields combine with AND.
#[derive(InputObject, Default)]
pub struct SyncConflictFilterInput {
    /// Only this user's (administrators; anyone else only lists their own).
    pub user_id: Option<ID>,
    /// Only about this kind of entity.
    pub entity_type: Option<EntityType>,
    /// Only about this entity.
    pub entity_id: Option<ID>,
    /// Only in this state.
    pub status: Option<SyncConflictStatus>,
}

impl TryFrom<SyncConflictFilterInput> for ConflictFilter {
    type Error = Error;

    fn try_from(input: SyncConflictFilterInput) -> Result<Self, Error> {
        let entity_id = input
            .entity_id
            .map(|id| {
                uuid::Uuid::parse_str(id.as_str())
                    .map_err(|_| Error::bad_input(format!("`{}` is not a valid id", id.as_str())))
            })
            .transpose()?;
        Ok(ConflictFilter {
            user_id: parse_opt(&input.user_id, "user")?,
            entity_type: input.entity_type,
            entity_id,
            status: input.status,
        })
    }
}

/// Which way a list runs.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// The order of a list: one of its fields, either way; creation breaks
/// ties, so cursors stay valid as rows change.
#[derive(InputObject)]
#[graphql(concrete(name = "TaskOrderInput", params(TaskOrderField)))]
#[graphql(concrete(name = "ViolationOrderInput", params(ViolationOrderField)))]
#[graphql(concrete(name = "InspectionOrderInput", params(InspectionOrderField)))]
#[graphql(concrete(name = "ComplianceAlertOrderInput", params(AlertOrderField)))]
#[graphql(concrete(name = "UserOrderInput", params(UserOrderField)))]
pub struct OrderInput<F: async_graphql::InputType> {
    /// By what.
    pub field: F,
    /// Which way (ASC by default).
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl<F: async_graphql::InputType + Copy> OrderInput<F> {
    /// The sort key of a kind of row, or `None` for creation order.
    pub fn key<M: Orderable<Field = F>>(&self) -> Option<SortKey<M>> {
        M::key(Order {
            field: self.field,
            descending: self.direction == OrderDirection::Desc,
        })
    }
}
