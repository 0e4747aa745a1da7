//! APNs delivery: the request Apple expects for one message (JSON payload
//! within 4 KB, `apns-topic`, `apns-push-type`, `apns-priority`,
//! `apns-collapse-id`, `apns-expiration`) and what its answers mean.
//!
//! The request goes through an [`ApnsTransport`]. Production uses
//! [`A2Transport`]: a2 with token (.p8) auth, one client per APNs
//! environment, reused for every request. a2's hosts cannot be changed, so
//! tests put a fake transport behind the same trait that answers as APNs
//! does.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use a2::request::notification::{CollapseId, NotificationOptions, Priority, PushType};
use a2::request::payload::PayloadLike;
use futures_util::future::{BoxFuture, join_all};
use serde_json::{Map, Value, json};

use super::{Message, PushSender, SendOutcome};

/// APNs refuses payloads larger than this.
const MAX_PAYLOAD: usize = 4096;
/// Requests in flight at once on the shared HTTP/2 connection.
const IN_FLIGHT: usize = 16;

/// One APNs request, as sent to `POST /3/device/<device_token>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApnsRequest {
    /// The device token (path of the request).
    pub device_token: String,
    /// Send to the development environment instead of production.
    pub sandbox: bool,
    /// `apns-topic`: the app's bundle id.
    pub topic: String,
    /// `apns-push-type`: always `alert` (fieldsync sends visible notices).
    pub push_type: &'static str,
    /// `apns-priority`: 10 delivers at once, 5 when the phone sees fit.
    pub priority: u8,
    /// `apns-collapse-id`, at most 64 bytes.
    pub collapse_id: Option<String>,
    /// `apns-expiration`: UNIX time after which APNs stops trying.
    pub expiration: u64,
    /// The JSON body.
    pub payload: Value,
}

/// What APNs answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsReply {
    /// HTTP status: 200, 400, 403, 410, 429, 500, 503.
    pub status: u16,
    /// The `apns-id` header.
    pub apns_id: Option<String>,
    /// The error body's `reason` (`BadDeviceToken`, `Unregistered`, …).
    pub reason: Option<String>,
}

/// Carries one request to APNs. `Err` is a transport failure (no answer).
pub trait ApnsTransport: Send + Sync {
    /// Sends `request` and answers with APNs' reply.
    fn post<'a>(&'a self, request: &'a ApnsRequest) -> BoxFuture<'a, Result<ApnsReply, String>>;
}

/// Sends [`Message`]s to APNs through a transport.
pub struct ApnsSender {
    transport: Arc<dyn ApnsTransport>,
    topic: String,
    ttl: Duration,
}

impl ApnsSender {
    /// A sender for the app `topic`; undelivered messages expire after `ttl`.
    pub fn new(transport: Arc<dyn ApnsTransport>, topic: String, ttl: Duration) -> Self {
        Self {
            transport,
            topic,
            ttl,
        }
    }

    /// The request for one message.
    pub fn request(&self, message: &Message) -> ApnsRequest {
        let expiration = (SystemTime::now() + self.ttl)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        ApnsRequest {
            device_token: message.to.clone(),
            sandbox: message.sandbox,
            topic: self.topic.clone(),
            push_type: "alert",
            priority: if message.priority >= 10 { 10 } else { 5 },
            collapse_id: message
                .collapse_key
                .as_deref()
                .map(|key| truncate_bytes(key, 64).to_owned()),
            expiration,
            payload: payload(message),
        }
    }
}

impl PushSender for ApnsSender {
    fn send<'a>(&'a self, messages: &'a [Message]) -> BoxFuture<'a, Vec<SendOutcome>> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(messages.len());
            for group in messages.chunks(IN_FLIGHT) {
                let requests: Vec<ApnsRequest> = group.iter().map(|m| self.request(m)).collect();
                let replies = join_all(requests.iter().map(|r| self.transport.post(r))).await;
                outcomes.extend(replies.into_iter().map(outcome));
            }
            outcomes
        })
    }
}

