//! Inputs of writes and sync operations, parsed into domain operations.

use async_graphql::{ID, InputObject, Json, MaybeUndefined};
use chrono::{DateTime, Utc};
use entity::enums::{
    AlertSeverity, BuildingStatus, InspectionResult, Role, ViolationSeverity, ViolationStatus,
};
use entity::enums::{TaskPriority, TaskStatus, WorkerDutyStatus};
use serde_json::Value;

use super::inputs::parse_id;
use super::json::snake_keys;
use crate::domain::compliance_writes::{
    NewAlert, NewInspection, NewViolation, ViolationPatch, ViolationUpdate,
};
use crate::domain::task_rules::TaskPatch;
use crate::domain::task_writes::{NewTask, TaskUpdate};
use crate::domain::users::NewUser;
use crate::domain::worker_writes::GeoPoint;
use crate::domain::writes::{ConflictResolution, ConflictStrategy};
use crate::error::{Error, Result};
use crate::sync::operations::Operation;

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// Your own id for it (UUID), so a create replayed from an offline queue is idempotent.
    pub id: Option<ID>,
    /// The building the work is in.
    pub building_id: ID,
    /// Short summary (1–200 characters).
    pub title: String,
    /// Details.
    #[graphql(default)]
    pub description: String,
    /// Trade or kind.
    #[graphql(default)]
    pub category: String,
    /// How urgent.
    #[graphql(default_with = "TaskPriority::Normal")]
    pub priority: TaskPriority,
    /// Who does it (administrators only); makes the task ASSIGNED.
    pub assignee_id: Option<ID>,
    /// When it is due.
    pub due_at: Option<DateTime<Utc>>,
}

impl CreateTaskInput {
    /// The domain form.
    pub fn into_new_task(self) -> Result<NewTask> {
        Ok(NewTask {
            id: self
                .id
                .as_ref()
                .map(|id| parse_id(id, "task"))
                .transpose()?,
            building_id: parse_id(&self.building_id, "building")?,
            title: self.title,
            description: self.description,
            category: self.category,
            priority: self.priority,
            assignee_id: self
                .assignee_id
                .as_ref()
                .map(|id| parse_id(id, "user"))
                .transpose()?,
            due_at: self.due_at,
        })
    }
}

/// Fields to change on a task; omitted fields stay as they are.
#[derive(InputObject, Default)]
pub struct TaskPatchInput {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New priority.
    pub priority: Option<TaskPriority>,
    /// New status (the status machine applies).
    pub status: Option<TaskStatus>,
    /// New assignee; `null` unassigns.
    pub assignee_id: MaybeUndefined<ID>,
    /// New progress, 0–100.
    pub progress: Option<i32>,
    /// New due time; `null` clears it.
    pub due_at: MaybeUndefined<DateTime<Utc>>,
}

impl TaskPatchInput {
    /// The domain form.
    pub fn into_patch(self) -> Result<TaskPatch> {
        let assignee_id = match self.assignee_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(id) => Some(Some(parse_id(&id, "user")?)),
        };
        Ok(TaskPatch {
            title: self.title,
            description: self.description,
            category: self.category,
            priority: self.priority,
            status: self.status,
            assignee_id,
            progress: self.progress,
            due_at: match self.due_at {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(at) => Some(Some(at)),
            },
        })
    }
}

