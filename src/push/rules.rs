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

use entity::enums::{
    AlertSeverity, ChangeOp, EntityType, InspectionResult, NotificationCategory, Role, TaskStatus,
};
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{
    building, building_client, change, compliance_alert, inspection, task, time_entry, user,
    violation,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, PaginatorTrait as _, QueryFilter,
    QuerySelect,
};
use serde::de::DeserializeOwned;
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

/// The announcements of one change (usually none). The snapshot is read
/// as its entity's model; one that does not read as its kind announces
/// nothing (and is logged).
pub async fn announcements(
    db: &impl ConnectionTrait,
    change: &change::Model,
) -> Result<Vec<Announcement>> {
    if change.op == ChangeOp::Deleted {
        return Ok(Vec::new());
    }
    let out = match change.entity_type {
        EntityType::Task => match read(change) {
            Some(task) => task_announcements(db, change, task).await?,
            None => Vec::new(),
        },
        EntityType::TimeEntry => match read(change) {
            Some(entry) => clock_announcements(db, change, entry).await?,
            None => Vec::new(),
        },
        EntityType::Violation if change.op == ChangeOp::Created => {
            match read::<violation::Model>(change) {
                Some(violation) => vec![Announcement::new(
                    NotificationCategory::Violation,
                    format!("Violation {} issued", violation.code),
                    violation.description,
                    compliance_path(violation.building_id),
                    ("VIOLATION", change.entity_id),
                    clients_and_admins(db, change.org_id, violation.building_id).await?,
                )],
                None => Vec::new(),
            }
        }
        EntityType::Inspection if touched(change, inspection::Column::Result) => {
            match read::<inspection::Model>(change) {
                Some(inspection) if inspection.result == InspectionResult::Failed => {
                    vec![Announcement::new(
                        NotificationCategory::Inspection,
                        "Inspection failed",
                        format!("{} inspection failed", inspection.kind),
                        compliance_path(inspection.building_id),
                        ("INSPECTION", change.entity_id),
                        clients_and_admins(db, change.org_id, inspection.building_id).await?,
                    )]
                }
                _ => Vec::new(),
            }
        }
        EntityType::ComplianceAlert if change.op == ChangeOp::Created => {
            match read::<compliance_alert::Model>(change) {
                Some(alert) if alert.severity == AlertSeverity::Critical => {
                    let mut notice = Announcement::new(
                        NotificationCategory::ComplianceAlert,
                        "Critical compliance alert",
                        alert.message,
                        compliance_path(alert.building_id),
                        ("COMPLIANCE_ALERT", change.entity_id),
                        clients_and_admins(db, change.org_id, alert.building_id).await?,
                    );
                    notice.critical = true;
                    vec![notice]
                }
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    Ok(finish(out, change.actor_id))
}

/// A change's snapshot read as its entity's model.
fn read<M: DeserializeOwned>(change: &change::Model) -> Option<M> {
    M::deserialize(&change.snapshot)
        .inspect_err(|error| {
            tracing::warn!(change.seq = change.seq, %error, "a snapshot does not read as its kind");
        })
        .ok()
}

/// Whether the change wrote `column` (a creation writes every column).
fn touched(change: &change::Model, column: impl IdenStatic) -> bool {
    change.op == ChangeOp::Created
        || change
            .changed_fields
            .as_array()
            .is_some_and(|f| f.iter().any(|v| v == column.as_str()))
}

/// Assignment, progress, completion, blocking and lateness of a task.
async fn task_announcements(
    db: &impl ConnectionTrait,
    change: &change::Model,
    task: task::Model,
) -> Result<Vec<Announcement>> {
    let id = change.entity_id;
    let notice = |category, title: &str, recipients| {
        Announcement::new(
            category,
            title,
            task.title.clone(),
            format!("tasks/{id}"),
            ("TASK", id),
            recipients,
        )
    };
    let mut out = Vec::new();
    if touched(change, task::Column::AssigneeId)
        && let Some(assignee) = task.assignee_id
    {
        let mut assigned = notice(
            NotificationCategory::TaskAssigned,
            "New task assigned",
            vec![assignee],
        );
        assigned.badge = Some(open_tasks_of(db, assignee).await?);
        out.push(assigned);
    }
    let status_changed = touched(change, task::Column::Status);
    let progressed = change.op == ChangeOp::Updated
        && (touched(change, task::Column::Progress)
            || (status_changed && task.status == TaskStatus::InProgress));
    if progressed && matches!(task.status, TaskStatus::InProgress | TaskStatus::Assigned) {
        let mut recipients = clients_of(db, task.building_id).await?;
        recipients.push(task.created_by);
        let mut update = notice(
            NotificationCategory::TaskUpdated,
            "Task in progress",
            recipients,
        );
        update.body = format!("{} — {}% done", task.title, task.progress);
        update.priority = ROUTINE;
        update.collapsible = true;
        out.push(update);
    }
    if status_changed && task.status == TaskStatus::Completed {
        let mut recipients = clients_of(db, task.building_id).await?;
        recipients.push(task.created_by);
        out.push(notice(
            NotificationCategory::TaskCompleted,
            "Task completed",
            recipients,
        ));
    }
    if status_changed && task.status == TaskStatus::Blocked {
        out.push(notice(
            NotificationCategory::TaskBlocked,
            "Task blocked",
            admins_of(db, change.org_id).await?,
        ));
    }
    let open = !matches!(task.status, TaskStatus::Completed | TaskStatus::Cancelled);
    if touched(change, task::Column::DueAt)
        && open
        && task.due_at.is_some_and(|due| due <= change.created_at)
    {
        out.push(notice(
            NotificationCategory::TaskOverdue,
            "Task overdue",
            admins_of(db, change.org_id).await?,
        ));
    }
    Ok(out)
}

/// A worker clocking in or out, for the administrators who opted in.
async fn clock_announcements(
    db: &impl ConnectionTrait,
    change: &change::Model,
    entry: time_entry::Model,
) -> Result<Vec<Announcement>> {
    let clocked_out =
        touched(change, time_entry::Column::ClockOutAt) && entry.clock_out_at.is_some();
    if change.op != ChangeOp::Created && !clocked_out {
        return Ok(Vec::new());
    }
    let who = user::Entity::find_by_id(entry.worker_id)
        .one(db)
        .await?
        .map(|u| u.name);
    let place = building::Entity::find_by_id(entry.building_id)
        .one(db)
        .await?
        .map(|b| b.name);
    let verb = if clocked_out {
        "clocked out"
    } else {
        "clocked in"
    };
    let mut notice = Announcement::new(
        NotificationCategory::ClockEvent,
        format!("{} {verb}", who.unwrap_or_else(|| "A worker".into())),
        place.unwrap_or_default(),
        format!("workers/{}", entry.worker_id),
        ("TIME_ENTRY", change.entity_id),
        admins_of(db, change.org_id).await?,
    );
    notice.priority = ROUTINE;
    Ok(vec![notice])
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
fn compliance_path(building: BuildingId) -> String {
    format!("buildings/{building}/compliance")
}

/// The clients linked to a building.
async fn clients_of(db: &impl ConnectionTrait, building: BuildingId) -> Result<Vec<UserId>> {
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
    building: BuildingId,
) -> Result<Vec<UserId>> {
    let mut recipients = clients_of(db, building).await?;
    recipients.extend(admins_of(db, org).await?);
    Ok(recipients)
}
