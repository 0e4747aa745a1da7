//! Inputs of writes and sync operations, parsed into domain operations:
//! one module per area, and [`SyncOperationInput`], the queued operation of
//! `syncPush` that carries exactly one of them.

pub mod admin;
pub mod compliance;
pub mod tasks;
pub mod workers;

pub use admin::*;
pub use compliance::*;
pub use tasks::*;
pub use workers::*;

use async_graphql::{InputObject, MaybeUndefined};

use crate::domain::operations::Operation;
use crate::error::{Error, Result};
use crate::graphql::inputs::parse_id;

/// One queued offline operation: its idempotency key and exactly one operation.
#[derive(InputObject)]
pub struct SyncOperationInput {
    /// Unique per user; a replay of the same id returns the first result.
    pub client_mutation_id: String,
    /// When the operation happened on the device (it may have waited
    /// offline). Clocking in and out, and starting or completing a task,
    /// are stamped with it; a time up to `sync.clock_skew_secs` ahead of
    /// the server counts as now, further ahead or more than
    /// `sync.offline_window_hours` back is BAD_USER_INPUT. Without it, the
    /// time the server replays it.
    pub occurred_at: Option<chrono::DateTime<chrono::Utc>>,
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
    /// The key, when it happened, and the operation (or why it cannot be read).
    pub fn into_parts(
        self,
    ) -> (
        String,
        Option<chrono::DateTime<chrono::Utc>>,
        Result<Operation>,
    ) {
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
        (self.client_mutation_id, self.occurred_at, operation)
    }
}

/// `MaybeUndefined` as a patch field: absent, cleared or set.
fn maybe<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}
