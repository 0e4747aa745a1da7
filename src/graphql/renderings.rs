//! One rendering of a subscription event for every subscriber who would
//! render it alike: the same caller, the same selection, the same event.
//!
//! A user often follows the same changes with the same document on many
//! sockets (an app's one `taskChanged` query on a phone, a tablet and a
//! few browser tabs; a dashboard on a wall; an integration's pool of
//! connections). The first operation to deliver an event resolves and
//! serialises it; every other one finds the payload here and skips GraphQL
//! execution altogether. Different users render their own: what they may
//! read differs.
//!
//! What makes two renderings alike: the [`Principal`] (role and field rules
//! follow from it), the document and operation name, the variables the
//! selection reads, and the event ([`EventKey`]). The *root field's*
//! arguments (`after`, `buildingId`, `entityTypes` …) are left out: they
//! choose which events a subscriber gets, never how one renders, so
//! subscribers resuming from different cursors or following different
//! buildings still share. Results with errors are never shared.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_graphql::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Request, Variables};
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;

use super::AppSchema;
use super::context::RequestContext;
use super::errors::{ensure_codes, internal_response};
use super::loaders::Loaders;
use super::subscription::Delivering;
use crate::auth::Principal;
use crate::events::feed::{EventKey, FeedEvent};

/// Renderings kept per generation; two generations are kept, so between
/// `GENERATION` and twice that.
const GENERATION: usize = 4096;
/// Larger payloads are not kept (with the count above, the cache holds at
/// most 8,192 × 64 KiB; in practice events are a few hundred bytes).
const MAX_SHARED_BYTES: usize = 64 * 1024;
/// How long a rendering is offered: its cursor carries the time it was
/// rendered, and a cursor must not look older than it is.
const MAX_AGE: Duration = Duration::from_secs(60);

/// The instance's renderings. Cheap to share.
#[derive(Debug, Default)]
pub struct Renderings {
    /// A std `Mutex`: held only to look up or insert one entry.
    generations: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<Key, Rendered>,
    previous: HashMap<Key, Rendered>,
}

#[derive(Debug)]
struct Rendered {
    payload: Arc<str>,
    at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    principal: Principal,
    selection: u64,
    event: EventKey,
}

impl Renderings {
    fn get(&self, key: &Key) -> Option<Arc<str>> {
        let generations = self.lock();
        generations
            .current
            .get(key)
            .or_else(|| generations.previous.get(key))
            .filter(|rendered| rendered.at.elapsed() < MAX_AGE)
            .map(|rendered| rendered.payload.clone())
    }

