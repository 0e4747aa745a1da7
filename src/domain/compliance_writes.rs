//! Versioned compliance writes: a building's status, violations, inspections
//! and compliance alerts. Administrators make them all; a client may only
//! acknowledge the alerts of buildings they are linked to. Each runs inside
//! the caller's write transaction and records its change-log row there.
//!
//! A stale `expectedVersion` is settled as for tasks
//! ([`super::versioned::reconcile`]): under `MERGE` (the default) fields the
//! server left alone take the client's value, and fields both sides changed
//! go by [`merge_rule`] — the more severe severity or building status, the
//! later stage of a violation or inspection — or are a conflict, recorded
//! for `resolveSyncConflict`; `REJECT` answers CONFLICT; `LAST_WRITE_WINS`
//! writes as sent.
//!
//! The plumbing (locks, stale check, merge, save and log) is
//! `super::versioned`, shared by every versioned write.

use chrono::{DateTime, Utc};
use entity::enums::{
    AlertSeverity, BuildingStatus, InspectionResult, Role, ViolationSeverity, ViolationStatus,
};
use entity::ids::{BuildingId, ComplianceAlertId, InspectionId, ViolationId};
use entity::{building, compliance_alert, inspection, violation};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::merge::Rule;
use super::scope::{BuildingScope, in_org};
use super::task_rules::check_text;
use super::task_rules::present;
use super::versioned::{
    Edit, Reconciled, Versioned, admin_only, answer, create, locked, object, reconcile, save,
};
use super::writes::{ConflictStrategy, Outcome, Written, overridden};
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New penalty in cents (≥ 0), or none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
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

    /// Reads a patch from stored field names, refusing unknown fields.
    pub fn from_map(map: Map<String, Value>) -> Result<Self> {
        serde_json::from_value(Value::Object(map))
            .map_err(|e| Error::bad_input(format!("invalid violation patch: {e}")))
    }
}

/// How a compliance field both sides changed is settled: the more severe
/// severity or building status wins (a warning is never lost to a stale
/// all-clear), a later stage wins (RESOLVED or DISMISSED over OPEN, a
/// result over PENDING); equal ranks and everything else are conflicts.
pub fn merge_rule(field: &str) -> Rule {
    match field {
        "severity" => Rule::Ranked(severity_rank),
        "status" => Rule::Ranked(status_rank),
        "result" => Rule::Ranked(result_rank),
        _ => Rule::Conflict,
    }
}

fn severity_rank(value: &str) -> Option<u8> {
    ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
        .iter()
        .position(|v| *v == value)
        .map(|p| p as u8)
}

/// A violation's stages, or a building's statuses by severity.
fn status_rank(value: &str) -> Option<u8> {
    match value {
        "OPEN" | "OPERATIONAL" => Some(0),
        "RESOLVED" | "DISMISSED" | "ATTENTION" => Some(1),
        "CRITICAL" => Some(2),
        _ => None,
    }
}

fn result_rank(value: &str) -> Option<u8> {
    match value {
        "PENDING" => Some(0),
        "PASSED" | "FAILED" => Some(1),
        _ => None,
    }
}

/// An inspection's recorded outcome.
#[derive(Debug, Clone)]
pub struct InspectionOutcome {
    /// Which inspection.
    pub id: InspectionId,
    /// PASSED or FAILED.
    pub result: InspectionResult,
    /// Notes replacing the old ones, when given.
    pub notes: Option<String>,
    /// The version the client saw.
    pub expected_version: Option<i32>,
    /// What to do if the server moved on.
    pub strategy: ConflictStrategy,
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
    /// What to do if the server moved on.
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
    (expected_version, strategy): (Option<i32>, ConflictStrategy),
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "change a building's status")?;
    let current = locked_building(db, principal, id).await?;
    let wanted = Map::from_iter([("status".to_owned(), to_value(status)?)]);
    let edit = edit(&wanted, expected_version, strategy);
    let (patch, outcome, merged_fields) = match settle(db, principal, &current, edit).await? {
        Ok(settled) => settled,
        Err(conflict) => return Ok(conflict),
    };
    let mut next = current.clone();
    if let Some(status) = patch.get("status") {
        next.status = from_value(status)?;
    }
    let saved = save(db, principal, &current, next, cmid).await?;
    finish(outcome, &saved, merged_fields, &wanted)
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
    let wanted = update.patch.wanted()?;
    let edit = edit(&wanted, update.expected_version, update.strategy);
    let (patch, outcome, merged_fields) = match settle(db, principal, &current, edit).await? {
        Ok(settled) => settled,
        Err(conflict) => return Ok(conflict),
    };
    let patch = ViolationPatch::from_map(patch)?;
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
    finish(outcome, &saved, merged_fields, &wanted)
}

