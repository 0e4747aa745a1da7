//! Push notifications (DESIGN.md section 5): a router turns change-log rows
//! (and tasks falling due) into `notifications` outbox rows, and a sender
//! delivers those rows to APNs and Expo, retrying what can be retried.
//!
//! - [`rules`]: which change announces what to whom;
//! - [`router`]: recipients' checks (active, visibility, preference, quiet
//!   hours), burst collapsing, idempotent queuing from a persisted cursor;
//! - [`worker`]: claiming, sending, recording, retrying; [`receipts`] reads
//!   Expo's delivery receipts later;
//! - [`apns`], [`expo`]: the providers' protocols;
//! - [`quiet`]: quiet hours in the user's time zone;
//! - [`stats`]: the pipeline's metrics.

pub mod apns;
pub mod expo;
pub mod quiet;
pub mod receipts;
pub mod router;
pub mod rules;
pub mod stats;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use entity::enums::PushProvider;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, Iterable as _};
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::PushSettings;
use crate::events::hub::Hub;
use apns::{A2Transport, ApnsSender, ApnsTransport};

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
    /// APNs-style priority: 10 delivers at once, 5 when convenient.
    pub priority: i32,
    /// Messages with one key replace each other on the phone (APNs
    /// collapse id, thread id).
    pub collapse_key: Option<String>,
    /// The app icon's badge, when the message sets it.
    pub badge: Option<u32>,
    /// The device belongs to a development build (APNs sandbox).
    pub sandbox: bool,
}

/// What the provider said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
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
    fn send<'a>(&'a self, messages: &'a [Message]) -> BoxFuture<'a, Vec<SendOutcome>>;
}

/// The configured providers' senders.
#[derive(Clone, Default)]
pub struct Senders {
    /// APNs, when a key (or, in tests, a transport) is configured.
    pub apns: Option<Arc<dyn PushSender>>,
    /// Expo, when its base URL is configured; it also reads receipts.
    pub expo: Option<Arc<expo::ExpoSender>>,
}

impl Senders {
    /// Builds the senders `settings` configure; `apns_transport` replaces
    /// the a2 transport (a2's hosts are fixed, so tests put a fake here and
    /// set it on `AppState::push` before the server starts).
    pub fn from_settings(
        settings: &PushSettings,
        apns_transport: Option<Arc<dyn ApnsTransport>>,
    ) -> anyhow::Result<Self> {
        let ttl = Duration::from_secs(settings.ttl_secs);
        let transport = match (apns_transport, &settings.apns_key_path) {
            (Some(transport), _) => Some(transport),
            (None, Some(path)) => Some(Arc::new(A2Transport::new(
                path,
                settings.apns_key_id.as_deref().unwrap_or_default(),
                settings.apns_team_id.as_deref().unwrap_or_default(),
            )?) as Arc<dyn ApnsTransport>),
            (None, None) => None,
        };
        let apns = transport.map(|transport| {
            let topic = settings.apns_topic.clone().unwrap_or_default();
            Arc::new(ApnsSender::new(transport, topic, ttl)) as Arc<dyn PushSender>
        });
        let expo = match &settings.expo_base_url {
            Some(url) => Some(Arc::new(expo::ExpoSender::new(
                url,
                settings.expo_access_token.clone(),
                ttl,
            )?)),
            None => None,
        };
        Ok(Self { apns, expo })
    }

    /// The sender of `provider`'s devices, if that provider is on.
    fn of(&self, provider: PushProvider) -> Option<Arc<dyn PushSender>> {
        match provider {
            PushProvider::Apns => self.apns.clone(),
            PushProvider::Expo => self.expo.clone().map(|e| e as Arc<dyn PushSender>),
        }
    }

    /// The providers that are on, with their senders.
    pub fn active(&self) -> Vec<(PushProvider, Arc<dyn PushSender>)> {
        PushProvider::iter()
            .filter_map(|p| Some((p, self.of(p)?)))
            .collect()
    }

    /// The providers that are on.
    pub fn providers(&self) -> Vec<PushProvider> {
        self.active().into_iter().map(|(p, _)| p).collect()
    }
}

/// Starts the router, the sender and the receipt reader when a provider is
/// configured; otherwise says once that push is off.
pub fn spawn(
    db: &DatabaseConnection,
    hub: &Arc<Hub>,
    settings: &PushSettings,
    senders: Senders,
    shutdown: CancellationToken,
) {
    let providers = senders.providers();
    if providers.is_empty() {
        tracing::info!("push notifications are off: no provider configured");
        return;
    }
    // The router wakes the sender when it queued something, so delivery
    // does not wait for the sender's poll.
    let queued = Arc::new(Notify::new());
    tokio::spawn(router::run(
        db.clone(),
        hub.clone(),
        settings.clone(),
        providers.clone(),
        queued.clone(),
        shutdown.clone(),
    ));
    if let Some(expo) = senders.expo.clone() {
        tokio::spawn(receipts::run(
            db.clone(),
            expo,
            settings.clone(),
            shutdown.clone(),
        ));
    }
    tokio::spawn(worker::run(
        db.clone(),
        senders,
        settings.clone(),
        queued,
        shutdown,
    ));
    tracing::info!(?providers, "push notifications are on");
}
