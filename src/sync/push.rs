//! `syncPush`: a batch of queued offline operations, replayed in order.
//! Each operation commits on its own unless the batch is atomic, in which
//! case the first failure or conflict rolls every operation back.

use sea_orm::DatabaseConnection;

use super::operations::{self, Operation};
use crate::auth::Principal;
use crate::db;
use crate::domain::writes::{Outcome, WriteResult};
use crate::error::{Error, Result};

/// Largest batch accepted in one push.
pub const MAX_BATCH: usize = 1000;

/// One queued operation; `operation` is `Err` when it could not be parsed.
pub struct PushItem {
    /// The client's idempotency key.
    pub client_mutation_id: String,
    /// The operation, or why it is unreadable.
    pub operation: Result<Operation>,
}

/// What happened to one operation of a batch.
#[derive(Debug)]
pub enum PushOutcome {
    /// It ran (its outcome may still be `CONFLICT`).
    Done(WriteResult),
    /// It failed; nothing of it was written.
    Failed(Error),
    /// An atomic batch failed elsewhere, so this one was rolled back.
    RolledBack,
}

/// Replays a batch in order and reports each operation's fate, in order.
pub async fn push(
    db: &DatabaseConnection,
    principal: &Principal,
    items: Vec<PushItem>,
    atomic: bool,
) -> Result<Vec<PushOutcome>> {
    if items.len() > MAX_BATCH {
        return Err(Error::bad_input(format!(
            "a batch holds at most {MAX_BATCH} operations"
        )));
    }
    if !atomic {
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let outcome = match item.operation {
                Ok(op) => {
                    match operations::execute(db, principal, op, Some(&item.client_mutation_id))
                        .await
                    {
                        Ok(result) => PushOutcome::Done(result),
                        Err(error) => PushOutcome::Failed(error),
                    }
                }
                Err(error) => PushOutcome::Failed(error),
            };
            outcomes.push(outcome);
        }
        return Ok(outcomes);
    }
    let txn = db::begin_write(db).await?;
    let mut outcomes = Vec::with_capacity(items.len());
    let mut failed = false;
    for item in items {
        if failed {
            outcomes.push(PushOutcome::RolledBack);
            continue;
        }
        let outcome = match item.operation {
            Ok(op) => operations::apply(&txn, principal, op, Some(&item.client_mutation_id)).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(result) if result.outcome != Outcome::Conflict => {
                outcomes.push(PushOutcome::Done(result))
            }
            Ok(conflict) => {
                failed = true;
                outcomes.push(PushOutcome::Done(conflict));
            }
            Err(error) => {
                failed = true;
                outcomes.push(PushOutcome::Failed(error));
            }
        }
    }
    if !failed {
        txn.commit().await?;
        return Ok(outcomes);
    }
    txn.rollback().await?;
    // Nothing was written: what looked done is rolled back too.
    Ok(outcomes
        .into_iter()
        .map(|o| match o {
            PushOutcome::Done(r) if r.outcome != Outcome::Conflict => PushOutcome::RolledBack,
            other => other,
        })
        .collect())
}
