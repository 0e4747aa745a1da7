//! The `inspections` table: scheduled and completed building inspections.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::InspectionResult;
use crate::ids::{BuildingId, InspectionId, OrganizationId};

/// One inspection.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "inspections")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InspectionId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The building inspected.
    pub building_id: BuildingId,
    /// What is inspected (e.g. "boiler", "elevator").
    pub kind: String,
    /// When it is scheduled.
    pub scheduled_for: DateTimeUtc,
    /// Its outcome.
    pub result: InspectionResult,
    /// Who inspects, if known.
    pub inspector: Option<String>,
    /// Free-form notes.
    pub notes: Option<String>,
    /// When it was completed.
    pub completed_at: Option<DateTimeUtc>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of an inspection.
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