/// The JSON body: `aps` (alert, sound, thread, badge) and the app's data at
/// the top level. A body too long for 4 KB is shortened, never the data.
fn payload(message: &Message) -> Value {
    let build = |body: &str| {
        let mut aps = json!({
            "alert": { "title": message.title, "body": body },
            "sound": "default",
        });
        if let Some(thread) = &message.collapse_key {
            aps["thread-id"] = json!(thread);
        }
        if let Some(badge) = message.badge {
            aps["badge"] = json!(badge);
        }
        let mut root = Map::new();
        if let Value::Object(data) = &message.data {
            root.extend(data.clone());
        }
        root.insert("aps".into(), aps);
        Value::Object(root)
    };
    let full = build(&message.body);
    let size = full.to_string().len();
    if size <= MAX_PAYLOAD {
        return full;
    }
    // Escaping can make a byte of the body cost more than a byte of JSON,
    // so shrink further until it fits.
    let mut keep = message
        .body
        .len()
        .saturating_sub(size - MAX_PAYLOAD + '…'.len_utf8());
    loop {
        let candidate = build(&format!("{}…", truncate_bytes(&message.body, keep)));
        if keep == 0 || candidate.to_string().len() <= MAX_PAYLOAD {
            return candidate;
        }
        keep = keep.saturating_sub(64);
    }
}

/// What an APNs answer means for the message.
fn outcome(reply: Result<ApnsReply, String>) -> SendOutcome {
    let reply = match reply {
        Ok(reply) => reply,
        Err(error) => {
            return SendOutcome::Retry {
                reason: format!("apns unreachable: {error}"),
            };
        }
    };
    let reason = || match &reply.reason {
        Some(reason) => format!("apns {}: {reason}", reply.status),
        None => format!("apns {}", reply.status),
    };
    match (reply.status, reply.reason.as_deref()) {
        (200, _) => SendOutcome::Sent {
            ticket: reply.apns_id.clone().unwrap_or_default(),
        },
        (410, _) | (400, Some("BadDeviceToken")) => SendOutcome::DeadToken { reason: reason() },
        // a2 signs a fresh provider token on the next request.
        (403, Some("ExpiredProviderToken")) => SendOutcome::Retry { reason: reason() },
        (429, _) | (500..=599, _) => SendOutcome::Retry { reason: reason() },
        _ => SendOutcome::Failed { reason: reason() },
    }
}

/// The longest prefix of `text` within `max` bytes, on a character boundary.
fn truncate_bytes(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The production transport: a2 with token auth, one client per APNs
/// environment (each keeps its HTTP/2 connection open).
pub struct A2Transport {
    production: a2::Client,
    sandbox: a2::Client,
}

impl A2Transport {
    /// Reads the `.p8` key at `key_path`.
    pub fn new(key_path: &Path, key_id: &str, team_id: &str) -> anyhow::Result<Self> {
        let key = std::fs::read(key_path).map_err(|error| {
            anyhow::anyhow!("cannot read the APNs key {}: {error}", key_path.display())
        })?;
        let client = |endpoint| {
            a2::Client::token(
                key.as_slice(),
                key_id,
                team_id,
                a2::ClientConfig::new(endpoint),
            )
            .map_err(|error| anyhow::anyhow!("invalid APNs key {}: {error}", key_path.display()))
        };
        Ok(Self {
            production: client(a2::Endpoint::Production)?,
            sandbox: client(a2::Endpoint::Sandbox)?,
        })
    }
}

impl ApnsTransport for A2Transport {
    fn post<'a>(&'a self, request: &'a ApnsRequest) -> BoxFuture<'a, Result<ApnsReply, String>> {
        Box::pin(async move {
            let client = if request.sandbox {
                &self.sandbox
            } else {
                &self.production
            };
            let payload = A2Payload::new(request).map_err(|e| e.to_string())?;
            match client.send(payload).await {
                Ok(response) => Ok(ApnsReply {
                    status: response.code,
                    apns_id: response.apns_id,
                    reason: None,
                }),
                Err(a2::Error::ResponseError(response)) => Ok(ApnsReply {
                    status: response.code,
                    apns_id: response.apns_id,
                    reason: response.error.map(|e| format!("{:?}", e.reason)),
                }),
                Err(error) => Err(error.to_string()),
            }
        })
    }
}

/// An [`ApnsRequest`] in the shape a2 sends: our JSON body as is, and the
/// headers as a2's options.
#[derive(Debug)]
struct A2Payload<'a> {
    request: &'a ApnsRequest,
    options: NotificationOptions<'a>,
}

