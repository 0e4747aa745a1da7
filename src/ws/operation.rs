//! One operation on a socket, in a task of its own: a query or mutation
//! answered once, or a subscription whose feed it follows, rendering each
//! event (or finding it rendered) and queueing it in its lane.

use std::sync::Arc;

use async_graphql::futures_util::StreamExt;
use async_graphql::{Request, Response};
use serde_json::json;

use super::connection::MAX_OUTBOUND_BYTES;
use super::outbox::Outbox;
use super::protocol::{Protocol, ServerMessage};
use crate::events::lanes::{Delivery, Lane};
use crate::graphql::AppSchema;
use crate::graphql::errors::{CODE_BAD_USER_INPUT, coded_error, ensure_codes, is_request_error};
use crate::graphql::renderings::Rendering;
use crate::graphql::subscription::{Delivering, FeedEvents, FeedHandoff};

/// One running operation. Small: its task holds it for the operation's
/// whole life (the request is boxed, and only what it needs is kept).
pub struct Operation {
    pub id: String,
    /// With the operation's data (principal, loaders).
    pub request: Box<Request>,
    pub schema: AppSchema,
    pub rendering: Rendering,
    pub outbox: Outbox,
    pub protocol: Protocol,
}

/// What an operation's execution did next.
enum Step {
    /// A subscription handed its feed over (`None`: the operation is not one).
    Handed(Option<FeedEvents>),
    /// A result, or the end of the results.
    Result(Option<Box<Response>>),
}

impl Operation {
    /// Runs to the end of the operation, sending each result; returns the
    /// id. A subscription hands its feed over as soon as it is open
    /// ([`Delivering::Handoff`]): its execution is dropped, and each event
    /// is rendered (or found rendered) and sent from here.
    pub async fn run(self) -> String {
        let Operation {
            id,
            request,
            schema,
            rendering,
            outbox,
            protocol,
        } = self;
        let (handoff, handed) = FeedHandoff::new();
        let mut handed = Some(handed);
        let request = request.data(Delivering::Handoff(handoff));
        let key: Arc<str> = Arc::from(id.as_str());
        let mut stream = schema.execute_stream(request);
        let mut first = true;
        loop {
            let step = tokio::select! {
                biased;
                events = async { handed.as_mut().expect("checked").await }, if handed.is_some() => {
                    Step::Handed(events.ok())
                }
                response = stream.next() => Step::Result(response.map(Box::new)),
            };
            let mut response = match step {
                Step::Handed(None) => {
                    handed = None;
                    continue;
                }
                Step::Handed(Some(mut events)) => {
                    drop(stream);
                    while let Some(event) = events.next().await {
                        let delivery = Delivery::of(&event.change);
                        let payload = rendering.payload(&schema, event).await;
                        let text = next_text(&id, &payload, protocol);
                        if !outbox
                            .send_waiting(text, delivery.lane, key.clone(), delivery.worker)
                            .await
                        {
                            return id;
                        }
                    }
                    break;
                }
                Step::Result(None) => break,
                Step::Result(Some(response)) => response,
            };
            ensure_codes(&mut response);
            // Parse and validation errors: one `error` message, nothing else.
            if first && is_request_error(&response) {
                let errors = serde_json::to_value(&response.errors).unwrap_or_default();
                let text = ServerMessage::Error {
                    id: Some(&id),
                    payload: &errors,
                }
                .to_text(protocol);
                outbox.send(text);
                return id;
            }
            first = false;
            // Query and mutation results (and a subscription's refusal)
            // answer a request, like protocol messages.
            let payload = serde_json::to_string(&response).unwrap_or_default();
            let text = next_text(&id, &payload, protocol);
            let control = Delivery::CONTROL;
            if !outbox
                .send_waiting(text, control.lane, key.clone(), control.worker)
                .await
            {
                return id;
            }
        }
        // The last lane, so it never overtakes a result of this operation.
        let complete = ServerMessage::Complete { id: &id }.to_text(protocol);
        outbox
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