/// Marks a violation RESOLVED now (administrators); already resolved is a no-op.
pub async fn resolve_violation(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ViolationId,
    (expected_version, strategy): (Option<i32>, ConflictStrategy),
    cmid: Option<&str>,
) -> Result<Written> {
    let update = ViolationUpdate {
        id,
        expected_version,
        patch: ViolationPatch {
            status: Some(ViolationStatus::Resolved),
            ..Default::default()
        },
        strategy,
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
    outcome: InspectionOutcome,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "record inspection results")?;
    if outcome.result == InspectionResult::Pending {
        return Err(Error::bad_input("an inspection result is PASSED or FAILED"));
    }
    if let Some(notes) = &outcome.notes {
        check_text("notes", notes, 0, 10_000)?;
    }
    let select = in_org::<inspection::Entity>(principal)
        .filter(in_scope(db, principal, inspection::Column::BuildingId).await?)
        .filter(inspection::Column::Id.eq(outcome.id));
    let current = locked(db, select)
        .one(db)
        .await?
        .ok_or(Error::NotFound("inspection"))?;
    let mut wanted = Map::from_iter([("result".to_owned(), to_value(outcome.result)?)]);
    if let Some(notes) = &outcome.notes {
        wanted.insert("notes".into(), notes.clone().into());
    }
    let edit = edit(&wanted, outcome.expected_version, outcome.strategy);
    let (patch, result, merged_fields) = match settle(db, principal, &current, edit).await? {
        Ok(settled) => settled,
        Err(conflict) => return Ok(conflict),
    };
    let mut next = current.clone();
    let recorded = patch.get("result").map(from_value).transpose()?;
    if let Some(recorded) = recorded
        && (current.result != recorded || current.completed_at.is_none())
    {
        next.result = recorded;
        next.completed_at = Some(Utc::now());
    }
    if let Some(notes) = patch.get("notes") {
        next.notes = from_value(notes)?;
    }
    let saved = save(db, principal, &current, next, cmid).await?;
    finish(result, &saved, merged_fields, &wanted)
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

fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Internal(e.to_string()))
}

/// The [`Edit`] of a compliance write (no offline queue of its own).
fn edit(
    wanted: &Map<String, Value>,
    expected: Option<i32>,
    strategy: ConflictStrategy,
) -> Edit<'_> {
    Edit {
        expected,
        strategy,
        client: wanted,
        queued: None,
    }
}

/// What to write, or the CONFLICT answer.
type Settled = std::result::Result<(Map<String, Value>, Outcome, Vec<String>), Written>;

/// [`reconcile`] under [`merge_rule`].
async fn settle<R: Versioned>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    current: &R,
    edit: Edit<'_>,
) -> Result<Settled> {
    Ok(
        match reconcile(db, principal, current, edit, merge_rule, |_| None).await? {
            Reconciled::Write {
                patch,
                outcome,
                merged_fields,
            } => Ok((patch, outcome, merged_fields)),
            Reconciled::Conflict(answer) => Err(answer),
        },
    )
}

/// The answer to a compliance write that went through: what a merge
/// settled, and what the client sent that did not survive.
fn finish<R: Versioned>(
    outcome: Outcome,
    saved: &R,
    merged_fields: Vec<String>,
    wanted: &Map<String, Value>,
) -> Result<Written> {
    let mut answer = answer(outcome, saved, None)?;
    answer.merged_fields = merged_fields;
    answer.overridden_fields = overridden(wanted, &answer.snapshot);
    Ok(answer)
}
