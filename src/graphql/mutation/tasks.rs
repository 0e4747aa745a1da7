//! Task mutations. Each takes the `expectedVersion` the client edited (omit
//! it to act on whatever is current), an `onConflict` strategy and an
//! optional `clientMutationId` that makes a retry safe.

use async_graphql::{Context, ID, MaybeUndefined, Object};
use entity::enums::TaskStatus;

use super::execute;
use crate::domain::operations::Operation;
use crate::domain::writes::ConflictStrategy;
use crate::graphql::inputs::parse_id;
use crate::graphql::objects::write::WriteResult;
use crate::graphql::write_inputs::{CreateTaskInput, TaskPatchInput, update_operation};

/// Creating and changing tasks.
#[derive(Default)]
pub struct TaskMutation;

/// A patch that only sets the status.
fn status(status: TaskStatus) -> TaskPatchInput {
    TaskPatchInput {
        status: Some(status),
        ..Default::default()
    }
}

/// Runs an `UpdateTask` operation: every shortcut below is a patch.
async fn change(
    ctx: &Context<'_>,
    id: ID,
    patch: TaskPatchInput,
    expected_version: Option<i32>,
    on_conflict: ConflictStrategy,
    client_mutation_id: Option<String>,
) -> async_graphql::Result<WriteResult> {
    let operation = update_operation(id, expected_version, patch, on_conflict);
    execute(ctx, operation, client_mutation_id).await
}

#[Object]
impl TaskMutation {
    /// Creates a task: administrators anywhere, clients a service request
    /// (PENDING) on their buildings. Idempotent when you supply the id.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        input: CreateTaskInput,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            input.into_new_task().map(Operation::CreateTask),
            client_mutation_id,
        )
        .await
    }

    /// Changes any fields of a task (administrators; workers only status and
    /// progress of their own tasks).
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        patch: TaskPatchInput,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Assigns a task to a worker of its building; `null` unassigns.
    async fn assign_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        assignee_id: Option<ID>,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let assignee_id = match assignee_id {
            Some(id) => MaybeUndefined::Value(id),
            None => MaybeUndefined::Null,
        };
        let patch = TaskPatchInput {
            assignee_id,
            ..Default::default()
        };
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Moves a task to IN_PROGRESS (stamps `startedAt`).
    async fn start_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let patch = status(TaskStatus::InProgress);
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Sets a task's progress (0–100).
    async fn update_task_progress(
        &self,
        ctx: &Context<'_>,
        id: ID,
        progress: i32,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let patch = TaskPatchInput {
            progress: Some(progress),
            ..Default::default()
        };
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Completes a task (stamps `completedAt`, progress 100).
    async fn complete_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let patch = status(TaskStatus::Completed);
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Marks a task BLOCKED.
    async fn block_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let patch = status(TaskStatus::Blocked);
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Cancels a task.
    async fn cancel_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        #[graphql(default)] on_conflict: ConflictStrategy,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let patch = status(TaskStatus::Cancelled);
        change(
            ctx,
            id,
            patch,
            expected_version,
            on_conflict,
            client_mutation_id,
        )
        .await
    }

    /// Deletes a task (administrators). A different `expectedVersion` answers CONFLICT.
    async fn delete_task(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i32>,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let operation = parse_id(&id, "task").map(|id| Operation::DeleteTask {
            id,
            expected_version,
        });
        execute(ctx, operation, client_mutation_id).await
    }
}
