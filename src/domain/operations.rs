//! The write path: every write, whatever its kind, is an [`Operation`]
//! applied with its client mutation id (a replay returns the first result
//! and writes nothing), inside a transaction that only a [`Writer`] begins
//! and commits, taking the write lock up front and waking the change-log
//! tailer after the commit. Single GraphQL mutations and `syncPush` batches
//! both come through here.

use chrono::{DateTime, Utc};
use entity::enums::{BuildingStatus, EntityType, SyncConflictStatus, WorkerDutyStatus};
use entity::ids::{BuildingId, ComplianceAlertId, SyncConflictId, TaskId};
use entity::ids::{UserId, ViolationId};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use serde_json::{Map, Value};

use super::admin_writes;
use super::compliance_writes::{
    self, InspectionOutcome, NewAlert, NewInspection, NewViolation, ViolationPatch, ViolationUpdate,
};
use super::task_rules::TaskPatch;
use super::task_writes::{self, NewTask, TaskUpdate};
use super::users::NewUser;
use super::worker_writes::{self, GeoPoint};
use super::writes::{ConflictResolution, ConflictStrategy, Outcome, Written};
use super::{conflicts, idempotency, revert, versioned};
use crate::auth::Principal;
use crate::changelog::{self, CommitSignal, QueueWrites};
use crate::db;
use crate::error::{Error, Result};

/// Every write the API offers through sync.
#[derive(Debug, Clone)]
pub enum Operation {
    /// Create a task.
    CreateTask(NewTask),
    /// Change a task.
    UpdateTask(TaskUpdate),
    /// Delete a task.
    DeleteTask {
        /// Which task.
        id: TaskId,
        /// The version the client saw.
        expected_version: Option<i32>,
    },
    /// Restore an entity's data from an earlier version (administrators).
    Revert {
        /// Kind of entity.
        entity_type: EntityType,
        /// Its id.
        id: uuid::Uuid,
        /// The version whose data to restore.
        to_version: i32,
    },
    /// Settle a recorded conflict.
    ResolveConflict {
        /// Which conflict.
        id: SyncConflictId,
        /// How.
        resolution: ConflictResolution,
        /// The hand-merged patch, for `MERGED` (stored field names).
        patch: Option<Map<String, Value>>,
    },
    /// Clock in at a building (workers, for themselves).
    ClockIn {
        /// Where.
        building_id: BuildingId,
        /// Where exactly, when the worker shares location.
        location: Option<GeoPoint>,
        /// When it happened, if not now (a queued offline operation).
        occurred_at: Option<DateTime<Utc>>,
    },
    /// Clock out (workers, for themselves).
    ClockOut {
        /// Where exactly, when the worker shares location.
        location: Option<GeoPoint>,
        /// When it happened, if not now (a queued offline operation).
        occurred_at: Option<DateTime<Utc>>,
    },
    /// Set one's duty status (workers).
    SetWorkerStatus(WorkerDutyStatus),
    /// Report one's location (workers sharing it).
    ReportLocation(GeoPoint),
    /// Switch one's location sharing on or off (workers).
    SetLocationSharing(bool),
    /// Set a building's overall status (administrators).
    SetBuildingStatus {
        /// Which building.
        id: BuildingId,
        /// The new status.
        status: BuildingStatus,
        /// The version the client saw.
        expected_version: Option<i32>,
        /// What to do if the server moved on.
        strategy: ConflictStrategy,
    },
    /// Record a violation (administrators).
    CreateViolation(NewViolation),
    /// Change a violation (administrators).
    UpdateViolation(ViolationUpdate),
    /// Mark a violation resolved (administrators).
    ResolveViolation {
        /// Which violation.
        id: ViolationId,
        /// The version the client saw.
        expected_version: Option<i32>,
        /// What to do if the server moved on.
        strategy: ConflictStrategy,
    },
    /// Schedule an inspection (administrators).
    ScheduleInspection(NewInspection),
    /// Record an inspection's result (administrators).
    RecordInspectionResult(InspectionOutcome),
    /// Raise a compliance alert (administrators).
    RaiseComplianceAlert(NewAlert),
    /// Acknowledge a compliance alert (administrators; clients of its building).
    AcknowledgeAlert {
        /// Which alert.
        id: ComplianceAlertId,
    },
    /// Create a user (administrators).
    CreateUser(NewUser),
    /// Deactivate a user and revoke their sessions (administrators).
    DeactivateUser {
        /// Who.
        id: UserId,
    },
    /// Assign a worker to a building, or remove the assignment (administrators).
    AssignWorker {
        /// The worker.
        worker_id: UserId,
        /// The building.
        building_id: BuildingId,
        /// Assign (true) or unassign (false).
        assigned: bool,
    },
    /// Link a client to a building, or remove the link (administrators).
    LinkClient {
        /// The client.
        client_id: UserId,
        /// The building.
        building_id: BuildingId,
        /// Link (true) or unlink (false).
        linked: bool,
    },
}

