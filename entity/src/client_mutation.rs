//! The `client_mutations` table: results of mutations already applied, keyed
//! by the client's idempotency key, so that a retried offline mutation
//! returns the first result instead of applying twice.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::{OrganizationId, UserId};

/// One applied client mutation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "client_mutations")]
pub struct Model {
    /// The user who sent it; first half of the primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    /// The client-chosen idempotency key; second half of the primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_mutation_id: String,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The result returned the first time.
    #[sea_orm(column_type = "JsonBinary")]
    pub result: Json,
    /// When it was applied; old rows may be pruned.
    pub created_at: DateTimeUtc,
}

/// Relations of a client mutation.
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
    /// The user.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
