//! The Expo push sender: `POST {base}/--/api/v2/push/send` with up to 100
//! messages, answered by one ticket per message, in order.
//!
//! Not yet: gzip request bodies and fetching receipts (tickets are stored on
//! the notification row for that later step).

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Message, Outcome, PushSender};

/// Most messages Expo accepts in one request.
pub const CHUNK: usize = 100;

/// Sends to Expo's push API at a configurable base URL.
pub struct ExpoSender {
    client: reqwest::Client,
    send_url: String,
    access_token: Option<String>,
}

impl ExpoSender {
    /// A sender for `base_url` (`https://exp.host` in production).
    pub fn new(base_url: &str, access_token: Option<String>) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            send_url: format!("{}/--/api/v2/push/send", base_url.trim_end_matches('/')),
            access_token,
        })
    }

    async fn send_chunk(&self, messages: &[Message]) -> Vec<Outcome> {
        let all = |outcome: Outcome| vec![outcome; messages.len()];
        let body: Vec<ExpoMessage<'_>> = messages.iter().map(ExpoMessage::from).collect();
        let mut request = self.client.post(&self.send_url).json(&body);
        if let Some(token) = &self.access_token {
            request = request.bearer_auth(token);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return all(Outcome::Retry {
                    reason: format!("expo unreachable: {error}"),
                });
            }
        };
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return all(Outcome::Retry {
                reason: format!("expo answered {status}"),
            });
        }
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return all(Outcome::Failed {
                reason: format!("expo answered {status}: {}", truncate(&text)),
            });
        }
        let tickets = match response.json::<SendResponse>().await {
            Ok(body) => body.data,
            Err(error) => {
                return all(Outcome::Retry {
                    reason: format!("unreadable expo answer: {error}"),
                });
            }
        };
        // A short answer leaves the tail unknown: retrying it is the safe side.
        (0..messages.len())
            .map(|i| match tickets.get(i) {
                Some(ticket) => ticket.outcome(),
                None => Outcome::Retry {
                    reason: "expo returned no ticket for the message".into(),
                },
            })
            .collect()
    }
}

impl PushSender for ExpoSender {
    fn send<'a>(&'a self, messages: &'a [Message]) -> BoxFuture<'a, Vec<Outcome>> {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    channel_id: Option<&'a str>,
    priority: &'static str,
}

impl<'a> From<&'a Message> for ExpoMessage<'a> {
    fn from(message: &'a Message) -> Self {
        Self {
            to: &message.to,
            title: &message.title,
            body: &message.body,
            data: &message.data,
            channel_id: message.channel_id.as_deref(),
            priority: if message.priority >= 10 {
                "high"
            } else {
                "normal"
            },
        }
    }
}

/// The body of a successful send.
#[derive(Deserialize)]
struct SendResponse {
    data: Vec<Ticket>,
}

/// One push ticket.
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
    fn outcome(&self) -> Outcome {
        if self.status == "ok" {
            return match &self.id {
                Some(id) => Outcome::Sent { ticket: id.clone() },
                None => Outcome::Sent {
                    ticket: String::new(),
                },
            };
        }
        let code = self.details.as_ref().and_then(|d| d.error.as_deref());
        let reason = match (code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {}", truncate(message)),
            (Some(code), None) => code.to_owned(),
            (None, Some(message)) => truncate(message),
            (None, None) => "expo ticket error".to_owned(),
        };
        match code {
            Some("DeviceNotRegistered") => Outcome::DeadToken { reason },
            Some("MessageRateExceeded") => Outcome::Retry { reason },
            _ => Outcome::Failed { reason },
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

    fn ticket(json: Value) -> Outcome {
        serde_json::from_value::<Ticket>(json).unwrap().outcome()
    }

    #[test]
    fn ticket_errors_map_to_outcomes() {
        assert_eq!(
            ticket(serde_json::json!({"status": "ok", "id": "t-1"})),
            Outcome::Sent {
                ticket: "t-1".into()
            }
        );
        let dead = ticket(serde_json::json!({"status": "error", "message": "gone",
            "details": {"error": "DeviceNotRegistered"}}));
        assert!(matches!(dead, Outcome::DeadToken { .. }), "{dead:?}");
        let slow = ticket(
            serde_json::json!({"status": "error", "message": "slow down",
            "details": {"error": "MessageRateExceeded"}}),
        );
        assert!(matches!(slow, Outcome::Retry { .. }), "{slow:?}");
        let big = ticket(serde_json::json!({"status": "error", "message": "too big",
            "details": {"error": "MessageTooBig"}}));
        assert!(matches!(big, Outcome::Failed { .. }), "{big:?}");
    }
}
