//! The `buildings` table: the sites where work happens.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::BuildingStatus;
use crate::ids::{BuildingId, OrganizationId};

/// One building.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "buildings")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: BuildingId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Street address.
    pub address: String,
    /// Overall condition.
    pub status: BuildingStatus,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
    /// When the building was soft-deleted.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Relations of a building.
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
    /// Workers assigned to the building.
    #[sea_orm(has_many = "super::building_worker::Entity")]
    BuildingWorkers,
    /// Clients who may see the building.
    #[sea_orm(has_many = "super::building_client::Entity")]
    BuildingClients,
    /// Tasks at the building.
    #[sea_orm(has_many = "super::task::Entity")]
    Tasks,
    /// Time entries at the building.
    #[sea_orm(has_many = "super::time_entry::Entity")]
    TimeEntries,
    /// Violations issued against the building.
    #[sea_orm(has_many = "super::violation::Entity")]
    Violations,
    /// Inspections of the building.
    #[sea_orm(has_many = "super::inspection::Entity")]
    Inspections,
    /// Compliance alerts about the building.
    #[sea_orm(has_many = "super::compliance_alert::Entity")]
    ComplianceAlerts,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::building_worker::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BuildingWorkers.def()
    }
}

impl Related<super::building_client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::BuildingClients.def()
    }
}

impl Related<super::task::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tasks.def()
    }
}

impl Related<super::time_entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TimeEntries.def()
    }
}

impl Related<super::violation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Violations.def()
    }
}

impl Related<super::inspection::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Inspections.def()
    }
}

impl Related<super::compliance_alert::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ComplianceAlerts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
