//! Results of writes and sync: `WriteResult`, conflicts, pulled changes.

use async_graphql::{Context, ID, Interface, Json, Object, SimpleObject, Union};
use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, EntityType, SyncConflictStatus};
use entity::{building, compliance_alert, inspection, violation};
use entity::{sync_conflict, task, time_entry, user, worker_status};
use serde_json::Value;

use super::building::Building;
use super::compliance::{ComplianceAlert, Inspection, Violation};
use super::task::Task;
use super::user::User;
use super::worker::{TimeEntry, WorkerStatus};
use super::{gid, user_ref};
use crate::domain::facts::Facts;
use crate::domain::merge::FieldConflict;
use crate::domain::visibility;
use crate::domain::workers::{self, StatusView};
use crate::domain::writes::{self, Outcome};
use crate::graphql::context::ContextExt;
use crate::graphql::json::{camel_keys, to_camel};
use crate::sync::pull::PulledChange;

/// An entity a write returns.
#[derive(Union)]
pub enum VersionedEntity {
    /// A task.
    Task(Task),
    /// A clock-in to clock-out span.
    TimeEntry(TimeEntry),
    /// A worker's duty status and location.
    WorkerStatus(WorkerStatus),
    /// A user.
    User(User),
    /// A building.
    Building(Building),
    /// A building code violation.
    Violation(Violation),
    /// An inspection.
    Inspection(Inspection),
    /// A compliance alert.
    ComplianceAlert(ComplianceAlert),
    /// A conflict left to resolve.
    SyncConflict(SyncConflict),
}

/// An entity `node(id:)` finds: every kind with an id of its own (a
/// worker's status shares its worker's id, so it is reached as the user).
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Unique across every kind of entity."))]
pub enum Node {
    /// A task.
    Task(Task),
    /// A clock-in to clock-out span.
    TimeEntry(TimeEntry),
    /// A user.
    User(User),
    /// A building.
    Building(Building),
    /// A building code violation.
    Violation(Violation),
    /// An inspection.
    Inspection(Inspection),
    /// A compliance alert.
    ComplianceAlert(ComplianceAlert),
    /// A conflict left to resolve.
    SyncConflict(SyncConflict),
}

impl Node {
    /// The node of an entity, if its kind is one.
    pub fn of(entity: VersionedEntity) -> Option<Self> {
        Some(match entity {
            VersionedEntity::Task(t) => Node::Task(t),
            VersionedEntity::TimeEntry(e) => Node::TimeEntry(e),
            VersionedEntity::User(u) => Node::User(u),
            VersionedEntity::Building(b) => Node::Building(b),
            VersionedEntity::Violation(v) => Node::Violation(v),
            VersionedEntity::Inspection(i) => Node::Inspection(i),
            VersionedEntity::ComplianceAlert(a) => Node::ComplianceAlert(a),
            VersionedEntity::SyncConflict(c) => Node::SyncConflict(c),
            VersionedEntity::WorkerStatus(_) => return None,
        })
    }
}

/// A field in dispute.
#[derive(SimpleObject)]
pub struct ConflictField {
    /// Field name, as in the GraphQL type.
    pub field: String,
    /// Its value in the version the client edited (`null` when unknown).
    pub base: Json<Value>,
    /// Its value on the server now.
    pub server: Json<Value>,
    /// The value the client wanted.
    pub client: Json<Value>,
}

impl From<FieldConflict> for ConflictField {
    fn from(c: FieldConflict) -> Self {
        Self {
            field: to_camel(&c.field),
            base: Json(c.base),
            server: Json(c.server),
            client: Json(c.client),
        }
    }
}

/// What could not be merged.
#[derive(SimpleObject)]
pub struct Conflict {
    /// The recorded conflict to resolve with `resolveSyncConflict`; `null`
    /// under REJECT, or when an atomic `syncPush` rolled back.
    pub id: Option<ID>,
    /// The fields in dispute.
    pub fields: Vec<ConflictField>,
}

/// The answer to a write: how it went and the entity as it now stands.
pub struct WriteResult(pub writes::Written);

