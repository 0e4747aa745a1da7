//! A worker's writes to their own presence: clocking in and out, duty
//! status, location reports and the location-sharing switch. Only workers
//! make them, only for themselves, so they take no `expectedVersion`; each
//! still bumps versions and records its change-log rows in the caller's
//! transaction.
//!
//! Every write first locks the worker's user row (on PostgreSQL; SQLite's
//! IMMEDIATE transaction already holds the write lock). That serialises one
//! worker's writes, so two clock-ins cannot both find no open entry, and a
//! location report cannot slip in after sharing was switched off.
//!
//! A location is stored only while the worker shares it. A location sent
//! with sharing off is refused with `BAD_USER_INPUT` (nothing is stored)
//! rather than silently dropped, so the app learns its setting is stale.

use chrono::Utc;
use entity::enums::{ChangeOp, EntityType, Role, WorkerDutyStatus};
use entity::ids::{BuildingId, TimeEntryId};
use entity::{building, time_entry, user, worker_status};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Select,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::scope::{BuildingScope, in_org};
use super::writes::{Outcome, WriteResult};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::events::changelog::{self, NewChange, priority};

/// A position reported by a worker's phone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
    /// Radius of uncertainty in metres, when known (finite, ≥ 0).
    pub accuracy_m: Option<f64>,
}

impl GeoPoint {
    /// Refuses coordinates off the globe and accuracies that are not a distance.
    pub fn validate(&self) -> Result<()> {
        if !(self.latitude.is_finite() && (-90.0..=90.0).contains(&self.latitude)) {
            return Err(Error::bad_input("latitude must be between -90 and 90"));
        }
        if !(self.longitude.is_finite() && (-180.0..=180.0).contains(&self.longitude)) {
            return Err(Error::bad_input("longitude must be between -180 and 180"));
        }
        if let Some(accuracy) = self.accuracy_m
            && !(accuracy.is_finite() && accuracy >= 0.0)
        {
            return Err(Error::bad_input(
                "accuracy must be a finite, non-negative number of metres",
            ));
        }
        Ok(())
    }
}

/// Opens a time entry at one of the worker's buildings and puts the worker
/// ON_DUTY there. Answers with the new entry.
pub async fn clock_in(
    db: &impl ConnectionTrait,
    principal: &Principal,
    building_id: BuildingId,
    location: Option<GeoPoint>,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    let worker = load_worker(db, principal).await?;
    check_location(location.as_ref())?;
    if !BuildingScope::of(db, principal).await?.allows(building_id)
        || !building_exists(db, principal, building_id).await?
    {
        return Err(Error::NotFound("building"));
    }
    if open_entry(db, &worker).await?.is_some() {
        return Err(Error::bad_input(
            "you are already clocked in; clock out first",
        ));
    }
    require_sharing(&worker, location.as_ref())?;
    let now = Utc::now();
    let entry = time_entry::Model {
        id: TimeEntryId::new(),
        org_id: worker.org_id,
        worker_id: worker.id,
        building_id,
        clock_in_at: now,
        clock_out_at: None,
        clock_in_latitude: location.map(|l| l.latitude),
        clock_in_longitude: location.map(|l| l.longitude),
        clock_out_latitude: None,
        clock_out_longitude: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let saved = entry.into_active_model().reset_all().insert(db).await?;
    let snapshot = changelog::snapshot_of(&saved)?;
    let fields = all_fields(&snapshot);
    log(
        db,
        principal,
        Logged {
            entity_type: EntityType::TimeEntry,
            entity_id: saved.id.into_uuid(),
            version: saved.version,
            op: ChangeOp::Created,
            snapshot,
            changed_fields: fields,
            priority: priority::STATUS,
        },
        cmid,
    )
    .await?;
    let current = load_status(db, &worker).await?;
    let mut next = current.clone().unwrap_or_else(|| fresh_status(&worker));
    next.status = WorkerDutyStatus::OnDuty;
    next.building_id = Some(building_id);
    if let Some(point) = location {
        place(&mut next, point);
    }
    write_status(db, principal, current, next, priority::STATUS, cmid).await?;
    result(
        EntityType::TimeEntry,
        saved.id.into_uuid(),
        saved.version,
        &saved,
    )
}

/// Closes the worker's open time entry and puts the worker OFF_DUTY with no
/// building. Answers with the closed entry.
pub async fn clock_out(
    db: &impl ConnectionTrait,
    principal: &Principal,
    location: Option<GeoPoint>,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    let worker = load_worker(db, principal).await?;
    check_location(location.as_ref())?;
    let Some(entry) = open_entry(db, &worker).await? else {
        return Err(Error::bad_input("you are not clocked in"));
    };
    require_sharing(&worker, location.as_ref())?;
    let now = Utc::now();
    let before = changelog::snapshot_of(&entry)?;
    let mut next = entry.clone();
    next.clock_out_at = Some(now);
    next.clock_out_latitude = location.map(|l| l.latitude);
    next.clock_out_longitude = location.map(|l| l.longitude);
    next.version = entry.version + 1;
    next.updated_at = now;
    let changed = changelog::changed_fields(&before, &changelog::snapshot_of(&next)?);
    let saved = next.into_active_model().reset_all().update(db).await?;
    log(
        db,
        principal,
        Logged {
            entity_type: EntityType::TimeEntry,
            entity_id: saved.id.into_uuid(),
            version: saved.version,
            op: ChangeOp::Updated,
            snapshot: changelog::snapshot_of(&saved)?,
            changed_fields: changed,
            priority: priority::STATUS,
        },
        cmid,
    )
    .await?;
    let current = load_status(db, &worker).await?;
    let mut status = current.clone().unwrap_or_else(|| fresh_status(&worker));
    status.status = WorkerDutyStatus::OffDuty;
    status.building_id = None;
    if let Some(point) = location {
        place(&mut status, point);
    }
    write_status(db, principal, current, status, priority::STATUS, cmid).await?;
    result(
        EntityType::TimeEntry,
        saved.id.into_uuid(),
        saved.version,
        &saved,
    )
}

/// Sets the worker's duty status; time entries and the building stay as
/// they are. Answers with the worker status.
pub async fn set_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: WorkerDutyStatus,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    let worker = load_worker(db, principal).await?;
    let current = load_status(db, &worker).await?;
    let mut next = current.clone().unwrap_or_else(|| fresh_status(&worker));
    next.status = status;
    let saved = write_status(db, principal, current, next, priority::STATUS, cmid).await?;
    status_result(&saved)
}

