//! The instance's change-log tailer. One task per process reads the log in
//! `seq` order, once for every subscriber, and broadcasts each row with the
//! facts of its entity's previous version (so every feed can tell a
//! departure in memory); it wakes
//! when a write commits here, when PostgreSQL notifies of a commit on any
//! instance (`LISTEN fieldsync_changes`), and every `sync.poll_interval_ms`
//! in case a notification was lost (the database restarted, say).
//!
//! The broadcast channel is bounded: a subscriber that falls more than its
//! capacity behind is told it lagged and re-reads what it missed from the
//! log, so a slow subscriber costs itself a database read, never the others.
//!
//! The rows of that window are also kept in order ([`Hub::recent_after`]),
//! so a subscriber resuming from a recent cursor — a whole reconnect storm
//! of them — replays from memory, sharing the rows, instead of each reading
//! the log again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::changelog::{self, CommitSignal};
use crate::domain::visibility::{self, LoggedChange};
use crate::error::Result;

/// Rows broadcast but not yet received before a subscriber counts as lagging.
const CAPACITY: usize = 4096;
/// Rows read per round trip.
const BATCH: u64 = 500;
/// How soon the tailer reads again after a failed read.
const RETRY: Duration = Duration::from_millis(250);

/// Broadcasts committed changes to this instance's subscribers.
pub struct Hub {
    sender: broadcast::Sender<Arc<LoggedChange>>,
    /// Given by the write path at each commit, and by `listen` for commits
    /// on other instances.
    wake: CommitSignal,
    /// The highest seq broadcast so far.
    last_seq: AtomicI64,
    /// The last `CAPACITY` rows broadcast (the same rows the channel holds).
    /// A std `Mutex`: held only to push or copy out a few pointers.
    recent: Mutex<Recent>,
}

/// Recent rows in seq order, and the seq below which they are incomplete.
struct Recent {
    rows: VecDeque<Arc<LoggedChange>>,
    /// Every row with a seq above this one is in `rows` (or still to come).
    floor: i64,
}

impl Hub {
    /// A hub that will broadcast changes after `start_seq`, woken by `wake`.
    pub fn new(start_seq: i64, wake: CommitSignal) -> Arc<Self> {
        let (sender, _) = broadcast::channel(CAPACITY);
        Arc::new(Self {
            sender,
            wake,
            last_seq: AtomicI64::new(start_seq),
            recent: Mutex::new(Recent {
                rows: VecDeque::new(),
                floor: start_seq,
            }),
        })
    }

    /// A hub starting after the newest change in the log.
    pub async fn starting_now(db: &DatabaseConnection, wake: CommitSignal) -> Result<Arc<Self>> {
        Ok(Self::new(changelog::newest_seq(db).await?, wake))
    }

