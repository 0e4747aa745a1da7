//! Expo's push API: `POST {base}/--/api/v2/push/send` with up to 100
//! messages (gzip-compressed), answered by one ticket per message in order;
//! later `POST {base}/--/api/v2/push/getReceipts` with up to 1,000 ticket
//! ids, answered by a receipt per id that Expo has.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Message, PushSender, SendOutcome};

/// Most messages Expo accepts in one request.
pub const CHUNK: usize = 100;
/// Most ticket ids Expo accepts in one receipts request.
pub const RECEIPTS_CHUNK: usize = 1000;

/// Talks to Expo's push API at a configurable base URL.
pub struct ExpoSender {
    client: reqwest::Client,
    send_url: String,
    receipts_url: String,
    access_token: Option<String>,
    ttl: Duration,
}

impl ExpoSender {
    /// A sender for `base_url` (`https://exp.host` in production); messages
    /// live `ttl` at Expo's and the platforms' services.
    pub fn new(
        base_url: &str,
        access_token: Option<String>,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let base = base_url.trim_end_matches('/');
        Ok(Self {
            client,
            send_url: format!("{base}/--/api/v2/push/send"),
            receipts_url: format!("{base}/--/api/v2/push/getReceipts"),
            access_token,
            ttl,
        })
    }

    /// POSTs `body` as gzip-compressed JSON, with the access token.
    async fn post(&self, url: &str, body: &impl Serialize) -> Result<reqwest::Response, String> {
        let json = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut gzip = GzEncoder::new(Vec::new(), Compression::fast());
        gzip.write_all(&json).map_err(|e| e.to_string())?;
        let compressed = gzip.finish().map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(compressed);
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        request.send().await.map_err(|e| e.to_string())
    }

    async fn send_chunk(&self, messages: &[Message]) -> Vec<SendOutcome> {
        let all = |outcome: SendOutcome| vec![outcome; messages.len()];
        let ttl = self.ttl.as_secs();
        let body: Vec<ExpoMessage<'_>> =
            messages.iter().map(|m| ExpoMessage::new(m, ttl)).collect();
        let response = match self.post(&self.send_url, &body).await {
            Ok(response) => response,
            Err(error) => {
                return all(SendOutcome::Retry {
                    reason: format!("expo unreachable: {error}"),
                });
            }
        };
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return all(SendOutcome::Retry {
                reason: format!("expo answered {status}"),
            });
        }
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return all(SendOutcome::Failed {
                reason: format!("expo answered {status}: {}", truncate(&text)),
            });
        }
        let tickets = match response.json::<SendResponse>().await {
            Ok(body) => body.data,
            Err(error) => {
                return all(SendOutcome::Retry {
                    reason: format!("unreadable expo answer: {error}"),
                });
            }
        };
        // A short answer leaves the tail unknown: retrying it is the safe side.
        (0..messages.len())
            .map(|i| match tickets.get(i) {
                Some(ticket) => ticket.outcome(),
                None => SendOutcome::Retry {
                    reason: "expo returned no ticket for the message".into(),
                },
            })
            .collect()
    }

    /// The receipts Expo has for `ids` (at most [`RECEIPTS_CHUNK`]): what
    /// each means for its notification. Ids Expo does not answer for are
    /// not ready yet (or expired) and are left out.
    pub async fn receipts(&self, ids: &[String]) -> Result<HashMap<String, SendOutcome>, String> {
        let response = self
            .post(&self.receipts_url, &serde_json::json!({ "ids": ids }))
            .await?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("expo answered {status}"));
        }
        let body: ReceiptsResponse = response
            .json()
            .await
            .map_err(|e| format!("unreadable expo answer: {e}"))?;
        Ok(body
            .data
            .into_iter()
            .map(|(id, receipt)| (id, receipt.outcome()))
            .collect())
    }
}

impl PushSender for ExpoSender {
    fn send<'a>(&'a self, messages: &'a [Message]) -> BoxFuture<'a, Vec<SendOutcome>> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(messages.len());
            for chunk in messages.chunks(CHUNK) {
                outcomes.extend(self.send_chunk(chunk).await);
            }
            outcomes
        })
    }
}

/// A message as Expo's API spells it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExpoMessage<'a> {
    to: &'a str,
    title: &'a str,
    body: &'a str,
    data: &'a Value,
    priority: &'static str,
    sound: &'static str,
    ttl: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
}

impl<'a> ExpoMessage<'a> {
    fn new(message: &'a Message, ttl: u64) -> Self {
        Self {
            to: &message.to,
            title: &message.title,
            body: &message.body,
            data: &message.data,
            priority: if message.priority >= 10 {
                "high"
            } else {
                "normal"
            },
            sound: "default",
            ttl,
            badge: message.badge,
        }
    }
}

/// The body of a successful send.
#[derive(Deserialize)]
struct SendResponse {
    data: Vec<Ticket>,
}

/// The body of a successful receipts request.
#[derive(Deserialize)]
struct ReceiptsResponse {
    data: HashMap<String, Ticket>,
}

/// One push ticket or receipt: the two share their shape.
#[derive(Deserialize)]
struct Ticket {
    status: String,
    id: Option<String>,
    message: Option<String>,
    details: Option<TicketDetails>,
}

/// Why a ticket is an error.
#[derive(Deserialize)]
struct TicketDetails {
    error: Option<String>,
}

impl Ticket {
    fn outcome(&self) -> SendOutcome {
        if self.status == "ok" {
            return SendOutcome::Sent {
                ticket: self.id.clone().unwrap_or_default(),
            };
        }
        let code = self.details.as_ref().and_then(|d| d.error.as_deref());
        let reason = match (code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {}", truncate(message)),
            (Some(code), None) => code.to_owned(),
            (None, Some(message)) => truncate(message),
            (None, None) => "expo error".to_owned(),
        };
        match code {
            Some("DeviceNotRegistered") => SendOutcome::DeadToken { reason },
            Some("MessageRateExceeded") => SendOutcome::Retry { reason },
            _ => SendOutcome::Failed { reason },
        }
    }
}

/// Keeps provider text short enough to store and log.
fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(json: Value) -> SendOutcome {
        serde_json::from_value::<Ticket>(json).unwrap().outcome()
    }

    #[test]
    fn ticket_errors_map_to_outcomes() {
        assert_eq!(
            ticket(serde_json::json!({"status": "ok", "id": "t-1"})),
            SendOutcome::Sent {
                ticket: "t-1".into()
            }
        );
        let dead = ticket(serde_json::json!({"status": "error", "message": "gone",
            "details": {"error": "DeviceNotRegistered"}}));
        assert!(matches!(dead, SendOutcome::DeadToken { .. }), "{dead:?}");
        let slow = ticket(
            serde_json::json!({"status": "error", "message": "slow down",
            "details": {"error": "MessageRateExceeded"}}),
        );
        assert!(matches!(slow, SendOutcome::Retry { .. }), "{slow:?}");
        let big = ticket(serde_json::json!({"status": "error", "message": "too big",
            "details": {"error": "MessageTooBig"}}));
        assert!(matches!(big, SendOutcome::Failed { .. }), "{big:?}");
    }
}
