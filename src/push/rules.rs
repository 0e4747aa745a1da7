//! Which changes announce what to whom. Each rule turns one change-log row
//! into an [`Announcement`]: a category, a text, a deep link and the users
//! it concerns; the router then checks each recipient (active, allowed to
//! see the entity, preference on) and fans it out to their devices.
//!
//! - task assigned → the assignee (with the count of their open tasks as
//!   the app's badge);
//! - task started or its progress moved → the task's creator and the
//!   building's clients, folded per task (see [`Announcement::collapsible`]);
//! - task completed → the building's clients and the task's creator;
//! - task blocked, or overdue → the organisation's administrators (overdue:
//!   when its due time is set in the past here, and when it falls due, by
//!   the router's scan through [`overdue`]);
//! - violation opened, inspection failed, critical compliance alert → the
//!   building's clients and the organisation's administrators;
//! - clock in / out → administrators (who opt in to `CLOCK_EVENT`).
//!
//! The actor of a change is never told about it.

use chrono::{DateTime, Utc};
use entity::enums::{ChangeOp, EntityType, NotificationCategory, Role, TaskStatus};
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{building, building_client, change, task, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait as _, QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::Result;

/// APNs priority of a notice to show at once.
const URGENT: i32 = 10;
/// APNs priority of a notice the phone may deliver when convenient.
const ROUTINE: i32 = 5;
/// Statuses of a task still to be done.
pub const OPEN: [TaskStatus; 4] = [
    TaskStatus::Pending,
    TaskStatus::Assigned,
    TaskStatus::InProgress,
    TaskStatus::Blocked,
];

/// What one change announces, before it reaches devices.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// Preference category.
    pub category: NotificationCategory,
    /// Notification title.
    pub title: String,
    /// Notification body.
    pub body: String,
    /// Deep-link path after `<scheme>://`, e.g. `tasks/<id>`.
    pub path: String,
    /// `TASK`, `VIOLATION`, … for the app's router.
    pub entity_type: &'static str,
    /// The entity.
    pub entity_id: Uuid,
    /// Who it concerns (the actor already removed).
    pub recipients: Vec<UserId>,
    /// `URGENT` (10) or `ROUTINE` (5), as APNs priorities.
    pub priority: i32,
    /// Passes quiet hours (critical compliance alerts).
    pub critical: bool,
    /// A routine update: waits `push.collapse_window_secs`, and later
    /// updates of the entity fold into it while it waits, so a burst is one
    /// notification; an urgent notice of the entity replaces it.
    pub collapsible: bool,
    /// The app icon's badge.
    pub badge: Option<u32>,
}

