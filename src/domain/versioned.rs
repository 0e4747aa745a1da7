//! The toolkit of every versioned write (tasks, worker presence, buildings,
//! compliance records, users): the role gate, row locks, the stale-version
//! check and its CONFLICT answer, and the [`Versioned`] rows that a write
//! creates or saves as their next version, logs in the change log and
//! answers with. Each write module states its rules and leaves this
//! plumbing here, so every write bumps, logs and answers alike.

use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, EntityType};
use entity::ids::OrganizationId;
use entity::{
    building, compliance_alert, inspection, sync_conflict, task, time_entry, user, violation,
    worker_status,
};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QuerySelect, Select,
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::conflicts::{self, NewConflict};
use super::merge::{self, FieldConflict, Rule};
use super::writes::{ConflictReport, ConflictStrategy, Outcome, Written};
use crate::auth::Principal;
use crate::changelog::{self, NewChange};
use crate::error::{Error, Result};

/// Refuses anyone but an administrator.
pub(super) fn admin_only(principal: &Principal, action: &str) -> Result<()> {
    if principal.is_admin() {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "only administrators may {action}"
        )))
    }
}

/// Takes a row lock on PostgreSQL; SQLite's IMMEDIATE transaction already
/// holds the database's write lock.
pub(super) fn locked<E: EntityTrait>(db: &impl ConnectionTrait, select: Select<E>) -> Select<E> {
    if db.get_database_backend() == DbBackend::Postgres {
        select.lock_exclusive()
    } else {
        select
    }
}

/// A snapshot's top-level fields.
pub(super) fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A row that the change log and a write's answer can describe.
pub(super) trait Versioned: Serialize {
    /// Its kind in the change log.
    const ENTITY: EntityType;
    /// Its id in the change log.
    fn key(&self) -> Uuid;
    /// Its organisation.
    fn org(&self) -> OrganizationId;
    /// Its version as stored.
    fn version(&self) -> i32;
}

/// A versioned row that is inserted, then updated in place.
pub(super) trait Revisable: Versioned + Clone + Send {
    /// Sets the next version and the time of the write.
    fn bump(&mut self, version: i32, at: DateTime<Utc>);
    /// Inserts the row as it is.
    fn insert_row(self, db: &impl ConnectionTrait) -> impl Future<Output = Result<Self>> + Send;
    /// Writes every column of the row over the stored one.
    fn update_row(self, db: &impl ConnectionTrait) -> impl Future<Output = Result<Self>> + Send;
}

macro_rules! revisable {
    ($($module:ident . $key:ident => $entity_type:ident),* $(,)?) => {$(
        impl Versioned for $module::Model {
            const ENTITY: EntityType = EntityType::$entity_type;
            fn key(&self) -> Uuid {
                self.$key.into_uuid()
            }
            fn org(&self) -> OrganizationId {
                self.org_id
            }
            fn version(&self) -> i32 {
                self.version
            }
        }

        impl Revisable for $module::Model {
            fn bump(&mut self, version: i32, at: DateTime<Utc>) {
                self.version = version;
                self.updated_at = at;
            }
            async fn insert_row(self, db: &impl ConnectionTrait) -> Result<Self> {
                Ok(self.into_active_model().reset_all().insert(db).await?)
            }
            async fn update_row(self, db: &impl ConnectionTrait) -> Result<Self> {
                Ok(self.into_active_model().reset_all().update(db).await?)
            }
        }
    )*};
}

revisable!(
    task.id => Task,
    worker_status.worker_id => WorkerStatus,
    time_entry.id => TimeEntry,
    building.id => Building,
    violation.id => Violation,
    inspection.id => Inspection,
    compliance_alert.id => ComplianceAlert,
    user.id => User,
    sync_conflict.id => SyncConflict,
);

/// Builds the answer for a row as it now stands.
pub(super) fn answer<R: Versioned>(
    outcome: Outcome,
    row: &R,
    conflict: Option<ConflictReport>,
) -> Result<Written> {
    Ok(Written {
        outcome,
        entity_type: R::ENTITY,
        entity_id: row.key(),
        version: row.version(),
        snapshot: changelog::snapshot_of(row)?,
        merged_fields: Vec::new(),
        overridden_fields: Vec::new(),
        conflict,
    })
}

/// Records a change of `row` (as it is after the write; before it, for a
/// deletion). A creation lists every field as changed.
pub(super) async fn log<R: Versioned>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    row: &R,
    op: ChangeOp,
    changed_fields: Vec<String>,
    cmid: Option<&str>,
) -> Result<()> {
    let snapshot = changelog::snapshot_of(row)?;
    let changed_fields = if op == ChangeOp::Created {
        object(snapshot.clone()).keys().cloned().collect()
    } else {
        changed_fields
    };
    changelog::record(
        db,
        NewChange {
            org_id: row.org(),
            entity_type: R::ENTITY,
            entity_id: row.key(),
            version: row.version(),
            op,
            snapshot,
            changed_fields,
            actor_id: Some(principal.user_id),
            client_mutation_id: cmid.map(str::to_owned),
        },
    )
    .await?;
    Ok(())
}

