//! The `users` table: admins, workers and clients of an organization.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Role;
use crate::ids::{OrganizationId, UserId};

/// One user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// Login email, stored lowercased; unique across all organizations.
    #[sea_orm(unique)]
    pub email: String,
    /// Display name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Inactive users cannot sign in.
    pub active: bool,
    /// IANA time zone name (e.g. "America/New_York"), "UTC" by default.
    pub time_zone: String,
    /// Whether the user agreed to share their location while on duty.
    pub location_sharing: bool,
    /// Argon2 PHC string; `None` for users who cannot sign in with a password.
    // Never serialized: models are serialized into change-log snapshots,
    // which are synced to clients.
    #[serde(skip_serializing, default)]
    pub password_hash: Option<String>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
    /// When the user was soft-deleted.
    pub deleted_at: Option<DateTimeUtc>,
}

/// Relations of a user.
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
    /// The user's push devices.
    #[sea_orm(has_many = "super::device::Entity")]
    Devices,
    /// The user's notification preferences.
    #[sea_orm(has_many = "super::notification_preference::Entity")]
    NotificationPreferences,
    /// The user's time entries (workers only).
    #[sea_orm(has_many = "super::time_entry::Entity")]
    TimeEntries,
    /// The user's refresh tokens.
    #[sea_orm(has_many = "super::refresh_token::Entity")]
    RefreshTokens,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::device::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Devices.def()
    }
}

impl Related<super::notification_preference::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::NotificationPreferences.def()
    }
}

impl Related<super::time_entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::TimeEntries.def()
    }
}

impl Related<super::refresh_token::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RefreshTokens.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
