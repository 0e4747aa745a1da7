//! The `changes` table: the append-only change log that clients sync from.
//! `seq` orders every write; a client asks for what happened after the last
//! `seq` it saw.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{ChangeOp, EntityType};
use crate::ids::{OrganizationId, UserId};

/// One change to one row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    /// Primary key, assigned by the database in commit order per connection.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// Kind of row changed.
    pub entity_type: EntityType,
    /// Id of the row changed; a plain UUID because it may be any table's.
    pub entity_id: Uuid,
    /// The row's version after the change.
    pub version: i32,
    /// What happened to the row.
    pub op: ChangeOp,
    /// The row as it is after the change (as it was, for deletes).
    #[sea_orm(column_type = "JsonBinary")]
    pub snapshot: Json,
    /// Names of the fields the change touched, as a JSON array of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub changed_fields: Json,
    /// Who made the change; `None` for the system.
    pub actor_id: Option<UserId>,
    /// The client's idempotency key for the mutation, if it sent one.
    pub client_mutation_id: Option<String>,
    /// The offline queue whose operation made the change (`syncPush`'s
    /// `queueId`, or one per call without it).
    pub queue_id: Option<String>,
    /// Relative importance for delivery (higher first).
    pub priority: i32,
    /// When the change was made.
    pub created_at: DateTimeUtc,
}

/// Relations of a change.
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
    /// The user who made the change.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::ActorId",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Actor,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Actor.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