impl Announcement {
    fn new(
        category: NotificationCategory,
        title: impl Into<String>,
        body: String,
        path: String,
        (entity_type, entity_id): (&'static str, Uuid),
        recipients: Vec<UserId>,
    ) -> Self {
        Self {
            category,
            title: title.into(),
            body,
            path,
            entity_type,
            entity_id,
            recipients,
            priority: URGENT,
            critical: false,
            collapsible: false,
            badge: None,
        }
    }

    /// The key that groups notices of one entity (APNs collapse and thread id).
    pub fn collapse_key(&self) -> String {
        format!("{}:{}", self.entity_type, self.entity_id)
    }
}

/// The announcements of one change (usually none).
pub async fn announcements(
    db: &impl ConnectionTrait,
    change: &change::Model,
) -> Result<Vec<Announcement>> {
    if change.op == ChangeOp::Deleted {
        return Ok(Vec::new());
    }
    let snapshot = &change.snapshot;
    let text = |field: &str| {
        snapshot
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let touched = |field: &str| {
        change.op == ChangeOp::Created
            || change
                .changed_fields
                .as_array()
                .is_some_and(|f| f.iter().any(|v| v == field))
    };
    let building: Option<BuildingId> = parsed(snapshot, "building_id");
    let id = change.entity_id;
    let mut out = Vec::new();
    match change.entity_type {
        EntityType::Task => {
            let task = |category, title: &str, recipients| {
                Announcement::new(
                    category,
                    title,
                    text("title"),
                    format!("tasks/{id}"),
                    ("TASK", id),
                    recipients,
                )
            };
            let status = text("status");
            let creator: Option<UserId> = parsed(snapshot, "created_by");
            if touched("assignee_id")
                && let Some(assignee) = parsed::<UserId>(snapshot, "assignee_id")
            {
                let mut assigned = task(
                    NotificationCategory::TaskAssigned,
                    "New task assigned",
                    vec![assignee],
                );
                assigned.badge = Some(open_tasks_of(db, assignee).await?);
                out.push(assigned);
            }
            let progressed = change.op == ChangeOp::Updated
                && (touched("progress") || (touched("status") && status == "IN_PROGRESS"));
            if progressed && matches!(status.as_str(), "IN_PROGRESS" | "ASSIGNED") {
                let mut recipients = clients_of(db, building).await?;
                recipients.extend(creator);
                let mut update = task(
                    NotificationCategory::TaskUpdated,
                    "Task in progress",
                    recipients,
                );
                update.body = format!("{} — {}% done", text("title"), progress(snapshot));
                update.priority = ROUTINE;
                update.collapsible = true;
                out.push(update);
            }
            if touched("status") && status == "COMPLETED" {
                let mut recipients = clients_of(db, building).await?;
                recipients.extend(creator);
                out.push(task(
                    NotificationCategory::TaskCompleted,
                    "Task completed",
                    recipients,
                ));
            }
            if touched("status") && status == "BLOCKED" {
                out.push(task(
                    NotificationCategory::TaskBlocked,
                    "Task blocked",
                    admins_of(db, change.org_id).await?,
                ));
            }
            let due: Option<DateTime<Utc>> = parsed(snapshot, "due_at");
            let open = !matches!(status.as_str(), "COMPLETED" | "CANCELLED");
            if touched("due_at") && open && due.is_some_and(|due| due <= change.created_at) {
                out.push(task(
                    NotificationCategory::TaskOverdue,
                    "Task overdue",
                    admins_of(db, change.org_id).await?,
                ));
            }
        }
        EntityType::TimeEntry => {
            let clocked_out = touched("clock_out_at") && snapshot["clock_out_at"].is_string();
            if change.op == ChangeOp::Created || clocked_out {
                let worker: Option<UserId> = parsed(snapshot, "worker_id");
                let who = match worker {
                    Some(w) => user::Entity::find_by_id(w).one(db).await?.map(|u| u.name),
                    None => None,
                };
                let place = match building {
                    Some(b) => building::Entity::find_by_id(b)
                        .one(db)
                        .await?
                        .map(|b| b.name),
                    None => None,
                };
                let verb = if clocked_out {
                    "clocked out"
                } else {
                    "clocked in"
                };
                let mut notice = Announcement::new(
                    NotificationCategory::ClockEvent,
                    format!("{} {verb}", who.unwrap_or_else(|| "A worker".into())),
                    place.unwrap_or_default(),
                    match worker {
                        Some(w) => format!("workers/{w}"),
                        None => "workers".into(),
                    },
                    ("TIME_ENTRY", id),
                    admins_of(db, change.org_id).await?,
                );
                notice.priority = ROUTINE;
                out.push(notice);
            }
        }
        EntityType::Violation if change.op == ChangeOp::Created => {
            out.push(Announcement::new(
                NotificationCategory::Violation,
                format!("Violation {} issued", text("code")),
                text("description"),
                compliance_path(building),
                ("VIOLATION", id),
                clients_and_admins(db, change.org_id, building).await?,
            ));
        }
        EntityType::Inspection if touched("result") && text("result") == "FAILED" => {
            out.push(Announcement::new(
                NotificationCategory::Inspection,
                "Inspection failed",
                format!("{} inspection failed", text("kind")),
                compliance_path(building),
                ("INSPECTION", id),
                clients_and_admins(db, change.org_id, building).await?,
            ));
        }
        EntityType::ComplianceAlert
            if change.op == ChangeOp::Created && text("severity") == "CRITICAL" =>
        {
            let mut alert = Announcement::new(
                NotificationCategory::ComplianceAlert,
                "Critical compliance alert",
                text("message"),
                compliance_path(building),
                ("COMPLIANCE_ALERT", id),
                clients_and_admins(db, change.org_id, building).await?,
            );
            alert.critical = true;
            out.push(alert);
        }
        _ => {}
    }
    Ok(finish(out, change.actor_id))
}

/// The notice of a task that fell due unfinished (nobody's change: every
/// administrator is told).
pub async fn overdue(db: &impl ConnectionTrait, task: &task::Model) -> Result<Vec<Announcement>> {
    let notice = Announcement::new(
        NotificationCategory::TaskOverdue,
        "Task overdue",
        task.title.clone(),
        format!("tasks/{}", task.id),
        ("TASK", task.id.into_uuid()),
        admins_of(db, task.org_id).await?,
    );
    Ok(finish(vec![notice], None))
}

/// Each recipient once, never the actor; announcements nobody gets dropped.
fn finish(mut out: Vec<Announcement>, actor: Option<UserId>) -> Vec<Announcement> {
    for announcement in &mut out {
        announcement.recipients.sort();
        announcement.recipients.dedup();
        announcement.recipients.retain(|r| Some(*r) != actor);
    }
    out.retain(|a| !a.recipients.is_empty());
    out
}

/// A task snapshot's progress, in percent.
/// A snapshot's text field parsed (an id, a time), if present and valid.
fn parsed<T: std::str::FromStr>(snapshot: &Value, field: &str) -> Option<T> {
    snapshot.get(field)?.as_str()?.parse().ok()
}

fn progress(snapshot: &Value) -> i64 {
    snapshot
        .get("progress")
        .and_then(Value::as_i64)
        .unwrap_or_default()
}

/// How many unfinished tasks `worker` has (the badge of an assignment).
async fn open_tasks_of(db: &impl ConnectionTrait, worker: UserId) -> Result<u32> {
    let count = task::Entity::find()
        .filter(task::Column::AssigneeId.eq(worker))
        .filter(task::Column::Status.is_in(OPEN))
        .filter(task::Column::DeletedAt.is_null())
        .count(db)
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// `buildings/<id>/compliance`.
fn compliance_path(building: Option<BuildingId>) -> String {
    match building {
        Some(b) => format!("buildings/{b}/compliance"),
        None => "compliance".into(),
    }
}

/// The clients linked to a building.
async fn clients_of(
    db: &impl ConnectionTrait,
    building: Option<BuildingId>,
) -> Result<Vec<UserId>> {
    let Some(building) = building else {
        return Ok(Vec::new());
    };
    Ok(building_client::Entity::find()
        .select_only()
        .column(building_client::Column::ClientId)
        .filter(building_client::Column::BuildingId.eq(building))
        .into_tuple()
        .all(db)
        .await?)
}

/// The organisation's active administrators.
async fn admins_of(db: &impl ConnectionTrait, org: OrganizationId) -> Result<Vec<UserId>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::OrgId.eq(org))
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::DeletedAt.is_null())
        .into_tuple()
        .all(db)
        .await?)
}

/// The building's clients and the organisation's administrators.
async fn clients_and_admins(
    db: &impl ConnectionTrait,
    org: OrganizationId,
    building: Option<BuildingId>,
) -> Result<Vec<UserId>> {
    let mut recipients = clients_of(db, building).await?;
    recipients.extend(admins_of(db, org).await?);
    Ok(recipients)
}