/// `updateTask` inside a sync batch.
#[derive(InputObject)]
pub struct UpdateTaskOperation {
    /// Which task.
    pub id: ID,
    /// The version you edited; omit to edit whatever is current.
    pub expected_version: Option<i32>,
    /// What to change.
    pub patch: TaskPatchInput,
    /// What to do if the server moved on.
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `deleteTask` inside a sync batch.
#[derive(InputObject)]
pub struct DeleteTaskOperation {
    /// Which task.
    pub id: ID,
    /// The version you saw; a different one answers CONFLICT.
    pub expected_version: Option<i32>,
}

/// `resolveSyncConflict` inside a sync batch.
#[derive(InputObject)]
pub struct ResolveConflictOperation {
    /// Which conflict.
    pub id: ID,
    /// How to settle it.
    pub resolution: ConflictResolution,
    /// For MERGED: the fields to write (camelCase names).
    pub patch: Option<Json<Value>>,
}

/// A position from the worker's phone.
#[derive(InputObject, Clone, Copy)]
pub struct LocationInput {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
    /// Radius of uncertainty in metres (≥ 0), when known.
    pub accuracy_meters: Option<f64>,
}

impl LocationInput {
    /// The domain form (checked by the domain).
    pub fn into_point(self) -> GeoPoint {
        GeoPoint {
            latitude: self.latitude,
            longitude: self.longitude,
            accuracy_m: self.accuracy_meters,
        }
    }
}

/// `clockIn` inside a sync batch.
#[derive(InputObject)]
pub struct ClockInOperation {
    /// The building (one you are assigned to).
    pub building_id: ID,
    /// Where you are; only accepted while you share your location.
    pub location: Option<LocationInput>,
}

/// `clockOut` inside a sync batch.
#[derive(InputObject)]
pub struct ClockOutOperation {
    /// Where you are; only accepted while you share your location.
    pub location: Option<LocationInput>,
}

/// `setWorkerStatus` inside a sync batch.
#[derive(InputObject)]
pub struct SetWorkerStatusOperation {
    /// The new duty status.
    pub status: WorkerDutyStatus,
}

/// `reportLocation` inside a sync batch.
#[derive(InputObject)]
pub struct ReportLocationOperation {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
    /// Radius of uncertainty in metres (≥ 0), when known.
    pub accuracy: Option<f64>,
}

/// `setLocationSharing` inside a sync batch.
#[derive(InputObject)]
pub struct SetLocationSharingOperation {
    /// Share your location from now on, or stop (which erases the stored one).
    pub enabled: bool,
}

/// One queued offline operation: its idempotency key and exactly one operation.
#[derive(InputObject)]
pub struct SyncOperationInput {
    /// Unique per user; a replay of the same id returns the first result.
    pub client_mutation_id: String,
    /// Create a task.
    pub create_task: Option<CreateTaskInput>,
    /// Change a task.
    pub update_task: Option<UpdateTaskOperation>,
    /// Delete a task.
    pub delete_task: Option<DeleteTaskOperation>,
    /// Settle a recorded conflict.
    pub resolve_conflict: Option<ResolveConflictOperation>,
    /// Clock in.
    pub clock_in: Option<ClockInOperation>,
    /// Clock out.
    pub clock_out: Option<ClockOutOperation>,
    /// Set your duty status.
    pub set_worker_status: Option<SetWorkerStatusOperation>,
    /// Report your location.
    pub report_location: Option<ReportLocationOperation>,
    /// Switch location sharing.
    pub set_location_sharing: Option<SetLocationSharingOperation>,
    /// Building status and compliance operations (their fields appear here).
    #[graphql(flatten)]
    pub compliance: ComplianceSyncOperations,
    /// User and membership administration (their fields appear here).
    #[graphql(flatten)]
    pub admin: AdminSyncOperations,
}

impl SyncOperationInput {
    /// The key and the operation (or why it cannot be read).
    pub fn into_parts(self) -> (String, Result<Operation>) {
        let ops = [
            self.create_task.is_some(),
            self.update_task.is_some(),
            self.delete_task.is_some(),
            self.resolve_conflict.is_some(),
            self.clock_in.is_some(),
            self.clock_out.is_some(),
            self.set_worker_status.is_some(),
            self.report_location.is_some(),
            self.set_location_sharing.is_some(),
        ];
        let set =
            ops.iter().filter(|set| **set).count() + self.compliance.count() + self.admin.count();
        let operation = if set != 1 {
            Err(Error::bad_input(
                "an operation sets exactly one of its operation fields",
            ))
        } else if let Some(create) = self.create_task {
            create.into_new_task().map(Operation::CreateTask)
        } else if let Some(update) = self.update_task {
            update_operation(
                update.id,
                update.expected_version,
                update.patch,
                update.on_conflict,
            )
        } else if let Some(delete) = self.delete_task {
            parse_id(&delete.id, "task").map(|id| Operation::DeleteTask {
                id,
                expected_version: delete.expected_version,
            })
        } else if let Some(resolve) = self.resolve_conflict {
            resolve_operation(resolve.id, resolve.resolution, resolve.patch)
        } else if let Some(clock_in) = self.clock_in {
            clock_in_operation(clock_in.building_id, clock_in.location)
        } else if let Some(clock_out) = self.clock_out {
            Ok(clock_out_operation(clock_out.location))
        } else if let Some(set) = self.set_worker_status {
            Ok(Operation::SetWorkerStatus(set.status))
        } else if let Some(report) = self.report_location {
            Ok(report_location_operation(
                report.latitude,
                report.longitude,
                report.accuracy,
            ))
        } else if let Some(set) = self.set_location_sharing {
            Ok(Operation::SetLocationSharing(set.enabled))
        } else if let Some(operation) = self.compliance.into_operation() {
            operation
        } else if let Some(operation) = self.admin.into_operation() {
            operation
        } else {
            Err(Error::bad_input("empty operation"))
        };
        (self.client_mutation_id, operation)
    }
}

/// An `UpdateTask` operation from its parts.
pub fn update_operation(
    id: ID,
    expected_version: Option<i32>,
    patch: TaskPatchInput,
    strategy: ConflictStrategy,
) -> Result<Operation> {
    Ok(Operation::UpdateTask(TaskUpdate::new(
        parse_id(&id, "task")?,
        expected_version,
        patch.into_patch()?,
        strategy,
    )))
}

/// A `ResolveConflict` operation from its parts.
pub fn resolve_operation(
    id: ID,
    resolution: ConflictResolution,
    patch: Option<Json<Value>>,
) -> Result<Operation> {
    let patch = match patch.map(|p| p.0) {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(snake_keys(map)),
        Some(_) => return Err(Error::bad_input("patch must be an object")),
    };
    Ok(Operation::ResolveConflict {
        id: parse_id(&id, "sync conflict")?,
        resolution,
        patch,
    })
}

/// A `ClockIn` operation from its parts.
pub fn clock_in_operation(building_id: ID, location: Option<LocationInput>) -> Result<Operation> {
    Ok(Operation::ClockIn {
        building_id: parse_id(&building_id, "building")?,
        location: location.map(LocationInput::into_point),
    })
}

/// A `ClockOut` operation from its parts.
pub fn clock_out_operation(location: Option<LocationInput>) -> Operation {
    Operation::ClockOut {
        location: location.map(LocationInput::into_point),
    }
}

/// A `ReportLocation` operation from its parts.
pub fn report_location_operation(
    latitude: f64,
    longitude: f64,
    accuracy: Option<f64>,
) -> Operation {
    Operation::ReportLocation(GeoPoint {
        latitude,
        longitude,
        accuracy_m: accuracy,
    })
}

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

/// A user to create.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Sign-in address, unique across organisations.
    pub email: String,
    /// Display name (1–200 characters).
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Password for built-in sign-in (4 characters or more); omit for
    /// users who sign in through an identity provider.
    #[graphql(secret)]
    pub password: Option<String>,
    /// IANA time zone, e.g. "Europe/Paris"; UTC when omitted.
    pub time_zone: Option<String>,
}

