//! Building status and compliance mutations. Administrators make them all;
//! clients may acknowledge the alerts of their linked buildings. Each takes
//! an optional `clientMutationId` that makes a retry safe; those that take an
//! `expectedVersion` settle a stale one by `onConflict`, as task writes do
//! (MERGE by default: see README "Versions, conflicts and offline sync").

use async_graphql::{Context, ID, Object};
use entity::enums::{BuildingStatus, InspectionResult};

use super::execute;
use crate::domain::operations::Operation;
use crate::domain::writes::ConflictStrategy;
use crate::graphql::objects::write::WriteResult;
use crate::graphql::write_inputs::{
    CreateViolationInput, RaiseComplianceAlertInput, ScheduleInspectionInput, ViolationPatchInput,
    acknowledge_alert_operation, record_inspection_result_operation, resolve_violation_operation,
    set_building_status_operation, update_violation_operation,
};

/// Changing buildings' status and compliance records.
#[derive(Default)]
pub struct ComplianceMutation;

#[Object]
impl ComplianceMutation {
    /// Sets a building's overall status (administrators).
    async fn set_building_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: BuildingStatus,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            set_building_status_operation(id, status, expected_version, on_conflict),
            client_mutation_id,
        )
        .await
    }

    /// Records an OPEN violation against a building (administrators).
    async fn create_violation(
        &self,
        ctx: &Context<'_>,
        input: CreateViolationInput,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            input.into_new_violation().map(Operation::CreateViolation),
            client_mutation_id,
        )
        .await
    }

    /// Changes a violation (administrators).
    async fn update_violation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        patch: ViolationPatchInput,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            update_violation_operation(id, expected_version, patch, on_conflict),
            client_mutation_id,
        )
        .await
    }

    /// Marks a violation RESOLVED and stamps `resolvedAt` (administrators).
    async fn resolve_violation(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            resolve_violation_operation(id, expected_version, on_conflict),
            client_mutation_id,
        )
        .await
    }

    /// Schedules a PENDING inspection of a building (administrators).
    async fn schedule_inspection(
        &self,
        ctx: &Context<'_>,
        input: ScheduleInspectionInput,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            input
                .into_new_inspection()
                .map(Operation::ScheduleInspection),
            client_mutation_id,
        )
        .await
    }

    /// Records an inspection's result, PASSED or FAILED, and stamps
    /// `completedAt` (administrators). Given `notes` replace the old ones.
    // Each argument is one of the mutation's arguments in the schema.
    #[allow(clippy::too_many_arguments)]
    async fn record_inspection_result(
        &self,
        ctx: &Context<'_>,
        id: ID,
        result: InspectionResult,
        notes: Option<String>,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            record_inspection_result_operation(id, result, notes, (expected_version, on_conflict)),
            client_mutation_id,
        )
        .await
    }

    /// Raises a compliance alert about a building (administrators).
    async fn raise_compliance_alert(
        &self,
        ctx: &Context<'_>,
        input: RaiseComplianceAlertInput,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            input.into_new_alert().map(Operation::RaiseComplianceAlert),
            client_mutation_id,
        )
        .await
    }

    /// Acknowledges a compliance alert (administrators; clients for their
    /// linked buildings). An alert is acknowledged once.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        id: ID,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(ctx, acknowledge_alert_operation(id), client_mutation_id).await
    }
}