/// Inserts a new row at version 1, records its creation and answers with it.
pub(super) async fn create<R: Revisable>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    row: R,
    cmid: Option<&str>,
) -> Result<Written> {
    let saved = insert(db, principal, row, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Inserts a new row (at version 1) and records its creation; returns it as stored.
pub(super) async fn insert<R: Revisable>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    row: R,
    cmid: Option<&str>,
) -> Result<R> {
    let saved = row.insert_row(db).await?;
    log(db, principal, &saved, ChangeOp::Created, Vec::new(), cmid).await?;
    Ok(saved)
}

/// Writes `next` over `current` as the next version and records the change;
/// returns the row as stored (`current` unchanged when nothing differs).
pub(super) async fn save<R: Revisable>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: &R,
    next: R,
    cmid: Option<&str>,
) -> Result<R> {
    save_as(
        db,
        principal,
        current,
        next,
        ChangeOp::Updated,
        Utc::now(),
        cmid,
    )
    .await
}

/// [`save`] for a row that is there yet or not: `None` inserts `next` at version 1.
pub(super) async fn upsert<R: Revisable>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: Option<&R>,
    next: R,
    cmid: Option<&str>,
) -> Result<R> {
    match current {
        Some(current) => save(db, principal, current, next, cmid).await,
        None => insert(db, principal, next, cmid).await,
    }
}

/// [`save`] recorded as `op` (a soft deletion is saved as `DELETED`) at
/// `at`, the time the write stamps elsewhere too (`completed_at`, say), so
/// `updated_at` equals it.
pub(super) async fn save_as<R: Revisable>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: &R,
    mut next: R,
    op: ChangeOp,
    at: DateTime<Utc>,
    cmid: Option<&str>,
) -> Result<R> {
    let changed = changelog::changed_fields(
        &changelog::snapshot_of(current)?,
        &changelog::snapshot_of(&next)?,
    );
    if changed.is_empty() {
        return Ok(current.clone());
    }
    next.bump(current.version() + 1, at);
    let saved = next.update_row(db).await?;
    log(db, principal, &saved, op, changed, cmid).await?;
    Ok(saved)
}

/// Whether a write based on `expected` is stale against `current`; an
/// `expected` that was never a version is refused. `None` is never stale.
pub(super) fn is_stale(expected: Option<i32>, current: i32) -> Result<bool> {
    match expected {
        None => Ok(false),
        Some(v) if v < 1 || v > current => Err(Error::bad_input(format!(
            "expectedVersion {v} is not a version of this entity (current: {current})"
        ))),
        Some(v) => Ok(v < current),
    }
}

/// The CONFLICT answer to a stale write that writes nothing: each field the
/// client wanted that the server holds differently, with its value at the
/// client's base when the log still has it. When every wanted value already
/// matches (or nothing was wanted, as for a delete), the version itself is
/// the disputed field.
pub(super) async fn conflict<R: Versioned>(
    db: &impl ConnectionTrait,
    current: &R,
    wanted: Map<String, Value>,
    expected: Option<i32>,
) -> Result<Written> {
    let server = changelog::snapshot_of(current)?;
    let base = match expected {
        Some(v) if !wanted.is_empty() => {
            changelog::snapshot_at(db, current.org(), R::ENTITY, current.key(), v).await?
        }
        _ => None,
    };
    let mut fields: Vec<FieldConflict> = wanted
        .into_iter()
        .filter(|(field, value)| server.get(field) != Some(value))
        .map(|(field, client)| FieldConflict {
            base: base
                .as_ref()
                .and_then(|b| b.get(&field).cloned())
                .unwrap_or(Value::Null),
            server: server.get(&field).cloned().unwrap_or(Value::Null),
            field,
            client,
        })
        .collect();
    if fields.is_empty() {
        fields.push(FieldConflict {
            field: "version".into(),
            base: expected.map_or(Value::Null, Value::from),
            server: current.version().into(),
            client: Value::Null,
        });
    }
    answer(
        Outcome::Conflict,
        current,
        Some(ConflictReport { id: None, fields }),
    )
}