impl CreateUserInput {
    /// The domain form.
    pub fn into_new_user(self) -> NewUser {
        NewUser {
            email: self.email,
            name: self.name,
            role: self.role,
            password: self.password,
            time_zone: self.time_zone.unwrap_or_else(|| "UTC".to_owned()),
        }
    }
}

/// `setBuildingStatus` inside a sync batch.
#[derive(InputObject)]
pub struct SetBuildingStatusOperation {
    /// Which building.
    pub id: ID,
    /// The new status.
    pub status: BuildingStatus,
    /// The version you saw; a stale one answers CONFLICT.
    pub expected_version: Option<i32>,
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
    /// LAST_WRITE_WINS writes over a newer version; otherwise a stale one answers CONFLICT.
    #[graphql(default)]
    pub on_conflict: ConflictStrategy,
}

/// `resolveViolation` inside a sync batch.
#[derive(InputObject)]
pub struct ResolveViolationOperation {
    /// Which violation.
    pub id: ID,
    /// The version you saw; a stale one answers CONFLICT.
    pub expected_version: Option<i32>,
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
    /// The version you saw; a stale one answers CONFLICT.
    pub expected_version: Option<i32>,
}

/// `acknowledgeAlert` inside a sync batch.
#[derive(InputObject)]
pub struct AcknowledgeAlertOperation {
    /// Which alert.
    pub id: ID,
}

/// `deactivateUser` inside a sync batch.
#[derive(InputObject)]
pub struct DeactivateUserOperation {
    /// Which user.
    pub id: ID,
}

/// `assignWorkerToBuilding` inside a sync batch.
#[derive(InputObject)]
pub struct AssignWorkerOperation {
    /// The worker.
    pub worker_id: ID,
    /// The building.
    pub building_id: ID,
    /// Assign (true) or remove the assignment (false).
    #[graphql(default = true)]
    pub assigned: bool,
}

