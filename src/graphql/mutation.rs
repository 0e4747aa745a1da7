//! The mutation root, merged from one object per area. Every entity write
//! goes through [`execute`], and so through the write path of
//! `domain::operations`, so single mutations and `syncPush` batches behave
//! the same.

pub mod admin;
pub mod compliance;
pub mod devices;
pub mod history;
pub mod session;
pub mod sync;
pub mod tasks;
pub mod workers;

use async_graphql::{Context, MergedObject};

use super::context::ContextExt;
use super::objects::write::WriteResult;
use crate::domain::operations::Operation;
use crate::error::Result;

/// Every write the API offers.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    devices::DeviceMutation,
    admin::AdminMutation,
    compliance::ComplianceMutation,
    history::HistoryMutation,
    session::SessionMutation,
    tasks::TaskMutation,
    sync::SyncMutation,
    workers::WorkerMutation,
);

/// Runs one operation for the caller in its own transaction.
pub async fn execute(
    ctx: &Context<'_>,
    operation: Result<Operation>,
    client_mutation_id: Option<String>,
) -> async_graphql::Result<WriteResult> {
    let state = ctx.state()?;
    let principal = ctx.principal()?;
    let result = state
        .writer
        .execute(principal, operation?, client_mutation_id.as_deref(), None)
        .await?;
    Ok(WriteResult(result))
}