impl<'a> A2Payload<'a> {
    fn new(request: &'a ApnsRequest) -> Result<Self, a2::Error> {
        let collapse = match &request.collapse_id {
            Some(id) => Some(CollapseId::new(id)?),
            None => None,
        };
        Ok(Self {
            request,
            options: NotificationOptions {
                apns_id: None,
                apns_push_type: Some(PushType::Alert),
                apns_expiration: Some(request.expiration),
                apns_priority: Some(if request.priority == 10 {
                    Priority::High
                } else {
                    Priority::Normal
                }),
                apns_topic: Some(&request.topic),
                apns_collapse_id: collapse,
            },
        })
    }
}

impl serde::Serialize for A2Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.request.payload.serialize(serializer)
    }
}

impl PayloadLike for A2Payload<'_> {
    fn get_device_token(&self) -> &str {
        &self.request.device_token
    }

    fn get_options(&self) -> &NotificationOptions<'_> {
        &self.options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Message {
        Message {
            to: "a1b2c3".into(),
            title: "New task assigned".into(),
            body: body.into(),
            data: json!({ "url": "fieldsync://tasks/1", "entityType": "TASK", "entityId": "1" }),
            priority: 10,
            collapse_key: Some("TASK:1".into()),
            badge: Some(3),
            sandbox: false,
        }
    }

    fn reply(status: u16, reason: Option<&str>) -> Result<ApnsReply, String> {
        Ok(ApnsReply {
            status,
            apns_id: Some("apns-1".into()),
            reason: reason.map(str::to_owned),
        })
    }

    #[test]
    fn the_payload_carries_alert_thread_badge_and_data() {
        let body = payload(&message("Fix the boiler"));
        assert_eq!(
            body,
            json!({
                "aps": {
                    "alert": { "title": "New task assigned", "body": "Fix the boiler" },
                    "sound": "default", "thread-id": "TASK:1", "badge": 3
                },
                "url": "fieldsync://tasks/1", "entityType": "TASK", "entityId": "1"
            })
        );
    }

    #[test]
    fn a_long_body_is_shortened_to_fit_four_kilobytes() {
        let long = "é".repeat(5000);
        let body = payload(&message(&long));
        assert!(body.to_string().len() <= MAX_PAYLOAD);
        let text = body["aps"]["alert"]["body"].as_str().unwrap();
        assert!(text.ends_with('…') && text.len() > 3000, "{}", text.len());
        assert_eq!(body["url"], "fieldsync://tasks/1", "data is kept whole");
    }

    #[test]
    fn a2_sends_our_payload_and_headers() {
        let sender = ApnsSender::new(
            Arc::new(NoTransport),
            "com.example.fieldsync".into(),
            Duration::from_secs(3600),
        );
        let mut normal = message("x");
        normal.priority = 5;
        let request = sender.request(&normal);
        assert_eq!(request.priority, 5);
        let a2 = A2Payload::new(&request).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&a2.to_json_string().unwrap()).unwrap(),
            request.payload
        );
        assert_eq!(a2.get_device_token(), "a1b2c3");
        assert_eq!(a2.options.apns_topic, Some("com.example.fieldsync"));
        assert_eq!(a2.options.apns_collapse_id.unwrap().value, "TASK:1");
        assert!(a2.options.apns_expiration.unwrap() > 1_700_000_000);
    }

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(
            outcome(reply(200, None)),
            SendOutcome::Sent {
                ticket: "apns-1".into()
            }
        );
        for dead in [
            reply(410, Some("Unregistered")),
            reply(400, Some("BadDeviceToken")),
        ] {
            assert!(matches!(outcome(dead), SendOutcome::DeadToken { .. }));
        }
        for transient in [
            reply(429, Some("TooManyRequests")),
            reply(500, Some("InternalServerError")),
            reply(503, Some("ServiceUnavailable")),
            reply(403, Some("ExpiredProviderToken")),
            Err("connection reset".into()),
        ] {
            assert!(matches!(outcome(transient), SendOutcome::Retry { .. }));
        }
        assert!(matches!(
            outcome(reply(400, Some("BadTopic"))),
            SendOutcome::Failed { .. }
        ));
    }

    struct NoTransport;

    impl ApnsTransport for NoTransport {
        fn post<'a>(&'a self, _: &'a ApnsRequest) -> BoxFuture<'a, Result<ApnsReply, String>> {
            Box::pin(async { Err("no network in unit tests".into()) })
        }
    }
}
