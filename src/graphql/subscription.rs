//! The subscription root: live changes, each resumable with `after: cursor`
//! (what was missed is replayed from the change log first, with no gap and
//! no duplicate), each filtered to what the subscriber may see.

use std::future::ready;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{Context, ID, Json, Object, Subscription};
use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, EntityType};
use entity::ids::{BuildingId, UserId};
use futures_util::{Stream, StreamExt, stream};
use serde_json::Value;
use tokio::sync::oneshot;

use super::context::ContextExt;
use super::inputs::parse_opt;
use super::json::{camel_keys, graphql_fields};
use super::objects::user::User;
use super::objects::write::{VersionedEntity, entity_of};
use super::objects::{gid, user_ref};
use crate::changelog::priority;
use crate::domain::facts::Facts;
use crate::error::Error;
use crate::events::feed::{self, FeedEvent};

/// A change as a subscriber sees it.
pub struct ChangeEvent(pub FeedEvent);

#[Object]
impl ChangeEvent {
    /// Resume after this event with `after: cursor`.
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }
    /// Kind of entity.
    async fn entity_type(&self) -> EntityType {
        self.0.change.entity_type
    }
    /// Its id.
    async fn entity_id(&self) -> ID {
        gid(self.0.change.entity_id)
    }
    /// What happened (DELETED for tombstones).
    async fn op(&self) -> ChangeOp {
        self.0.change.op
    }
    /// Its version after the change (0 for an entity that left your view).
    async fn version(&self) -> i32 {
        self.0.change.version
    }
    /// The fields of the entity's GraphQL type the change touched (a
    /// reference is its object field, `building`; a location's parts are
    /// `location`).
    async fn changed_fields(&self) -> Vec<String> {
        graphql_fields(&self.0.change.changed_fields)
    }
    /// Who made the change; `null` for the system, or where you may not see
    /// that user (the same rule as `users`).
    async fn changed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.change.actor {
            Some(actor) => user_ref(ctx, actor).await,
            None => Ok(None),
        }
    }
    /// When the change was made.
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.change.at
    }
    /// Deleted, or no longer visible to you: remove it locally.
    async fn tombstone(&self) -> bool {
        self.0.change.tombstone
    }
    /// The entity as you may see it, as JSON (camelCase); `null` for tombstones.
    async fn snapshot(&self) -> Option<Json<Value>> {
        self.0.change.snapshot.clone().map(|s| Json(camel_keys(s)))
    }
    /// The entity as it stands at this version; `null` for tombstones.
    async fn entity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VersionedEntity>> {
        match &self.0.raw {
            Some(raw) => entity_of(ctx, self.0.change.entity_type, raw.clone()).await,
            None => Ok(None),
        }
    }
}

/// Every live feed the API offers.
#[derive(Default)]
pub struct SubscriptionRoot;

/// A subscription's events, filtered for its subscriber.
pub type FeedEvents = Pin<Box<dyn Stream<Item = FeedEvent> + Send>>;

/// The events a subscription resolver answers with.
type ChangeEvents = Pin<Box<dyn Stream<Item = ChangeEvent> + Send>>;

/// How a transport wants a subscription's events, in the request's data.
/// Without one, a subscription resolves every event itself (its stream
/// runs inside async-graphql for the subscription's whole life).
pub enum Delivering {
    /// Hand the filtered feed over and yield nothing: the execution is then
    /// dropped (parsed document, variables and all, ~10 KiB per
    /// subscriber) and `super::live` renders each event, through
    /// [`Delivering::One`] when no subscriber rendered it alike before.
    Handoff(FeedHandoff),
    /// Open no feed: resolve this one event and end.
    One(Arc<FeedEvent>),
}

/// Where a resolver leaves its feed for the transport (once).
#[derive(Clone)]
pub struct FeedHandoff(Arc<Mutex<Option<oneshot::Sender<FeedEvents>>>>);

impl FeedHandoff {
    /// A handoff and where the feed arrives.
    pub fn new() -> (Self, oneshot::Receiver<FeedEvents>) {
        let (sender, receiver) = oneshot::channel();
        (Self(Arc::new(Mutex::new(Some(sender)))), receiver)
    }

    /// Hands `events` over; gives them back when already handed over or
    /// nobody waits any more (the transport then lets async-graphql run
    /// them, as without a handoff).
    fn give(&self, events: FeedEvents) -> Result<(), FeedEvents> {
        let sender = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        match sender {
            Some(sender) => sender.send(events),
            None => Err(events),
        }
    }
}

