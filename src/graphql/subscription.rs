//! The subscription root: live changes, each resumable with `after: cursor`
//! (what was missed is replayed from the change log first, with no gap and
//! no duplicate), each filtered to what the subscriber may see.

use std::collections::HashSet;
use std::future::ready;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{Context, ID, Json, Object, Subscription};
use entity::enums::{ChangeOp, EntityType};
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::context::ContextExt;
use super::inputs::parse_id;
use super::json::{camel_keys, to_camel};
use super::objects::gid;
use super::objects::write::{VersionedEntity, entity_of};
use crate::domain::tasks;
use crate::error::Error;
use crate::events::feed::{self, EventKey, FeedEvent};
use crate::events::lanes::Delivery;

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

/// Where a subscription tells its transport which event it is about to
/// yield and how to deliver it (the WebSocket layer puts one in each
/// operation's data and reads it after each result). Set just before the
/// event is resolved, so it always describes the result that follows.
#[derive(Debug, Clone, Default)]
pub struct DeliverySlot(Arc<Mutex<Option<(Delivery, EventKey)>>>);

impl DeliverySlot {
    /// How the last event should be delivered and which it was, if a
    /// subscription said.
    pub fn take(&self) -> Option<(Delivery, EventKey)> {
        self.lock().take()
    }

    /// The event about to be resolved, if a subscription said.
    pub fn event(&self) -> Option<EventKey> {
        self.lock().map(|(_, event)| event)
    }

    fn set(&self, event: &FeedEvent) {
        *self.lock() = Some((Delivery::of(&event.change), event.key()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Delivery, EventKey)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The subscriber's feed of these entity types, as `ChangeEvent`s.
async fn open(
    ctx: &Context<'_>,
    entity_types: Vec<EntityType>,
    after: Option<String>,
) -> async_graphql::Result<impl Stream<Item = FeedEvent> + use<>> {
    let state = ctx.state()?;
    let principal = *ctx.principal()?;
    let stream = feed::open(
        state.hub.clone(),
        state.db.clone(),
        principal,
        entity_types,
        after.as_deref(),
        state.settings.sync.retention_days,
    )
    .await?;
    let slot = ctx.data_opt::<DeliverySlot>().cloned();
    Ok(stream.map(move |event| {
        if let Some(slot) = &slot {
            slot.set(&event);
        }
        event
    }))
}

/// Keeps events whose snapshot field equals `id` (tombstones always pass:
/// they concern entities the subscriber was shown).
fn field_is(event: &FeedEvent, field: &str, id: &Option<String>) -> bool {
    match (id, &event.change.snapshot) {
        (None, _) | (_, None) => true,
        (Some(id), Some(snapshot)) => {
            snapshot.get(field).and_then(Value::as_str) == Some(id.as_str())
        }
    }
}

/// Parses an optional id filter into its canonical string.
fn id_filter(id: Option<ID>, what: &str) -> Result<Option<String>, Error> {
    id.map(|id| parse_id::<uuid::Uuid>(&id, what).map(|u| u.to_string()))
        .transpose()
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
        Ok(open(ctx, entity_types.unwrap_or_default(), after)
            .await?
            .map(ChangeEvent))
    }

    /// Changes of tasks you may see, optionally of one building or assignee.
    async fn task_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        assignee_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building")?;
        let assignee = id_filter(assignee_id, "user")?;
        Ok(open(ctx, vec![EntityType::Task], after)
            .await?
            .filter(move |e| {
                ready(
                    field_is(e, "building_id", &building) && field_is(e, "assignee_id", &assignee),
                )
            })
            .map(ChangeEvent))
    }

    /// Tasks assigned to you, as they change, and the change that takes one
    /// off you (reassigned, unassigned, or a tombstone when it leaves your
    /// view).
    async fn my_task_assignments(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let principal = ctx.principal()?;
        let me = Some(principal.user_id.to_string());
        // Tasks this subscription counts as yours: assigned now, and those
        // its events assign to you; the event that takes one off you is sent.
        let mut mine: HashSet<uuid::Uuid> = tasks::assigned_ids(&ctx.state()?.db, principal)
            .await?
            .into_iter()
            .map(|id| id.into_uuid())
            .collect();
        Ok(open(ctx, vec![EntityType::Task], after)
            .await?
            .filter(move |e| {
                let id = e.change.entity_id;
                let assigned = e.change.snapshot.is_some() && field_is(e, "assignee_id", &me);
                let shown = if assigned {
                    mine.insert(id);
                    true
                } else {
                    mine.remove(&id)
                };
                ready(shown)
            })
            .map(ChangeEvent))
    }

    /// Duty status changes of the workers you may see, optionally at one building.
    async fn worker_status_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building")?;
        Ok(open(ctx, vec![EntityType::WorkerStatus], after)
            .await?
            .filter(move |e| ready(field_is(e, "building_id", &building)))
            .map(ChangeEvent))
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
        let worker = id_filter(worker_id, "user")?;
        Ok(open(ctx, vec![EntityType::WorkerStatus], after)
            .await?
            .filter(move |e| {
                let located = e
                    .change
                    .changed_fields
                    .iter()
                    .any(|f| f == "latitude" || f == "location_at")
                    && e.change
                        .snapshot
                        .as_ref()
                        .is_some_and(|s| !s["latitude"].is_null());
                ready(located && field_is(e, "worker_id", &worker))
            })
            .map(ChangeEvent))
    }

    /// Violations, inspections and compliance alerts of your buildings.
    async fn compliance_events(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building")?;
        let types = vec![
            EntityType::Violation,
            EntityType::Inspection,
            EntityType::ComplianceAlert,
        ];
        Ok(open(ctx, types, after)
            .await?
            .filter(move |e| ready(field_is(e, "building_id", &building)))
            .map(ChangeEvent))
    }

    /// Status changes of your buildings.
    async fn building_status_changed(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ChangeEvent>> {
        let building = id_filter(building_id, "building")?;
        Ok(open(ctx, vec![EntityType::Building], after)
            .await?
            .filter(move |e| ready(field_is(e, "id", &building)))
            .map(ChangeEvent))
    }
}
