//! The write side of the load: `updateTask` at a steady rate over HTTP, as
//! the administrator, round-robin over every task, each description
//! stamping when it was sent (`lg:<seq>:<nanos since the run's epoch>`) so
//! subscribers can measure end-to-end latency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::api::Api;

/// Mutations in flight at once. When all are taken the tick is skipped
/// (and counted) rather than queued: the server is then slower than the
/// asked rate, which the report shows instead of hiding it.
const MAX_IN_FLIGHT: usize = 64;

/// What the writes did.
#[derive(Debug, Default)]
pub struct MutationStats {
    /// Mutations sent.
    pub sent: u64,
    /// Mutations that failed (HTTP or GraphQL error).
    pub failed: u64,
    /// Ticks skipped because [`MAX_IN_FLIGHT`] were pending.
    pub skipped: u64,
    /// The highest version each task reached through these writes.
    pub finals: HashMap<String, i32>,
    /// Request sent → response received, in microseconds.
    pub latencies_us: Vec<u32>,
}

/// The fixed inputs of the write side.
pub struct Writes {
    /// The GraphQL client.
    pub api: Api,
    /// The administrator's token.
    pub token: Arc<str>,
    /// Global ids of the tasks to change.
    pub tasks: Vec<String>,
    /// The clock descriptions are stamped against.
    pub epoch: Instant,
}

/// Description stamped on mutation `seq` sent at `nanos` after the epoch.
pub fn stamp(seq: u64, nanos: u64) -> String {
    format!("lg:{seq}:{nanos}")
}

/// The send time in a [`stamp`]ed description.
pub fn sent_at_nanos(description: &str) -> Option<u64> {
    let mut parts = description.strip_prefix("lg:")?.split(':');
    let _seq = parts.next()?;
    parts.next()?.parse().ok()
}

/// Sends `rate` mutations a second until `stop`, then waits for those in flight.
pub async fn run(writes: Writes, rate: u32, stop: CancellationToken) -> MutationStats {
    let mut stats = MutationStats::default();
    if rate == 0 || writes.tasks.is_empty() {
        stop.cancelled().await;
        return stats;
    }
    let writes = Arc::new(writes);
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut pending = JoinSet::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq: u64 = 0;
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            Some(done) = pending.join_next(), if !pending.is_empty() => tally(&mut stats, done),
            _ = ticks.tick() => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    stats.skipped += 1;
                    continue;
                };
                let task = writes.tasks[(seq % writes.tasks.len() as u64) as usize].clone();
                seq += 1;
                stats.sent += 1;
                let writes = writes.clone();
                pending.spawn(async move {
                    let sent = Instant::now();
                    let nanos = u64::try_from((sent - writes.epoch).as_nanos()).unwrap_or(u64::MAX);
                    let result = writes.api.update_task(&writes.token, &task, &stamp(seq, nanos)).await;
                    drop(slot);
                    (task, result, sent.elapsed())
                });
            }
        }
    }
    while let Some(done) = pending.join_next().await {
        tally(&mut stats, done);
    }
    stats
}

type Done = (String, Result<i32, super::Error>, Duration);

fn tally(stats: &mut MutationStats, done: Result<Done, tokio::task::JoinError>) {
    match done {
        Ok((task, Ok(version), took)) => {
            stats
                .latencies_us
                .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            let last = stats.finals.entry(task).or_default();
            *last = (*last).max(version);
        }
        Ok((task, Err(error), _)) => {
            tracing::warn!(%error, task.id = %task, "loadgen mutation failed");
            stats.failed += 1;
        }
        Err(error) => {
            tracing::warn!(%error, "loadgen mutation task failed");
            stats.failed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_description_gives_back_its_send_time() {
        assert_eq!(sent_at_nanos(&stamp(7, 123_456_789)), Some(123_456_789));
        assert_eq!(sent_at_nanos("Fix the boiler"), None);
        assert_eq!(sent_at_nanos("lg:1:x"), None);
    }
}
