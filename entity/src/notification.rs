//! The `notifications` table: the push outbox, one row per device and message.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{NotificationCategory, NotificationStatus};
use crate::ids::{DeviceId, NotificationId, OrganizationId, UserId};

/// One push notification for one device.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NotificationId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The recipient.
    pub user_id: UserId,
    /// The device to deliver to.
    pub device_id: DeviceId,
    /// The change-log entry that caused it, if any.
    pub change_seq: Option<i64>,
    /// What it is about.
    pub category: NotificationCategory,
    /// Alert title.
    pub title: String,
    /// Alert body.
    pub body: String,
    /// Custom payload delivered to the app.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    /// Provider collapse key (APNs `apns-collapse-id`, ≤ 64 bytes).
    pub collapse_key: Option<String>,
    /// Provider priority (APNs: 10 now, 5 power-aware).
    pub priority: i32,
    /// Delivery state.
    pub status: NotificationStatus,
    /// How many delivery attempts were made.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// The provider's ticket or id for the accepted message (Expo ticket id,
    /// `apns-id`).
    pub provider_ticket: Option<String>,
    /// The last delivery error.
    pub error: Option<String>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
    /// When the provider accepted it.
    pub sent_at: Option<DateTimeUtc>,
    /// When the provider's delivery receipt was read (Expo), if it was.
    pub receipt_checked_at: Option<DateTimeUtc>,
}

/// Relations of a notification.
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
    /// The recipient.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
    /// The device.
    #[sea_orm(
        belongs_to = "super::device::Entity",
        from = "Column::DeviceId",
        to = "super::device::Column::Id",
        on_delete = "Cascade"
    )]
    Device,
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

impl Related<super::device::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Device.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
