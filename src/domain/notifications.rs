//! The push delivery log (`notifications` rows: status, attempts, the
//! provider's answer), readable by administrators for their organisation
//! and by everyone else for themselves; test notifications to one's own
//! devices; and cancelling what no longer should go out.

use chrono::{DateTime, Utc};
use entity::enums::{NotificationCategory, NotificationStatus, PushProvider};
use entity::ids::{NotificationId, UserId};
use entity::{device, notification};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use serde_json::{Value, json};

use super::pagination::{Page, PageRequest, paginate};
use super::scope::in_org;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// Cancels the notifications `which` picks, recording `why`.
pub async fn cancel(db: &impl ConnectionTrait, which: Condition, why: &str) -> Result<()> {
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Cancelled),
        )
        .col_expr(notification::Column::Error, Expr::value(why))
        .col_expr(notification::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(which)
        .exec(db)
        .await?;
    Ok(())
}

/// Which notifications to list.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// One recipient; administrators may name anyone in their organisation,
    /// others only themselves. Unset: the whole organisation for
    /// administrators, oneself for others.
    pub user_id: Option<UserId>,
    /// One delivery state.
    pub status: Option<NotificationStatus>,
}

/// A page of the delivery log, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &NotificationFilter,
    page: &PageRequest,
) -> Result<Page<notification::Model>> {
    let mut select = in_org::<notification::Entity>(principal);
    match filter.user_id {
        Some(user) if user != principal.user_id && !principal.is_admin() => {
            return Err(Error::forbidden(
                "only administrators read other users' notifications",
            ));
        }
        Some(user) => select = select.filter(notification::Column::UserId.eq(user)),
        None if principal.is_admin() => {}
        None => select = select.filter(notification::Column::UserId.eq(principal.user_id)),
    }
    if let Some(status) = filter.status {
        select = select.filter(notification::Column::Status.eq(status));
    }
    paginate(db, select, notification::Column::Id, page).await
}

/// Queues a test notification to each of the caller's active devices whose
/// provider is on; answers with the queued rows.
pub async fn send_test(
    db: &impl ConnectionTrait,
    principal: &Principal,
    providers: &[PushProvider],
    deep_link_scheme: &str,
) -> Result<Vec<notification::Model>> {
    if providers.is_empty() {
        return Err(Error::Unavailable(
            "push notifications are off on this server".into(),
        ));
    }
    let devices = device::Entity::find()
        .filter(device::Column::UserId.eq(principal.user_id))
        .filter(device::Column::Active.eq(true))
        .filter(device::Column::Provider.is_in(providers.to_vec()))
        .all(db)
        .await?;
    if devices.is_empty() {
        return Err(Error::bad_input(
            "you have no registered device to send a test notification to",
        ));
    }
    let mut queued = Vec::with_capacity(devices.len());
    for device in &devices {
        let draft = Draft {
            category: NotificationCategory::Test,
            title: "Test notification".into(),
            body: "Push notifications reach this device.".into(),
            data: json!({
                "url": format!("{deep_link_scheme}://settings/notifications"),
                "entityType": "DEVICE",
                "entityId": device.id.to_string(),
            }),
            collapse_key: None,
            priority: 10,
        };
        let row = draft.for_device(device, None, Utc::now());
        queued.push(row.into_active_model().reset_all().insert(db).await?);
    }
    Ok(queued)
}

/// A notification's content, before it is addressed to devices.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Preference category.
    pub category: NotificationCategory,
    /// Alert title.
    pub title: String,
    /// Alert body.
    pub body: String,
    /// Custom payload for the app (deep link, entity type and id, badge).
    pub data: Value,
    /// Collapse key and thread id.
    pub collapse_key: Option<String>,
    /// APNs-style priority.
    pub priority: i32,
}

impl Draft {
    /// The outbox row of this draft for `device`, first due at `due`;
    /// `change_seq` is the change it announces, if any.
    pub fn for_device(
        &self,
        device: &device::Model,
        change_seq: Option<i64>,
        due: DateTime<Utc>,
    ) -> notification::Model {
        let now = Utc::now();
        notification::Model {
            id: NotificationId::new(),
            org_id: device.org_id,
            user_id: device.user_id,
            device_id: device.id,
            change_seq,
            category: self.category,
            title: self.title.clone(),
            body: self.body.clone(),
            data: self.data.clone(),
            collapse_key: self.collapse_key.clone(),
            priority: self.priority,
            status: NotificationStatus::Pending,
            attempts: 0,
            next_attempt_at: due,
            provider_ticket: None,
            error: None,
            created_at: now,
            updated_at: now,
            sent_at: None,
            receipt_checked_at: None,
        }
    }
}
