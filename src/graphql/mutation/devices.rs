//! Push devices and notification preferences: the caller's own settings,
//! private to them (not versioned, not in the change log).

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object};
use entity::enums::{DevicePlatform, NotificationCategory, NotificationStatus, PushProvider};

use crate::domain::devices::{self, NewDevice};
use crate::domain::notifications::{self, NotificationFilter};
use crate::domain::preferences::{self, Preference, parse_clock};
use crate::graphql::connection::{IdConnection, from_page};
use crate::graphql::context::ContextExt;
use crate::graphql::inputs::parse_opt;
use crate::graphql::objects::device::{Device, Notification, NotificationPreference};

/// Quiet hours as `HH:MM` times of day in your time zone.
#[derive(InputObject)]
pub struct QuietHoursInput {
    /// Start, e.g. `22:00`.
    pub start: String,
    /// End, e.g. `07:00` (the next morning).
    pub end: String,
}

/// One category's setting.
#[derive(InputObject)]
pub struct NotificationPreferenceInput {
    /// The category.
    pub category: NotificationCategory,
    /// Whether to push it.
    pub enabled: bool,
    /// When not to push it; `null` for never quiet.
    pub quiet_hours: Option<QuietHoursInput>,
}

/// Registering phones and choosing what they get.
#[derive(Default)]
pub struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// Registers this phone's push token for you. Idempotent per token; a
    /// token registered by someone else moves to you. `environment`
    /// (`production` or `sandbox`) is needed for APNs tokens; Expo has only
    /// production.
    async fn register_device(
        &self,
        ctx: &Context<'_>,
        provider: PushProvider,
        token: String,
        platform: DevicePlatform,
        environment: Option<String>,
        app_version: Option<String>,
    ) -> async_graphql::Result<Device> {
        let state = ctx.state()?;
        let new = NewDevice {
            provider,
            token,
            platform,
            environment,
            app_version,
        };
        Ok(Device(
            devices::register(&state.db, ctx.principal()?, new).await?,
        ))
    }

    /// Stops pushing to one of your devices; false when you have no active
    /// device with that token.
    async fn unregister_device(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> async_graphql::Result<bool> {
        let state = ctx.state()?;
        Ok(devices::unregister(&state.db, ctx.principal()?, &token).await?)
    }

    /// Sends a test notification to each of your active devices (whose
    /// provider is on); answers with the queued notifications, whose status
    /// `notifications` shows. `UNAVAILABLE` when push is off.
    async fn send_test_notification(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Notification>> {
        let state = ctx.state()?;
        let queued = notifications::send_test(
            &state.db,
            ctx.principal()?,
            &state.push.providers(),
            &state.settings.push.deep_link_scheme,
        )
        .await?;
        Ok(queued.into_iter().map(Notification).collect())
    }

    /// Changes the listed categories; the others stay as they are. Returns
    /// every category's setting.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        preferences: Vec<NotificationPreferenceInput>,
    ) -> async_graphql::Result<Vec<NotificationPreference>> {
        let state = ctx.state()?;
        let mut changes = Vec::with_capacity(preferences.len());
        for input in preferences {
            let quiet_hours = match input.quiet_hours {
                Some(q) => Some((parse_clock(&q.start)?, parse_clock(&q.end)?)),
                None => None,
            };
            changes.push(Preference {
                category: input.category,
                enabled: input.enabled,
                quiet_hours,
            });
        }
        let saved = preferences::update(&state.db, ctx.principal()?, changes).await?;
        Ok(saved
            .into_iter()
            .map(NotificationPreference::from)
            .collect())
    }
}

/// Reads of your devices and preferences.
#[derive(Default)]
pub struct DeviceQuery;

#[Object]
impl DeviceQuery {
    /// Your active push devices, newest first.
    async fn my_devices(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Device>> {
        let state = ctx.state()?;
        Ok(devices::mine(&state.db, ctx.principal()?)
            .await?
            .into_iter()
            .map(Device)
            .collect())
    }

    /// The push delivery log, oldest first: administrators see their
    /// organisation's (optionally one user's), everyone else their own
    /// (`FORBIDDEN` for someone else's `userId`).
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        status: Option<NotificationStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Notification, EmptyFields>> {
        let state = ctx.state()?;
        let filter = NotificationFilter {
            user_id: parse_opt(&user_id, "user")?,
            status,
        };
        let page = notifications::list(
            &state.db,
            ctx.principal()?,
            &filter,
            &ctx.page(first, after)?,
        )
        .await?;
        Ok(from_page(
            page,
            EmptyFields,
            |n| n.id.into_uuid(),
            Notification,
        ))
    }

    /// Your setting for every notification category.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<NotificationPreference>> {
        let state = ctx.state()?;
        let list = preferences::list(&state.db, ctx.principal()?).await?;
        Ok(list.into_iter().map(NotificationPreference::from).collect())
    }
}
