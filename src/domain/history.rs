//! An entity's versions, newest first, from the change log: who changed
//! it, when, which fields, and its snapshot as the caller may see it (the
//! same visibility and redaction as every other read), so an administrator
//! can pick the version for `revertEntity`.

use chrono::{DateTime, Utc};
use entity::change;
use entity::enums::{ChangeOp, EntityType};
use entity::ids::UserId;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use super::pagination::{Page, PageRequest};
use super::visibility::View;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// Versions read back at a time.
const BATCH: u64 = 200;

/// One version of an entity.
#[derive(Debug, Clone)]
pub struct Version {
    /// The version the change produced.
    pub version: i32,
    /// What happened.
    pub op: ChangeOp,
    /// The fields it changed (stored names).
    pub changed_fields: Vec<String>,
    /// Who made it; `None` for the system.
    pub actor: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
    /// The entity at that version, as the caller may see it.
    pub snapshot: Value,
}

/// The versions of an entity the caller may see, newest first; `after` is
/// a version (its cursor), and the page holds the versions below it.
/// `NOT_FOUND` unless the caller may see the entity as it stands (only
/// administrators read the history of a deleted one).
pub async fn versions(
    db: &impl ConnectionTrait,
    principal: &Principal,
    entity_type: EntityType,
    entity_id: Uuid,
    page: &PageRequest,
) -> Result<Page<Version>> {
    let size = page.size()? as usize;
    let below = match &page.after {
        Some(cursor) => Some(decode(cursor)?),
        None => None,
    };
    let of_entity = || {
        change::Entity::find()
            .filter(change::Column::OrgId.eq(principal.org_id))
            .filter(change::Column::EntityType.eq(entity_type))
            .filter(change::Column::EntityId.eq(entity_id))
            .order_by_desc(change::Column::Version)
    };
    let newest = of_entity().one(db).await?;
    let view = View::of(db, principal).await?;
    let visible_now = newest.is_some_and(|newest| {
        principal.is_admin()
            || (newest.op != ChangeOp::Deleted && view.sees(&newest.snapshot, entity_type))
    });
    if !visible_now {
        return Err(Error::NotFound("entity"));
    }
    // A batch at a time until the page is full: versions the caller could
    // not see are skipped, and a long history (a status with weeks of
    // location reports) is never read whole.
    let mut items: Vec<Version> = Vec::with_capacity(size + 1);
    let mut next_below = below;
    while items.len() <= size {
        let mut select = of_entity();
        if let Some(below) = next_below {
            select = select.filter(change::Column::Version.lt(below));
        }
        let rows = select.limit(BATCH).all(db).await?;
        let exhausted = (rows.len() as u64) < BATCH;
        next_below = rows.last().map(|row| row.version).or(next_below);
        items.extend(
            rows.into_iter()
                .filter(|row| view.sees(&row.snapshot, entity_type) && !view.blind_to(row))
                .map(|row| Version {
                    version: row.version,
                    op: row.op,
                    changed_fields: serde_json::from_value(row.changed_fields).unwrap_or_default(),
                    actor: row.actor_id,
                    at: row.created_at,
                    snapshot: view.redact(entity_type, row.snapshot),
                }),
        );
        if exhausted {
            break;
        }
    }
    let has_next_page = items.len() > size;
    items.truncate(size);
    Ok(Page {
        items,
        has_next_page,
        has_previous_page: below.is_some(),
    })
}

/// The cursor of a version.
pub fn encode(version: i32) -> String {
    format!("v{version}")
}

fn decode(cursor: &str) -> Result<i32> {
    cursor
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::bad_input("`after` is not a history cursor returned by this server"))
}
