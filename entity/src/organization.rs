//! The `organizations` table: tenants. Every other row belongs to one.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::OrganizationId;

/// One organization.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// URL-safe short name, unique across organizations.
    #[sea_orm(unique)]
    pub slug: String,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of an organization.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its users.
    #[sea_orm(has_many = "super::user::Entity")]
    Users,
    /// Its buildings.
    #[sea_orm(has_many = "super::building::Entity")]
    Buildings,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::building::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Buildings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
