//! Building and compliance inputs: violations, inspections, alerts.

use async_graphql::{ID, InputObject, MaybeUndefined};
use chrono::{DateTime, Utc};
use entity::enums::{
    AlertSeverity, BuildingStatus, InspectionResult, ViolationSeverity, ViolationStatus,
};

use super::maybe;
use crate::domain::compliance_writes::{
    InspectionOutcome, NewAlert, NewInspection, NewViolation, ViolationPatch, ViolationUpdate,
};
use crate::domain::operations::Operation;
use crate::domain::writes::ConflictStrategy;
use crate::error::Result;
use crate::graphql::inputs::parse_id;

/// A building code violation to record.
#[derive(InputObject)]
pub struct CreateViolationInput {
    /// The building it was issued against.
    pub building_id: ID,
    /// Who issued it, e.g. "DOB" (1–64 characters).
    pub source: String,
    /// The issuer's violation code (1–64 characters).
    pub code: String,
    /// What is wrong (1–5,000 characters).
    pub description: String,
    /// How serious it is.
    pub severity: ViolationSeverity,
    /// When it was issued; now when omitted.
    pub issued_at: Option<DateTime<Utc>>,
    /// When it must be cured by.
    pub due_at: Option<DateTime<Utc>>,
    /// Penalty in cents (0 or more).
    pub penalty_cents: Option<i64>,
}

impl CreateViolationInput {
    /// The domain form.
    pub fn into_new_violation(self) -> Result<NewViolation> {
        Ok(NewViolation {
            building_id: parse_id(&self.building_id, "building")?,
            source: self.source,
            code: self.code,
            description: self.description,
            severity: self.severity,
            issued_at: self.issued_at,
            due_at: self.due_at,
            penalty_cents: self.penalty_cents,
        })
    }
}

/// Fields to change on a violation; omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct ViolationPatchInput {
    /// New description (1–5,000 characters).
    pub description: Option<String>,
    /// New severity.
    pub severity: Option<ViolationSeverity>,
    /// New status; RESOLVED stamps `resolvedAt`, any other clears it.
    pub status: Option<ViolationStatus>,
    /// New cure-by time; `null` clears it.
    pub due_at: MaybeUndefined<DateTime<Utc>>,
    /// New penalty in cents (0 or more); `null` clears it.
    pub penalty_cents: MaybeUndefined<i64>,
}

impl ViolationPatchInput {
    /// The domain form.
    pub fn into_patch(self) -> ViolationPatch {
        ViolationPatch {
            description: self.description,
            severity: self.severity,
            status: self.status,
            due_at: maybe(self.due_at),
            penalty_cents: maybe(self.penalty_cents),
        }
    }
}

/// An inspection to schedule.
#[derive(InputObject)]
pub struct ScheduleInspectionInput {
    /// The building to inspect.
    pub building_id: ID,
    /// What is inspected, e.g. "boiler" (1–100 characters).
    pub kind: String,
    /// When.
    pub scheduled_for: DateTime<Utc>,
    /// Who inspects, if known (1–200 characters).
    pub inspector: Option<String>,
}

impl ScheduleInspectionInput {
    /// The domain form.
    pub fn into_new_inspection(self) -> Result<NewInspection> {
        Ok(NewInspection {
            building_id: parse_id(&self.building_id, "building")?,
            kind: self.kind,
            scheduled_for: self.scheduled_for,
            inspector: self.inspector,
        })
    }
}

/// A compliance alert to raise.
#[derive(InputObject)]
pub struct RaiseComplianceAlertInput {
    /// The building concerned.
    pub building_id: ID,
    /// How serious it is.
    pub severity: AlertSeverity,
    /// What it says (1–2,000 characters).
    pub message: String,
}

impl RaiseComplianceAlertInput {
    /// The domain form.
    pub fn into_new_alert(self) -> Result<NewAlert> {
        Ok(NewAlert {
            building_id: parse_id(&self.building_id, "building")?,
            severity: self.severity,
            message: self.message,
        })
    }
}

