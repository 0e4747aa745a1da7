//! `syncPush`: a batch of queued offline operations, replayed in order.
//! Each operation commits on its own unless the batch is atomic, in which
//! case the first failure or conflict rolls every operation back.

use chrono::{DateTime, Utc};

use crate::auth::Principal;
use crate::config::SyncSettings;
use crate::domain::operations::{self, Operation, Writer};
use crate::domain::writes::{Outcome, Written};
use crate::error::{Error, Result};

/// Largest batch accepted in one push.
pub const MAX_BATCH: usize = 1000;

/// One queued operation; `operation` is `Err` when it could not be parsed.
pub struct BatchItem {
    /// The client's idempotency key.
    pub client_mutation_id: String,
    /// When it happened on the device, if the client says.
    pub occurred_at: Option<DateTime<Utc>>,
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

/// Largest queue id accepted.
const MAX_QUEUE_ID: usize = 128;

/// How a batch is replayed.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    /// All or nothing.
    pub atomic: bool,
    /// The offline queue the batch comes from; `None`: the call is its own.
    pub queue: Option<&'a str>,
    /// The times `occurredAt` may take.
    pub clock: ClockWindow,
}

/// How far a queued operation's `occurredAt` may stray from the server's
/// clock: up to `skew` ahead (counted as now), up to `offline` back.
#[derive(Debug, Clone, Copy)]
pub struct ClockWindow {
    /// Tolerated lead of a phone's clock.
    pub skew: chrono::Duration,
    /// The longest a phone may have worked offline.
    pub offline: chrono::Duration,
}

impl ClockWindow {
    /// The window of the `sync` settings.
    pub fn of(settings: &SyncSettings) -> Self {
        Self {
            skew: chrono::Duration::seconds(settings.clock_skew_secs as i64),
            offline: chrono::Duration::hours(settings.offline_window_hours as i64),
        }
    }

    /// The time to stamp for `occurred_at`, or `BAD_USER_INPUT` outside
    /// the window.
    fn stamp(&self, occurred_at: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let now = Utc::now();
        if occurred_at > now + self.skew {
            return Err(Error::bad_input(format!(
                "occurredAt {occurred_at} is in the future (the server's clock says {now}; {} s of skew are tolerated)",
                self.skew.num_seconds()
            )));
        }
        if occurred_at < now - self.offline {
            return Err(Error::bad_input(format!(
                "occurredAt {occurred_at} is more than {} hours ago, beyond the offline window",
                self.offline.num_hours()
            )));
        }
        Ok(occurred_at.min(now))
    }
}

impl BatchItem {
    /// The operation, stamped with when it happened, or why it cannot run.
    fn into_operation(self, clock: &ClockWindow) -> Result<Operation> {
        let mut operation = self.operation?;
        if let Some(at) = self.occurred_at {
            operation.happened_at(clock.stamp(at)?);
        }
        Ok(operation)
    }
}

/// Replays a batch of an offline queue in order and reports each
/// operation's fate, in order. The queue's own earlier writes, in this call
/// or any before, are part of each operation's base (see
/// [`operations::apply`]); without a queue id the call is its own queue.
pub async fn replay(
    writer: &Writer,
    principal: &Principal,
    items: Vec<BatchItem>,
    push: Push<'_>,
) -> Result<Vec<BatchOutcome>> {
    if items.len() > MAX_BATCH {
        return Err(Error::bad_input(format!(
            "a batch holds at most {MAX_BATCH} operations"
        )));
    }
    let queue = match push.queue {
        Some(id) if id.is_empty() || id.len() > MAX_QUEUE_ID => {
            return Err(Error::bad_input(format!(
                "queueId must be 1 to {MAX_QUEUE_ID} bytes"
            )));
        }
        Some(id) => id.to_owned(),
        None => format!("call:{}", uuid::Uuid::now_v7()),
    };
    let queue = Some(queue.as_str());
    if !push.atomic {
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let cmid = item.client_mutation_id.clone();
            let outcome = match item.into_operation(&push.clock) {
                Ok(op) => match writer.execute(principal, op, Some(&cmid), queue).await {
                    Ok(result) => BatchOutcome::Done(result),
                    Err(error) => BatchOutcome::Failed(error),
                },
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
        let cmid = item.client_mutation_id.clone();
        let outcome = match item.into_operation(&push.clock) {
            Ok(op) => operations::apply(&*txn, principal, op, Some(&cmid), queue).await,
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
