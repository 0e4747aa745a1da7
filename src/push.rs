//! Push notifications: a router turns change-log rows into `notifications`
//! outbox rows, and a worker delivers those rows to the push providers.
//!
//! This is the first slice of DESIGN.md section 5: one routing rule (task
//! assigned → the assignee) and one provider (Expo). APNs devices get
//! outbox rows that stay `PENDING` until the APNs sender exists; quiet hours
//! are not applied yet (only the per-category on/off preference is).

pub mod expo;
pub mod router;
pub mod rules;
pub mod worker;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// One message for one device, in provider-neutral terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The device's push token.
    pub to: String,
    /// Alert title.
    pub title: String,
    /// Alert body.
    pub body: String,
    /// Custom payload for the app (deep link, entity type and id).
    pub data: Value,
    /// Android notification channel, when the app defines one.
    pub channel_id: Option<String>,
    /// APNs-style priority: 10 delivers at once, 5 when convenient.
    pub priority: i32,
}

/// What the provider said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; the provider's ticket or id.
    Sent {
        /// Expo ticket id or `apns-id`.
        ticket: String,
    },
    /// A transient failure (network, 429, 5xx, rate limit): try again later.
    Retry {
        /// What went wrong.
        reason: String,
    },
    /// The token is dead (uninstalled app, expired token): deactivate the device.
    DeadToken {
        /// The provider's words.
        reason: String,
    },
    /// A permanent failure of this message: do not retry.
    Failed {
        /// The provider's words.
        reason: String,
    },
}

/// A push provider. Production talks HTTP to the provider; tests point the
/// same implementation at a local mock, or swap in a fake.
pub trait PushSender: Send + Sync {
    /// Sends `messages` and answers one outcome per message, in order. Never
    /// fails as a whole: a transport failure is a `Retry` for every message.
    fn send<'a>(&'a self, messages: &'a [Message]) -> BoxFuture<'a, Vec<Outcome>>;
}

/// Starts the router and the sender when a provider is configured; otherwise
/// says once that push is off.
pub fn spawn(state: &AppState, shutdown: CancellationToken) {
    let settings = &state.settings.push;
    let Some(base_url) = settings.expo_base_url.clone() else {
        tracing::info!("push notifications are off: no provider configured");
        return;
    };
    let expo = match expo::ExpoSender::new(&base_url, settings.expo_access_token.clone()) {
        Ok(sender) => Arc::new(sender) as Arc<dyn PushSender>,
        Err(error) => {
            tracing::error!(%error, "push notifications are off: the Expo client could not be built");
            return;
        }
    };
    // The router wakes the worker when it queued something, so delivery does
    // not wait for the worker's poll.
    let queued = Arc::new(Notify::new());
    tokio::spawn(router::run(
        state.db.clone(),
        state.hub.clone(),
        settings.clone(),
        queued.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(worker::run(
        state.db.clone(),
        expo,
        settings.clone(),
        queued,
        shutdown,
    ));
    tracing::info!(provider = "expo", "push notifications are on");
}
