//! Any entity by its id alone (Relay's `node`): its newest version in the
//! change log, if the caller may see it now. Ids are UUIDv7, unique across
//! kinds, except that a worker's status shares its worker's id: the id then
//! finds the user.

use entity::change;
use entity::enums::{ChangeOp, EntityType};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use uuid::Uuid;

use super::visibility::View;
use crate::auth::Principal;
use crate::error::Result;

/// The kind and current snapshot of the entity with this id, when the
/// caller may see it (memberships, which have no type of their own, are
/// not looked up).
pub async fn find(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<(EntityType, Value)>> {
    let not_by_id = [
        EntityType::WorkerStatus,
        EntityType::BuildingWorker,
        EntityType::BuildingClient,
    ];
    let Some(row) = change::Entity::find()
        .filter(change::Column::OrgId.eq(principal.org_id))
        .filter(change::Column::EntityId.eq(id))
        .filter(change::Column::EntityType.is_not_in(not_by_id))
        .order_by_desc(change::Column::Seq)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if row.op == ChangeOp::Deleted {
        return Ok(None);
    }
    let view = View::of(db, principal).await?;
    Ok(view
        .sees(&row.snapshot, row.entity_type)
        .then_some((row.entity_type, row.snapshot)))
}
