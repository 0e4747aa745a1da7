//! Plumbing shared by the versioned writes of buildings, compliance records
//! and users: the role gate, row locks, and the [`Versioned`] toolkit that
//! answers a write, logs it and saves the next version of a row.

use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, EntityType};
use entity::ids::OrganizationId;
use entity::{building, compliance_alert, inspection, user, violation};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QuerySelect, Select,
};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::writes::{ConflictReport, Outcome, WriteResult};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::events::changelog::{self, NewChange};

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

/// A versioned row that is updated in place.
pub(super) trait Revisable: Versioned + Clone + Send {
    /// Its table.
    type Table: EntityTrait<Model = Self>;
    /// Sets the next version and the time of the write.
    fn bump(&mut self, version: i32, at: DateTime<Utc>);
}

macro_rules! revisable {
    ($($module:ident => $entity_type:ident),* $(,)?) => {$(
        impl Versioned for $module::Model {
            const ENTITY: EntityType = EntityType::$entity_type;
            fn key(&self) -> Uuid {
                self.id.into_uuid()
            }
            fn org(&self) -> OrganizationId {
                self.org_id
            }
            fn version(&self) -> i32 {
                self.version
            }
        }

        impl Revisable for $module::Model {
            type Table = $module::Entity;
            fn bump(&mut self, version: i32, at: DateTime<Utc>) {
                self.version = version;
                self.updated_at = at;
            }
        }
    )*};
}

revisable!(
    building => Building,
    violation => Violation,
    inspection => Inspection,
    compliance_alert => ComplianceAlert,
    user => User,
);

/// Builds the answer for a row as it now stands.
pub(super) fn answer<R: Versioned>(
    outcome: Outcome,
    row: &R,
    conflict: Option<ConflictReport>,
) -> Result<WriteResult> {
    Ok(WriteResult {
        outcome,
        entity_type: R::ENTITY,
        entity_id: row.key(),
        version: row.version(),
        snapshot: changelog::snapshot_of(row)?,
        merged_fields: Vec::new(),
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
    priority: i32,
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
            priority,
        },
    )
    .await?;
    Ok(())
}

/// Inserts a new row at version 1, records its creation and answers with it.
pub(super) async fn create<R>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    row: R,
    cmid: Option<&str>,
    priority: i32,
) -> Result<WriteResult>
where
    R: Revisable + IntoActiveModel<<R::Table as EntityTrait>::ActiveModel>,
    <R::Table as EntityTrait>::ActiveModel: Send,
{
    let saved = row.into_active_model().reset_all().insert(db).await?;
    log(
        db,
        principal,
        &saved,
        ChangeOp::Created,
        Vec::new(),
        cmid,
        priority,
    )
    .await?;
    answer(Outcome::Applied, &saved, None)
}

/// Writes `next` over `current` as the next version and records the change;
/// returns the row as stored (`current` unchanged when nothing differs).
pub(super) async fn save<R>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: &R,
    mut next: R,
    cmid: Option<&str>,
    priority: i32,
) -> Result<R>
where
    R: Revisable + IntoActiveModel<<R::Table as EntityTrait>::ActiveModel>,
    <R::Table as EntityTrait>::ActiveModel: Send,
{
    let changed = changelog::changed_fields(
        &changelog::snapshot_of(current)?,
        &changelog::snapshot_of(&next)?,
    );
    if changed.is_empty() {
        return Ok(current.clone());
    }
    next.bump(current.version() + 1, Utc::now());
    let saved = next.into_active_model().reset_all().update(db).await?;
    log(
        db,
        principal,
        &saved,
        ChangeOp::Updated,
        changed,
        cmid,
        priority,
    )
    .await?;
    Ok(saved)
}
