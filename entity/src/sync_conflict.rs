//! The `sync_conflicts` table: offline edits that clashed with newer server
//! versions and wait for the user to decide.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{EntityType, SyncConflictStatus};
use crate::ids::{OrganizationId, SyncConflictId, UserId};

/// One conflict.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sync_conflicts")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: SyncConflictId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The user whose edit conflicted.
    pub user_id: UserId,
    /// Kind of row edited.
    pub entity_type: EntityType,
    /// Id of the row edited; a plain UUID because it may be any table's.
    pub entity_id: Uuid,
    /// The version the client's edit was based on.
    pub base_version: i32,
    /// The server's version when the edit arrived.
    pub server_version: i32,
    /// The client's edit, as sent.
    #[sea_orm(column_type = "JsonBinary")]
    pub client_patch: Json,
    /// Names of the conflicting fields, as a JSON array of strings.
    #[sea_orm(column_type = "JsonBinary")]
    pub fields: Json,
    /// Whether it still needs a decision.
    pub status: SyncConflictStatus,
    /// How it was resolved (e.g. "KEEP_SERVER", "KEEP_CLIENT").
    pub resolution: Option<String>,
    /// When it was recorded.
    pub created_at: DateTimeUtc,
    /// When it was resolved.
    pub resolved_at: Option<DateTimeUtc>,
    /// 1 when recorded, +1 when closed (the change log follows it).
    pub version: i32,
    /// When it last changed.
    pub updated_at: DateTimeUtc,
}

/// Relations of a sync conflict.
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
