//! The `Device` and `NotificationPreference` types.

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::device;
use entity::enums::{NotificationCategory, PushProvider};

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
    /// `ios` or `android`.
    async fn platform(&self) -> &str {
        &self.0.platform
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
