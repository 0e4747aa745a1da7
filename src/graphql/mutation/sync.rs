//! Sync mutations: replaying an offline queue and settling conflicts.

use async_graphql::{Context, ID, Json, Object};
use serde_json::Value;

use super::execute;
use crate::domain::writes::{ConflictResolution, Outcome};
use crate::graphql::context::ContextExt;
use crate::graphql::objects::write::{
    OperationError, SyncOperationResult, SyncOperationStatus, WriteResult,
};
use crate::graphql::write_inputs::{SyncOperationInput, resolve_operation};
use crate::sync::batch::{self, BatchItem, BatchOutcome, ClockWindow, Push};

/// Writes for offline sync.
#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Replays queued offline operations in order; each answers in order. A
    /// `clientMutationId` seen before returns its first result and writes
    /// nothing. With `atomic: true` the batch commits whole or not at all
    /// (a conflict or failure rolls everything back).
    async fn sync_push(
        &self,
        ctx: &Context<'_>,
        operations: Vec<SyncOperationInput>,
        #[graphql(desc = "Commit all or nothing (default false).")] atomic: Option<bool>,
        #[graphql(
            desc = "The offline queue these operations come from (a device's outbox; 1 to 128 bytes, stable across pushes). Its own earlier writes, in any earlier push, are part of each operation's base, so a later edit of a field it already changed is not mistaken for a concurrent one. Without it, each push is its own queue."
        )]
        queue_id: Option<String>,
    ) -> async_graphql::Result<Vec<SyncOperationResult>> {
        let atomic = atomic.unwrap_or(false);
        let state = ctx.state()?;
        let items: Vec<BatchItem> = operations
            .into_iter()
            .map(|op| {
                let (client_mutation_id, occurred_at, operation) = op.into_parts();
                BatchItem {
                    client_mutation_id,
                    occurred_at,
                    operation,
                }
            })
            .collect();
        let keys: Vec<String> = items.iter().map(|i| i.client_mutation_id.clone()).collect();
        let push = Push {
            atomic,
            queue: queue_id.as_deref(),
            clock: ClockWindow::of(&state.settings.sync),
        };
        let outcomes = batch::replay(&state.writer, ctx.principal()?, items, push).await?;
        Ok(keys
            .into_iter()
            .zip(outcomes)
            .map(|(client_mutation_id, outcome)| {
                let (status, result, error) = match outcome {
                    BatchOutcome::Done(result) => {
                        let status = match result.outcome {
                            Outcome::Applied => SyncOperationStatus::Applied,
                            Outcome::Merged => SyncOperationStatus::Merged,
                            Outcome::Conflict => SyncOperationStatus::Conflict,
                        };
                        (status, Some(WriteResult(result)), None)
                    }
                    BatchOutcome::Failed(error) => {
                        if error.is_internal() {
                            tracing::error!(%error, "sync operation failed");
                        }
                        let error = OperationError {
                            code: error.code().into(),
                            message: error.public_message(),
                        };
                        (SyncOperationStatus::Failed, None, Some(error))
                    }
                    BatchOutcome::RolledBack => (SyncOperationStatus::RolledBack, None, None),
                };
                SyncOperationResult {
                    client_mutation_id,
                    status,
                    result,
                    error,
                }
            })
            .collect())
    }

    /// Settles one of your recorded conflicts: KEEP_SERVER, TAKE_MINE, or
    /// MERGED with a hand-merged `patch` (camelCase fields).
    async fn resolve_sync_conflict(
        &self,
        ctx: &Context<'_>,
        id: ID,
        resolution: ConflictResolution,
        patch: Option<Json<Value>>,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            resolve_operation(id, resolution, patch),
            client_mutation_id,
        )
        .await
    }
}
