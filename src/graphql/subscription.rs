//! The subscription root: live changes, each resumable with `after: cursor`
//! (what was missed is replayed from the change log first, with no gap and
//! no duplicate), each filtered to what the subscriber may see.

use std::collections::HashSet;
use std::future::ready;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use async_graphql::{Context, ID, Json, Object, Subscription};
use entity::enums::{ChangeOp, EntityType};
use entity::ids::{BuildingId, UserId};
use entity::{task, worker_status};
use futures_util::{Stream, StreamExt, stream};
use sea_orm::IdenStatic;
use serde_json::Value;
use tokio::sync::oneshot;

use super::context::ContextExt;
use super::inputs::parse_opt;
use super::json::{camel_keys, to_camel};
use super::objects::gid;
use super::objects::write::{VersionedEntity, entity_of};
use crate::changelog::priority;
use crate::domain::facts::Facts;
use crate::domain::tasks;
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
    /// Fields the change touched (GraphQL names).
    async fn changed_fields(&self) -> Vec<String> {
        self.0
            .change
            .changed_fields
            .iter()
            .map(|f| to_camel(f))
            .collect()
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
    /// The stored field that holds this fact, as the change log names it
    /// among a write's changed fields (the models' column names).
    fn field(self) -> &'static str {
        match self {
            Narrow::Building(_) => task::Column::BuildingId.as_str(),
            Narrow::Assignee(_) => task::Column::AssigneeId.as_str(),
            Narrow::Worker(_) => worker_status::Column::WorkerId.as_str(),
        }
    }

    fn matches(self, facts: &Facts) -> bool {
        match self {
            Narrow::Building(id) => facts.building == Some(id),
            Narrow::Assignee(id) => facts.assignee == Some(id),
            Narrow::Worker(id) => facts.worker == Some(id),
        }
    }
}

/// Keeps events whose entity matches `narrow` (no filter keeps all;
/// tombstones always pass: they concern entities the subscriber was shown).
fn field_is(event: &FeedEvent, narrow: Option<Narrow>) -> bool {
    match (narrow, &event.change.snapshot) {
        (None, _) | (_, None) => true,
        (Some(narrow), Some(snapshot)) => {
            narrow.matches(&Facts::of(event.change.entity_type, snapshot))
        }
    }
}

/// Keeps what [`field_is`] keeps, and also every update of the filtered
/// field itself: the entity may just have left the filter (a task
/// reassigned away from the assignee followed, a worker clocked in
/// elsewhere), and a subscriber holding it in a filtered list learns where
/// it went and drops it. (An update between two other values passes too:
/// without the previous version in memory it cannot be told apart; the
/// client finds it does not match and ignores it.)
fn in_or_leaving(event: &FeedEvent, narrow: Option<Narrow>) -> bool {
    field_is(event, narrow)
        || narrow.is_some_and(|narrow| {
            event.change.op == ChangeOp::Updated
                && event
                    .change
                    .changed_fields
                    .iter()
                    .any(|f| f == narrow.field())
        })
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

    /// Changes of tasks you may see, optionally of one building or assignee
    /// (with a filter, also every update of the filtered field, such as the
    /// one that reassigns a task away: drop what no longer matches).
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
            events.filter(move |e| ready(in_or_leaving(e, building) && in_or_leaving(e, assignee)))
        })
        .await
    }

    /// Tasks assigned to you, as they change, and the change that takes one
    /// off you (reassigned, unassigned, or a tombstone when it leaves your
    /// view).
    async fn my_task_assignments(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        if let Some(one) = rendering_one(ctx) {
            return Ok(one);
        }
        let principal = ctx.principal()?;
        let me = Some(Narrow::Assignee(principal.user_id));
        // Tasks this subscription counts as yours: assigned now, and those
        // its events assign to you; the event that takes one off you is sent.
        let mut mine: HashSet<uuid::Uuid> =
            Box::pin(tasks::assigned_ids(&ctx.state()?.db, principal))
                .await?
                .into_iter()
                .map(|id| id.into_uuid())
                .collect();
        deliver(ctx, vec![EntityType::Task], after, |events| {
            events.filter(move |e| {
                let id = e.change.entity_id;
                let assigned = e.change.snapshot.is_some() && field_is(e, me);
                let shown = if assigned {
                    mine.insert(id);
                    true
                } else {
                    mine.remove(&id)
                };
                ready(shown)
            })
        })
        .await
    }

    /// Duty status changes of the workers you may see, optionally at one
    /// building (with a building, also every change of a worker's building,
    /// such as the one that takes a worker elsewhere).
    async fn worker_status_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building", Narrow::Building)?;
        deliver(ctx, vec![EntityType::WorkerStatus], after, |events| {
            events.filter(move |e| ready(in_or_leaving(e, building)))
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
            events.filter(move |e| {
                let located = priority::moves_location(&e.change.changed_fields)
                    && e.change
                        .snapshot
                        .as_ref()
                        .is_some_and(|s| Facts::of(EntityType::WorkerStatus, s).located);
                ready(located && field_is(e, worker))
            })
        })
        .await
    }

    /// Violations, inspections and compliance alerts of your buildings
    /// (optionally one; then also every update that moves a record between
    /// buildings).
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
            events.filter(move |e| ready(in_or_leaving(e, building)))
        })
        .await
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
            events.filter(move |e| ready(field_is(e, building)))
        })
        .await
    }
}
