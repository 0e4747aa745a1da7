//! The `Device`, `NotificationPreference` and `Notification` types.

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{DevicePlatform, NotificationCategory, NotificationStatus, PushProvider};
use entity::{device, notification};

use super::gid;
use crate::domain::preferences::{Preference, format_clock};

/// A phone registered for push notifications.
pub struct Device(pub device::Model);

#[Object]
impl Device {
    /// Unique id.
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// Who delivers to it.
    async fn provider(&self) -> PushProvider {
        self.0.provider
    }
    /// The push token.
    async fn token(&self) -> &str {
        &self.0.token
    }
    /// The phone's operating system.
    async fn platform(&self) -> DevicePlatform {
        self.0.platform
    }
    /// `production` or `sandbox`.
    async fn environment(&self) -> &str {
        &self.0.environment
    }
    /// The app's version when it last registered.
    async fn app_version(&self) -> Option<&str> {
        self.0.app_version.as_deref()
    }
    /// False once unregistered or reported dead by the provider.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// When it was first registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last registered.
    async fn last_seen_at(&self) -> DateTime<Utc> {
        self.0.last_seen_at
    }
}

/// Quiet hours in the user's time zone; the span may cross midnight.
#[derive(SimpleObject)]
pub struct QuietHours {
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
}

/// Whether and when to push one category.
#[derive(SimpleObject)]
pub struct NotificationPreference {
    /// The category.
    pub category: NotificationCategory,
    /// Whether pushes of this category are sent.
    pub enabled: bool,
    /// When not to push (critical compliance alerts still come through).
    pub quiet_hours: Option<QuietHours>,
}

impl From<Preference> for NotificationPreference {
    fn from(p: Preference) -> Self {
        Self {
            category: p.category,
            enabled: p.enabled,
            quiet_hours: p.quiet_hours.map(|(start, end)| QuietHours {
                start: format_clock(start),
                end: format_clock(end),
            }),
        }
    }
}

/// One push notification to one device: an entry of the delivery log.
pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    /// Unique id; ids grow with creation time.
    async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// The recipient.
    async fn user_id(&self) -> ID {
        gid(self.0.user_id)
    }
    /// The device it is for.
    async fn device_id(&self) -> ID {
        gid(self.0.device_id)
    }
    /// What it is about.
    async fn category(&self) -> NotificationCategory {
        self.0.category
    }
    /// Alert title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Alert body.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// The screen it opens, e.g. `fieldsync://tasks/<id>`.
    async fn deep_link(&self) -> Option<&str> {
        self.0.data.get("url").and_then(serde_json::Value::as_str)
    }
    /// `PENDING` (waiting: for its time, quiet hours, a retry), `SENDING`,
    /// `SENT` (the provider accepted it), `FAILED` or `CANCELLED`.
    async fn status(&self) -> NotificationStatus {
        self.0.status
    }
    /// Delivery attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The provider's id for the accepted message (Expo ticket, `apns-id`).
    async fn provider_ticket(&self) -> Option<&str> {
        self.0.provider_ticket.as_deref().filter(|t| !t.is_empty())
    }
    /// The provider's last error, if any (e.g. `apns 410: Unregistered`).
    async fn last_error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// When it was queued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the next attempt is due (while `PENDING`).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == NotificationStatus::Pending).then_some(self.0.next_attempt_at)
    }
    /// When the provider accepted it.
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
}
