//! The `notification_preferences` table: per user and category, whether to
//! push and the quiet hours in the user's time zone.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::NotificationCategory;
use crate::ids::{NotificationPreferenceId, OrganizationId, UserId};

/// One user's preference for one category; unique on (user_id, category).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notification_preferences")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: NotificationPreferenceId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The user.
    pub user_id: UserId,
    /// The category this preference is for.
    pub category: NotificationCategory,
    /// Whether to push notifications of this category at all.
    pub enabled: bool,
    /// Start of quiet hours, in minutes after local midnight (0..1440).
    pub quiet_start_minute: Option<i32>,
    /// End of quiet hours, in minutes after local midnight; may be before the
    /// start, meaning the quiet hours span midnight.
    pub quiet_end_minute: Option<i32>,
    /// When the row was last written.
    pub updated_at: DateTimeUtc,
}

/// Relations of a notification preference.
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
