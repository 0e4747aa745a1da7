//! The `time_entries` table: workers' clock-ins and clock-outs.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::{BuildingId, OrganizationId, TimeEntryId, UserId};

/// One shift at one building; open while `clock_out_at` is `None`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "time_entries")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TimeEntryId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The worker.
    pub worker_id: UserId,
    /// Where the worker clocked in.
    pub building_id: BuildingId,
    /// When the worker clocked in.
    pub clock_in_at: DateTimeUtc,
    /// When the worker clocked out; `None` while the entry is open.
    pub clock_out_at: Option<DateTimeUtc>,
    /// Latitude at clock-in, if shared.
    pub clock_in_latitude: Option<f64>,
    /// Longitude at clock-in, if shared.
    pub clock_in_longitude: Option<f64>,
    /// Latitude at clock-out, if shared.
    pub clock_out_latitude: Option<f64>,
    /// Longitude at clock-out, if shared.
    pub clock_out_longitude: Option<f64>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of a time entry.
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
    /// The worker.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::WorkerId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    Worker,
    /// The building.
    #[sea_orm(
        belongs_to = "super::building::Entity",
        from = "Column::BuildingId",
        to = "super::building::Column::Id",
        on_delete = "Cascade"
    )]
    Building,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Worker.def()
    }
}

impl Related<super::building::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Building.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