/// The one event to resolve, when the transport is rendering one.
fn rendering_one(ctx: &Context<'_>) -> Option<ChangeEvents> {
    match ctx.data_opt::<Delivering>() {
        Some(Delivering::One(event)) => Some(Box::pin(stream::once(ready(ChangeEvent(
            FeedEvent::clone(event),
        ))))),
        _ => None,
    }
}

/// A resolver's answer: the subscriber's feed of `entity_types`, narrowed
/// by `narrow`, delivered as the request asks ([`Delivering`]).
async fn deliver<S>(
    ctx: &Context<'_>,
    entity_types: Vec<EntityType>,
    after: Option<String>,
    narrow: impl FnOnce(FeedEvents) -> S,
) -> async_graphql::Result<ChangeEvents>
where
    S: Stream<Item = FeedEvent> + Send + 'static,
{
    if let Some(one) = rendering_one(ctx) {
        return Ok(one);
    }
    let state = ctx.state()?;
    let principal = *ctx.principal()?;
    // Boxed: the opening reads the database, and inline its future would
    // sit beside the stream in async-graphql's state while that runs.
    let opened = Box::pin(feed::open(
        state.hub.clone(),
        state.db.clone(),
        principal,
        entity_types,
        after.as_deref(),
        state.settings.sync.retention_days,
    ))
    .await?;
    let events: FeedEvents = Box::pin(narrow(Box::pin(opened)));
    let events = match ctx.data_opt::<Delivering>() {
        Some(Delivering::Handoff(handoff)) => match handoff.give(events) {
            Ok(()) => return Ok(Box::pin(stream::pending())),
            Err(events) => events,
        },
        _ => events,
    };
    Ok(Box::pin(events.map(ChangeEvent)))
}

/// A filter of a subscription: one of the facts of the entity.
#[derive(Debug, Clone, Copy)]
enum Narrow {
    /// In this building.
    Building(BuildingId),
    /// Assigned to this user.
    Assignee(UserId),
    /// About this worker.
    Worker(UserId),
}

impl Narrow {
    fn matches(self, facts: &Facts) -> bool {
        match self {
            Narrow::Building(id) => facts.building == Some(id),
            Narrow::Assignee(id) => facts.assignee == Some(id),
            Narrow::Worker(id) => facts.worker == Some(id),
        }
    }
}

/// An event as a subscription filtered by `narrow` sees it (no filter:
/// as it is): the event while the entity matches; a departure (a
/// tombstone) when it matched at its previous version and no longer does
/// (a task moved to another building or reassigned, a worker clocked in
/// elsewhere); a tombstone only if the entity matched before (a lost
/// building's contents, whose previous versions are not at hand, pass);
/// nothing otherwise, however the entity moved between other values.
fn narrowed(event: FeedEvent, narrow: Option<Narrow>) -> Option<FeedEvent> {
    let Some(narrow) = narrow else {
        return Some(event);
    };
    let matched_before = event.before.map(|before| narrow.matches(&before));
    match &event.change.snapshot {
        Some(now) if narrow.matches(&Facts::of(event.change.entity_type, now)) => Some(event),
        Some(_) => (matched_before == Some(true)).then(|| event.departed()),
        None => (matched_before != Some(false)).then_some(event),
    }
}

/// Checks the GraphQL rule that a subscription selects exactly one root
/// field (the spec's "single root field"), which async-graphql leaves
/// unchecked, and that it selects it directly: async-graphql ignores
/// fragments at a subscription's root (the operation would end at once,
/// silently). A document whose operation cannot be told passes: execution
/// reports it.
pub fn check_single_root_field(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<(), String> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => operation,
        (DocumentOperations::Multiple(operations), Some(name)) => match operations.get(name) {
            Some(operation) => operation,
            None => return Ok(()),
        },
        (DocumentOperations::Multiple(_), None) => return Ok(()),
    };
    if operation.node.ty != OperationType::Subscription {
        return Ok(());
    }
    let items = &operation.node.selection_set.node.items;
    if items
        .iter()
        .any(|item| !matches!(item.node, Selection::Field(_)))
    {
        return Err(
            "select the subscription field directly: fragments at the root of a subscription are not supported"
                .into(),
        );
    }
    match items.len() {
        1 => Ok(()),
        n => Err(format!(
            "a subscription must select exactly one root field; this one selects {n}"
        )),
    }
}