/// Stores the worker's current location (sharing must be on). Answers with
/// the worker status.
pub async fn report_location(
    db: &impl ConnectionTrait,
    principal: &Principal,
    point: GeoPoint,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    let worker = load_worker(db, principal).await?;
    check_location(Some(&point))?;
    require_sharing(&worker, Some(&point))?;
    let current = load_status(db, &worker).await?;
    let mut next = current.clone().unwrap_or_else(|| fresh_status(&worker));
    place(&mut next, point);
    let saved = write_status(db, principal, current, next, priority::LOCATION, cmid).await?;
    status_result(&saved)
}

/// Switches location sharing. Switching it off also erases the stored live
/// location (past time entries keep theirs, hidden while sharing is off).
/// Answers with the user.
pub async fn set_location_sharing(
    db: &impl ConnectionTrait,
    principal: &Principal,
    enabled: bool,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    let worker = load_worker(db, principal).await?;
    if worker.location_sharing == enabled {
        return result(
            EntityType::User,
            worker.id.into_uuid(),
            worker.version,
            &worker,
        );
    }
    let now = Utc::now();
    let mut next = worker.clone();
    next.location_sharing = enabled;
    next.version = worker.version + 1;
    next.updated_at = now;
    let saved = next.into_active_model().reset_all().update(db).await?;
    log(
        db,
        principal,
        Logged {
            entity_type: EntityType::User,
            entity_id: saved.id.into_uuid(),
            version: saved.version,
            op: ChangeOp::Updated,
            snapshot: changelog::snapshot_of(&saved)?,
            changed_fields: vec!["location_sharing".into()],
            priority: priority::STATUS,
        },
        cmid,
    )
    .await?;
    if !enabled && let Some(current) = load_status(db, &saved).await? {
        let mut cleared = current.clone();
        cleared.latitude = None;
        cleared.longitude = None;
        cleared.accuracy_m = None;
        cleared.location_at = None;
        // LOCATION priority: the erasure supersedes any older location still queued.
        write_status(
            db,
            principal,
            Some(current),
            cleared,
            priority::LOCATION,
            cmid,
        )
        .await?;
    }
    result(
        EntityType::User,
        saved.id.into_uuid(),
        saved.version,
        &saved,
    )
}

/// Validates an optional location.
fn check_location(location: Option<&GeoPoint>) -> Result<()> {
    location.map_or(Ok(()), GeoPoint::validate)
}

/// A location may only be stored while the worker shares it.
fn require_sharing(worker: &user::Model, location: Option<&GeoPoint>) -> Result<()> {
    if location.is_some() && !worker.location_sharing {
        return Err(Error::bad_input(
            "location sharing is off: turn it on with setLocationSharing before sending a location",
        ));
    }
    Ok(())
}

/// The caller's own user row, locked: only an active worker writes here.
async fn load_worker(db: &impl ConnectionTrait, principal: &Principal) -> Result<user::Model> {
    if principal.role != Role::Worker {
        return Err(Error::forbidden(
            "only workers clock in, report status and share locations",
        ));
    }
    let select = in_org::<user::Entity>(principal).filter(user::Column::Id.eq(principal.user_id));
    locked(db, select)
        .one(db)
        .await?
        .filter(|u| u.active && u.deleted_at.is_none() && u.role == Role::Worker)
        .ok_or(Error::NotFound("user"))
}

