//! One write, whatever its kind, applied inside a transaction with its
//! client mutation id: a replay returns the first result and writes nothing.
//! Single GraphQL mutations and `syncPush` batches both come through here.

use entity::enums::EntityType;
use entity::ids::{SyncConflictId, TaskId};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use serde_json::{Map, Value};

use super::{conflicts, idempotency};
use crate::auth::Principal;
use crate::db;
use crate::domain::task_rules::TaskPatch;
use crate::domain::task_writes::{self, NewTask, TaskUpdate};
use crate::domain::writes::{ConflictResolution, ConflictStrategy, Outcome, WriteResult};
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
    /// Settle a recorded conflict.
    ResolveConflict {
        /// Which conflict.
        id: SyncConflictId,
        /// How.
        resolution: ConflictResolution,
        /// The hand-merged patch, for `MERGED` (stored field names).
        patch: Option<Map<String, Value>>,
    },
}

/// Applies one operation in its own write transaction.
pub async fn execute(
    db: &DatabaseConnection,
    principal: &Principal,
    operation: Operation,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    let txn = db::begin_write(db).await?;
    let result = apply(&txn, principal, operation, cmid).await?;
    txn.commit().await?;
    Ok(result)
}

/// Applies one operation inside the caller's transaction.
pub async fn apply(
    db: &impl ConnectionTrait,
    principal: &Principal,
    operation: Operation,
    cmid: Option<&str>,
) -> Result<WriteResult> {
    if let Some(id) = cmid {
        idempotency::check(id)?;
        if let Some(previous) = idempotency::recall(db, principal, id).await? {
            return Ok(previous);
        }
    }
    let result = match operation {
        Operation::CreateTask(new) => task_writes::create(db, principal, new, cmid).await?,
        Operation::UpdateTask(update) => task_writes::update(db, principal, update, cmid).await?,
        Operation::DeleteTask {
            id,
            expected_version,
        } => task_writes::delete(db, principal, id, expected_version, cmid).await?,
        Operation::ResolveConflict {
            id,
            resolution,
            patch,
        } => resolve(db, principal, id, resolution, patch, cmid).await?,
    };
    if let Some(id) = cmid {
        idempotency::remember(db, principal, id, &result).await?;
    }
    Ok(result)
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
) -> Result<WriteResult> {
    let conflict = conflicts::get_open(db, principal, id).await?;
    if conflict.entity_type != EntityType::Task {
        return Err(Error::bad_input("only task conflicts can be resolved here"));
    }
    let task_id = TaskId::from(conflict.entity_id);
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
    let result = match patch {
        None => {
            let current = task_writes::load_for_write(db, principal, task_id).await?;
            task_writes::result(Outcome::Applied, &current, Vec::new(), None)?
        }
        Some(patch) => {
            let update = TaskUpdate {
                id: task_id,
                expected_version: None,
                patch: TaskPatch::from_map(patch)?,
                strategy: ConflictStrategy::LastWriteWins,
            };
            task_writes::update(db, principal, update, cmid).await?
        }
    };
    let name = serde_json::to_value(resolution)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    conflicts::close(db, conflict, &name).await?;
    Ok(result)
}
