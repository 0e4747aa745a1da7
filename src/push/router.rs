//! The push router: reads the change log from its own persisted cursor (the
//! `push_cursors` row "router"), in seq order, and queues `notifications`
//! rows for the recipients each rule picks; and, on the same beat, looks
//! for tasks that fell due since its last look (cursor "overdue", a UNIX
//! time in milliseconds).
//!
//! Queuing a batch and advancing the cursor share one transaction, and a
//! notification is unique per (change, device, category), so a crash or a
//! second instance re-reading the same changes queues nothing twice. An
//! overdue notice is keyed to the task's latest change for the same reason.
//!
//! Each recipient is checked when routed: active, same organisation, still
//! allowed to query the entity, category on; quiet hours hold a notice
//! (not a critical one) until they end. Routine updates of one entity wait
//! out the collapse window and fold into one notification; an urgent notice
//! of the entity withdraws the routine one still waiting.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::enums::{EntityType, NotificationCategory, NotificationStatus, PushProvider};
use entity::ids::{DeviceId, OrganizationId, TaskId, UserId};
use entity::{device, notification, push_cursor, task, user};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel as _, QueryFilter, Set,
};
use serde_json::json;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::quiet;
use super::rules::{self, Announcement};
use crate::auth::Principal;
use crate::changelog;
use crate::config::PushSettings;
use crate::db::begin_write;
use crate::domain::notifications::Draft;
use crate::domain::{notifications, preferences, tasks};
use crate::error::{Error, Result};
use crate::events::hub::Hub;

/// The router's row in `push_cursors`.
const CURSOR: &str = "router";
/// The overdue scan's row in `push_cursors` (milliseconds since 1970).
const OVERDUE: &str = "overdue";
/// Changes read per transaction.
const BATCH: u64 = 200;
/// Notification rows per INSERT.
const INSERT_CHUNK: usize = 500;

