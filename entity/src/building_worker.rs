//! The `building_workers` table: which workers are assigned to which buildings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::{BuildingId, OrganizationId, UserId};

/// One worker's assignment to one building.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "building_workers")]
pub struct Model {
    /// The building; first half of the primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub building_id: BuildingId,
    /// The worker; second half of the primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub worker_id: UserId,
    /// Owning organization (the building's and the worker's).
    pub org_id: OrganizationId,
    /// When the link was made.
    pub created_at: DateTimeUtc,
}

/// Relations of a building–worker link.
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
        from = "Column::WorkerId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    Worker,
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
        Relation::Worker.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
