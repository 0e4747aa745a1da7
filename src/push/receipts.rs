//! Expo receipts: some time after Expo accepted a message (its ticket), the
//! receipt tells whether Apple or Google took it. Tickets of sent Expo
//! notifications older than `push.expo_receipt_delay_secs` are looked up in
//! batches of up to 1,000; a `DeviceNotRegistered` receipt deactivates the
//! device, `MessageRateExceeded` sends again with backoff, other errors mark
//! the notification failed. Receipts Expo no longer keeps (24 hours) are
//! given up on.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::enums::{NotificationStatus, PushProvider};
use entity::{device, notification};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio_util::sync::CancellationToken;

use super::expo::{ExpoSender, RECEIPTS_CHUNK};
use super::{SendOutcome, stats, worker};
use crate::config::PushSettings;
use crate::db::begin_write;
use crate::error::Result;

/// Expo keeps receipts this long.
const KEPT: chrono::Duration = chrono::Duration::hours(24);

/// Reads receipts until `shutdown`, every poll interval (at most every
/// 10 s: receipts are not urgent).
pub async fn run(
    db: DatabaseConnection,
    expo: Arc<ExpoSender>,
    settings: PushSettings,
    shutdown: CancellationToken,
) {
    let poll = Duration::from_millis(settings.worker_interval_ms.max(10_000))
        .min(Duration::from_secs(settings.expo_receipt_delay_secs.max(1)));
    loop {
        loop {
            match check_due(&db, &expo, &settings).await {
                Ok(checked) if checked == RECEIPTS_CHUNK => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "reading Expo receipts failed; will retry");
                    break;
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Looks up one batch of due receipts and acts on them; returns how many
/// receipts were settled.
async fn check_due(
    db: &DatabaseConnection,
    expo: &ExpoSender,
    settings: &PushSettings,
) -> Result<usize> {
    let now = Utc::now();
    let due_before = now - chrono::Duration::seconds(settings.expo_receipt_delay_secs as i64);
    let rows = notification::Entity::find()
        .filter(notification::Column::Status.eq(NotificationStatus::Sent))
        .filter(notification::Column::ReceiptCheckedAt.is_null())
        .filter(notification::Column::ProviderTicket.is_not_null())
        .filter(notification::Column::SentAt.lte(due_before))
        .filter(
            notification::Column::DeviceId.in_subquery(
                Query::select()
                    .column(device::Column::Id)
                    .from(device::Entity)
                    .and_where(device::Column::Provider.eq(PushProvider::Expo))
                    .to_owned(),
            ),
        )
        .order_by_asc(notification::Column::SentAt)
        .limit(RECEIPTS_CHUNK as u64)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.provider_ticket.clone())
        .collect();
    let receipts = match expo.receipts(&ids).await {
        Ok(receipts) => receipts,
        Err(error) => {
            tracing::warn!(%error, "Expo receipts unavailable; will retry");
            return Ok(0);
        }
    };
    let mut settled = Vec::new();
    let txn = begin_write(db).await?;
    for row in &rows {
        let ticket = row.provider_ticket.as_deref().unwrap_or_default();
        let outcome = match receipts.get(ticket) {
            Some(outcome) => outcome.clone(),
            // Not ready yet, unless Expo has already forgotten it.
            None if row.sent_at.is_some_and(|sent| now - sent < KEPT) => continue,
            None => SendOutcome::Sent {
                ticket: ticket.to_owned(),
            },
        };
        // An error receipt is recorded like the same error in a ticket.
        if !matches!(outcome, SendOutcome::Sent { .. }) {
            let final_attempt = row.attempts >= settings.max_attempts;
            stats::outcome(PushProvider::Expo, &outcome, final_attempt);
            worker::record(&txn, settings, row, outcome).await?;
        }
        settled.push((row.id, ticket));
    }
    if !settled.is_empty() {
        // Only the tickets read here (each names one row): a retry sent
        // meanwhile has a new one and keeps its own receipt to read.
        let (ids, tickets): (Vec<_>, Vec<_>) = settled.iter().copied().unzip();
        notification::Entity::update_many()
            .col_expr(notification::Column::ReceiptCheckedAt, Expr::value(now))
            .filter(notification::Column::Id.is_in(ids))
            .filter(notification::Column::ProviderTicket.is_in(tickets))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(settled.len())
}
