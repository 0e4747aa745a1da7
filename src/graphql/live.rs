//! The API's one seam for a socket transport: [`LiveOperation::start`]
//! checks and prepares one operation of a signed-in caller, and
//! [`LiveOperation::next`] yields what to send, in order: answers to the
//! request (a query's or mutation's result, a refused subscription, a
//! request that does not parse or validate) and a subscription's events.
//!
//! A subscription hands its filtered feed over as soon as it is open
//! ([`Delivering::Handoff`]): the async-graphql execution is then dropped
//! (parsed document, variables and all, ~10 KiB per subscriber), and each
//! event is rendered here, once for every subscriber who would render it
//! alike ([`Rendering`]).

use std::sync::Arc;

use async_graphql::futures_util::stream::BoxStream;
use async_graphql::{Request, Response};
use entity::enums::EntityType;
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::AppSchema;
use super::context::RequestContext;
use super::errors::{ensure_codes, internal_errors, internal_response, is_request_error};
use super::loaders::Loaders;
use super::renderings::{Rendering, Renderings};
use super::subscription::{Delivering, FeedEvents, FeedHandoff, check_single_root_field};
use crate::auth::Principal;

/// One operation of a caller on a socket, from start to its last output.
pub struct LiveOperation {
    schema: AppSchema,
    rendering: Rendering,
    stage: Stage,
}

enum Stage {
    /// async-graphql runs the request; a subscription may hand its feed over.
    Executing {
        results: BoxStream<'static, Response>,
        handed: Option<oneshot::Receiver<FeedEvents>>,
        first: bool,
    },
    /// A subscription's feed, rendered here event by event.
    Following(FeedEvents),
    Done,
}

/// What to send next for an operation.
pub enum Output {
    /// The request does not parse or validate: one `error` message with
    /// these errors (a JSON array), and the operation ends.
    RequestError(serde_json::Value),
    /// A result answering the request: the payload of a `next` message.
    Result(String),
    /// A subscription event: the payload of a `next` message.
    Event {
        /// What the event is about, for the transport's delivery order.
        about: EventInfo,
        /// The rendered result.
        payload: Arc<str>,
    },
}

/// What a subscription event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// Kind of entity.
    pub entity_type: EntityType,
    /// Its id.
    pub entity_id: Uuid,
    /// Its delivery priority (`changelog::priority`).
    pub priority: i32,
    /// Deleted, or no longer visible to the subscriber.
    pub tombstone: bool,
}

impl LiveOperation {
    /// Prepares `principal`'s `request`, or refuses it with a message when
    /// a subscription does not select exactly one root field (async-graphql
    /// checks neither that nor root fragments). `document` is parsed once,
    /// for this check, the rendering key and async-graphql alike.
    pub fn start(
        schema: &AppSchema,
        renderings: &Arc<Renderings>,
        db: &DatabaseConnection,
        principal: Principal,
        address: Option<std::net::IpAddr>,
        mut request: Request,
    ) -> Result<Self, String> {
        // A document that does not parse is left for async-graphql to report.
        let document = async_graphql::parser::parse_query(&request.query).ok();
        if let Some(document) = &document {
            check_single_root_field(document, request.operation_name.as_deref())?;
        }
        let rendering = Rendering::new(
            renderings.clone(),
            principal,
            db.clone(),
            &request,
            document.as_ref(),
        );
        if let Some(document) = document {
            request.set_parsed_query(document);
        }
        let (handoff, handed) = FeedHandoff::new();
        let request = request
            .data(RequestContext {
                principal: Some(principal),
                address,
                sign_ins: Default::default(),
            })
            .data(Loaders::new(db.clone(), principal.org_id))
            .data(Delivering::Handoff(handoff));
        Ok(Self {
            schema: schema.clone(),
            rendering,
            stage: Stage::Executing {
                results: schema.execute_stream(request),
                handed: Some(handed),
                first: true,
            },
        })
    }

    /// The next thing to send; `None` when the operation is over.
    pub async fn next(&mut self) -> Option<Output> {
        loop {
            match &mut self.stage {
                Stage::Done => return None,
                Stage::Following(events) => {
                    let Some(event) = events.next().await else {
                        self.stage = Stage::Done;
                        return None;
                    };
                    let about = EventInfo {
                        entity_type: event.change.entity_type,
                        entity_id: event.change.entity_id,
                        priority: event.change.priority,
                        tombstone: event.change.tombstone,
                    };
                    let payload = self.rendering.payload(&self.schema, event).await;
                    return Some(Output::Event { about, payload });
                }
                Stage::Executing {
                    results,
                    handed,
                    first,
                } => {
                    let next = tokio::select! {
                        biased;
                        events = async { handed.as_mut().expect("checked").await }, if handed.is_some() => {
                            match events {
                                // Dropping the execution here is the point of the handoff.
                                Ok(events) => self.stage = Stage::Following(events),
                                // Not a subscription, or not handed over: results follow.
                                Err(_) => *handed = None,
                            }
                            continue;
                        }
                        response = results.next() => response,
                    };
                    let Some(mut response) = next else {
                        self.stage = Stage::Done;
                        return None;
                    };
                    ensure_codes(&mut response);
                    if std::mem::take(first) && is_request_error(&response) {
                        self.stage = Stage::Done;
                        let errors = serde_json::to_value(&response.errors);
                        return Some(Output::RequestError(errors.unwrap_or_else(|error| {
                            tracing::error!(%error, "serialising request errors failed");
                            internal_errors()
                        })));
                    }
                    let payload = serde_json::to_string(&response);
                    return Some(Output::Result(payload.unwrap_or_else(|error| {
                        tracing::error!(%error, "serialising a result failed");
                        internal_response()
                    })));
                }
            }
        }
    }
}
