//! The change log (`changes`): one row per committed write, written in the
//! write's own transaction. It is at once the source of subscriptions and
//! pushes, the delta-sync source, the merge base and the audit trail. Here:
//! recording a row, reading rows after a seq, a snapshot at a version,
//! [`cursor`]s for clients, and [`retention`].
//!
//! `seq` must grow in commit order: a reader that has seen seq N must never
//! later find a row below N. SQLite has one writer at a time, so that holds
//! by construction. PostgreSQL hands out sequence values at insert time, so
//! two transactions could commit out of order; every writer therefore takes a
//! transaction-scoped advisory lock ([`lock`]) and keeps it until commit,
//! which makes seq order commit order. The write path takes it as its
//! transaction begins, before any row lock, so locks are always taken in
//! one order: the change log, then rows.

pub mod cursor;
pub mod retention;

use std::sync::Arc;

use chrono::Utc;
use entity::change;
use entity::enums::{ChangeOp, EntityType};
use entity::ids::{OrganizationId, UserId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The PostgreSQL channel every instance's tailer listens on: each write
/// notifies it, and PostgreSQL delivers the notification at commit.
pub const CHANNEL: &str = "fieldsync_changes";

/// Advisory lock key that orders change-log inserts on PostgreSQL ("fsync" in ASCII).
const CHANGELOG_LOCK_KEY: i64 = 0x0066_7379_6e63;

/// Delivery priority of a change, highest first: decided here, once, when
/// the change is recorded (`changes.priority`), and read by the socket's
/// delivery lanes. One entity keeps one priority whatever changed, so its
/// versions never overtake each other on the way out; the one exception is
/// a worker's location report, which a newer state of that worker replaces.
pub mod priority {
    use entity::enums::EntityType;

    /// Violations, inspections, alerts, building status.
    pub const COMPLIANCE: i32 = 30;
    /// Tasks and building memberships.
    pub const ASSIGNMENT: i32 = 20;
    /// Duty status, clock entries, users, everything else.
    pub const STATUS: i32 = 10;
    /// A worker's location report (a newer state of the worker supersedes it).
    pub const LOCATION: i32 = 0;

    /// The fields of a worker's status that make up their location.
    pub const LOCATION_FIELDS: [&str; 4] = ["latitude", "longitude", "accuracy_m", "location_at"];

    /// True when a write of a worker's status changed their location.
    pub fn moves_location(changed_fields: &[String]) -> bool {
        changed_fields
            .iter()
            .any(|f| LOCATION_FIELDS.contains(&f.as_str()))
    }

    /// The priority of a change of `entity_type` that changed these fields.
    pub fn of(entity_type: EntityType, changed_fields: &[String]) -> i32 {
        match entity_type {
            EntityType::Violation
            | EntityType::Inspection
            | EntityType::ComplianceAlert
            | EntityType::Building => COMPLIANCE,
            EntityType::Task | EntityType::BuildingWorker | EntityType::BuildingClient => {
                ASSIGNMENT
            }
            EntityType::WorkerStatus
                if !changed_fields.is_empty()
                    && changed_fields
                        .iter()
                        .all(|f| LOCATION_FIELDS.contains(&f.as_str())) =>
            {
                LOCATION
            }
            _ => STATUS,
        }
    }
}

/// Tells this process's change-log tailer that a write committed, so it
/// reads the new rows now rather than at its next poll. Cheap to clone; a
/// signal given while nobody waits is kept for the next wait (one permit).
#[derive(Clone, Default)]
pub struct CommitSignal(Arc<Notify>);

impl CommitSignal {
    /// A write committed.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits for the next commit (or the one signalled since the last wait).
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// A change about to be recorded.
#[derive(Debug, Clone)]
pub struct NewChange {
    /// Organisation of the entity.
    pub org_id: OrganizationId,
    /// Kind of entity.
    pub entity_type: EntityType,
    /// Its id.
    pub entity_id: Uuid,
    /// Its version after the write.
    pub version: i32,
    /// What happened.
    pub op: ChangeOp,
    /// The entity after the write (before, for deletes), as its model serialises.
    pub snapshot: Value,
    /// Fields the write changed.
    pub changed_fields: Vec<String>,
    /// Who wrote it.
    pub actor_id: Option<UserId>,
    /// The client's idempotency key, when it sent one.
    pub client_mutation_id: Option<String>,
}

/// Takes the change-log lock for the rest of the caller's transaction on
/// PostgreSQL (SQLite's IMMEDIATE transaction already holds the one write
/// lock). A write transaction takes it first, before any row lock: taken
/// only at its first change row, after row locks, it let an atomic batch
/// and a single write each hold what the other waited for (deadlock).
/// Taking it again later in the same transaction is free.
pub async fn lock(db: &impl ConnectionTrait) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [CHANGELOG_LOCK_KEY.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Appends a change in the caller's transaction; returns its seq.
pub async fn record(db: &impl ConnectionTrait, change: NewChange) -> Result<i64> {
    if db.get_database_backend() == DbBackend::Postgres {
        lock(db).await?;
        // Delivered at commit to every instance listening.
        db.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("NOTIFY {CHANNEL}"),
        ))
        .await?;
    }
    let priority = priority::of(change.entity_type, &change.changed_fields);
    let row = change::ActiveModel {
        org_id: Set(change.org_id),
        entity_type: Set(change.entity_type),
        entity_id: Set(change.entity_id),
        version: Set(change.version),
        op: Set(change.op),
        snapshot: Set(change.snapshot),
        changed_fields: Set(Value::from(change.changed_fields)),
        actor_id: Set(change.actor_id),
        client_mutation_id: Set(change.client_mutation_id),
        queue_id: Set(None),
        priority: Set(priority),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(row.seq)
}

/// Records the creation of a row that was inserted without a versioned write
/// (seed data), so the log holds every entity from version 1.
pub async fn record_created<M: serde::Serialize>(
    db: &impl ConnectionTrait,
    org_id: OrganizationId,
    entity_type: EntityType,
    entity_id: Uuid,
    row: &M,
) -> Result<i64> {
    let snapshot = snapshot_of(row)?;
    let version = snapshot.get("version").and_then(Value::as_i64).unwrap_or(1) as i32;
    let changed_fields = snapshot
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    record(
        db,
        NewChange {
            org_id,
            entity_type,
            entity_id,
            version,
            op: ChangeOp::Created,
            snapshot,
            changed_fields,
            actor_id: None,
            client_mutation_id: None,
        },
    )
    .await
}

/// The newest seq in the log (0 when empty).
pub async fn newest_seq(db: &impl ConnectionTrait) -> Result<i64> {
    Ok(change::Entity::find()
        .select_only()
        .column(change::Column::Seq)
        .order_by_desc(change::Column::Seq)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Runs `read` in one snapshot of the database ([`crate::db::begin_read`])
/// and returns its answer with the cursor of the newest change that
/// snapshot holds: the answer reflects every change up to the cursor and
/// none after, so a subscription resumed `after:` it neither misses nor
/// repeats one.
pub async fn read_at_cursor<T>(
    db: &DatabaseConnection,
    read: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T>,
) -> Result<(T, String)> {
    let snapshot = crate::db::begin_read(db).await?;
    let answer = read(&snapshot).await?;
    let seq = newest_seq(&snapshot).await?;
    snapshot.commit().await?;
    Ok((answer, cursor::encode(seq, Utc::now())))
}

/// The seq of an entity's latest change (0 when the log holds none).
pub async fn latest_seq_of(
    db: &impl ConnectionTrait,
    entity_type: EntityType,
    entity_id: Uuid,
) -> Result<i64> {
    Ok(change::Entity::find()
        .select_only()
        .column(change::Column::Seq)
        .filter(change::Column::EntityType.eq(entity_type))
        .filter(change::Column::EntityId.eq(entity_id))
        .order_by_desc(change::Column::Seq)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or(0))
}

/// Up to `limit` rows after `seq`, in order: of one organisation, or of all.
pub async fn rows_after(
    db: &impl ConnectionTrait,
    seq: i64,
    org: Option<OrganizationId>,
    limit: u64,
) -> Result<Vec<change::Model>> {
    let mut select = change::Entity::find().filter(change::Column::Seq.gt(seq));
    if let Some(org) = org {
        select = select.filter(change::Column::OrgId.eq(org));
    }
    Ok(select
        .order_by_asc(change::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// The snapshot of an entity at a version, if the log still holds it.
pub async fn snapshot_at(
    db: &impl ConnectionTrait,
    org_id: OrganizationId,
    entity_type: EntityType,
    entity_id: Uuid,
    version: i32,
) -> Result<Option<Value>> {
    Ok(change::Entity::find()
        .filter(change::Column::OrgId.eq(org_id))
        .filter(change::Column::EntityType.eq(entity_type))
        .filter(change::Column::EntityId.eq(entity_id))
        .filter(change::Column::Version.eq(version))
        .one(db)
        .await?
        .map(|c| c.snapshot))
}

/// One offline queue's changes: a device's outbox, named by the client
/// (`syncPush`'s `queueId`), whose own earlier writes are part of its base.
#[derive(Debug, Clone, Copy)]
pub struct QueueWrites<'a> {
    /// Who owns the queue (a queue id means nothing across users).
    pub actor: UserId,
    /// The queue's id.
    pub queue: &'a str,
}

impl QueueWrites<'_> {
    /// Marks the rows the operation `cmid` wrote to an entity as this
    /// queue's, in the operation's own transaction.
    pub async fn claim(
        &self,
        db: &impl ConnectionTrait,
        entity_id: Uuid,
        cmid: &str,
    ) -> Result<()> {
        change::Entity::update_many()
            .col_expr(change::Column::QueueId, self.queue.into())
            .filter(change::Column::EntityId.eq(entity_id))
            .filter(change::Column::ActorId.eq(self.actor))
            .filter(change::Column::ClientMutationId.eq(cmid))
            .filter(change::Column::QueueId.is_null())
            .exec(db)
            .await?;
        Ok(())
    }

    /// The values this queue's own changes of an entity after `version`
    /// left in the fields they changed, the newest value of each.
    pub async fn since(
        &self,
        db: &impl ConnectionTrait,
        entity_type: EntityType,
        entity_id: Uuid,
        version: i32,
    ) -> Result<serde_json::Map<String, Value>> {
        let rows = change::Entity::find()
            .filter(change::Column::EntityId.eq(entity_id))
            .filter(change::Column::ActorId.eq(self.actor))
            .filter(change::Column::QueueId.eq(self.queue))
            .filter(change::Column::EntityType.eq(entity_type))
            .filter(change::Column::Version.gt(version))
            .order_by_asc(change::Column::Version)
            .all(db)
            .await?;
        let mut own = serde_json::Map::new();
        for row in rows {
            let fields: Vec<String> =
                serde_json::from_value(row.changed_fields).unwrap_or_default();
            for field in fields {
                if let Some(value) = row.snapshot.get(&field) {
                    own.insert(field, value.clone());
                }
            }
        }
        Ok(own)
    }
}

/// The entity id of a membership row (building × user), stable and unique
/// enough for the log: the two UUIDs xor-ed.
pub fn membership_id(building: Uuid, user: Uuid) -> Uuid {
    Uuid::from_u128(building.as_u128() ^ user.as_u128())
}

/// Serialises a model into a snapshot (its serde form: snake_case keys).
pub fn snapshot_of<T: serde::Serialize>(model: &T) -> Result<Value> {
    serde_json::to_value(model).map_err(|e| Error::Internal(format!("snapshot failed: {e}")))
}

/// The top-level keys whose values differ between two snapshots.
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let (Some(before), Some(after)) = (before.as_object(), after.as_object()) else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(key, value)| {
            !matches!(key.as_str(), "version" | "updated_at") && before.get(*key) != Some(*value)
        })
        .map(|(key, _)| key.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use entity::worker_status;
    use sea_orm::IdenStatic;

    use super::priority;

    #[test]
    fn the_location_fields_are_the_worker_status_columns() {
        let columns = [
            worker_status::Column::Latitude,
            worker_status::Column::Longitude,
            worker_status::Column::AccuracyM,
            worker_status::Column::LocationAt,
        ]
        .map(|c| c.as_str());
        assert_eq!(priority::LOCATION_FIELDS, columns);
    }
}
