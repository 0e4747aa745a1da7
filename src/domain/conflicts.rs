//! Recorded conflicts: what a merge could not settle, kept for the user to
//! resolve later from the app's conflict screen.

use chrono::Utc;
use entity::enums::{EntityType, SyncConflictStatus};
use entity::ids::SyncConflictId;
use entity::sync_conflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::merge::FieldConflict;
use crate::auth::Principal;
use crate::error::{Error, Result};

/// What to record about a failed merge.
pub struct NewConflict<'a> {
    /// Kind of entity.
    pub entity_type: EntityType,
    /// Its id.
    pub entity_id: Uuid,
    /// The version the client edited.
    pub base_version: i32,
    /// The version on the server.
    pub server_version: i32,
    /// The client's whole patch.
    pub client_patch: &'a Map<String, Value>,
    /// The fields in dispute.
    pub fields: &'a [FieldConflict],
}

/// Records an open conflict for the caller; returns its id.
pub async fn record(
    db: &impl ConnectionTrait,
    principal: &Principal,
    conflict: NewConflict<'_>,
) -> Result<SyncConflictId> {
    let id = SyncConflictId::new();
    let fields =
        serde_json::to_value(conflict.fields).map_err(|e| Error::Internal(e.to_string()))?;
    sync_conflict::ActiveModel {
        id: Set(id),
        org_id: Set(principal.org_id),
        user_id: Set(principal.user_id),
        entity_type: Set(conflict.entity_type),
        entity_id: Set(conflict.entity_id),
        base_version: Set(conflict.base_version),
        server_version: Set(conflict.server_version),
        client_patch: Set(Value::Object(conflict.client_patch.clone())),
        fields: Set(fields),
        status: Set(SyncConflictStatus::Open),
        resolution: Set(None),
        created_at: Set(Utc::now()),
        resolved_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The caller's conflicts, oldest first, optionally of one status.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: Option<SyncConflictStatus>,
) -> Result<Vec<sync_conflict::Model>> {
    let mut select = sync_conflict::Entity::find()
        .filter(sync_conflict::Column::OrgId.eq(principal.org_id))
        .filter(sync_conflict::Column::UserId.eq(principal.user_id));
    if let Some(status) = status {
        select = select.filter(sync_conflict::Column::Status.eq(status));
    }
    Ok(select
        .order_by_asc(sync_conflict::Column::Id)
        .all(db)
        .await?)
}

/// Why a conflict closes when its entity is deleted.
pub const ENTITY_DELETED: &str = "ENTITY_DELETED";

/// One open conflict of the caller: `NOT_FOUND` when it is not theirs,
/// `BAD_USER_INPUT` saying how it ended when it is no longer open.
pub async fn get_open(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: SyncConflictId,
) -> Result<sync_conflict::Model> {
    let conflict = sync_conflict::Entity::find_by_id(id)
        .filter(sync_conflict::Column::OrgId.eq(principal.org_id))
        .filter(sync_conflict::Column::UserId.eq(principal.user_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("sync conflict"))?;
    match conflict.status {
        SyncConflictStatus::Open => Ok(conflict),
        SyncConflictStatus::Closed => Err(Error::bad_input(
            "this conflict is closed: its entity was deleted, so there is nothing left to resolve",
        )),
        SyncConflictStatus::Resolved => Err(Error::bad_input(format!(
            "this conflict is already resolved ({})",
            conflict
                .resolution
                .as_deref()
                .unwrap_or("no resolution recorded")
        ))),
    }
}

/// Closes every open conflict about an entity that was deleted, in the
/// deletion's transaction.
pub async fn close_for_deleted(
    db: &impl ConnectionTrait,
    entity_type: EntityType,
    entity_id: Uuid,
) -> Result<()> {
    sync_conflict::Entity::update_many()
        .col_expr(
            sync_conflict::Column::Status,
            SyncConflictStatus::Closed.into(),
        )
        .col_expr(sync_conflict::Column::Resolution, ENTITY_DELETED.into())
        .col_expr(sync_conflict::Column::ResolvedAt, Utc::now().into())
        .filter(sync_conflict::Column::EntityType.eq(entity_type))
        .filter(sync_conflict::Column::EntityId.eq(entity_id))
        .filter(sync_conflict::Column::Status.eq(SyncConflictStatus::Open))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks a conflict resolved with how.
pub async fn close(
    db: &impl ConnectionTrait,
    conflict: sync_conflict::Model,
    resolution: &str,
) -> Result<sync_conflict::Model> {
    let mut row: sync_conflict::ActiveModel = conflict.into();
    row.status = Set(SyncConflictStatus::Resolved);
    row.resolution = Set(Some(resolution.to_owned()));
    row.resolved_at = Set(Some(Utc::now()));
    Ok(row.update(db).await?)
}
