//! The `tasks` table: work to be done at a building.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{TaskPriority, TaskStatus};
use crate::ids::{BuildingId, OrganizationId, TaskId, UserId};

/// One task.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TaskId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// Where the task is to be done.
    pub building_id: BuildingId,
    /// Short summary.
    pub title: String,
    /// Free-form details; empty when there are none.
    pub description: String,
    /// Free-form category chosen by the organization (e.g. "plumbing").
    pub category: String,
    /// How urgent the task is.
    pub priority: TaskPriority,
    /// Where the task is in its life cycle.
    pub status: TaskStatus,
    /// The worker who is to do it, if assigned.
    pub assignee_id: Option<UserId>,
    /// The user who created it.
    pub created_by: UserId,
    /// Completion percentage, 0 to 100.
    pub progress: i32,
    /// When it should be done by.
    pub due_at: Option<DateTimeUtc>,
    /// When work on it started.
    pub started_at: Option<DateTimeUtc>,
    /// When it was completed.
    pub completed_at: Option<DateTimeUtc>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
    /// When the task was soft-deleted.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Relations of a task.
///
/// There is no `Related<user::Entity>`: a task points at users twice
/// (assignee and creator), so join through `Relation::Assignee` or
/// `Relation::Creator` explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning organization.
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrgId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    /// The building.
    #[sea_orm(
        belongs_to = "super::building::Entity",
        from = "Column::BuildingId",
        to = "super::building::Column::Id",
        on_delete = "Cascade"
    )]
    Building,
    /// The assigned worker.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AssigneeId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Assignee,
    /// The creator.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::CreatedBy",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    Creator,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::building::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Building.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
