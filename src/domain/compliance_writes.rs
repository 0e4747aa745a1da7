//! Versioned compliance writes: a building's status, violations, inspections
//! and compliance alerts. Administrators make them all; a client may only
//! acknowledge the alerts of buildings they are linked to. Each runs inside
//! the caller's write transaction and records its change-log row there.
//!
//! Conflicts follow a simple rule rather than the task merge: a given but
//! stale `expectedVersion` answers `CONFLICT` (with the fields the client
//! wanted that the server holds differently) and writes nothing, unless the
//! caller chose `LAST_WRITE_WINS`. No `sync_conflicts` row is recorded,
//! because `resolveSyncConflict` only settles tasks.
//!
//! The plumbing (locks, stale check, CONFLICT answer, save and log) is
//! `super::versioned`, shared by every versioned write.

use chrono::{DateTime, Utc};
use entity::enums::{
    AlertSeverity, BuildingStatus, InspectionResult, Role, ViolationSeverity, ViolationStatus,
};
use entity::ids::{BuildingId, ComplianceAlertId, InspectionId, ViolationId};
use entity::{building, compliance_alert, inspection, violation};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use serde::Serialize;
use serde_json::{Map, Value};

use super::scope::{BuildingScope, in_org};
use super::task_rules::check_text;
use super::versioned::{admin_only, answer, conflict, create, is_stale, locked, object, save};
use super::writes::{ConflictStrategy, Outcome, Written};
use crate::auth::Principal;
use crate::changelog;
use crate::error::{Error, Result};

/// A violation to record.
#[derive(Debug, Clone)]
pub struct NewViolation {
    /// The building it was issued against.
    pub building_id: BuildingId,
    /// Who issued it (1–64 characters).
    pub source: String,
    /// The issuer's code (1–64 characters).
    pub code: String,
    /// What is wrong (1–5,000 characters).
    pub description: String,
    /// How serious it is.
    pub severity: ViolationSeverity,
    /// When it was issued; now when absent.
    pub issued_at: Option<DateTime<Utc>>,
    /// When it must be cured by.
    pub due_at: Option<DateTime<Utc>>,
    /// Penalty in cents (≥ 0).
    pub penalty_cents: Option<i64>,
}

/// Fields to change on a violation: `None` leaves a field as it is,
/// `Some(None)` clears it. Serialises to the stored field names it sets.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ViolationPatch {
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<ViolationSeverity>,
    /// New status; RESOLVED stamps `resolved_at`, leaving it clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ViolationStatus>,
    /// New cure-by time, or none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New penalty in cents (≥ 0), or none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub penalty_cents: Option<Option<i64>>,
}

impl ViolationPatch {
    /// Checks lengths and ranges.
    pub fn validate(&self) -> Result<()> {
        if let Some(description) = &self.description {
            check_text("description", description, 1, 5_000)?;
        }
        if let Some(Some(penalty)) = self.penalty_cents {
            check_penalty(penalty)?;
        }
        Ok(())
    }

    /// What the client asks for, by stored field name.
    fn wanted(&self) -> Result<Map<String, Value>> {
        Ok(object(changelog::snapshot_of(self)?))
    }
}

/// An update of an existing violation.
#[derive(Debug, Clone)]
pub struct ViolationUpdate {
    /// Which violation.
    pub id: ViolationId,
    /// The version the client edited; `None` means "whatever is current".
    pub expected_version: Option<i32>,
    /// What to change.
    pub patch: ViolationPatch,
    /// `LAST_WRITE_WINS` writes over a newer version; anything else answers CONFLICT.
    pub strategy: ConflictStrategy,
}

/// An inspection to schedule.
#[derive(Debug, Clone)]
pub struct NewInspection {
    /// The building to inspect.
    pub building_id: BuildingId,
    /// What is inspected (1–100 characters).
    pub kind: String,
    /// When.
    pub scheduled_for: DateTime<Utc>,
    /// Who inspects, if known (1–200 characters).
    pub inspector: Option<String>,
}

/// A compliance alert to raise.
#[derive(Debug, Clone)]
pub struct NewAlert {
    /// The building concerned.
    pub building_id: BuildingId,
    /// How serious it is.
    pub severity: AlertSeverity,
    /// What it says (1–2,000 characters).
    pub message: String,
}