/// Routes until `shutdown`. Every hub broadcast (or lag) and every poll is
/// only a wake-up: what to route is always re-read from the database cursor,
/// so a missed broadcast costs latency, never a notification.
pub async fn run(
    db: DatabaseConnection,
    hub: Arc<Hub>,
    settings: PushSettings,
    providers: Vec<PushProvider>,
    queued: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut changes = hub.subscribe();
    let poll = Duration::from_millis(settings.worker_interval_ms);
    let mut listening = true;
    let router = Router {
        settings,
        providers,
    };
    loop {
        let routed = match router.route_pending(&db).await {
            Ok(n) => n,
            Err(error) => {
                tracing::warn!(%error, "push routing failed; will retry");
                0
            }
        };
        let overdue = match router.route_overdue(&db).await {
            Ok(n) => n,
            Err(error) => {
                tracing::warn!(%error, "overdue scan failed; will retry");
                0
            }
        };
        if routed + overdue > 0 {
            queued.notify_one();
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

/// What routing needs besides the database.
struct Router {
    /// The `[push]` settings.
    settings: PushSettings,
    /// Providers that are on: devices of the others get nothing.
    providers: Vec<PushProvider>,
}

/// A notification row to queue, and whether it is a routine update that
/// folds into one still waiting.
struct Queued {
    row: notification::Model,
    collapsible: bool,
}

impl Router {
    /// Routes every change after the cursor, batch by batch; returns how
    /// many notifications were queued.
    async fn route_pending(&self, db: &DatabaseConnection) -> Result<u64> {
        let mut queued = 0;
        loop {
            let after = cursor(db, CURSOR).await?;
            let rows = changelog::rows_after(db, after, None, BATCH).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                return Ok(queued);
            };
            let mut outbox = Vec::new();
            for row in &rows {
                for announcement in rules::announcements(db, row).await? {
                    let task =
                        (row.entity_type == EntityType::Task).then(|| TaskId::from(row.entity_id));
                    outbox.extend(
                        self.address(db, &announcement, row.org_id, row.seq, task)
                            .await?,
                    );
                }
            }
            queued += self.queue(db, outbox, CURSOR, last).await?;
            if (rows.len() as u64) < BATCH {
                return Ok(queued);
            }
        }
    }

    /// Announces the tasks that fell due since the last scan and are still
    /// open; returns how many notifications were queued.
    async fn route_overdue(&self, db: &DatabaseConnection) -> Result<u64> {
        let since = cursor(db, OVERDUE).await?;
        let now = Utc::now();
        let until = now.timestamp_millis();
        if until <= since {
            return Ok(0);
        }
        let since_at = DateTime::from_timestamp_millis(since).unwrap_or(now);
        let due = task::Entity::find()
            .filter(task::Column::DueAt.gt(since_at))
            .filter(task::Column::DueAt.lte(now))
            .filter(task::Column::Status.is_in(rules::OPEN))
            .filter(task::Column::DeletedAt.is_null())
            .all(db)
            .await?;
        let mut outbox = Vec::new();
        for task in &due {
            let latest =
                changelog::latest_seq_of(db, EntityType::Task, task.id.into_uuid()).await?;
            for announcement in rules::overdue(db, task).await? {
                outbox.extend(
                    self.address(db, &announcement, task.org_id, latest, Some(task.id))
                        .await?,
                );
            }
        }
        self.queue(db, outbox, OVERDUE, until).await
    }

    /// Queues `outbox` and moves cursor `name` to `to` in one transaction;
    /// returns how many notifications were queued or folded.
    async fn queue(
        &self,
        db: &DatabaseConnection,
        outbox: Vec<Queued>,
        name: &str,
        to: i64,
    ) -> Result<u64> {
        let txn = begin_write(db).await?;
        let count = outbox.len() as u64;
        // One announcement's rows are consecutive: an urgent one is queued in
        // two statements however many devices it reaches.
        let announcements = outbox.chunk_by(|a, b| {
            a.collapsible == b.collapsible
                && a.row.change_seq == b.row.change_seq
                && a.row.category == b.row.category
                && a.row.collapse_key == b.row.collapse_key
        });
        for rows in announcements {
            let mut insert = Vec::with_capacity(rows.len());
            if rows[0].collapsible {
                for item in rows {
                    if !fold(&txn, &item.row).await? {
                        insert.push(item.row.clone());
                    }
                }
            } else {
                withdraw_routine(&txn, rows).await?;
                insert.extend(rows.iter().map(|item| item.row.clone()));
            }
            // Within the databases' limits on bound parameters.
            for chunk in insert.chunks(INSERT_CHUNK) {
                notification::Entity::insert_many(
                    chunk
                        .iter()
                        .map(|row| row.clone().into_active_model().reset_all()),
                )
                .on_conflict(
                    OnConflict::columns([
                        notification::Column::ChangeSeq,
                        notification::Column::DeviceId,
                        notification::Column::Category,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            }
        }
        // Never moves back, should a slower instance finish an older batch.
        push_cursor::Entity::update_many()
            .col_expr(push_cursor::Column::Seq, Expr::value(to))
            .filter(push_cursor::Column::Name.eq(name))
            .filter(push_cursor::Column::Seq.lt(to))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(count)
    }

    /// The notifications of one announcement: to each recipient who is an
    /// active member of the organisation, still allowed to see the task (a
    /// push never tells what a query would not) and has the category on, on
    /// each of their active devices of a provider that is on. Recipients,
    /// their preferences and their devices are read in one query each.
    async fn address(
        &self,
        db: &impl ConnectionTrait,
        announcement: &Announcement,
        org: OrganizationId,
        seq: i64,
        task: Option<TaskId>,
    ) -> Result<Vec<Queued>> {
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(announcement.recipients.clone()))
            .filter(user::Column::OrgId.eq(org))
            .filter(user::Column::Active.eq(true))
            .filter(user::Column::DeletedAt.is_null())
            .all(db)
            .await?;
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let preferences = preferences::of_users(db, &ids, announcement.category).await?;
        let devices = device::Entity::find()
            .filter(device::Column::UserId.is_in(ids))
            .filter(device::Column::Active.eq(true))
            .filter(device::Column::Provider.is_in(self.providers.clone()))
            .all(db)
            .await?;
        let draft = self.draft(announcement);
        let now = Utc::now();
        let mut rows = Vec::new();
        for user in &users {
            let Some(preference) = preferences.get(&user.id).filter(|p| p.enabled) else {
                continue;
            };
            // Without a device nothing is queued: spare the visibility check.
            if !devices.iter().any(|d| d.user_id == user.id) {
                continue;
            }
            if let Some(task) = task {
                match tasks::get(db, &Principal::from(user), task).await {
                    Ok(_) => {}
                    // Not theirs to see (or gone): not theirs to be told.
                    Err(Error::NotFound(_)) => continue,
                    // Anything else retries the batch rather than losing it.
                    Err(other) => return Err(other),
                }
            }
            let mut due = now;
            if announcement.collapsible {
                due += chrono::Duration::seconds(self.settings.collapse_window_secs as i64);
            }
            if let Some(window) = preference.quiet_hours
                && !announcement.critical
                && let Some(end) = quiet::hold_until(&user.time_zone, window, now)
            {
                due = due.max(end);
            }
            rows.extend(
                devices
                    .iter()
                    .filter(|d| d.user_id == user.id)
                    .map(|device| Queued {
                        row: draft.for_device(device, Some(seq), due),
                        collapsible: announcement.collapsible,
                    }),
            );
        }
        Ok(rows)
    }

    /// The content of an announcement's notifications.
    fn draft(&self, announcement: &Announcement) -> Draft {
        let mut data = json!({
            "url": format!("{}://{}", self.settings.deep_link_scheme, announcement.path),
            "entityType": announcement.entity_type,
            "entityId": announcement.entity_id.to_string(),
        });
        if let Some(badge) = announcement.badge {
            data["badge"] = json!(badge);
        }
        Draft {
            category: announcement.category,
            title: announcement.title.clone(),
            body: announcement.body.clone(),
            data,
            collapse_key: Some(announcement.collapse_key()),
            priority: announcement.priority,
        }
    }
}

/// Folds a routine update into the one of the same entity, device and
/// category still waiting, if any: it takes the newer text and change and
/// keeps its send time. True when folded.
async fn fold(db: &impl ConnectionTrait, row: &notification::Model) -> Result<bool> {
    let folded = notification::Entity::update_many()
        .col_expr(notification::Column::Title, Expr::value(row.title.clone()))
        .col_expr(notification::Column::Body, Expr::value(row.body.clone()))
        .col_expr(notification::Column::Data, Expr::value(row.data.clone()))
        .col_expr(notification::Column::ChangeSeq, Expr::value(row.change_seq))
        .col_expr(notification::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(waiting_for(&[row.device_id], row.collapse_key.as_deref()))
        .filter(notification::Column::Category.eq(row.category))
        .exec(db)
        .await?;
    Ok(folded.rows_affected > 0)
}

/// Withdraws the routine updates of the entity still waiting for the
/// devices an urgent notice (a completion, say) is about to reach; `rows`
/// are that notice's, one per device.
async fn withdraw_routine(db: &impl ConnectionTrait, rows: &[Queued]) -> Result<()> {
    let devices: Vec<DeviceId> = rows.iter().map(|item| item.row.device_id).collect();
    let routine = waiting_for(&devices, rows[0].row.collapse_key.as_deref())
        .add(notification::Column::Category.eq(NotificationCategory::TaskUpdated));
    notifications::cancel(db, routine, "superseded by a newer notice").await
}

/// Never-attempted notifications of these devices about one entity.
fn waiting_for(devices: &[DeviceId], collapse_key: Option<&str>) -> Condition {
    Condition::all()
        .add(notification::Column::DeviceId.is_in(devices.iter().copied()))
        .add(notification::Column::CollapseKey.eq(collapse_key))
        .add(notification::Column::Status.eq(NotificationStatus::Pending))
        .add(notification::Column::Attempts.eq(0))
}

/// Creates the router's cursors when missing: the change cursor at the
/// newest change and the overdue cursor at now, so turning push on replays
/// no history. `Application::build` calls it before the server accepts
/// writes, so no write through it is skipped.
pub async fn ensure_cursors(db: &DatabaseConnection) -> Result<()> {
    let newest = changelog::newest_seq(db).await?;
    let txn = begin_write(db).await?;
    for (name, start) in [(CURSOR, newest), (OVERDUE, Utc::now().timestamp_millis())] {
        push_cursor::Entity::insert(push_cursor::ActiveModel {
            name: Set(name.to_owned()),
            seq: Set(start),
        })
        .on_conflict(
            OnConflict::column(push_cursor::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Where cursor `name` stands.
async fn cursor(db: &DatabaseConnection, name: &str) -> Result<i64> {
    match push_cursor::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
    {
        Some(row) => Ok(row.seq),
        None => {
            ensure_cursors(db).await?;
            push_cursor::Entity::find_by_id(name.to_owned())
                .one(db)
                .await?
                .map(|row| row.seq)
                .ok_or_else(|| Error::Internal("push cursor vanished".into()))
        }
    }
}