/// The worker's status row, locked, if there is one yet.
async fn load_status(
    db: &impl ConnectionTrait,
    worker: &user::Model,
) -> Result<Option<worker_status::Model>> {
    let select = worker_status::Entity::find_by_id(worker.id)
        .filter(worker_status::Column::OrgId.eq(worker.org_id));
    Ok(locked(db, select).one(db).await?)
}

/// The worker's open time entry, locked, if clocked in.
async fn open_entry(
    db: &impl ConnectionTrait,
    worker: &user::Model,
) -> Result<Option<time_entry::Model>> {
    let select = time_entry::Entity::find()
        .filter(time_entry::Column::OrgId.eq(worker.org_id))
        .filter(time_entry::Column::WorkerId.eq(worker.id))
        .filter(time_entry::Column::ClockOutAt.is_null());
    Ok(locked(db, select).one(db).await?)
}

/// `FOR UPDATE` on PostgreSQL (SQLite's IMMEDIATE transaction already holds the write lock).
fn locked<E: EntityTrait>(db: &impl ConnectionTrait, select: Select<E>) -> Select<E> {
    if db.get_database_backend() == DbBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
    }
}

async fn building_exists(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: BuildingId,
) -> Result<bool> {
    Ok(in_org::<building::Entity>(principal)
        .filter(building::Column::Id.eq(id))
        .filter(building::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .is_some())
}

/// The status row of a worker who has none yet (inserted at version 1).
fn fresh_status(worker: &user::Model) -> worker_status::Model {
    worker_status::Model {
        worker_id: worker.id,
        org_id: worker.org_id,
        status: WorkerDutyStatus::OffDuty,
        building_id: None,
        latitude: None,
        longitude: None,
        accuracy_m: None,
        location_at: None,
        version: 1,
        updated_at: Utc::now(),
    }
}

/// Sets the live location, measured now.
fn place(status: &mut worker_status::Model, point: GeoPoint) {
    status.latitude = Some(point.latitude);
    status.longitude = Some(point.longitude);
    status.accuracy_m = point.accuracy_m;
    status.location_at = Some(Utc::now());
}

/// Writes the worker's status row: inserts it at version 1 when `current`
/// is `None`, otherwise updates it with a version bump, or writes nothing
/// when nothing changed. Records the change; returns the row as stored.
async fn write_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: Option<worker_status::Model>,
    mut next: worker_status::Model,
    weight: i32,
    cmid: Option<&str>,
) -> Result<worker_status::Model> {
    next.updated_at = Utc::now();
    let (saved, op, changed) = match current {
        None => {
            next.version = 1;
            let saved = next.into_active_model().reset_all().insert(db).await?;
            let fields = all_fields(&changelog::snapshot_of(&saved)?);
            (saved, ChangeOp::Created, fields)
        }
        Some(current) => {
            let changed = changelog::changed_fields(
                &changelog::snapshot_of(&current)?,
                &changelog::snapshot_of(&next)?,
            );
            if changed.is_empty() {
                return Ok(current);
            }
            next.version = current.version + 1;
            let saved = next.into_active_model().reset_all().update(db).await?;
            (saved, ChangeOp::Updated, changed)
        }
    };
    log(
        db,
        principal,
        Logged {
            entity_type: EntityType::WorkerStatus,
            entity_id: saved.worker_id.into_uuid(),
            version: saved.version,
            op,
            snapshot: changelog::snapshot_of(&saved)?,
            changed_fields: changed,
            priority: weight,
        },
        cmid,
    )
    .await?;
    Ok(saved)
}

/// One change-log row about to be written.
struct Logged {
    entity_type: EntityType,
    entity_id: Uuid,
    version: i32,
    op: ChangeOp,
    snapshot: Value,
    changed_fields: Vec<String>,
    priority: i32,
}

async fn log(
    db: &impl ConnectionTrait,
    principal: &Principal,
    change: Logged,
    cmid: Option<&str>,
) -> Result<()> {
    changelog::record(
        db,
        NewChange {
            org_id: principal.org_id,
            entity_type: change.entity_type,
            entity_id: change.entity_id,
            version: change.version,
            op: change.op,
            snapshot: change.snapshot,
            changed_fields: change.changed_fields,
            actor_id: Some(principal.user_id),
            client_mutation_id: cmid.map(str::to_owned),
            priority: change.priority,
        },
    )
    .await?;
    Ok(())
}

/// Every key of a snapshot (what a create changed).
fn all_fields(snapshot: &Value) -> Vec<String> {
    snapshot
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The answer for a worker status as it now stands.
fn status_result(status: &worker_status::Model) -> Result<WriteResult> {
    result(
        EntityType::WorkerStatus,
        status.worker_id.into_uuid(),
        status.version,
        status,
    )
}

/// Builds the answer for an entity as it now stands.
fn result<T: Serialize>(
    entity_type: EntityType,
    entity_id: Uuid,
    version: i32,
    model: &T,
) -> Result<WriteResult> {
    Ok(WriteResult {
        outcome: Outcome::Applied,
        entity_type,
        entity_id,
        version,
        snapshot: changelog::snapshot_of(model)?,
        merged_fields: Vec::new(),
        conflict: None,
    })
}
