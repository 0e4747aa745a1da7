//! `syncPush`: a batch of queued offline operations, replayed in order.
//! Each operation commits on its own unless the batch is atomic, in which
//! case the first failure or conflict rolls every operation back.

use std::collections::HashMap;

use entity::ids::TaskId;
use serde_json::{Map, Value};

use crate::auth::Principal;
use crate::domain::operations::{self, Operation, Writer};
use crate::domain::writes::{Outcome, Written};
use crate::error::{Error, Result};

/// Largest batch accepted in one push.
pub const MAX_BATCH: usize = 1000;

/// One queued operation; `operation` is `Err` when it could not be parsed.
pub struct BatchItem {
    /// The client's idempotency key.
    pub client_mutation_id: String,
    /// The operation, or why it is unreadable.
    pub operation: Result<Operation>,
}

/// What happened to one operation of a batch.
#[derive(Debug)]
pub enum BatchOutcome {
    /// It ran (its outcome may still be `CONFLICT`).
    Done(Written),
    /// It failed; nothing of it was written.
    Failed(Error),
    /// An atomic batch failed elsewhere, so this one was rolled back.
    RolledBack,
}

/// Replays a batch in order and reports each operation's fate, in order.
pub async fn replay(
    writer: &Writer,
    principal: &Principal,
    items: Vec<BatchItem>,
    atomic: bool,
) -> Result<Vec<BatchOutcome>> {
    if items.len() > MAX_BATCH {
        return Err(Error::bad_input(format!(
            "a batch holds at most {MAX_BATCH} operations"
        )));
    }
    replay_queue(writer, principal, items, atomic, &mut QueueState::default()).await
}

/// [`replay`] for a device whose queue spans several pushes (or principals):
/// `queue` carries the versions its earlier operations produced.
pub async fn replay_queue(
    writer: &Writer,
    principal: &Principal,
    items: Vec<BatchItem>,
    atomic: bool,
    queue: &mut QueueState,
) -> Result<Vec<BatchOutcome>> {
    if !atomic {
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let outcome = match item.operation {
                Ok(mut op) => {
                    let sent = queue.rebase(&mut op);
                    let cmid = Some(item.client_mutation_id.as_str());
                    match writer.execute(principal, op, cmid).await {
                        Ok(result) => {
                            queue.record(sent, &result);
                            BatchOutcome::Done(result)
                        }
                        Err(error) => BatchOutcome::Failed(error),
                    }
                }
                Err(error) => BatchOutcome::Failed(error),
            };
            outcomes.push(outcome);
        }
        return Ok(outcomes);
    }
    let txn = writer.begin().await?;
    let mut outcomes = Vec::with_capacity(items.len());
    let mut failed = false;
    for item in items {
        if failed {
            outcomes.push(BatchOutcome::RolledBack);
            continue;
        }
        let outcome = match item.operation {
            Ok(mut op) => {
                let sent = queue.rebase(&mut op);
                let cmid = Some(item.client_mutation_id.as_str());
                let outcome = operations::apply(&*txn, principal, op, cmid).await;
                if let Ok(result) = &outcome {
                    queue.record(sent, result);
                }
                outcome
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(result) if result.outcome != Outcome::Conflict => {
                outcomes.push(BatchOutcome::Done(result))
            }
            Ok(conflict) => {
                failed = true;
                outcomes.push(BatchOutcome::Done(conflict));
            }
            Err(error) => {
                failed = true;
                outcomes.push(BatchOutcome::Failed(error));
            }
        }
    }
    if !failed {
        txn.commit().await?;
        return Ok(outcomes);
    }
    txn.rollback().await?;
    // Nothing was written: what looked done is rolled back too, and so is
    // the record of a conflict, which is left without an id to resolve.
    Ok(outcomes
        .into_iter()
        .map(|o| match o {
            BatchOutcome::Done(r) if r.outcome != Outcome::Conflict => BatchOutcome::RolledBack,
            BatchOutcome::Done(mut conflict) => {
                if let Some(report) = &mut conflict.conflict {
                    report.id = None;
                }
                BatchOutcome::Done(conflict)
            }
            other => other,
        })
        .collect())
}

/// What one device's queue has itself written, per task. An offline client
/// queues several edits of one task against the version it last synced; to
/// the merge, the queue's own earlier edits must not look like concurrent
/// changes by someone else (or two edits of the same text field would
/// conflict with each other), while changes by others still must.
#[derive(Default)]
pub struct QueueState {
    /// Per task: field → value the queue's own operations wrote.
    tasks: HashMap<TaskId, Map<String, Value>>,
}

impl QueueState {
    /// Tells the operation what the queue already wrote to its task; returns
    /// the task and the fields this operation writes.
    fn rebase(&self, operation: &mut Operation) -> Option<(TaskId, Vec<String>)> {
        let Operation::UpdateTask(update) = operation else {
            return None;
        };
        if let Some(own) = self.tasks.get(&update.id) {
            update.queued = own.clone();
        }
        Some((update.id, update.patch.fields()))
    }

    /// Remembers the values a written operation left in the fields it wrote.
    fn record(&mut self, written: Option<(TaskId, Vec<String>)>, result: &Written) {
        let (Some((task, fields)), Some(snapshot)) = (written, result.snapshot.as_object()) else {
            return;
        };
        if result.outcome == Outcome::Conflict {
            return;
        }
        let own = self.tasks.entry(task).or_default();
        for field in fields {
            if let Some(value) = snapshot.get(&field) {
                own.insert(field, value.clone());
            }
        }
    }
}
