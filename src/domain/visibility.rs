//! Who sees which change, in memory: the audience filter [`View`] that
//! `syncPull`, replays and live feeds apply to change-log rows, deciding
//! per row between the redacted snapshot, a tombstone (deleted, or left the
//! caller's view) and nothing. Its SQL twin, for reads, is [`super::scope`]
//! with [`super::tasks::visible`]; the tests check both forms agree.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::change;
use entity::enums::{ChangeOp, EntityType, Role};
use entity::ids::{BuildingId, UserId};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::facts::Facts;
use super::scope::BuildingScope;
use super::{users, workers};
use crate::auth::Principal;
use crate::changelog::{self, priority};
use crate::error::Result;

/// One change as a caller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisibleChange {
    /// Position in the change log.
    pub seq: i64,
    /// Kind of entity.
    pub entity_type: EntityType,
    /// Its id.
    pub entity_id: Uuid,
    /// Its version.
    pub version: i32,
    /// The last thing that happened to it.
    pub op: ChangeOp,
    /// Its delivery priority (`changelog::priority`).
    pub priority: i32,
    /// Deleted, or no longer visible to the caller: drop it locally.
    pub tombstone: bool,
    /// Fields the last write changed (empty for tombstones).
    pub changed_fields: Vec<String>,
    /// The entity as the caller may see it; `None` for tombstones.
    pub snapshot: Option<Value>,
    /// Who made the change (`None` for the system).
    pub actor: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A change row with the [`Facts`] of its entity just before it (`None`
/// for a creation, or when that version has left the log). Whether a
/// reader saw the entity before decides whether a change that hides it is
/// a departure (a tombstone), for every reader alike: the hub reads it
/// once per row for all its subscribers, a pull once per page.
#[derive(Debug, Clone)]
pub struct LoggedChange {
    /// The row.
    pub row: change::Model,
    /// What the entity was at the previous version.
    pub before: Option<Facts>,
}

impl std::ops::Deref for LoggedChange {
    type Target = change::Model;

    fn deref(&self) -> &change::Model {
        &self.row
    }
}

/// Previous versions asked for in one query (three parameters each).
const BEFORE_PER_QUERY: usize = 200;

/// `rows` with the facts of their previous versions, read together (a
/// query per 200 rows, not one per row) for the rows `needs` picks.
pub async fn with_before(
    db: &impl ConnectionTrait,
    rows: Vec<change::Model>,
    needs: impl Fn(&change::Model) -> bool,
) -> Result<Vec<LoggedChange>> {
    let wanted: Vec<&change::Model> = rows
        .iter()
        .filter(|row| row.version > 1 && needs(row))
        .collect();
    let mut before: HashMap<(EntityType, Uuid, i32), Facts> = HashMap::new();
    for chunk in wanted.chunks(BEFORE_PER_QUERY) {
        // Organisation, type, id and version, so each term uses the log's
        // index on them.
        let any = chunk.iter().fold(Condition::any(), |any, row| {
            any.add(
                Condition::all()
                    .add(change::Column::OrgId.eq(row.org_id))
                    .add(change::Column::EntityType.eq(row.entity_type))
                    .add(change::Column::EntityId.eq(row.entity_id))
                    .add(change::Column::Version.eq(row.version - 1)),
            )
        });
        for found in change::Entity::find().filter(any).all(db).await? {
            let facts = Facts::of(found.entity_type, &found.snapshot);
            before.insert((found.entity_type, found.entity_id, found.version), facts);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| LoggedChange {
            before: before
                .get(&(row.entity_type, row.entity_id, row.version - 1))
                .copied(),
            row,
        })
        .collect())
}

/// What a caller may see: computed once per pull or per subscription.
pub struct View {
    principal: Principal,
    scope: BuildingScope,
    users: HashSet<UserId>,
    /// The workers who share their location and whose locations the
    /// caller may see (all for an administrator, at most themself for a
    /// worker, none for a client), sorted, as of `sharing_as_of`; a live
    /// feed keeps it current with [`View::observe`]. A sorted `Vec`: one
    /// per subscription, and most hold one id or none.
    sharing: Vec<UserId>,
    /// The newest change when `sharing` was read.
    sharing_as_of: i64,
}

/// A time entry's location fields, hidden under the same rule as a
/// status's (`priority::LOCATION_FIELDS`).
const TIME_ENTRY_LOCATION_FIELDS: [&str; 4] = [
    "clock_in_latitude",
    "clock_in_longitude",
    "clock_out_latitude",
    "clock_out_longitude",
];

impl View {
    /// The view of a caller, read from their assignments and links.
    pub async fn of(db: &impl ConnectionTrait, principal: &Principal) -> Result<Self> {
        let sharing_as_of = changelog::newest_seq(db).await?;
        Ok(Self {
            principal: *principal,
            scope: BuildingScope::of(db, principal).await?,
            users: users::visible_ids(db, principal)
                .await?
                .into_iter()
                .collect(),
            sharing: workers::sharing_location(db, principal).await?,
            sharing_as_of,
        })
    }

    /// Keeps the view current with a change newer than it: a worker who
    /// turns location sharing on or off (a live feed calls this for every
    /// row of the organisation, before its own filters).
    pub fn observe(&mut self, row: &change::Model) {
        if row.entity_type != EntityType::User
            || row.seq <= self.sharing_as_of
            || row.org_id != self.principal.org_id
        {
            return;
        }
        let user = UserId::from(row.entity_id);
        if !self.principal.is_admin() && user != self.principal.user_id {
            return;
        }
        let facts = Facts::of(row.entity_type, &row.snapshot);
        let shares = facts.shares_location && !facts.deleted;
        match (self.sharing.binary_search(&user), shares) {
            (Err(at), true) => self.sharing.insert(at, user),
            (Ok(at), false) => {
                self.sharing.remove(at);
            }
            _ => {}
        }
    }

    /// Whether a reader with this view needs the previous version of `row`
    /// to decide it (it hides the entity, so it may be a departure).
    pub fn needs_before(&self, row: &change::Model) -> bool {
        row.org_id == self.principal.org_id
            && !self.lost_building(row)
            && (row.op == ChangeOp::Deleted || !self.sees(&row.snapshot, row.entity_type))
    }

    /// The change as the caller sees it: the redacted snapshot, a
    /// tombstone, several tombstones (a lost building), or nothing.
    pub async fn present(
        &self,
        db: &impl ConnectionTrait,
        change: &LoggedChange,
    ) -> Result<Vec<VisibleChange>> {
        if self.lost_building(change) {
            let building = Facts::of(change.entity_type, &change.snapshot).building;
            return self.building_tombstones(db, change, building).await;
        }
        Ok(self.decide(change).into_iter().collect())
    }

    /// [`View::present`] for a change that is not the loss of one of the
    /// caller's buildings: decided in memory. Shown if visible now; a
    /// departure (a tombstone) if it is deleted or hidden now and the
    /// caller could see its previous version; otherwise nothing.
    pub fn decide(&self, change: &LoggedChange) -> Option<VisibleChange> {
        let row = &change.row;
        if self.blind_to(row) {
            return None;
        }
        let visible = self.sees(&row.snapshot, row.entity_type);
        if visible && row.op != ChangeOp::Deleted {
            return Some(self.entry(
                row,
                false,
                Some(self.redact(row.entity_type, row.snapshot.clone())),
            ));
        }
        // A delete's snapshot is the entity before it.
        let saw_before = visible
            || change
                .before
                .is_some_and(|before| self.allows(row.entity_type, &before));
        saw_before.then(|| self.entry(row, true, None))
    }

    /// A change the caller could see only as "something moved": a worker
    /// status update of nothing but the location, for a client, who never
    /// sees locations (the event alone would tell them when the worker moved).
    pub fn blind_to(&self, row: &change::Model) -> bool {
        self.principal.role == Role::Client
            && row.entity_type == EntityType::WorkerStatus
            && row.op == ChangeOp::Updated
            && row.changed_fields.as_array().is_some_and(|fields| {
                fields.iter().all(|field| {
                    field
                        .as_str()
                        .is_some_and(|f| priority::LOCATION_FIELDS.contains(&f))
                })
            })
    }

    /// The change as an entry for the caller.
    pub fn entry(
        &self,
        row: &change::Model,
        tombstone: bool,
        snapshot: Option<Value>,
    ) -> VisibleChange {
        VisibleChange {
            seq: row.seq,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            version: row.version,
            op: if tombstone { ChangeOp::Deleted } else { row.op },
            priority: row.priority,
            tombstone,
            changed_fields: if tombstone {
                Vec::new()
            } else {
                serde_json::from_value(row.changed_fields.clone()).unwrap_or_default()
            },
            snapshot,
            actor: row.actor_id,
            at: row.created_at,
        }
    }

    /// True for the removal of the caller's own assignment or link.
    pub fn lost_building(&self, row: &change::Model) -> bool {
        let me = Some(self.principal.user_id);
        row.op == ChangeOp::Deleted
            && match row.entity_type {
                EntityType::BuildingWorker => {
                    Facts::of(row.entity_type, &row.snapshot).worker == me
                }
                EntityType::BuildingClient => {
                    Facts::of(row.entity_type, &row.snapshot).client == me
                }
                _ => false,
            }
    }

    /// Tombstones for a building the caller lost and everything in it they no longer see.
    async fn building_tombstones(
        &self,
        db: &impl ConnectionTrait,
        row: &change::Model,
        building: Option<BuildingId>,
    ) -> Result<Vec<VisibleChange>> {
        let Some(building) = building else {
            return Ok(Vec::new());
        };
        if self.scope.allows(building) {
            return Ok(Vec::new());
        }
        let mut out = vec![self.entry(row, true, None)];
        let mut tomb = |entity_type, id: Uuid| {
            out.push(VisibleChange {
                seq: row.seq,
                entity_type,
                entity_id: id,
                version: 0,
                op: ChangeOp::Deleted,
                priority: priority::of(entity_type, &[]),
                tombstone: true,
                changed_fields: Vec::new(),
                snapshot: None,
                actor: row.actor_id,
                at: row.created_at,
            })
        };
        tomb(EntityType::Building, building.into_uuid());
        let inside = change::Entity::find()
            .select_only()
            .column(change::Column::EntityType)
            .column(change::Column::EntityId)
            .distinct()
            .filter(change::Column::OrgId.eq(row.org_id))
            .filter(change::Column::EntityType.is_in([
                EntityType::Task,
                EntityType::Violation,
                EntityType::Inspection,
                EntityType::ComplianceAlert,
            ]))
            .into_tuple::<(EntityType, Uuid)>()
            .all(db)
            .await?;
        let latest = latest_snapshots(db, row.org_id, &inside).await?;
        for ((entity_type, id), snapshot) in latest {
            let facts = Facts::of(entity_type, &snapshot);
            if facts.building == Some(building) && !self.allows(entity_type, &facts) {
                tomb(entity_type, id);
            }
        }
        Ok(out)
    }

    /// Whether the caller may see an entity in this state.
    pub fn sees(&self, snapshot: &Value, entity_type: EntityType) -> bool {
        self.allows(entity_type, &Facts::of(entity_type, snapshot))
    }

    /// Whether the caller may see an entity of `entity_type` with these facts.
    pub fn allows(&self, entity_type: EntityType, facts: &Facts) -> bool {
        let p = &self.principal;
        if p.is_admin() {
            return true;
        }
        let me = Some(p.user_id);
        let in_scope = facts.building.is_some_and(|b| self.scope.allows(b));
        match entity_type {
            EntityType::Organization => true,
            EntityType::Building
            | EntityType::Violation
            | EntityType::Inspection
            | EntityType::ComplianceAlert => in_scope,
            EntityType::Task => {
                in_scope
                    && !facts.deleted
                    && (p.role == Role::Client || facts.assignee == me || facts.is_open_task())
            }
            EntityType::User => facts
                .id
                .is_some_and(|id| self.users.contains(&UserId::from(id))),
            EntityType::WorkerStatus => match p.role {
                Role::Client => in_scope,
                _ => facts.worker == me,
            },
            EntityType::TimeEntry => p.role == Role::Worker && facts.worker == me,
            EntityType::BuildingWorker => facts.worker == me,
            EntityType::BuildingClient => facts.client == me,
            EntityType::SyncConflict => facts.owner == me,
        }
    }

    /// Removes what the caller may not read from a visible snapshot.
    pub fn redact(&self, entity_type: EntityType, snapshot: Value) -> Value {
        redact(&self.principal, entity_type, snapshot, |worker| {
            self.sharing.binary_search(&worker).is_ok()
        })
    }
}

/// Removes from a visible snapshot what the viewer's typed fields do not
/// show: another user's email and sharing setting (from non-administrators)
/// and a worker's locations, current or recorded, unless
/// [`workers::may_see_location`] (`shares_now` tells whether a worker
/// shares now).
pub fn redact(
    viewer: &Principal,
    entity_type: EntityType,
    mut snapshot: Value,
    shares_now: impl Fn(UserId) -> bool,
) -> Value {
    let location_hidden = || {
        !Facts::of(entity_type, &snapshot)
            .worker
            .is_some_and(|worker| workers::may_see_location(viewer, worker, shares_now(worker)))
    };
    let hidden: &[&str] = match entity_type {
        EntityType::User
            if !viewer.is_admin()
                && Facts::of(entity_type, &snapshot).id != Some(viewer.user_id.into_uuid()) =>
        {
            &["email", "location_sharing"]
        }
        EntityType::WorkerStatus if location_hidden() => &priority::LOCATION_FIELDS,
        EntityType::TimeEntry if location_hidden() => &TIME_ENTRY_LOCATION_FIELDS,
        _ => &[],
    };
    if let Some(object) = snapshot.as_object_mut() {
        for field in hidden {
            object.remove(*field);
        }
    }
    snapshot
}

/// The newest snapshot of each listed entity.
async fn latest_snapshots(
    db: &impl ConnectionTrait,
    org: entity::ids::OrganizationId,
    entities: &[(EntityType, Uuid)],
) -> Result<HashMap<(EntityType, Uuid), Value>> {
    let ids: Vec<Uuid> = entities.iter().map(|(_, id)| *id).collect();
    let rows = change::Entity::find()
        .filter(change::Column::OrgId.eq(org))
        .filter(change::Column::EntityId.is_in(ids))
        .order_by_asc(change::Column::Seq)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.entity_type, r.entity_id), r.snapshot))
        .collect())
}