#[Object]
impl WriteResult {
    /// APPLIED, MERGED or CONFLICT (nothing written).
    async fn outcome(&self) -> Outcome {
        self.0.outcome
    }
    /// Kind of entity.
    async fn entity_type(&self) -> EntityType {
        self.0.entity_type
    }
    /// Its id.
    async fn entity_id(&self) -> ID {
        gid(self.0.entity_id)
    }
    /// Its version as it now stands: the next `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Fields both sides had changed that a merge rule settled.
    async fn merged_fields(&self) -> Vec<String> {
        self.0.merged_fields.iter().map(|f| to_camel(f)).collect()
    }
    /// Fields you sent whose value did not survive, although the write
    /// went through (APPLIED or MERGED): a merge rule kept the server's
    /// value (a larger progress, a higher-ranked status), or the status
    /// machine set another. Read them from the entity; your queue's value
    /// for them is gone.
    async fn overridden_fields(&self) -> Vec<String> {
        self.0
            .overridden_fields
            .iter()
            .map(|f| to_camel(f))
            .collect()
    }
    /// Present when the outcome is CONFLICT.
    async fn conflict(&self) -> Option<Conflict> {
        self.0.conflict.clone().map(|c| Conflict {
            id: c.id.map(gid),
            fields: c.fields.into_iter().map(ConflictField::from).collect(),
        })
    }
    /// The entity as it now stands on the server.
    async fn entity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VersionedEntity>> {
        entity_of(ctx, self.0.entity_type, self.0.snapshot.clone()).await
    }
    /// The same entity as plain JSON (camelCase fields), under the same
    /// rules as the typed fields.
    async fn snapshot(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let snapshot = self.0.snapshot.clone();
        let shares = match Facts::of(self.0.entity_type, &snapshot).worker {
            Some(worker) => ctx
                .loaders()?
                .user(worker)
                .await?
                .is_some_and(|w| w.location_sharing),
            None => false,
        };
        let redacted =
            visibility::redact(ctx.principal()?, self.0.entity_type, snapshot, |_| shares);
        Ok(Json(camel_keys(redacted)))
    }
}

/// The typed entity of a snapshot; its objects apply the viewer's
/// field-level rules (emails, locations) themselves.
pub async fn entity_of(
    ctx: &Context<'_>,
    entity_type: EntityType,
    snapshot: Value,
) -> async_graphql::Result<Option<VersionedEntity>> {
    Ok(match entity_type {
        EntityType::Task => serde_json::from_value::<task::Model>(snapshot)
            .ok()
            .map(|t| VersionedEntity::Task(Task(t))),
        EntityType::TimeEntry | EntityType::WorkerStatus | EntityType::User => {
            presence_entity(ctx, entity_type, snapshot).await?
        }
        EntityType::Building
        | EntityType::Violation
        | EntityType::Inspection
        | EntityType::ComplianceAlert => compliance_entity(entity_type, snapshot),
        EntityType::SyncConflict => serde_json::from_value::<sync_conflict::Model>(snapshot)
            .ok()
            .map(|c| VersionedEntity::SyncConflict(SyncConflict(c))),
        _ => None,
    })
}

/// A worker's time entry, status or user row from a write's snapshot, with
/// locations shown under the same rule as reads (the worker is loaded
/// afresh, so the rule follows their current sharing setting).
async fn presence_entity(
    ctx: &Context<'_>,
    entity_type: EntityType,
    snapshot: Value,
) -> async_graphql::Result<Option<VersionedEntity>> {
    let viewer = ctx.principal()?;
    let worker = |id| async move {
        ctx.loaders()?
            .user(id)
            .await
            .map_err(async_graphql::Error::from)
    };
    Ok(match entity_type {
        EntityType::TimeEntry => {
            let Ok(entry) = serde_json::from_value::<time_entry::Model>(snapshot) else {
                return Ok(None);
            };
            worker(entry.worker_id).await?.map(|worker| {
                VersionedEntity::TimeEntry(TimeEntry {
                    location_visible: workers::location_visible(viewer, &worker),
                    entry,
                    worker,
                })
            })
        }
        EntityType::WorkerStatus => {
            let Ok(status) = serde_json::from_value::<worker_status::Model>(snapshot) else {
                return Ok(None);
            };
            worker(status.worker_id).await?.map(|worker| {
                VersionedEntity::WorkerStatus(WorkerStatus(StatusView {
                    location_visible: workers::location_visible(viewer, &worker),
                    status,
                    worker,
                }))
            })
        }
        EntityType::User => serde_json::from_value::<user::Model>(snapshot)
            .ok()
            .map(|u| VersionedEntity::User(User::from(u))),
        _ => None,
    })
}

/// A building or compliance record from a write's snapshot.
fn compliance_entity(entity_type: EntityType, snapshot: Value) -> Option<VersionedEntity> {
    match entity_type {
        EntityType::Building => serde_json::from_value::<building::Model>(snapshot)
            .ok()
            .map(|b| VersionedEntity::Building(Building(b))),
        EntityType::Violation => serde_json::from_value::<violation::Model>(snapshot)
            .ok()
            .map(|v| VersionedEntity::Violation(Violation(v))),
        EntityType::Inspection => serde_json::from_value::<inspection::Model>(snapshot)
            .ok()
            .map(|i| VersionedEntity::Inspection(Inspection(i))),
        EntityType::ComplianceAlert => serde_json::from_value::<compliance_alert::Model>(snapshot)
            .ok()
            .map(|a| VersionedEntity::ComplianceAlert(ComplianceAlert(a))),
        _ => None,
    }
}

