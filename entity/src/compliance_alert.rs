//! The `compliance_alerts` table: alerts about a building's compliance that
//! someone must acknowledge.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::AlertSeverity;
use crate::ids::{BuildingId, ComplianceAlertId, OrganizationId, UserId};

/// One compliance alert; unacknowledged while `acknowledged_at` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "compliance_alerts")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ComplianceAlertId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The building concerned.
    pub building_id: BuildingId,
    /// How serious it is.
    pub severity: AlertSeverity,
    /// What it says.
    pub message: String,
    /// Who acknowledged it.
    pub acknowledged_by: Option<UserId>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<DateTimeUtc>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of a compliance alert.
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
    /// The user who acknowledged it.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::AcknowledgedBy",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    AcknowledgedBy,
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

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AcknowledgedBy.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
