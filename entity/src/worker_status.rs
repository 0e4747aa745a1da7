//! The `worker_status` table: each worker's current duty status and last
//! known location, one row per worker.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::WorkerDutyStatus;
use crate::ids::{BuildingId, OrganizationId, UserId};

/// One worker's current status.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "worker_status")]
pub struct Model {
    /// The worker; primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_id: UserId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// What the worker is doing.
    pub status: WorkerDutyStatus,
    /// The building the worker is at, if any.
    pub building_id: Option<BuildingId>,
    /// Last known latitude in degrees (only with location sharing on).
    pub latitude: Option<f64>,
    /// Last known longitude in degrees (only with location sharing on).
    pub longitude: Option<f64>,
    /// Accuracy radius of the last known location, in metres.
    pub accuracy_m: Option<f64>,
    /// When the location was measured.
    pub location_at: Option<DateTimeUtc>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of a worker status.
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
    /// The building the worker is at.
    #[sea_orm(
        belongs_to = "super::building::Entity",
        from = "Column::BuildingId",
        to = "super::building::Column::Id",
        on_delete = "SetNull"
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