/// `linkClientToBuilding` inside a sync batch.
#[derive(InputObject)]
pub struct LinkClientOperation {
    /// The client.
    pub client_id: ID,
    /// The building.
    pub building_id: ID,
    /// Link (true) or remove the link (false).
    #[graphql(default = true)]
    pub linked: bool,
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
            set_building_status_operation(op.id, op.status, op.expected_version)
        } else if let Some(input) = self.create_violation {
            input.into_new_violation().map(Operation::CreateViolation)
        } else if let Some(op) = self.update_violation {
            update_violation_operation(op.id, op.expected_version, op.patch, op.on_conflict)
        } else if let Some(op) = self.resolve_violation {
            resolve_violation_operation(op.id, op.expected_version)
        } else if let Some(input) = self.schedule_inspection {
            input
                .into_new_inspection()
                .map(Operation::ScheduleInspection)
        } else if let Some(op) = self.record_inspection_result {
            record_inspection_result_operation(op.id, op.result, op.notes, op.expected_version)
        } else if let Some(input) = self.raise_compliance_alert {
            input.into_new_alert().map(Operation::RaiseComplianceAlert)
        } else if let Some(op) = self.acknowledge_alert {
            acknowledge_alert_operation(op.id)
        } else {
            return None;
        })
    }
}

/// The administration operations of a sync batch. Flattened into
/// [`SyncOperationInput`]: its fields are fields of that input.
#[derive(InputObject, Default)]
pub struct AdminSyncOperations {
    /// Create a user.
    pub create_user: Option<CreateUserInput>,
    /// Deactivate a user.
    pub deactivate_user: Option<DeactivateUserOperation>,
    /// Assign a worker to a building, or unassign.
    pub assign_worker_to_building: Option<AssignWorkerOperation>,
    /// Link a client to a building, or unlink.
    pub link_client_to_building: Option<LinkClientOperation>,
}

impl AdminSyncOperations {
    /// How many operation fields are set.
    pub fn count(&self) -> usize {
        [
            self.create_user.is_some(),
            self.deactivate_user.is_some(),
            self.assign_worker_to_building.is_some(),
            self.link_client_to_building.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }

    /// The first operation set, if any.
    pub fn into_operation(self) -> Option<Result<Operation>> {
        Some(if let Some(input) = self.create_user {
            Ok(Operation::CreateUser(input.into_new_user()))
        } else if let Some(op) = self.deactivate_user {
            deactivate_user_operation(op.id)
        } else if let Some(op) = self.assign_worker_to_building {
            assign_worker_operation(op.worker_id, op.building_id, op.assigned)
        } else if let Some(op) = self.link_client_to_building {
            link_client_operation(op.client_id, op.building_id, op.linked)
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
) -> Result<Operation> {
    Ok(Operation::SetBuildingStatus {
        id: parse_id(&id, "building")?,
        status,
        expected_version,
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
pub fn resolve_violation_operation(id: ID, expected_version: Option<i32>) -> Result<Operation> {
    Ok(Operation::ResolveViolation {
        id: parse_id(&id, "violation")?,
        expected_version,
    })
}

/// A `RecordInspectionResult` operation from its parts.
pub fn record_inspection_result_operation(
    id: ID,
    result: InspectionResult,
    notes: Option<String>,
    expected_version: Option<i32>,
) -> Result<Operation> {
    Ok(Operation::RecordInspectionResult {
        id: parse_id(&id, "inspection")?,
        result,
        notes,
        expected_version,
    })
}

/// An `AcknowledgeAlert` operation from its parts.
pub fn acknowledge_alert_operation(id: ID) -> Result<Operation> {
    Ok(Operation::AcknowledgeAlert {
        id: parse_id(&id, "compliance alert")?,
    })
}

/// A `DeactivateUser` operation from its parts.
pub fn deactivate_user_operation(id: ID) -> Result<Operation> {
    Ok(Operation::DeactivateUser {
        id: parse_id(&id, "user")?,
    })
}

/// An `AssignWorker` operation from its parts.
pub fn assign_worker_operation(
    worker_id: ID,
    building_id: ID,
    assigned: bool,
) -> Result<Operation> {
    Ok(Operation::AssignWorker {
        worker_id: parse_id(&worker_id, "user")?,
        building_id: parse_id(&building_id, "building")?,
        assigned,
    })
}

/// A `LinkClient` operation from its parts.
pub fn link_client_operation(client_id: ID, building_id: ID, linked: bool) -> Result<Operation> {
    Ok(Operation::LinkClient {
        client_id: parse_id(&client_id, "user")?,
        building_id: parse_id(&building_id, "building")?,
        linked,
    })
}

/// `MaybeUndefined` as a patch field: absent, cleared or set.
fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
