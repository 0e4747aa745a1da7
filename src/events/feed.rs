//! A subscriber's feed: what they missed since their cursor, replayed from
//! the hub's window of recent rows or, for older cursors, from the log,
//! then the live changes of the [`Hub`], with no gap and no duplicate, each
//! shown only if the subscriber may see it at that version.
//!
//! No gap: the feed subscribes to the hub *before* it reads the log, so
//! every row after the replay arrives through the hub; rows it has already
//! delivered (by seq) are skipped. Filtering is in memory: the subscriber's
//! view (buildings, visible users) is loaded once and again only when one of
//! their own assignments changes. A change that hides an entity is a
//! departure (a tombstone) for a subscriber who could see its previous
//! version, whether or not this feed ever sent it: an app that loaded the
//! entity by query hears of its departure too. The previous version's facts
//! come with the row (from the hub, read once for all), so a feed's memory
//! is its own state, never the organisation's history.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::change;
use entity::enums::{ChangeOp, EntityType};
use futures_util::Stream;
use sea_orm::DatabaseConnection;
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::hub::Hub;
use crate::auth::Principal;
use crate::changelog;
use crate::changelog::cursor;
use crate::domain::facts::Facts;
use crate::domain::visibility::{self, LoggedChange, View, VisibleChange};
use crate::error::{Error, Result};

/// Rows read per round trip while replaying.
const REPLAY_BATCH: u64 = 500;
/// Failed database reads in a row a feed rides out (about 40 s of retries,
/// the first `FIRST_RETRY` after the failure, each wait twice the last, at
/// most 16 times it).
const MAX_FAILURES: u32 = 8;
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// One event for a subscriber.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// The change as the subscriber may see it.
    pub change: VisibleChange,
    /// The unredacted snapshot, for typed objects that apply field rules themselves.
    pub raw: Option<Value>,
    /// What the entity was before this change (for a delete, what was
    /// deleted), when known: a filtered subscription tells a departure
    /// from its filter by it.
    pub before: Option<Facts>,
    /// The cursor to resume after this event.
    pub cursor: String,
}

impl FeedEvent {
    /// The same change as a departure: a tombstone (for a subscription
    /// whose filter the entity no longer matches).
    pub fn departed(self) -> Self {
        Self {
            change: VisibleChange {
                op: ChangeOp::Deleted,
                tombstone: true,
                changed_fields: Vec::new(),
                snapshot: None,
                ..self.change
            },
            raw: None,
            ..self
        }
    }

    /// Which event this is, for sharing its rendering.
    pub fn key(&self) -> EventKey {
        EventKey {
            seq: self.change.seq,
            entity_type: self.change.entity_type,
            entity_id: self.change.entity_id,
            tombstone: self.change.tombstone,
        }
    }
}

/// Identifies an event's content: two subscribers with the same view get
/// the same event for the same key (one change row can yield several
/// events: the tombstones of a lost building).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKey {
    seq: i64,
    entity_type: EntityType,
    entity_id: Uuid,
    tombstone: bool,
}

/// Opens a feed of the changes of `entity_types` (all when empty) after
/// `after` (from now when `None`).
pub async fn open(
    hub: Arc<Hub>,
    db: DatabaseConnection,
    principal: Principal,
    entity_types: Vec<EntityType>,
    after: Option<&str>,
    retention_days: u32,
) -> Result<impl Stream<Item = FeedEvent> + Send + use<>> {
    let receiver = hub.subscribe();
    let (last, replay_until) = match after {
        Some(cursor) => (
            cursor::resume_point(cursor, retention_days)?,
            Some(hub.last_seq()),
        ),
        // Live from the newest committed row; anything after it arrives
        // through the hub, which this feed already listens to.
        None => (changelog::newest_seq(&db).await?, None),
    };
    let view = View::of(&db, &principal).await?;
    let feed = Feed {
        receiver,
        hub,
        db,
        principal,
        entity_types,
        view,
        last,
        replay_until,
        backlog: VecDeque::new(),
        pending: VecDeque::new(),
        failures: 0,
    };
    Ok(futures_util::stream::unfold(feed, |mut feed| async move {
        feed.next().await.map(|event| (event, feed))
    }))
}

/// The state of one subscriber's feed.
struct Feed {
    receiver: broadcast::Receiver<Arc<LoggedChange>>,
    hub: Arc<Hub>,
    db: DatabaseConnection,
    principal: Principal,
    entity_types: Vec<EntityType>,
    view: View,
    /// The last seq handled; nothing at or below it is sent again.
    last: i64,
    /// While replaying: the hub's position when the feed opened.
    replay_until: Option<i64>,
    /// Rows to filter: read from the log while replaying, or shared with
    /// every other subscriber through the hub (never copied per subscriber).
    backlog: VecDeque<Arc<LoggedChange>>,
    pending: VecDeque<FeedEvent>,
    /// Database reads that failed in a row.
    failures: u32,
}