/// `setBuildingStatus` inside a sync batch.
#[derive(InputObject)]
pub struct SetBuildingStatusOperation {
    /// Which building.
    pub id: ID,
    /// The new status.
    pub status: BuildingStatus,
    /// The version you saw.
    pub expected_version: Option<i32>,
    /// What to do if the server moved on (see `updateTask`).
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `updateViolation` inside a sync batch.
#[derive(InputObject)]
pub struct UpdateViolationOperation {
    /// Which violation.
    pub id: ID,
    /// The version you edited; omit to edit whatever is current.
    pub expected_version: Option<i32>,
    /// What to change.
    pub patch: ViolationPatchInput,
    /// What to do if the server moved on (see `updateTask`).
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `resolveViolation` inside a sync batch.
#[derive(InputObject)]
pub struct ResolveViolationOperation {
    /// Which violation.
    pub id: ID,
    /// The version you saw.
    pub expected_version: Option<i32>,
    /// What to do if the server moved on (see `updateTask`).
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `recordInspectionResult` inside a sync batch.
#[derive(InputObject)]
pub struct RecordInspectionResultOperation {
    /// Which inspection.
    pub id: ID,
    /// PASSED or FAILED.
    pub result: InspectionResult,
    /// Notes, replacing the old ones.
    pub notes: Option<String>,
    /// The version you saw.
    pub expected_version: Option<i32>,
    /// What to do if the server moved on (see `updateTask`).
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `acknowledgeAlert` inside a sync batch.
#[derive(InputObject)]
pub struct AcknowledgeAlertOperation {
    /// Which alert.
    pub id: ID,
}

/// The compliance operations of a sync batch. Flattened into
/// [`SyncOperationInput`]: its fields are fields of that input.
#[derive(InputObject, Default)]
pub struct ComplianceSyncOperations {
    /// Set a building's status.
    pub set_building_status: Option<SetBuildingStatusOperation>,
    /// Record a violation.
    pub create_violation: Option<CreateViolationInput>,
    /// Change a violation.
    pub update_violation: Option<UpdateViolationOperation>,
    /// Mark a violation resolved.
    pub resolve_violation: Option<ResolveViolationOperation>,
    /// Schedule an inspection.
    pub schedule_inspection: Option<ScheduleInspectionInput>,
    /// Record an inspection's result.
    pub record_inspection_result: Option<RecordInspectionResultOperation>,
    /// Raise a compliance alert.
    pub raise_compliance_alert: Option<RaiseComplianceAlertInput>,
    /// Acknowledge a compliance alert.
    pub acknowledge_alert: Option<AcknowledgeAlertOperation>,
}

impl ComplianceSyncOperations {
    /// How many operation fields are set.
    pub fn count(&self) -> usize {
        [
            self.set_building_status.is_some(),
            self.create_violation.is_some(),
            self.update_violation.is_some(),
            self.resolve_violation.is_some(),
            self.schedule_inspection.is_some(),
            self.record_inspection_result.is_some(),
            self.raise_compliance_alert.is_some(),
            self.acknowledge_alert.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }

    /// The first operation set, if any.
    pub fn into_operation(self) -> Option<Result<Operation>> {
        Some(if let Some(op) = self.set_building_status {
            set_building_status_operation(op.id, op.status, op.expected_version, op.on_conflict)
        } else if let Some(input) = self.create_violation {
            input.into_new_violation().map(Operation::CreateViolation)
        } else if let Some(op) = self.update_violation {
            update_violation_operation(op.id, op.expected_version, op.patch, op.on_conflict)
        } else if let Some(op) = self.resolve_violation {
            resolve_violation_operation(op.id, op.expected_version, op.on_conflict)
        } else if let Some(input) = self.schedule_inspection {
            input
                .into_new_inspection()
                .map(Operation::ScheduleInspection)
        } else if let Some(op) = self.record_inspection_result {
            record_inspection_result_operation(
                op.id,
                op.result,
                op.notes,
                (op.expected_version, op.on_conflict),
            )
        } else if let Some(input) = self.raise_compliance_alert {
            input.into_new_alert().map(Operation::RaiseComplianceAlert)
        } else if let Some(op) = self.acknowledge_alert {
            acknowledge_alert_operation(op.id)
        } else {
            return None;
        })
    }
}

/// A `SetBuildingStatus` operation from its parts.
pub fn set_building_status_operation(
    id: ID,
    status: BuildingStatus,
    expected_version: Option<i32>,
    strategy: ConflictStrategy,
) -> Result<Operation> {
    Ok(Operation::SetBuildingStatus {
        id: parse_id(&id, "building")?,
        status,
        expected_version,
        strategy,
    })
}

/// An `UpdateViolation` operation from its parts.
pub fn update_violation_operation(
    id: ID,
    expected_version: Option<i32>,
    patch: ViolationPatchInput,
    strategy: ConflictStrategy,
) -> Result<Operation> {
    Ok(Operation::UpdateViolation(ViolationUpdate {
        id: parse_id(&id, "violation")?,
        expected_version,
        patch: patch.into_patch(),
        strategy,
    }))
}

/// A `ResolveViolation` operation from its parts.
pub fn resolve_violation_operation(
    id: ID,
    expected_version: Option<i32>,
    strategy: ConflictStrategy,
) -> Result<Operation> {
    Ok(Operation::ResolveViolation {
        id: parse_id(&id, "violation")?,
        expected_version,
        strategy,
    })
}

/// A `RecordInspectionResult` operation from its parts.
pub fn record_inspection_result_operation(
    id: ID,
    result: InspectionResult,
    notes: Option<String>,
    (expected_version, strategy): (Option<i32>, ConflictStrategy),
) -> Result<Operation> {
    Ok(Operation::RecordInspectionResult(InspectionOutcome {
        id: parse_id(&id, "inspection")?,
        result,
        notes,
        expected_version,
        strategy,
    }))
}

/// An `AcknowledgeAlert` operation from its parts.
pub fn acknowledge_alert_operation(id: ID) -> Result<Operation> {
    Ok(Operation::AcknowledgeAlert {
        id: parse_id(&id, "compliance alert")?,
    })
}
