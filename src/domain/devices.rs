//! Push devices: a user registers the token of each phone the app runs on.
//! Registering is idempotent per token, and a token that moves to another
//! user of the same organisation (a shared phone, a new login) moves with
//! it rather than being shared; what was queued for the old owner is
//! cancelled, so it never reaches the new one. A token another
//! organisation holds active is refused: only a sign-out there
//! (`unregisterDevice`, or the provider reporting the token dead) frees it,
//! so nobody can take over a phone of another tenant by its token.

use chrono::Utc;
use entity::enums::{DevicePlatform, NotificationStatus, PushProvider};
use entity::ids::DeviceId;
use entity::{device, notification};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};

use super::notifications;
use crate::auth::Principal;
use crate::db::begin_write;
use crate::error::{Error, Result};

/// A phone to register.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// Who delivers to it.
    pub provider: PushProvider,
    /// The provider's token for this app on this phone.
    pub token: String,
    /// The phone's operating system.
    pub platform: DevicePlatform,
    /// `production` or `sandbox` (APNs' development environment); APNs
    /// tokens need it, Expo has only production.
    pub environment: Option<String>,
    /// The app's version, for support.
    pub app_version: Option<String>,
}

impl NewDevice {
    /// The environment to store: as given, else production (Expo's only).
    fn environment_or_default(&self) -> String {
        self.environment
            .clone()
            .unwrap_or_else(|| "production".into())
    }
}

/// Checks a token's shape for its provider: APNs tokens are hexadecimal,
/// Expo tokens look like `ExponentPushToken[…]`.
fn check(new: &NewDevice) -> Result<()> {
    let token = new.token.trim();
    let well_formed = match new.provider {
        PushProvider::Apns => {
            (32..=200).contains(&token.len()) && token.chars().all(|c| c.is_ascii_hexdigit())
        }
        PushProvider::Expo => {
            token.len() <= 200
                && (token.starts_with("ExponentPushToken[") || token.starts_with("ExpoPushToken["))
                && token.ends_with(']')
        }
    };
    if !well_formed {
        return Err(Error::bad_input(
            "the token is not a push token of that provider",
        ));
    }
    if new.provider == PushProvider::Apns && new.platform != DevicePlatform::Ios {
        return Err(Error::bad_input("APNs delivers to iOS devices only"));
    }
    match (new.provider, new.environment.as_deref()) {
        (_, Some("production" | "sandbox")) | (PushProvider::Expo, None) => {}
        (PushProvider::Apns, None) => {
            return Err(Error::bad_input(
                "an APNs token needs its environment: production or sandbox",
            ));
        }
        (_, Some(_)) => {
            return Err(Error::bad_input(
                "environment must be production or sandbox",
            ));
        }
    }
    if new.app_version.as_ref().is_some_and(|v| v.len() > 64) {
        return Err(Error::bad_input("appVersion must be at most 64 characters"));
    }
    Ok(())
}

/// Registers (or refreshes, or takes over) a device for the caller.
pub async fn register(
    db: &DatabaseConnection,
    principal: &Principal,
    new: NewDevice,
) -> Result<device::Model> {
    check(&new)?;
    let txn = begin_write(db).await?;
    let registered = register_in(&txn, principal, new).await?;
    txn.commit().await?;
    Ok(registered)
}

async fn register_in(
    db: &impl ConnectionTrait,
    principal: &Principal,
    new: NewDevice,
) -> Result<device::Model> {
    let now = Utc::now();
    let token = new.token.trim().to_owned();
    if let Some(existing) = device::Entity::find()
        .filter(device::Column::Token.eq(token.clone()))
        .one(db)
        .await?
    {
        if existing.org_id != principal.org_id && existing.active {
            return Err(Error::forbidden(
                "this push token is registered in another organisation; sign out there first",
            ));
        }
        if existing.user_id != principal.user_id {
            tracing::info!(device.id = %existing.id, "push token moved to another user");
            cancel_queued(db, &existing).await?;
        }
        let mut row = existing;
        row.org_id = principal.org_id;
        row.user_id = principal.user_id;
        row.provider = new.provider;
        row.platform = new.platform;
        row.environment = new.environment_or_default();
        row.app_version = new.app_version;
        row.active = true;
        row.updated_at = now;
        row.last_seen_at = now;
        return Ok(row.into_active_model().reset_all().update(db).await?);
    }
    let row = device::Model {
        id: DeviceId::new(),
        org_id: principal.org_id,
        user_id: principal.user_id,
        provider: new.provider,
        token,
        platform: new.platform,
        environment: new.environment_or_default(),
        app_version: new.app_version,
        active: true,
        created_at: now,
        updated_at: now,
        last_seen_at: now,
    };
    Ok(row.into_active_model().reset_all().insert(db).await?)
}

/// Cancels what is waiting for a device's previous owner.
async fn cancel_queued(db: &impl ConnectionTrait, device: &device::Model) -> Result<()> {
    let waiting = Condition::all()
        .add(notification::Column::DeviceId.eq(device.id))
        .add(notification::Column::UserId.eq(device.user_id))
        .add(
            notification::Column::Status
                .is_in([NotificationStatus::Pending, NotificationStatus::Sending]),
        );
    notifications::cancel(db, waiting, "the device moved to another user").await
}

/// Stops pushing to one of the caller's devices; false when they have no
/// active device with that token.
pub async fn unregister(
    db: &impl ConnectionTrait,
    principal: &Principal,
    token: &str,
) -> Result<bool> {
    let Some(mut row) = device::Entity::find()
        .filter(device::Column::Token.eq(token.trim()))
        .filter(device::Column::UserId.eq(principal.user_id))
        .filter(device::Column::Active.eq(true))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    row.active = false;
    row.updated_at = Utc::now();
    row.into_active_model().reset_all().update(db).await?;
    Ok(true)
}

/// The caller's active devices, newest first.
pub async fn mine(db: &impl ConnectionTrait, principal: &Principal) -> Result<Vec<device::Model>> {
    Ok(device::Entity::find()
        .filter(device::Column::UserId.eq(principal.user_id))
        .filter(device::Column::Active.eq(true))
        .order_by_desc(device::Column::Id)
        .all(db)
        .await?)
}
