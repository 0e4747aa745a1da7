//! The push router: reads the change log from its own persisted cursor (the
//! `push_cursors` row "router"), in seq order, and queues `notifications`
//! rows for the recipients each rule picks.
//!
//! Queuing a batch and advancing the cursor share one transaction, and a
//! notification is unique per (change, device), so a crash or a second
//! instance re-reading the same changes queues nothing twice.
//!
//! The rules live in [`rules`](super::rules); quiet hours are not applied
//! yet.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::enums::{EntityType, NotificationStatus};
use entity::ids::{NotificationId, TaskId};
use entity::{change, device, notification, push_cursor};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde_json::json;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::auth::principal;
use crate::config::PushSettings;
use crate::db::begin_write;
use crate::domain::{preferences, tasks};
use crate::error::{Error, Result};
use crate::events::{changelog, hub::Hub};

/// The router's row in `push_cursors`.
const CURSOR: &str = "router";
/// Changes read per transaction.
const BATCH: u64 = 200;
/// Priority of alerts that should show at once (APNs 10).
const PRIORITY_ALERT: i32 = 10;

/// Routes until `shutdown`. Every hub broadcast (or lag) and every poll is
/// only a wake-up: what to route is always re-read from the database cursor,
/// so a missed broadcast costs latency, never a notification.
pub async fn run(
    db: DatabaseConnection,
    hub: Arc<Hub>,
    settings: PushSettings,
    queued: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut changes = hub.subscribe();
    let poll = Duration::from_millis(settings.worker_interval_ms);
    let mut listening = true;
    loop {
        match route_pending(&db, &settings).await {
            Ok(0) => {}
            Ok(_) => queued.notify_one(),
            Err(error) => tracing::warn!(%error, "push routing failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            woke = changes.recv(), if listening => {
                if let Err(broadcast::error::RecvError::Closed) = woke {
                    listening = false;
                }
            }
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Routes every change after the cursor, batch by batch; returns how many
/// notifications were queued.
pub async fn route_pending(db: &DatabaseConnection, settings: &PushSettings) -> Result<u64> {
    let mut queued = 0;
    loop {
        let after = ensure_cursor(db).await?;
        let rows = change::Entity::find()
            .filter(change::Column::Seq.gt(after))
            .order_by_asc(change::Column::Seq)
            .limit(BATCH)
            .all(db)
            .await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(queued);
        };
        let mut outbox = Vec::new();
        for row in &rows {
            outbox.extend(route(db, settings, row).await?);
        }
        let txn = begin_write(db).await?;
        queued += outbox.len() as u64;
        if !outbox.is_empty() {
            notification::Entity::insert_many(outbox)
                .on_conflict(
                    OnConflict::columns([
                        notification::Column::ChangeSeq,
                        notification::Column::DeviceId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        // Never moves back, should a slower instance finish an older batch.
        push_cursor::Entity::update_many()
            .col_expr(push_cursor::Column::Seq, Expr::value(last))
            .filter(push_cursor::Column::Name.eq(CURSOR))
            .filter(push_cursor::Column::Seq.lt(last))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        if (rows.len() as u64) < BATCH {
            return Ok(queued);
        }
    }
}

/// The router's cursor, created at the newest change when missing, so
/// turning push on does not replay history. `Application::build` calls it
/// before the server accepts writes, so no write through it is skipped.
pub async fn ensure_cursor(db: &DatabaseConnection) -> Result<i64> {
    if let Some(row) = push_cursor::Entity::find_by_id(CURSOR.to_owned())
        .one(db)
        .await?
    {
        return Ok(row.seq);
    }
    let newest = changelog::newest_seq(db).await?;
    let txn = db.begin().await?;
    push_cursor::Entity::insert(push_cursor::ActiveModel {
        name: Set(CURSOR.to_owned()),
        seq: Set(newest),
    })
    .on_conflict(
        OnConflict::column(push_cursor::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    let row = push_cursor::Entity::find_by_id(CURSOR.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| Error::Internal("push cursor vanished".into()))?;
    Ok(row.seq)
}

/// The notifications one change calls for: each announcement of
/// [`rules`](super::rules) to each recipient who is active, still allowed to
/// see the entity (a push never tells what a query would not) and has the
/// category on, on each of their active devices.
async fn route(
    db: &impl ConnectionTrait,
    settings: &PushSettings,
    change: &change::Model,
) -> Result<Vec<notification::ActiveModel>> {
    let mut rows = Vec::new();
    for announcement in super::rules::announcements(db, change).await? {
        let data = json!({
            "url": format!("{}://{}", settings.deep_link_scheme, announcement.path),
            "entityType": announcement.entity_type,
            "entityId": announcement.entity_id.to_string(),
        });
        for recipient in &announcement.recipients {
            // An inactive or deleted user gets nothing.
            let Ok(who) = principal::load(db, *recipient).await else {
                continue;
            };
            if who.org_id != change.org_id {
                continue;
            }
            if change.entity_type == EntityType::Task
                && tasks::get(db, &who, TaskId::from(change.entity_id))
                    .await
                    .is_err()
            {
                continue;
            }
            let enabled = preferences::list(db, &who)
                .await?
                .iter()
                .any(|p| p.category == announcement.category && p.enabled);
            if !enabled {
                continue;
            }
            let devices = device::Entity::find()
                .filter(device::Column::UserId.eq(who.user_id))
                .filter(device::Column::Active.eq(true))
                .all(db)
                .await?;
            let now = Utc::now();
            rows.extend(devices.into_iter().map(|device| notification::ActiveModel {
                id: Set(NotificationId::new()),
                org_id: Set(change.org_id),
                user_id: Set(who.user_id),
                device_id: Set(device.id),
                change_seq: Set(Some(change.seq)),
                category: Set(announcement.category),
                title: Set(announcement.title.clone()),
                body: Set(announcement.body.clone()),
                data: Set(data.clone()),
                collapse_key: Set(Some(format!(
                    "{}:{}",
                    announcement.entity_type, announcement.entity_id
                ))),
                priority: Set(PRIORITY_ALERT),
                status: Set(NotificationStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(now),
                provider_ticket: Set(None),
                error: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                sent_at: Set(None),
            }));
        }
    }
    Ok(rows)
}
