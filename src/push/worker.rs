//! The push sender: claims due `notifications` rows, provider by provider,
//! hands them to the provider and records what it said.
//!
//! Claiming marks rows `SENDING` and counts the attempt in one transaction
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances share the
//! queue; SQLite's IMMEDIATE transaction serialises claimers). A row left
//! `SENDING` for longer than `push.claim_timeout_secs` belongs to a sender
//! that died between claim and answer, and is claimed again: at-least-once,
//! like the providers themselves.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::enums::{NotificationStatus, PushProvider};
use entity::ids::{DeviceId, NotificationId};
use entity::{device, notification};
use rand::Rng;
use sea_orm::sea_query::{Expr, ExprTrait as _, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::expo::CHUNK;
use super::{Message, PushSender, SendOutcome, Senders, stats};
use crate::config::PushSettings;
use crate::db::begin_write;
use crate::error::Result;

/// The longest retry delay.
const MAX_BACKOFF_MS: u64 = 3_600_000;

/// Sends until `shutdown`, waking on `queued` or the poll interval.
pub async fn run(
    db: DatabaseConnection,
    senders: Senders,
    settings: PushSettings,
    queued: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let poll = Duration::from_millis(settings.worker_interval_ms);
    loop {
        for (provider, sender) in senders.active() {
            loop {
                match send_due(&db, provider, sender.as_ref(), &settings).await {
                    // A full batch suggests more are due right now.
                    Ok(claimed) if claimed == CHUNK => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "push sending failed; will retry");
                        break;
                    }
                }
            }
        }
        match queue_depth(&db).await {
            Ok(depth) => stats::queue_depth(depth),
            Err(error) => tracing::debug!(%error, "push queue depth unknown"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = queued.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Claims up to one chunk of `provider`'s due notifications, sends them
/// and records the outcomes; returns how many were claimed.
async fn send_due(
    db: &DatabaseConnection,
    provider: PushProvider,
    sender: &dyn PushSender,
    settings: &PushSettings,
) -> Result<usize> {
    let claimed = claim(db, provider, settings).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let device_ids: Vec<DeviceId> = claimed.iter().map(|n| n.device_id).collect();
    let devices = device::Entity::find()
        .filter(device::Column::Id.is_in(device_ids))
        .all(db)
        .await?;
    let mut sendable = Vec::new();
    let mut messages = Vec::new();
    for row in &claimed {
        // Only while the device is still its user's: a token that moved to
        // someone else since must not carry this user's text to them.
        let owned = |d: &&device::Model| {
            d.id == row.device_id && d.active && d.user_id == row.user_id && d.org_id == row.org_id
        };
        match devices.iter().find(owned) {
            Some(device) => {
                messages.push(Message {
                    to: device.token.clone(),
                    title: row.title.clone(),
                    body: row.body.clone(),
                    data: row.data.clone(),
                    priority: row.priority,
                    collapse_key: row.collapse_key.clone(),
                    badge: row
                        .data
                        .get("badge")
                        .and_then(serde_json::Value::as_u64)
                        .and_then(|b| u32::try_from(b).ok()),
                    sandbox: device.environment == "sandbox",
                });
                sendable.push(row);
            }
            // Signed out, rejected or moved to another user since it was queued.
            None => {
                finish(db, row, NotificationStatus::Cancelled, None).await?;
            }
        }
    }
    if messages.is_empty() {
        return Ok(claimed.len());
    }
    let started = std::time::Instant::now();
    let outcomes = sender.send(&messages).await;
    stats::send_latency(provider, started.elapsed());
    tracing::debug!(
        messages = messages.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        ?provider,
        "push batch sent"
    );
    // One transaction for the batch's outcomes: one commit, not one per row.
    let txn = begin_write(db).await?;
    for (i, row) in sendable.into_iter().enumerate() {
        let outcome = outcomes.get(i).cloned().unwrap_or(SendOutcome::Retry {
            reason: "the sender returned no outcome".into(),
        });
        stats::outcome(provider, &outcome, row.attempts >= settings.max_attempts);
        record(&txn, settings, row, outcome).await?;
    }
    txn.commit().await?;
    Ok(claimed.len())
}

/// Notifications waiting or in flight.
async fn queue_depth(db: &DatabaseConnection) -> Result<u64> {
    use sea_orm::PaginatorTrait as _;
    Ok(notification::Entity::find()
        .filter(
            notification::Column::Status
                .is_in([NotificationStatus::Pending, NotificationStatus::Sending]),
        )
        .count(db)
        .await?)
}

/// Marks due rows of `provider`'s devices `SENDING`, counting the attempt.
async fn claim(
    db: &DatabaseConnection,
    provider: PushProvider,
    settings: &PushSettings,
) -> Result<Vec<notification::Model>> {
    let now = Utc::now();
    let stuck_since = now - chrono::Duration::seconds(settings.claim_timeout_secs as i64);
    let txn = begin_write(db).await?;
    let due = Condition::any()
        .add(
            Condition::all()
                .add(notification::Column::Status.eq(NotificationStatus::Pending))
                .add(notification::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(notification::Column::Status.eq(NotificationStatus::Sending))
                .add(notification::Column::UpdatedAt.lt(stuck_since)),
        );
    let mut select = notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .filter(due)
        .filter(
            notification::Column::DeviceId.in_subquery(
                Query::select()
                    .column(device::Column::Id)
                    .from(device::Entity)
                    .and_where(device::Column::Provider.eq(provider))
                    .to_owned(),
            ),
        )
        .order_by_asc(notification::Column::NextAttemptAt)
        .limit(CHUNK as u64);
    if db.get_database_backend() == DbBackend::Postgres {
        QueryTrait::query(&mut select)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<NotificationId> = select.into_tuple().all(&txn).await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    notification::Entity::update_many()
        .col_expr(
            notification::Column::Status,
            Expr::value(NotificationStatus::Sending),
        )
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).add(1),
        )
        .col_expr(notification::Column::UpdatedAt, Expr::value(now))
        .filter(notification::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let rows = notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(rows)
}

/// Stores one provider outcome on its row (and deactivates dead tokens).
pub(super) async fn record(
    db: &impl ConnectionTrait,
    settings: &PushSettings,
    row: &notification::Model,
    outcome: SendOutcome,
) -> Result<()> {
    let now = Utc::now();
    match outcome {
        SendOutcome::Sent { ticket } => {
            notification::Entity::update_many()
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Sent),
                )
                .col_expr(notification::Column::ProviderTicket, Expr::value(ticket))
                .col_expr(notification::Column::SentAt, Expr::value(now))
                // A new ticket has a receipt of its own to read.
                .col_expr(
                    notification::Column::ReceiptCheckedAt,
                    Expr::value(None::<chrono::DateTime<Utc>>),
                )
                .col_expr(notification::Column::Error, Expr::value(None::<String>))
                .col_expr(notification::Column::UpdatedAt, Expr::value(now))
                .filter(unchanged(row))
                .exec(db)
                .await?;
        }
        SendOutcome::Retry { reason } if row.attempts < settings.max_attempts => {
            let next = now + backoff(settings.retry_base_ms, row.attempts);
            tracing::info!(notification.id = %row.id, attempts = row.attempts, %reason, "push will be retried");
            notification::Entity::update_many()
                .col_expr(
                    notification::Column::Status,
                    Expr::value(NotificationStatus::Pending),
                )
                .col_expr(notification::Column::NextAttemptAt, Expr::value(next))
                .col_expr(notification::Column::Error, Expr::value(reason))
                .col_expr(notification::Column::UpdatedAt, Expr::value(now))
                .filter(unchanged(row))
                .exec(db)
                .await?;
        }
        SendOutcome::Retry { reason } | SendOutcome::Failed { reason } => {
            tracing::warn!(notification.id = %row.id, attempts = row.attempts, %reason, "push failed");
            finish(db, row, NotificationStatus::Failed, Some(reason)).await?;
        }
        SendOutcome::DeadToken { reason } => {
            tracing::info!(notification.id = %row.id, device.id = %row.device_id, %reason, "push token is dead; device deactivated");
            deactivate(db, row, reason).await?;
        }
    }
    Ok(())
}

/// Fails `row` with the provider's `reason` and deactivates its device,
/// whose token the provider says is dead.
async fn deactivate(
    db: &impl ConnectionTrait,
    row: &notification::Model,
    reason: String,
) -> Result<()> {
    finish(db, row, NotificationStatus::Failed, Some(reason)).await?;
    device::Entity::update_many()
        .col_expr(device::Column::Active, Expr::value(false))
        .col_expr(device::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(device::Column::Id.eq(row.device_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends a row in a final `status`.
async fn finish(
    db: &impl ConnectionTrait,
    row: &notification::Model,
    status: NotificationStatus,
    error: Option<String>,
) -> Result<()> {
    notification::Entity::update_many()
        .col_expr(notification::Column::Status, Expr::value(status))
        .col_expr(notification::Column::Error, Expr::value(error))
        .col_expr(notification::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(unchanged(row))
        .exec(db)
        .await?;
    Ok(())
}

/// `row`, if nobody wrote it since it was read: a sender that outlived its
/// claim (a provider that answered after `push.claim_timeout_secs`, when
/// another sender had claimed the row again) must not overwrite the newer
/// outcome.
fn unchanged(row: &notification::Model) -> Condition {
    Condition::all()
        .add(notification::Column::Id.eq(row.id))
        .add(notification::Column::Status.eq(row.status))
        .add(notification::Column::Attempts.eq(row.attempts))
}

/// Exponential backoff with "equal jitter": between half and all of
/// `base · 2^(attempts-1)`, so retries of a burst do not arrive together.
fn backoff(base_ms: u64, attempts: i32) -> chrono::Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let full = std::cmp::min(base_ms.saturating_mul(1 << exponent), MAX_BACKOFF_MS);
    let jittered = rand::rng().random_range(full / 2..=full);
    chrono::Duration::milliseconds(jittered as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempts in 1..=5 {
            let full = 100 * (1u64 << (attempts - 1)) as i64;
            let delay = backoff(100, attempts).num_milliseconds();
            assert!((full / 2..=full).contains(&delay), "{attempts}: {delay}");
        }
        assert!(backoff(1000, 40).num_milliseconds() <= MAX_BACKOFF_MS as i64);
    }
}
