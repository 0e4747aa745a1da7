//! The `violations` table: building code violations issued by authorities.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{ViolationSeverity, ViolationStatus};
use crate::ids::{BuildingId, OrganizationId, ViolationId};

/// One violation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "violations")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ViolationId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The building it was issued against.
    pub building_id: BuildingId,
    /// Who issued it (e.g. "DOB", "HPD", "FDNY").
    pub source: String,
    /// The issuer's violation code.
    pub code: String,
    /// What is wrong.
    pub description: String,
    /// How serious it is.
    pub severity: ViolationSeverity,
    /// Where it is in its life cycle.
    pub status: ViolationStatus,
    /// When it was issued.
    pub issued_at: DateTimeUtc,
    /// When it must be cured by.
    pub due_at: Option<DateTimeUtc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTimeUtc>,
    /// Penalty in cents, if any.
    pub penalty_cents: Option<i64>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of a violation.
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