    fn put(&self, key: Key, payload: Arc<str>) {
        if payload.len() > MAX_SHARED_BYTES {
            return;
        }
        let mut generations = self.lock();
        if generations.current.len() >= GENERATION {
            generations.previous = std::mem::take(&mut generations.current);
        }
        let at = Instant::now();
        generations.current.insert(key, Rendered { payload, at });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// How one subscription renders its events: shared when another
/// operation rendered them alike, resolved here otherwise.
#[derive(Debug)]
pub struct Rendering {
    shared: Arc<Renderings>,
    principal: Principal,
    /// `None` when the document cannot be shared (it does not parse: it
    /// will fail validation anyway).
    selection: Option<u64>,
    /// The request, to resolve an event nobody rendered alike yet
    /// (variables as JSON text: far smaller than parsed).
    query: String,
    operation_name: Option<String>,
    variables: String,
    db: DatabaseConnection,
}

impl Rendering {
    /// How `principal`'s operation running `request` (whose document,
    /// when it parses, is `document`) renders its events.
    pub fn new(
        shared: Arc<Renderings>,
        principal: Principal,
        db: DatabaseConnection,
        request: &Request,
        document: Option<&ExecutableDocument>,
    ) -> Self {
        Self {
            shared,
            principal,
            selection: document.and_then(|document| selection_hash(request, document)),
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_else(|error| {
                // The render then fails on the missing variables, visibly.
                tracing::error!(%error, "keeping a subscription's variables failed");
                String::new()
            }),
            db,
        }
    }

    /// The event's result, as the JSON payload of a `next` message.
    pub async fn payload(&self, schema: &AppSchema, event: FeedEvent) -> Arc<str> {
        let key = self.selection.map(|selection| Key {
            principal: self.principal,
            selection,
            event: event.key(),
        });
        if let Some(found) = key.as_ref().and_then(|key| self.shared.get(key)) {
            return found;
        }
        let variables = serde_json::from_str(&self.variables).unwrap_or_default();
        let mut request = Request::new(self.query.clone())
            .variables(Variables::from_json(variables))
            .data(RequestContext {
                principal: Some(self.principal),
                ..RequestContext::default()
            })
            .data(Loaders::new(self.db.clone(), self.principal.org_id))
            .data(Delivering::One(Arc::new(event)));
        if let Some(name) = &self.operation_name {
            request = request.operation_name(name);
        }
        let Some(mut response) = schema.execute_stream(request).next().await else {
            tracing::error!("a one-event execution yielded nothing");
            return internal_error();
        };
        ensure_codes(&mut response);
        let payload: Arc<str> = match serde_json::to_string(&response) {
            Ok(payload) => payload.into(),
            Err(error) => {
                tracing::error!(%error, "serialising an event failed");
                return internal_error();
            }
        };
        if let Some(key) = key
            && response.errors.is_empty()
        {
            self.shared.put(key, payload.clone());
        }
        payload
    }
}

/// The payload of an event that could not be rendered.
fn internal_error() -> Arc<str> {
    internal_response().into()
}

/// Hashes what decides how the request's events render: the document, the
/// operation name and the variables read anywhere but in the root fields'
/// own arguments.
fn selection_hash(request: &Request, document: &ExecutableDocument) -> Option<u64> {
    let mut used = HashSet::new();
    for (_, operation) in document.operations.iter() {
        for item in &operation.node.selection_set.node.items {
            // The root field's own arguments only choose events; a root
            // fragment (refused for subscriptions) is not worth sharing.
            let Selection::Field(field) = &item.node else {
                return None;
            };
            variables_in_directives(&field.node.directives, &mut used);
            variables_below(
                &field.node.selection_set.node,
                document,
                &mut used,
                &mut HashSet::new(),
            );
        }
    }
    let variables: BTreeMap<&Name, String> = request
        .variables
        .iter()
        .filter(|(name, _)| used.contains(name.as_str()))
        .map(|(name, value)| (name, value.to_string()))
        .collect();
    let mut hasher = DefaultHasher::new();
    request.query.hash(&mut hasher);
    request.operation_name.hash(&mut hasher);
    variables.hash(&mut hasher);
    Some(hasher.finish())
}

/// Collects the variables read in a selection set: arguments and
/// directives at any depth, fragments followed once each.
fn variables_below<'d>(
    set: &'d SelectionSet,
    document: &'d ExecutableDocument,
    used: &mut HashSet<String>,
    fragments_seen: &mut HashSet<&'d str>,
) {
    for item in &set.items {
        variables_in_directives(item.node.directives(), used);
        match &item.node {
            Selection::Field(field) => {
                for (_, value) in &field.node.arguments {
                    variables_in(&value.node, used);
                }
                variables_below(
                    &field.node.selection_set.node,
                    document,
                    used,
                    fragments_seen,
                );
            }
            Selection::InlineFragment(fragment) => {
                variables_below(
                    &fragment.node.selection_set.node,
                    document,
                    used,
                    fragments_seen,
                );
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if fragments_seen.insert(name)
                    && let Some(fragment) = document.fragments.get(name)
                {
                    variables_in_directives(&fragment.node.directives, used);
                    variables_below(
                        &fragment.node.selection_set.node,
                        document,
                        used,
                        fragments_seen,
                    );
                }
            }
        }
    }
}

/// Notes the variables directives' arguments read.
fn variables_in_directives(directives: &[Positioned<Directive>], used: &mut HashSet<String>) {
    for directive in directives {
        for (_, value) in &directive.node.arguments {
            variables_in(&value.node, used);
        }
    }
}

/// Notes the variables a value reads, from its GraphQL text (`$name`): a
/// `$` inside a string literal adds a name too, which only shares less.
fn variables_in(value: &impl std::fmt::Display, used: &mut HashSet<String>) {
    let text = value.to_string();
    for after_dollar in text.split('$').skip(1) {
        let name = after_dollar
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        used.insert(name.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(query: &str, variables: serde_json::Value) -> u64 {
        let request = Request::new(query).variables(async_graphql::Variables::from_json(variables));
        let document = async_graphql::parser::parse_query(query).expect("parses");
        selection_hash(&request, &document).expect("shareable")
    }

    #[test]
    fn root_arguments_do_not_matter_but_variables_below_them_do() {
        let doc = "subscription($after: String, $b: ID, $full: Boolean!) { taskChanged(buildingId: $b, after: $after) { entityId snapshot @include(if: $full) } }";
        let base = hash(
            doc,
            serde_json::json!({ "after": "c1", "b": "x", "full": true }),
        );
        assert_eq!(
            base,
            hash(
                doc,
                serde_json::json!({ "after": "c2", "b": "y", "full": true })
            )
        );
        assert_ne!(
            base,
            hash(
                doc,
                serde_json::json!({ "after": "c1", "b": "x", "full": false })
            )
        );
    }

    #[test]
    fn variables_read_through_fragments_matter() {
        let doc = "subscription($full: Boolean!) { changes { ...F } } fragment F on ChangeEvent { snapshot @include(if: $full) }";
        assert_ne!(
            hash(doc, serde_json::json!({ "full": true })),
            hash(doc, serde_json::json!({ "full": false }))
        );
    }

    #[test]
    fn a_root_argument_also_read_below_matters() {
        let doc =
            "subscription($v: Boolean!) { changes(entityTypes: []) @include(if: $v) { cursor } }";
        assert_ne!(
            hash(doc, serde_json::json!({ "v": true })),
            hash(doc, serde_json::json!({ "v": false }))
        );
    }
}
