//! The instance's change-log tailer. One task per process reads the log in
//! `seq` order, once for every subscriber, and broadcasts each row; it wakes
//! when a write commits here, when PostgreSQL notifies of a commit on any
//! instance (`LISTEN fieldsync_changes`), and on a poll interval in case a
//! notification was lost (the database restarted, say).
//!
//! The broadcast channel is bounded: a subscriber that falls more than its
//! capacity behind is told it lagged and re-reads what it missed from the
//! log, so a slow subscriber costs itself a database read, never the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use entity::change;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::changelog;
use crate::error::Result;

/// The PostgreSQL channel every instance listens on.
pub const CHANNEL: &str = "fieldsync_changes";
/// Rows broadcast but not yet received before a subscriber counts as lagging.
const CAPACITY: usize = 4096;
/// Rows read per round trip.
const BATCH: u64 = 500;
/// How often the tailer looks even without a wake-up.
const POLL: Duration = Duration::from_millis(500);

/// Broadcasts committed changes to this instance's subscribers.
pub struct Hub {
    sender: broadcast::Sender<Arc<change::Model>>,
    wake: Notify,
    /// The highest seq broadcast so far.
    last_seq: AtomicI64,
}

impl Hub {
    /// A hub that will broadcast changes after `start_seq`.
    pub fn new(start_seq: i64) -> Arc<Self> {
        let (sender, _) = broadcast::channel(CAPACITY);
        Arc::new(Self {
            sender,
            wake: Notify::new(),
            last_seq: AtomicI64::new(start_seq),
        })
    }

    /// A hub starting after the newest change in the log.
    pub async fn starting_now(db: &DatabaseConnection) -> Result<Arc<Self>> {
        Ok(Self::new(changelog::newest_seq(db).await?))
    }

    /// Tells the tailer a write just committed.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Receives every change broadcast from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<change::Model>> {
        self.sender.subscribe()
    }

    /// The highest seq broadcast so far: rows above it will still arrive.
    pub fn last_seq(&self) -> i64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// Tails the log until `shutdown`.
    pub async fn run(self: Arc<Self>, db: DatabaseConnection, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.drain(&db).await {
                tracing::warn!(%error, "reading the change log failed; will retry");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Broadcasts every row after the last one sent.
    async fn drain(&self, db: &DatabaseConnection) -> Result<()> {
        loop {
            let after = self.last_seq();
            let rows = change::Entity::find()
                .filter(change::Column::Seq.gt(after))
                .order_by_asc(change::Column::Seq)
                .limit(BATCH)
                .all(db)
                .await?;
            let full = rows.len() as u64 == BATCH;
            for row in rows {
                self.last_seq.store(row.seq, Ordering::Release);
                // No receiver is fine: nobody is subscribed right now.
                let _ = self.sender.send(Arc::new(row));
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Wakes the tailer on every PostgreSQL notification of a commit (from
    /// any instance) until `shutdown`; reconnects after the database restarts.
    pub async fn listen(self: Arc<Self>, url: String, shutdown: CancellationToken) {
        use sea_orm::sqlx::postgres::PgListener;
        loop {
            let attempt = async {
                let mut listener = PgListener::connect(&url).await?;
                listener.listen(CHANNEL).await?;
                loop {
                    listener.recv().await?;
                    self.notify();
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
