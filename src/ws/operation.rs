//! One operation on a socket, in a task of its own: it sends what the API's
//! `graphql::live` seam yields (a query's or mutation's answer, or a
//! subscription's events, each rendered once for alike subscribers), each
//! in its delivery lane, then `complete`.

use std::sync::Arc;

use serde_json::json;

use super::connection::MAX_OUTBOUND_BYTES;
use super::lanes::{Delivery, Lane};
use super::protocol::{Protocol, ServerMessage};
use super::send_queue::SendQueue;
use crate::graphql::errors::{CODE_BAD_USER_INPUT, coded_error};
use crate::graphql::live::{LiveOperation, Output};

/// One running operation. Small: its task holds it for the operation's
/// whole life (after a subscription's handoff, little more than its feed).
pub struct OperationTask {
    /// The client's id of the operation.
    pub id: String,
    /// The operation as the API runs it.
    pub live: LiveOperation,
    /// Where its messages go.
    pub sends: SendQueue,
    /// The socket's dialect.
    pub protocol: Protocol,
}

impl OperationTask {
    /// Runs to the end of the operation, sending each output in its lane;
    /// returns the id.
    pub async fn run(self) -> String {
        let OperationTask {
            id,
            mut live,
            sends,
            protocol,
        } = self;
        let key: Arc<str> = Arc::from(id.as_str());
        while let Some(output) = live.next().await {
            let (text, delivery) = match output {
                // Parse and validation errors: one `error` message, nothing else.
                Output::RequestError(errors) => {
                    let text = ServerMessage::Error {
                        id: Some(&id),
                        payload: &errors,
                    }
                    .to_text(protocol);
                    sends.send(text);
                    return id;
                }
                // Query and mutation results (and a subscription's refusal)
                // answer a request, like protocol messages.
                Output::Result(payload) => (next_text(&id, &payload, protocol), Delivery::CONTROL),
                Output::Event { about, payload } => {
                    (next_text(&id, &payload, protocol), Delivery::of(&about))
                }
            };
            if !sends
                .send_waiting(text, delivery.lane, key.clone(), delivery.worker)
                .await
            {
                return id;
            }
        }
        // The last lane, so it never overtakes a result of this operation.
        let complete = ServerMessage::Complete { id: &id }.to_text(protocol);
        sends
            .send_waiting(complete, Lane::Location, key, None)
            .await;
        id
    }
}

/// A `next`/`data` message, or an error in its place when the result is too
/// large for one frame.
fn next_text(id: &str, payload: &str, protocol: Protocol) -> String {
    let text = ServerMessage::Next { id, payload }.to_text(protocol);
    if text.len() <= MAX_OUTBOUND_BYTES {
        return text;
    }
    let payload = json!({
        "data": null,
        "errors": [coded_error(
            format!("the result exceeds {MAX_OUTBOUND_BYTES} bytes; select fewer fields or a smaller page"),
            CODE_BAD_USER_INPUT,
        )],
    });
    ServerMessage::Next {
        id,
        payload: &payload.to_string(),
    }
    .to_text(protocol)
}