/// Sets a building's overall status (administrators).
pub async fn set_building_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: BuildingId,
    status: BuildingStatus,
    expected_version: Option<i32>,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "change a building's status")?;
    let current = locked_building(db, principal, id).await?;
    if is_stale(expected_version, current.version)? {
        let wanted = Map::from_iter([("status".to_owned(), to_value(status)?)]);
        return conflict(db, &current, wanted, expected_version).await;
    }
    let mut next = current.clone();
    next.status = status;
    let saved = save(db, principal, &current, next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Records a new OPEN violation (administrators).
pub async fn create_violation(
    db: &impl ConnectionTrait,
    principal: &Principal,
    new: NewViolation,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "record violations")?;
    check_text("source", &new.source, 1, 64)?;
    check_text("code", &new.code, 1, 64)?;
    check_text("description", &new.description, 1, 5_000)?;
    if let Some(penalty) = new.penalty_cents {
        check_penalty(penalty)?;
    }
    locked_building(db, principal, new.building_id).await?;
    let now = Utc::now();
    let model = violation::Model {
        id: ViolationId::new(),
        org_id: principal.org_id,
        building_id: new.building_id,
        source: new.source.trim().to_owned(),
        code: new.code.trim().to_owned(),
        description: new.description,
        severity: new.severity,
        status: ViolationStatus::Open,
        issued_at: new.issued_at.unwrap_or(now),
        due_at: new.due_at,
        resolved_at: None,
        penalty_cents: new.penalty_cents,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    create(db, principal, model, cmid).await
}

/// Changes a violation (administrators).
pub async fn update_violation(
    db: &impl ConnectionTrait,
    principal: &Principal,
    update: ViolationUpdate,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "change violations")?;
    update.patch.validate()?;
    let current = locked_violation(db, principal, update.id).await?;
    if is_stale(update.expected_version, current.version)?
        && update.strategy != ConflictStrategy::LastWriteWins
    {
        let wanted = update.patch.wanted()?;
        return conflict(db, &current, wanted, update.expected_version).await;
    }
    let patch = update.patch;
    let mut next = current.clone();
    if let Some(description) = patch.description {
        next.description = description;
    }
    if let Some(severity) = patch.severity {
        next.severity = severity;
    }
    if let Some(due_at) = patch.due_at {
        next.due_at = due_at;
    }
    if let Some(penalty) = patch.penalty_cents {
        next.penalty_cents = penalty;
    }
    if let Some(status) = patch.status {
        next.status = status;
        next.resolved_at = match status {
            ViolationStatus::Resolved => current.resolved_at.or(Some(Utc::now())),
            _ => None,
        };
    }
    let saved = save(db, principal, &current, next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Marks a violation RESOLVED now (administrators); already resolved is a no-op.
pub async fn resolve_violation(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ViolationId,
    expected_version: Option<i32>,
    cmid: Option<&str>,
) -> Result<Written> {
    let update = ViolationUpdate {
        id,
        expected_version,
        patch: ViolationPatch {
            status: Some(ViolationStatus::Resolved),
            ..Default::default()
        },
        strategy: ConflictStrategy::Reject,
    };
    update_violation(db, principal, update, cmid).await
}

/// Schedules a PENDING inspection (administrators).
pub async fn schedule_inspection(
    db: &impl ConnectionTrait,
    principal: &Principal,
    new: NewInspection,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "schedule inspections")?;
    check_text("kind", &new.kind, 1, 100)?;
    if let Some(inspector) = &new.inspector {
        check_text("inspector", inspector, 1, 200)?;
    }
    locked_building(db, principal, new.building_id).await?;
    let now = Utc::now();
    let model = inspection::Model {
        id: InspectionId::new(),
        org_id: principal.org_id,
        building_id: new.building_id,
        kind: new.kind.trim().to_owned(),
        scheduled_for: new.scheduled_for,
        result: InspectionResult::Pending,
        inspector: new.inspector.map(|i| i.trim().to_owned()),
        notes: None,
        completed_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    create(db, principal, model, cmid).await
}

/// Records an inspection's outcome, PASSED or FAILED, and stamps
/// `completed_at` (administrators). `notes`, when given, replace the old ones.
pub async fn record_inspection_result(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: InspectionId,
    result: InspectionResult,
    notes: Option<String>,
    expected_version: Option<i32>,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "record inspection results")?;
    if result == InspectionResult::Pending {
        return Err(Error::bad_input("an inspection result is PASSED or FAILED"));
    }
    if let Some(notes) = &notes {
        check_text("notes", notes, 0, 10_000)?;
    }
    let select = in_org::<inspection::Entity>(principal)
        .filter(in_scope(db, principal, inspection::Column::BuildingId).await?)
        .filter(inspection::Column::Id.eq(id));
    let current = locked(db, select)
        .one(db)
        .await?
        .ok_or(Error::NotFound("inspection"))?;
    if is_stale(expected_version, current.version)? {
        let mut wanted = Map::from_iter([("result".to_owned(), to_value(result)?)]);
        if let Some(notes) = &notes {
            wanted.insert("notes".into(), notes.clone().into());
        }
        return conflict(db, &current, wanted, expected_version).await;
    }
    let mut next = current.clone();
    if current.result != result || current.completed_at.is_none() {
        next.result = result;
        next.completed_at = Some(Utc::now());
    }
    if notes.is_some() {
        next.notes = notes;
    }
    let saved = save(db, principal, &current, next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Raises a compliance alert about a building (administrators).
pub async fn raise_alert(
    db: &impl ConnectionTrait,
    principal: &Principal,
    new: NewAlert,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "raise compliance alerts")?;
    check_text("message", &new.message, 1, 2_000)?;
    locked_building(db, principal, new.building_id).await?;
    let now = Utc::now();
    let model = compliance_alert::Model {
        id: ComplianceAlertId::new(),
        org_id: principal.org_id,
        building_id: new.building_id,
        severity: new.severity,
        message: new.message.trim().to_owned(),
        acknowledged_by: None,
        acknowledged_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    create(db, principal, model, cmid).await
}

/// Acknowledges an alert: administrators any of the organisation's, clients
/// those of their linked buildings. An alert is acknowledged once.
pub async fn acknowledge_alert(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ComplianceAlertId,
    cmid: Option<&str>,
) -> Result<Written> {
    if principal.role == Role::Worker {
        return Err(Error::forbidden("workers may not acknowledge alerts"));
    }
    let select = in_org::<compliance_alert::Entity>(principal)
        .filter(in_scope(db, principal, compliance_alert::Column::BuildingId).await?)
        .filter(compliance_alert::Column::Id.eq(id));
    let current = locked(db, select)
        .one(db)
        .await?
        .ok_or(Error::NotFound("compliance alert"))?;
    if current.acknowledged_at.is_some() {
        return Err(Error::bad_input("this alert is already acknowledged"));
    }
    let mut next = current.clone();
    next.acknowledged_by = Some(principal.user_id);
    next.acknowledged_at = Some(Utc::now());
    let saved = save(db, principal, &current, next, cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// A building of the caller's organisation (not deleted), locked for the
/// rest of the transaction on PostgreSQL; administrators only reach here.
pub(super) async fn locked_building(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: BuildingId,
) -> Result<building::Model> {
    let select = in_org::<building::Entity>(principal)
        .filter(building::Column::DeletedAt.is_null())
        .filter(in_scope(db, principal, building::Column::Id).await?)
        .filter(building::Column::Id.eq(id));
    locked(db, select)
        .one(db)
        .await?
        .ok_or(Error::NotFound("building"))
}

async fn locked_violation(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ViolationId,
) -> Result<violation::Model> {
    let select = in_org::<violation::Entity>(principal)
        .filter(in_scope(db, principal, violation::Column::BuildingId).await?)
        .filter(violation::Column::Id.eq(id));
    locked(db, select)
        .one(db)
        .await?
        .ok_or(Error::NotFound("violation"))
}

/// The caller's building scope as a condition on `column`.
async fn in_scope(
    db: &impl ConnectionTrait,
    principal: &Principal,
    column: impl ColumnTrait,
) -> Result<sea_orm::Condition> {
    Ok(BuildingScope::of(db, principal).await?.condition(column))
}

fn check_penalty(penalty: i64) -> Result<()> {
    if penalty < 0 {
        return Err(Error::bad_input(format!(
            "penaltyCents must be 0 or more, not {penalty}"
        )));
    }
    Ok(())
}

fn to_value(value: impl Serialize) -> Result<Value> {
    changelog::snapshot_of(&value)
}