impl Operation {
    /// Stamps the time a queued operation happened on the operations that
    /// record one (clocking in and out; starting and completing a task,
    /// through a task update); the others have no time of their own.
    pub fn happened_at(&mut self, at: DateTime<Utc>) {
        match self {
            Operation::ClockIn { occurred_at, .. } | Operation::ClockOut { occurred_at, .. } => {
                *occurred_at = Some(at)
            }
            Operation::UpdateTask(update) => update.occurred_at = Some(at),
            _ => {}
        }
    }
}

/// The one way to commit writes: it begins every write transaction (with
/// the write lock taken up front, see [`db::begin_write`]) and, after each
/// commit, wakes this process's change-log tailer so subscribers hear of the
/// write at once. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    db: DatabaseConnection,
    committed: CommitSignal,
}

impl Writer {
    /// A writer on `db` that gives `committed` after each commit.
    pub fn new(db: DatabaseConnection, committed: CommitSignal) -> Self {
        Self { db, committed }
    }

    /// Applies one operation in its own write transaction; `queue` names
    /// the offline queue it comes from, if any.
    pub async fn execute(
        &self,
        principal: &Principal,
        operation: Operation,
        cmid: Option<&str>,
        queue: Option<&str>,
    ) -> Result<Written> {
        let txn = self.begin().await?;
        let result = apply(&*txn, principal, operation, cmid, queue).await?;
        txn.commit().await?;
        Ok(result)
    }

    /// Begins a write transaction for several operations (an atomic batch).
    /// On PostgreSQL it takes the change-log lock first, so that every
    /// write takes its locks in one order (see [`changelog::lock`]).
    pub async fn begin(&self) -> Result<WriteTransaction> {
        let txn = db::begin_write(&self.db).await?;
        changelog::lock(&txn).await?;
        Ok(WriteTransaction {
            txn,
            committed: self.committed.clone(),
        })
    }
}

/// A write transaction begun by a [`Writer`]: operations apply on it
/// (it derefs to the database transaction), and its commit wakes the tailer.
pub struct WriteTransaction {
    txn: DatabaseTransaction,
    committed: CommitSignal,
}