/// A conflict recorded for later resolution.
pub struct SyncConflict(pub sync_conflict::Model);

#[Object]
impl SyncConflict {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// 1 while open; 2 once resolved or closed.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Whose edit conflicted; `null` where you may not see that user.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        user_ref(ctx, self.0.user_id).await
    }
    /// Kind of entity.
    async fn entity_type(&self) -> EntityType {
        self.0.entity_type
    }
    /// Its id.
    async fn entity_id(&self) -> ID {
        gid(self.0.entity_id)
    }
    /// The version the client edited.
    async fn base_version(&self) -> i32 {
        self.0.base_version
    }
    /// The server's version when the conflict arose.
    async fn server_version(&self) -> i32 {
        self.0.server_version
    }
    /// The client's whole patch (camelCase fields).
    async fn client_patch(&self) -> Json<Value> {
        Json(camel_keys(self.0.client_patch.clone()))
    }
    /// The fields in dispute.
    async fn fields(&self) -> Vec<ConflictField> {
        serde_json::from_value::<Vec<FieldConflict>>(self.0.fields.clone())
            .unwrap_or_default()
            .into_iter()
            .map(ConflictField::from)
            .collect()
    }
    /// OPEN until resolved.
    async fn status(&self) -> SyncConflictStatus {
        self.0.status
    }
    /// How it was resolved.
    async fn resolution(&self) -> Option<&str> {
        self.0.resolution.as_deref()
    }
    /// When it arose.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One entity's latest state since the cursor.
pub struct SyncChange(pub PulledChange);

#[Object]
impl SyncChange {
    /// Kind of entity.
    async fn entity_type(&self) -> EntityType {
        self.0.change.entity_type
    }
    /// Its id.
    async fn entity_id(&self) -> ID {
        gid(self.0.change.entity_id)
    }
    /// Its version (0 for tombstones of entities that left your view).
    async fn version(&self) -> i32 {
        self.0.change.version
    }
    /// The last thing that happened to it.
    async fn op(&self) -> ChangeOp {
        self.0.change.op
    }
    /// Deleted, or no longer visible to you: remove it locally.
    async fn tombstone(&self) -> bool {
        self.0.change.tombstone
    }
    /// Who made the last change; `null` for the system, or where you may
    /// not see that user (the same rule as `users`).
    async fn changed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.change.actor {
            Some(actor) => user_ref(ctx, actor).await,
            None => Ok(None),
        }
    }
    /// When.
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.change.at
    }
    /// The entity as you may see it (camelCase fields); `null` for tombstones.
    async fn snapshot(&self) -> Option<Json<Value>> {
        self.0.change.snapshot.clone().map(|s| Json(camel_keys(s)))
    }
    /// The same entity typed, for an app to write into its cache with its
    /// own fragments (your role's field rules apply); `null` for tombstones.
    async fn entity(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VersionedEntity>> {
        match &self.0.raw {
            Some(raw) => entity_of(ctx, self.0.change.entity_type, raw.clone()).await,
            None => Ok(None),
        }
    }
}

/// A page of `syncPull`.
#[derive(SimpleObject)]
pub struct SyncPullResult {
    /// One entry per changed entity, in log order.
    pub changes: Vec<SyncChange>,
    /// Pass as `after` next time.
    pub cursor: String,
    /// More changes wait: pull again right away.
    pub has_more: bool,
}

/// How one operation of a `syncPush` went.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum SyncOperationStatus {
    /// Written as sent.
    Applied,
    /// Written after merging.
    Merged,
    /// Not written; see `result.conflict`.
    Conflict,
    /// Refused; see `error`.
    Failed,
    /// Part of an atomic batch that failed elsewhere; nothing written.
    RolledBack,
}

/// Why an operation failed.
#[derive(SimpleObject)]
pub struct OperationError {
    /// The `extensions.code` this would carry as a GraphQL error.
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// The fate of one operation of a `syncPush`, in the order sent.
#[derive(SimpleObject)]
pub struct SyncOperationResult {
    /// The operation's idempotency key.
    pub client_mutation_id: String,
    /// How it went.
    pub status: SyncOperationStatus,
    /// The write's result, unless it failed or was rolled back.
    pub result: Option<WriteResult>,
    /// Why it failed.
    pub error: Option<OperationError>,
}
