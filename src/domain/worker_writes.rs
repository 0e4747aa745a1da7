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

use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, Role, WorkerDutyStatus};
use entity::ids::{BuildingId, TimeEntryId};
use entity::{time_entry, user, worker_status};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::buildings;
use super::scope::in_org;
use super::versioned::{answer, insert, locked, save, save_as, upsert};
use super::writes::{Outcome, Written};
use crate::auth::Principal;
use crate::error::{Error, Result};

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
    occurred_at: Option<DateTime<Utc>>,
    cmid: Option<&str>,
) -> Result<Written> {
    let worker = load_worker(db, principal).await?;
    check_location(location.as_ref())?;
    // A building the caller may see, or NOT_FOUND.
    buildings::get(db, principal, building_id).await?;
    if open_entry(db, &worker).await?.is_some() {
        return Err(Error::bad_input(
            "you are already clocked in; clock out first",
        ));
    }
    require_sharing(&worker, location.as_ref())?;
    let now = Utc::now();
    let at = occurred_at.unwrap_or(now);
    if let Some(last_out) = last_clock_out(db, &worker).await?
        && last_out > at
    {
        return Err(Error::bad_input(format!(
            "a clock-in at {at} would overlap your entry that ended at {last_out}"
        )));
    }
    let entry = time_entry::Model {
        id: TimeEntryId::new(),
        org_id: worker.org_id,
        worker_id: worker.id,
        building_id,
        clock_in_at: at,
        clock_out_at: None,
        clock_in_latitude: location.map(|l| l.latitude),
        clock_in_longitude: location.map(|l| l.longitude),
        clock_out_latitude: None,
        clock_out_longitude: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let saved = insert(db, principal, entry, cmid).await?;
    let current = load_status(db, &worker).await?;
    let mut next = current.clone().unwrap_or_else(|| fresh_status(&worker));
    next.status = WorkerDutyStatus::OnDuty;
    next.building_id = Some(building_id);
    if let Some(point) = location {
        place(&mut next, point);
    }
    upsert(db, principal, current.as_ref(), next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Closes the worker's open time entry and puts the worker OFF_DUTY with no
/// building. Answers with the closed entry.
pub async fn clock_out(
    db: &impl ConnectionTrait,
    principal: &Principal,
    location: Option<GeoPoint>,
    occurred_at: Option<DateTime<Utc>>,
    cmid: Option<&str>,
) -> Result<Written> {
    let worker = load_worker(db, principal).await?;
    check_location(location.as_ref())?;
    let Some(entry) = open_entry(db, &worker).await? else {
        return Err(Error::bad_input("you are not clocked in"));
    };
    require_sharing(&worker, location.as_ref())?;
    let now = Utc::now();
    let at = occurred_at.unwrap_or(now);
    if at < entry.clock_in_at {
        return Err(Error::bad_input(format!(
            "a clock-out at {at} would be before your clock-in at {}",
            entry.clock_in_at
        )));
    }
    let mut next = entry.clone();
    next.clock_out_at = Some(at);
    next.clock_out_latitude = location.map(|l| l.latitude);
    next.clock_out_longitude = location.map(|l| l.longitude);
    let saved = save_as(db, principal, &entry, next, ChangeOp::Updated, now, cmid).await?;
    let current = load_status(db, &worker).await?;
    let mut status = current.clone().unwrap_or_else(|| fresh_status(&worker));
    status.status = WorkerDutyStatus::OffDuty;
    status.building_id = None;
    if let Some(point) = location {
        place(&mut status, point);
    }
    upsert(db, principal, current.as_ref(), status, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Sets the worker's duty status; time entries and the building stay as
/// they are. Answers with the worker status.
pub async fn set_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: WorkerDutyStatus,
    cmid: Option<&str>,
) -> Result<Written> {
    let worker = load_worker(db, principal).await?;
    let current = load_status(db, &worker).await?;
    let mut next = current.clone().unwrap_or_else(|| fresh_status(&worker));
    next.status = status;
    let saved = upsert(db, principal, current.as_ref(), next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Stores the worker's current location (sharing must be on). Answers with
/// the worker status.
pub async fn report_location(
    db: &impl ConnectionTrait,
    principal: &Principal,
    point: GeoPoint,
    cmid: Option<&str>,
) -> Result<Written> {
    let worker = load_worker(db, principal).await?;
    check_location(Some(&point))?;
    require_sharing(&worker, Some(&point))?;
    let current = load_status(db, &worker).await?;
    let mut next = current.clone().unwrap_or_else(|| fresh_status(&worker));
    place(&mut next, point);
    let saved = upsert(db, principal, current.as_ref(), next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Switches location sharing. Switching it off also erases the stored live
/// location (past time entries keep theirs, hidden while sharing is off).
/// Answers with the user.
pub async fn set_location_sharing(
    db: &impl ConnectionTrait,
    principal: &Principal,
    enabled: bool,
    cmid: Option<&str>,
) -> Result<Written> {
    let worker = load_worker(db, principal).await?;
    if worker.location_sharing == enabled {
        return answer(Outcome::Applied, &worker, None);
    }
    let mut next = worker.clone();
    next.location_sharing = enabled;
    let saved = save(db, principal, &worker, next, cmid).await?;
    if !enabled && let Some(current) = load_status(db, &saved).await? {
        // Only location fields change, so the erasure travels in the
        // location lane and supersedes any older location still queued.
        let mut cleared = current.clone();
        cleared.latitude = None;
        cleared.longitude = None;
        cleared.accuracy_m = None;
        cleared.location_at = None;
        save(db, principal, &current, cleared, cmid).await?;
    }
    answer(Outcome::Applied, &saved, None)
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

/// When the worker's latest closed time entry ended, if any.
async fn last_clock_out(
    db: &impl ConnectionTrait,
    worker: &user::Model,
) -> Result<Option<DateTime<Utc>>> {
    Ok(time_entry::Entity::find()
        .filter(time_entry::Column::OrgId.eq(worker.org_id))
        .filter(time_entry::Column::WorkerId.eq(worker.id))
        .filter(time_entry::Column::ClockOutAt.is_not_null())
        .order_by_desc(time_entry::Column::ClockOutAt)
        .one(db)
        .await?
        .and_then(|entry| entry.clock_out_at))
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
