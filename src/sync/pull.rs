//! `syncPull`: every change the caller may see since their cursor, as the
//! newest snapshot per entity, with tombstones for deletions and for
//! entities that left the caller's view, and the cursor for next time.
//!
//! A cursor is `seq` plus the time it was issued; one older than the
//! retention period answers `CURSOR_EXPIRED`, so the app reloads in full.

use chrono::Utc;
use entity::change;
use entity::enums::EntityType;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::Principal;
use crate::changelog::cursor;
use crate::domain::visibility::{self, View, VisibleChange};
use crate::error::{Error, Result};

/// Largest page of changes.
pub const MAX_LIMIT: u64 = 1000;

/// A page of changes.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The changes, in log order, one per entity.
    pub changes: Vec<PulledChange>,
    /// Pass as `after` next time.
    pub cursor: String,
    /// More changes wait beyond this page.
    pub has_more: bool,
}

/// One entity's newest change as the caller sees it.
#[derive(Debug, Clone)]
pub struct PulledChange {
    /// The change, its snapshot redacted for the caller.
    pub change: VisibleChange,
    /// The entity as stored at that version, for typed fields (which apply
    /// the same rules field by field); `None` for tombstones.
    pub raw: Option<serde_json::Value>,
}

/// Reads the changes after `after` that the caller may see.
pub async fn pull(
    db: &impl ConnectionTrait,
    principal: &Principal,
    after: Option<&str>,
    entity_types: &[EntityType],
    limit: u64,
    retention_days: u32,
) -> Result<Pulled> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::bad_input(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let since = match after {
        Some(cursor) => cursor::resume_point(cursor, retention_days)?,
        None => 0,
    };
    let mut select = change::Entity::find()
        .filter(change::Column::OrgId.eq(principal.org_id))
        .filter(change::Column::Seq.gt(since))
        .order_by_asc(change::Column::Seq)
        .limit(limit + 1);
    if !entity_types.is_empty() {
        // Membership rows stay in: losing a building tombstones entities of
        // the requested types (the output filter below drops the rest).
        let types = entity_types
            .iter()
            .copied()
            .chain([EntityType::BuildingWorker, EntityType::BuildingClient]);
        select = select.filter(change::Column::EntityType.is_in(types));
    }
    let mut rows = select.all(db).await?;
    let has_more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let last_seq = rows.last().map_or(since, |r| r.seq);
    let view = View::of(db, principal).await?;
    let rows = visibility::with_before(db, rows, |row| view.needs_before(row)).await?;
    let mut out: Vec<PulledChange> = Vec::new();
    for row in rows {
        for change in view.present(db, &row).await? {
            if !entity_types.is_empty() && !entity_types.contains(&change.entity_type) {
                continue;
            }
            out.retain(|c| {
                let c = &c.change;
                !(c.entity_type == change.entity_type && c.entity_id == change.entity_id)
            });
            let own = !change.tombstone && change.entity_id == row.entity_id;
            let raw = own.then(|| row.snapshot.clone());
            out.push(PulledChange { change, raw });
        }
    }
    Ok(Pulled {
        changes: out,
        cursor: cursor::encode(last_seq, Utc::now()),
        has_more,
    })
}