/// The answer for an entity as it stands, from its newest change-log row
/// (keeping the server's side of a conflict writes nothing).
pub(super) async fn as_logged(
    db: &impl ConnectionTrait,
    principal: &Principal,
    entity_type: EntityType,
    entity_id: Uuid,
) -> Result<Written> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let row = entity::change::Entity::find()
        .filter(entity::change::Column::OrgId.eq(principal.org_id))
        .filter(entity::change::Column::EntityType.eq(entity_type))
        .filter(entity::change::Column::EntityId.eq(entity_id))
        .order_by_desc(entity::change::Column::Version)
        .one(db)
        .await?
        .ok_or(Error::NotFound("entity"))?;
    Ok(Written {
        outcome: Outcome::Applied,
        entity_type,
        entity_id,
        version: row.version,
        snapshot: row.snapshot,
        merged_fields: Vec::new(),
        overridden_fields: Vec::new(),
        conflict: None,
    })
}

/// A write that may be stale: what the client sent, against which version,
/// and what to do if the server moved on.
pub(super) struct Edit<'a> {
    /// The version the client edited; `None`: whatever is current.
    pub expected: Option<i32>,
    /// What to do if `expected` is stale.
    pub strategy: ConflictStrategy,
    /// The fields it sent (stored names).
    pub client: &'a Map<String, Value>,
    /// Values the client's own queue already wrote: part of its base where
    /// the server still holds them (see `operations::apply`).
    pub queued: Option<&'a Map<String, Value>>,
}

/// What a write may do after [`reconcile`].
pub(super) enum Reconciled {
    /// Write these fields (final values).
    Write {
        /// The fields to write.
        patch: Map<String, Value>,
        /// `APPLIED`, or `MERGED` for a stale write merged.
        outcome: Outcome,
        /// Fields both sides changed that a rule settled.
        merged_fields: Vec<String>,
    },
    /// Nothing may be written; this is the answer (`CONFLICT`).
    Conflict(Written),
}

/// Decides what a possibly stale write writes. Current, or stale under
/// `LAST_WRITE_WINS`: the client's fields as sent. Stale under `REJECT`: a
/// CONFLICT answer. Stale under `MERGE`: a three-way merge (base: the
/// change log's snapshot at the client's version; server: the row now;
/// client: the patch), settling fields both sides changed by `rule_for`;
/// `check` may dispute one more field of the merged patch (a status the row
/// cannot reach from where it is). Disputed fields are recorded as a
/// conflict of the caller's, to resolve later.
pub(super) async fn reconcile<R: Versioned>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: &R,
    edit: Edit<'_>,
    rule_for: impl Fn(&str) -> Rule,
    check: impl FnOnce(&Map<String, Value>) -> Option<String>,
) -> Result<Reconciled> {
    let stale = is_stale(edit.expected, current.version())?;
    let expected = match (stale, edit.strategy, edit.expected) {
        (true, ConflictStrategy::Reject, _) => {
            let answer = conflict(db, current, edit.client.clone(), edit.expected).await?;
            return Ok(Reconciled::Conflict(answer));
        }
        (true, ConflictStrategy::Merge, Some(expected)) => expected,
        _ => {
            return Ok(Reconciled::Write {
                patch: edit.client.clone(),
                outcome: Outcome::Applied,
                merged_fields: Vec::new(),
            });
        }
    };
    let base =
        changelog::snapshot_at(db, current.org(), R::ENTITY, current.key(), expected).await?;
    let server = object(changelog::snapshot_of(current)?);
    let base = base.map(|base| {
        let mut base = object(base);
        for (field, value) in edit.queued.into_iter().flatten() {
            if server.get(field) == Some(value) {
                base.insert(field.clone(), value.clone());
            }
        }
        base
    });
    let merged = merge::merge(base.as_ref(), &server, edit.client, rule_for);
    let mut disputed = merged.conflicts;
    if let Some(field) = check(&merged.patch) {
        let value_of = |map: Option<&Map<String, Value>>| {
            map.and_then(|m| m.get(&field))
                .cloned()
                .unwrap_or(Value::Null)
        };
        disputed.push(FieldConflict {
            base: value_of(base.as_ref()),
            server: value_of(Some(&server)),
            client: value_of(Some(edit.client)),
            field,
        });
    }
    if disputed.is_empty() {
        return Ok(Reconciled::Write {
            patch: merged.patch,
            outcome: Outcome::Merged,
            merged_fields: merged.merged_fields,
        });
    }
    let id = conflicts::record(
        db,
        principal,
        NewConflict {
            entity_type: R::ENTITY,
            entity_id: current.key(),
            base_version: expected,
            server_version: current.version(),
            client_patch: edit.client,
            fields: &disputed,
        },
    )
    .await?;
    let report = ConflictReport {
        id: Some(id),
        fields: disputed,
    };
    Ok(Reconciled::Conflict(answer(
        Outcome::Conflict,
        current,
        Some(report),
    )?))
}
