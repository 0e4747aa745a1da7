//! The `devices` table: push tokens registered by users' apps.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{DevicePlatform, PushProvider};
use crate::ids::{DeviceId, OrganizationId, UserId};

/// One registered device.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: DeviceId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The user signed in on the device.
    pub user_id: UserId,
    /// Which push service delivers to it.
    pub provider: PushProvider,
    /// The provider's push token; unique, so a token moves with re-registration.
    #[sea_orm(unique)]
    pub token: String,
    /// Operating system.
    pub platform: DevicePlatform,
    /// APNs environment ("production" or "sandbox"); "production" for Expo,
    /// which has no other.
    pub environment: String,
    /// The app's version, if reported.
    pub app_version: Option<String>,
    /// Inactive devices get no pushes (signed out, or the provider rejected the token).
    pub active: bool,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
    /// When the app last registered or refreshed the token.
    pub last_seen_at: DateTimeUtc,
}

/// Relations of a device.
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
    /// Notifications queued for the device.
    #[sea_orm(has_many = "super::notification::Entity")]
    Notifications,
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

impl Related<super::notification::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Notifications.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