/// Parses an optional id filter into its canonical string.
fn id_filter<T: std::str::FromStr>(
    id: Option<ID>,
    what: &str,
    narrow: impl FnOnce(T) -> Narrow,
) -> Result<Option<Narrow>, Error> {
    Ok(parse_opt(&id, what)?.map(narrow))
}

#[Subscription]
impl SubscriptionRoot {
    /// Every change you may see, optionally of some entity types: the feed
    /// behind an offline cache.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        entity_types: Option<Vec<EntityType>>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        deliver(ctx, entity_types.unwrap_or_default(), after, |events| {
            events
        })
        .await
    }

    /// One entity's changes as you may see them — what an app's
    /// `useRealTimeSync({ entityType, entityId })` follows: each version,
    /// then a tombstone when it is deleted or leaves your view, after which
    /// the subscription completes. Resumable with `after:` like every feed.
    async fn entity_changed(
        &self,
        ctx: &Context<'_>,
        entity_type: EntityType,
        entity_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let id = uuid::Uuid::parse_str(entity_id.as_str())
            .map_err(|_| Error::bad_input(format!("`{}` is not a valid id", entity_id.as_str())))?;
        deliver(ctx, vec![entity_type], after, move |events| {
            let mine = Box::pin(events.filter(move |e| ready(e.change.entity_id == id)));
            // Every event of the entity up to and including a tombstone.
            stream::unfold(Some(mine), |events| async move {
                let mut events = events?;
                let event = events.next().await?;
                let more = !event.change.tombstone;
                Some((event, more.then_some(events)))
            })
        })
        .await
    }

    /// Changes of tasks you may see, optionally of one building or assignee
    /// (with a filter, a task that leaves it, moved or reassigned away,
    /// comes as a tombstone: drop it from the list).
    async fn task_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        assignee_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building", Narrow::Building)?;
        let assignee = id_filter(assignee_id, "user", Narrow::Assignee)?;
        deliver(ctx, vec![EntityType::Task], after, |events| {
            events.filter_map(move |e| {
                ready(narrowed(e, building).and_then(|e| narrowed(e, assignee)))
            })
        })
        .await
    }

    /// Tasks assigned to you, as they change, and a tombstone when one is
    /// no longer yours (reassigned, unassigned, deleted, or out of your view).
    async fn my_task_assignments(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        if let Some(one) = rendering_one(ctx) {
            return Ok(one);
        }
        let me = Some(Narrow::Assignee(ctx.principal()?.user_id));
        deliver(ctx, vec![EntityType::Task], after, |events| {
            events.filter_map(move |e| ready(narrowed(e, me)))
        })
        .await
    }

    /// Duty status changes of the workers you may see, optionally at one
    /// building (a worker who leaves it comes as a tombstone).
    async fn worker_status_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building", Narrow::Building)?;
        deliver(ctx, vec![EntityType::WorkerStatus], after, |events| {
            events.filter_map(move |e| ready(narrowed(e, building)))
        })
        .await
    }

    /// New locations of workers who share them (administrators only).
    async fn worker_location_updated(
        &self,
        ctx: &Context<'_>,
        worker_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        if !ctx.principal()?.is_admin() {
            return Err(Error::forbidden("only administrators may follow locations").into());
        }
        let worker = id_filter(worker_id, "user", Narrow::Worker)?;
        deliver(ctx, vec![EntityType::WorkerStatus], after, |events| {
            events.filter_map(move |e| {
                let located = priority::moves_location(&e.change.changed_fields)
                    && e.change
                        .snapshot
                        .as_ref()
                        .is_some_and(|s| Facts::of(EntityType::WorkerStatus, s).located);
                ready(narrowed(e, worker).filter(|_| located))
            })
        })
        .await
    }

    /// Violations, inspections and compliance alerts of your buildings
    /// (optionally one; a record moved out of it comes as a tombstone).
    async fn compliance_events(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building", Narrow::Building)?;
        let types = vec![
            EntityType::Violation,
            EntityType::Inspection,
            EntityType::ComplianceAlert,
        ];
        deliver(ctx, types, after, |events| {
            events.filter_map(move |e| ready(narrowed(e, building)))
        })
        .await
    }

    /// Conflicts as they open and close: an administrator's whole
    /// organisation's, anyone else's own.
    async fn sync_conflict_changed(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        deliver(ctx, vec![EntityType::SyncConflict], after, |events| events).await
    }

    /// Status changes of your buildings.
    async fn building_status_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building", Narrow::Building)?;
        deliver(ctx, vec![EntityType::Building], after, |events| {
            events.filter_map(move |e| ready(narrowed(e, building)))
        })
        .await
    }
}
