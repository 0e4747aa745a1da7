//! Which changes announce what to whom. Each rule turns one change-log row
//! into an [`Announcement`]: a category, a text, a deep link and the users
//! it concerns; the router then checks each recipient (active, allowed to
//! see the entity, preference on) and fans it out to their devices.
//!
//! - task assigned → the assignee;
//! - task completed → the building's clients and the task's creator;
//! - task blocked → the organisation's administrators;
//! - violation opened, inspection failed, critical compliance alert → the
//!   building's clients and the organisation's administrators.
//!
//! The actor of a change is never told about it.

use entity::enums::{ChangeOp, EntityType, NotificationCategory, Role};
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{building_client, change, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::error::Result;

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
    let building: Option<BuildingId> = snapshot
        .get("building_id")
        .and_then(Value::as_str)
        .and_then(|b| b.parse().ok());
    let id = change.entity_id;
    let mut out = Vec::new();
    match change.entity_type {
        EntityType::Task => {
            let task = |category, title: &str, recipients| Announcement {
                category,
                title: title.into(),
                body: text("title"),
                path: format!("tasks/{id}"),
                entity_type: "TASK",
                entity_id: id,
                recipients,
            };
            if touched("assignee_id")
                && let Some(assignee) = snapshot
                    .get("assignee_id")
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse().ok())
            {
                out.push(task(
                    NotificationCategory::TaskAssigned,
                    "New task assigned",
                    vec![assignee],
                ));
            }
            if touched("status") && text("status") == "COMPLETED" {
                let mut recipients = clients_of(db, building).await?;
                if let Some(creator) = snapshot
                    .get("created_by")
                    .and_then(Value::as_str)
                    .and_then(|c| c.parse().ok())
                {
                    recipients.push(creator);
                }
                out.push(task(
                    NotificationCategory::TaskCompleted,
                    "Task completed",
                    recipients,
                ));
            }
            if touched("status") && text("status") == "BLOCKED" {
                out.push(task(
                    NotificationCategory::TaskBlocked,
                    "Task blocked",
                    admins_of(db, change.org_id).await?,
                ));
            }
        }
        EntityType::Violation if change.op == ChangeOp::Created => {
            out.push(Announcement {
                category: NotificationCategory::Violation,
                title: format!("Violation {} issued", text("code")),
                body: text("description"),
                path: compliance_path(building),
                entity_type: "VIOLATION",
                entity_id: id,
                recipients: clients_and_admins(db, change.org_id, building).await?,
            });
        }
        EntityType::Inspection if touched("result") && text("result") == "FAILED" => {
            out.push(Announcement {
                category: NotificationCategory::Inspection,
                title: "Inspection failed".into(),
                body: format!("{} inspection failed", text("kind")),
                path: compliance_path(building),
                entity_type: "INSPECTION",
                entity_id: id,
                recipients: clients_and_admins(db, change.org_id, building).await?,
            });
        }
        EntityType::ComplianceAlert
            if change.op == ChangeOp::Created && text("severity") == "CRITICAL" =>
        {
            out.push(Announcement {
                category: NotificationCategory::ComplianceAlert,
                title: "Critical compliance alert".into(),
                body: text("message"),
                path: compliance_path(building),
                entity_type: "COMPLIANCE_ALERT",
                entity_id: id,
                recipients: clients_and_admins(db, change.org_id, building).await?,
            });
        }
        _ => {}
    }
    for announcement in &mut out {
        announcement.recipients.sort();
        announcement.recipients.dedup();
        announcement
            .recipients
            .retain(|r| Some(*r) != change.actor_id);
    }
    out.retain(|a| !a.recipients.is_empty());
    Ok(out)
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

async fn clients_and_admins(
    db: &impl ConnectionTrait,
    org: OrganizationId,
    building: Option<BuildingId>,
) -> Result<Vec<UserId>> {
    let mut recipients = clients_of(db, building).await?;
    recipients.extend(admins_of(db, org).await?);
    Ok(recipients)
}