impl Feed {
    /// The next event; `None` ends the feed (the hub closed or the database
    /// failed: the client resubscribes from its last cursor).
    async fn next(&mut self) -> Option<FeedEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let row = match self.backlog.pop_front() {
                Some(row) => row,
                None if self.replay_until.is_some_and(|until| self.last < until) => {
                    // Boxed, like every database read here: an idle feed
                    // then holds only the hub receiver's small future.
                    if let Err(error) = Box::pin(self.read_log()).await {
                        if !self.back_off(&error).await {
                            return None;
                        }
                        continue;
                    }
                    self.failures = 0;
                    if self.backlog.is_empty() {
                        self.replay_until = None;
                    }
                    continue;
                }
                None => {
                    // Caught up with the log: from here on every row comes
                    // through the hub and is filtered in memory.
                    self.replay_until = None;
                    match self.receiver.recv().await {
                        Ok(row) => row,
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::debug!(missed, "subscriber lagged; re-reading the log");
                            self.replay_until = Some(i64::MAX);
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            };
            if row.seq <= self.last {
                continue;
            }
            if let Err(error) = self.handle(&row).await {
                if !self.back_off(&error).await {
                    return None;
                }
                // The same row again once the database answers.
                self.backlog.push_front(row);
                continue;
            }
            self.failures = 0;
            self.last = row.seq;
        }
    }

    /// Waits before a failed database read is tried again (the database
    /// may be restarting); `false` after `MAX_FAILURES` in a row, which ends
    /// the feed (the client resubscribes from its last cursor).
    async fn back_off(&mut self, error: &Error) -> bool {
        self.failures += 1;
        if self.failures > MAX_FAILURES {
            tracing::warn!(%error, "a change feed gave up reading the database");
            return false;
        }
        tracing::warn!(%error, attempt = self.failures, "a change feed's database read failed; retrying");
        let wait = FIRST_RETRY * 2u32.pow(self.failures.min(5) - 1);
        tokio::time::sleep(wait).await;
        true
    }

    /// Reads the next rows after `last` into the backlog: from the hub's
    /// recent rows when they reach back far enough, from the log otherwise.
    async fn read_log(&mut self) -> Result<()> {
        let rows = match self.hub.recent_after(self.last, REPLAY_BATCH as usize) {
            Some(rows) => rows,
            None => {
                let rows = changelog::rows_after(
                    &self.db,
                    self.last,
                    Some(self.principal.org_id),
                    REPLAY_BATCH,
                )
                .await?;
                // Every row, as the hub does: a change that leaves only a
                // subscription's filter is a departure too.
                visibility::with_before(&self.db, rows, |_| true)
                    .await?
                    .into_iter()
                    .map(Arc::new)
                    .collect()
            }
        };
        self.backlog.extend(rows);
        Ok(())
    }

    /// Turns one row into the events the subscriber may see.
    async fn handle(&mut self, row: &LoggedChange) -> Result<()> {
        if row.org_id != self.principal.org_id {
            return Ok(());
        }
        self.view.observe(row);
        let mine = self.concerns_my_assignments(row);
        if mine {
            // The subscriber's buildings changed: see the world anew.
            self.view = Box::pin(View::of(&self.db, &self.principal)).await?;
        }
        if !self.entity_types.is_empty() && !self.entity_types.contains(&row.entity_type) && !mine {
            return Ok(());
        }
        let changes = if self.view.lost_building(row) {
            Box::pin(self.view.present(&self.db, row)).await?
        } else {
            self.view.decide(row).into_iter().collect()
        };
        for change in changes {
            if !self.entity_types.is_empty() && !self.entity_types.contains(&change.entity_type) {
                continue;
            }
            let raw = (!change.tombstone && change.seq == row.seq).then(|| row.snapshot.clone());
            // The tombstones of a lost building's contents are about other
            // entities than the row's.
            let before = if change.entity_id != row.entity_id {
                None
            } else if row.op == ChangeOp::Deleted {
                Some(Facts::of(row.entity_type, &row.snapshot))
            } else {
                row.before
            };
            self.pending.push_back(FeedEvent {
                cursor: cursor::encode(row.seq, Utc::now()),
                raw,
                before,
                change,
            });
        }
        Ok(())
    }

    /// A change of one of the subscriber's own building memberships.
    fn concerns_my_assignments(&self, row: &change::Model) -> bool {
        let me = Some(self.principal.user_id);
        match row.entity_type {
            EntityType::BuildingWorker => Facts::of(row.entity_type, &row.snapshot).worker == me,
            EntityType::BuildingClient => Facts::of(row.entity_type, &row.snapshot).client == me,
            _ => false,
        }
    }
}