    /// Receives every change broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LoggedChange>> {
        self.sender.subscribe()
    }

    /// The highest seq broadcast so far: rows above it will still arrive.
    pub fn last_seq(&self) -> i64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// Up to `limit` rows after `after`, from memory; `None` when rows after
    /// it have left the window (read them from the log).
    pub fn recent_after(&self, after: i64, limit: usize) -> Option<Vec<Arc<LoggedChange>>> {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if after < recent.floor {
            return None;
        }
        let from = recent.rows.partition_point(|row| row.seq <= after);
        Some(recent.rows.range(from..).take(limit).cloned().collect())
    }

    /// Tails the log until `shutdown`, looking every `poll` even when not woken.
    pub async fn run(
        self: Arc<Self>,
        db: DatabaseConnection,
        poll: Duration,
        shutdown: CancellationToken,
    ) {
        loop {
            // After a failed read (the database restarting, say), look again
            // soon rather than at the next wake-up, which may never come.
            let next_look = match self.drain(&db).await {
                Ok(()) => poll,
                Err(error) => {
                    tracing::warn!(%error, "reading the change log failed; will retry");
                    poll.min(RETRY)
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(next_look) => {}
            }
        }
    }

    /// Broadcasts every row after the last one sent.
    async fn drain(&self, db: &DatabaseConnection) -> Result<()> {
        loop {
            let after = self.last_seq();
            let rows = changelog::rows_after(db, after, None, BATCH).await?;
            let full = rows.len() as u64 == BATCH;
            // Once for every subscriber: what each entity was before, so a
            // feed decides a departure without a read of its own.
            for row in visibility::with_before(db, rows, |_| true).await? {
                self.publish(row);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Keeps a row among the recent ones, then broadcasts it.
    fn publish(&self, row: LoggedChange) {
        let row = Arc::new(row);
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            recent.rows.push_back(row.clone());
            if recent.rows.len() > CAPACITY
                && let Some(gone) = recent.rows.pop_front()
            {
                recent.floor = gone.seq;
            }
        }
        self.last_seq.store(row.seq, Ordering::Release);
        // No receiver is fine: nobody is subscribed right now.
        let _ = self.sender.send(row);
    }

    /// Wakes the tailer on every PostgreSQL notification of a commit (from
    /// any instance) until `shutdown`; reconnects after the database restarts.
    pub async fn listen(self: Arc<Self>, url: String, shutdown: CancellationToken) {
        use sea_orm::sqlx::postgres::PgListener;
        loop {
            let attempt = async {
                let mut listener = PgListener::connect(&url).await?;
                listener.listen(changelog::CHANNEL).await?;
                // Commits made while nobody listened sent no notification
                // here: read the log now rather than at the next poll.
                self.wake.notify();
                loop {
                    listener.recv().await?;
                    self.wake.notify();
                }
                #[allow(unreachable_code)]
                Ok::<(), sea_orm::sqlx::Error>(())
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                result = attempt => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "change notifications interrupted; polling until reconnected");
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use entity::enums::{ChangeOp, EntityType};
    use serde_json::json;

    use super::*;

    fn row(seq: i64) -> LoggedChange {
        let row = entity::change::Model {
            seq,
            org_id: uuid::Uuid::nil().into(),
            entity_type: EntityType::Task,
            entity_id: uuid::Uuid::nil(),
            version: 1,
            op: ChangeOp::Created,
            snapshot: json!({}),
            changed_fields: json!([]),
            actor_id: None,
            client_mutation_id: None,
            queue_id: None,
            priority: 0,
            created_at: chrono::Utc::now(),
        };
        LoggedChange { row, before: None }
    }

    fn seqs(rows: Option<Vec<Arc<LoggedChange>>>) -> Option<Vec<i64>> {
        rows.map(|rows| rows.iter().map(|r| r.seq).collect())
    }

    #[test]
    fn recent_rows_serve_cursors_inside_the_window_only() {
        let hub = Hub::new(10, CommitSignal::default());
        assert_eq!(seqs(hub.recent_after(10, 5)), Some(vec![]));
        assert_eq!(seqs(hub.recent_after(9, 5)), None, "before the hub started");
        // Seqs may have gaps (rolled-back transactions).
        for seq in [11, 12, 14, 15] {
            hub.publish(row(seq));
        }
        assert_eq!(seqs(hub.recent_after(10, 10)), Some(vec![11, 12, 14, 15]));
        assert_eq!(seqs(hub.recent_after(12, 1)), Some(vec![14]));
        assert_eq!(seqs(hub.recent_after(15, 10)), Some(vec![]));
        assert_eq!(hub.last_seq(), 15);
    }

    #[test]
    fn rows_leaving_the_window_raise_its_floor() {
        let hub = Hub::new(0, CommitSignal::default());
        for seq in 1..=(CAPACITY as i64 + 2) {
            hub.publish(row(seq));
        }
        assert_eq!(seqs(hub.recent_after(1, 1)), None, "row 2 is gone");
        assert_eq!(seqs(hub.recent_after(2, 1)), Some(vec![3]));
    }
}