impl WriteTransaction {
    /// Commits, then tells the tailer.
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        self.committed.notify();
        Ok(())
    }

    /// Rolls everything back; nothing was written, so nobody is told.
    pub async fn rollback(self) -> Result<()> {
        Ok(self.txn.rollback().await?)
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// Applies one operation inside the caller's transaction. An operation of
/// an offline `queue` (which always has a `cmid`) counts the queue's own
/// earlier writes of its entity, in any earlier call, as part of its base,
/// and its own change is marked as the queue's.
pub async fn apply(
    db: &impl ConnectionTrait,
    principal: &Principal,
    mut operation: Operation,
    cmid: Option<&str>,
    queue: Option<&str>,
) -> Result<Written> {
    if let Some(id) = cmid {
        idempotency::check(id)?;
        if let Some(previous) = idempotency::recall(db, principal, id).await? {
            return Ok(previous);
        }
    }
    let queue = queue.map(|queue| QueueWrites {
        actor: principal.user_id,
        queue,
    });
    if let (Some(queue), Operation::UpdateTask(update)) = (queue, &mut operation)
        && let Some(base) = update.expected_version
    {
        let entity = update.id.into_uuid();
        update.queued = queue.since(db, EntityType::Task, entity, base).await?;
    }
    let result = dispatch(db, principal, operation, cmid).await?;
    if let Some(id) = cmid {
        if let Some(queue) = queue
            && result.outcome != Outcome::Conflict
        {
            queue.claim(db, result.entity_id, id).await?;
        }
        idempotency::remember(db, principal, id, &result).await?;
    }
    Ok(result)
}

/// Runs one operation: the write its kind names.
async fn dispatch(
    db: &impl ConnectionTrait,
    principal: &Principal,
    operation: Operation,
    cmid: Option<&str>,
) -> Result<Written> {
    Ok(match operation {
        Operation::CreateTask(new) => task_writes::create(db, principal, new, cmid).await?,
        Operation::UpdateTask(update) => task_writes::update(db, principal, update, cmid).await?,
        Operation::DeleteTask {
            id,
            expected_version,
        } => task_writes::delete(db, principal, id, expected_version, cmid).await?,
        Operation::Revert {
            entity_type,
            id,
            to_version,
        } => revert::revert(db, principal, entity_type, id, to_version, cmid).await?,
        Operation::ResolveConflict {
            id,
            resolution,
            patch,
        } => resolve(db, principal, id, resolution, patch, cmid).await?,
        Operation::ClockIn {
            building_id,
            location,
            occurred_at,
        } => {
            let at = occurred_at;
            worker_writes::clock_in(db, principal, building_id, location, at, cmid).await?
        }
        Operation::ClockOut {
            location,
            occurred_at,
        } => worker_writes::clock_out(db, principal, location, occurred_at, cmid).await?,
        Operation::SetWorkerStatus(status) => {
            worker_writes::set_status(db, principal, status, cmid).await?
        }
        Operation::ReportLocation(point) => {
            worker_writes::report_location(db, principal, point, cmid).await?
        }
        Operation::SetLocationSharing(enabled) => {
            worker_writes::set_location_sharing(db, principal, enabled, cmid).await?
        }
        Operation::SetBuildingStatus {
            id,
            status,
            expected_version,
            strategy,
        } => {
            let stale = (expected_version, strategy);
            compliance_writes::set_building_status(db, principal, id, status, stale, cmid).await?
        }
        Operation::CreateViolation(new) => {
            compliance_writes::create_violation(db, principal, new, cmid).await?
        }
        Operation::UpdateViolation(update) => {
            compliance_writes::update_violation(db, principal, update, cmid).await?
        }
        Operation::ResolveViolation {
            id,
            expected_version,
            strategy,
        } => {
            let stale = (expected_version, strategy);
            compliance_writes::resolve_violation(db, principal, id, stale, cmid).await?
        }
        Operation::ScheduleInspection(new) => {
            compliance_writes::schedule_inspection(db, principal, new, cmid).await?
        }
        Operation::RecordInspectionResult(outcome) => {
            compliance_writes::record_inspection_result(db, principal, outcome, cmid).await?
        }
        Operation::RaiseComplianceAlert(new) => {
            compliance_writes::raise_alert(db, principal, new, cmid).await?
        }
        Operation::AcknowledgeAlert { id } => {
            compliance_writes::acknowledge_alert(db, principal, id, cmid).await?
        }
        Operation::CreateUser(new) => admin_writes::create_user(db, principal, new, cmid).await?,
        Operation::DeactivateUser { id } => {
            admin_writes::deactivate_user(db, principal, id, cmid).await?
        }
        Operation::AssignWorker {
            worker_id,
            building_id,
            assigned,
        } => {
            admin_writes::assign_worker(db, principal, worker_id, building_id, assigned, cmid)
                .await?
        }
        Operation::LinkClient {
            client_id,
            building_id,
            linked,
        } => admin_writes::link_client(db, principal, client_id, building_id, linked, cmid).await?,
    })
}

/// The write that settles a conflict about an entity with `patch` (stored
/// field names), over whatever the server holds.
fn settled_by(
    entity_type: EntityType,
    id: uuid::Uuid,
    mut patch: Map<String, Value>,
) -> Result<Operation> {
    let over = ConflictStrategy::LastWriteWins;
    Ok(match entity_type {
        EntityType::Task => Operation::UpdateTask(TaskUpdate::new(
            id.into(),
            None,
            TaskPatch::from_map(patch)?,
            over,
        )),
        EntityType::Violation => Operation::UpdateViolation(ViolationUpdate {
            id: id.into(),
            expected_version: None,
            patch: ViolationPatch::from_map(patch)?,
            strategy: over,
        }),
        EntityType::Inspection => {
            let result = take(&mut patch, "result")?
                .ok_or_else(|| Error::bad_input("an inspection's patch needs its `result`"))?;
            let notes = take(&mut patch, "notes")?;
            Operation::RecordInspectionResult(InspectionOutcome {
                id: id.into(),
                result,
                notes,
                expected_version: None,
                strategy: over,
            })
        }
        EntityType::Building => Operation::SetBuildingStatus {
            id: id.into(),
            status: take(&mut patch, "status")?
                .ok_or_else(|| Error::bad_input("a building's patch needs its `status`"))?,
            expected_version: None,
            strategy: over,
        },
        other => {
            return Err(Error::bad_input(format!(
                "conflicts about {other:?} cannot be settled with a patch"
            )));
        }
    })
}

/// Takes field `name` out of a patch.
fn take<T: serde::de::DeserializeOwned>(
    patch: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<T>> {
    patch
        .remove(name)
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Error::bad_input(format!("invalid `{name}` in the patch: {e}")))
}

/// Settles a conflict: keep the server's entity, or write the client's or a
/// hand-merged patch over it (as last write wins), then close the conflict.
async fn resolve(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: SyncConflictId,
    resolution: ConflictResolution,
    patch: Option<Map<String, Value>>,
    cmid: Option<&str>,
) -> Result<Written> {
    let conflict = conflicts::get_open(db, principal, id).await?;
    let patch = match resolution {
        ConflictResolution::KeepServer => None,
        ConflictResolution::TakeMine => Some(
            conflict
                .client_patch
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        ConflictResolution::Merged => {
            Some(patch.ok_or_else(|| Error::bad_input("MERGED needs a patch"))?)
        }
    };
    let (entity_type, entity_id) = (conflict.entity_type, conflict.entity_id);
    let result = match patch {
        None if entity_type == EntityType::Task => {
            let current = task_writes::load_for_write(db, principal, entity_id.into()).await?;
            versioned::answer(Outcome::Applied, &current, None)?
        }
        None => versioned::as_logged(db, principal, entity_type, entity_id).await?,
        Some(patch) => {
            let write = settled_by(entity_type, entity_id, patch)?;
            Box::pin(dispatch(db, principal, write, cmid)).await?
        }
    };
    let name = serde_json::to_value(resolution)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    conflicts::close(db, principal, conflict, SyncConflictStatus::Resolved, &name).await?;
    Ok(result)
}
