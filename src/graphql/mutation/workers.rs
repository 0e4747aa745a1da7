//! A worker's own presence: clock, duty status, location and the sharing
//! switch. Only workers call these, for themselves; none takes an
//! `expectedVersion`, and each takes an optional `clientMutationId` that
//! makes a retry safe.

use async_graphql::{Context, ID, Object};
use entity::enums::WorkerDutyStatus;

use super::execute;
use crate::domain::operations::Operation;
use crate::graphql::objects::write::WriteResult;
use crate::graphql::write_inputs::{
    LocationInput, clock_in_operation, clock_out_operation, report_location_operation,
};

/// Clocking in and out, status and location.
#[derive(Default)]
pub struct WorkerMutation;

#[Object]
impl WorkerMutation {
    /// Clocks you in at one of your buildings and puts you ON_DUTY there.
    /// Refused while you are clocked in. `location` is accepted only while
    /// you share your location. Answers with the new time entry.
    async fn clock_in(
        &self,
        ctx: &Context<'_>,
        building_id: ID,
        location: Option<LocationInput>,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            clock_in_operation(building_id, location),
            client_mutation_id,
        )
        .await
    }

    /// Clocks you out and puts you OFF_DUTY. Refused unless you are clocked
    /// in. `location` is accepted only while you share your location.
    /// Answers with the closed time entry.
    async fn clock_out(
        &self,
        ctx: &Context<'_>,
        location: Option<LocationInput>,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(ctx, Ok(clock_out_operation(location)), client_mutation_id).await
    }

    /// Sets your duty status; your time entries and building stay as they
    /// are. Answers with your worker status.
    async fn set_worker_status(
        &self,
        ctx: &Context<'_>,
        status: WorkerDutyStatus,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            Ok(Operation::SetWorkerStatus(status)),
            client_mutation_id,
        )
        .await
    }

    /// Reports where you are (degrees; `accuracy` in metres). Refused while
    /// location sharing is off. Answers with your worker status.
    async fn report_location(
        &self,
        ctx: &Context<'_>,
        latitude: f64,
        longitude: f64,
        accuracy: Option<f64>,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            Ok(report_location_operation(latitude, longitude, accuracy)),
            client_mutation_id,
        )
        .await
    }

    /// Switches location sharing; switching it off erases your stored
    /// location. Answers with your user.
    async fn set_location_sharing(
        &self,
        ctx: &Context<'_>,
        enabled: bool,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            Ok(Operation::SetLocationSharing(enabled)),
            client_mutation_id,
        )
        .await
    }
}
