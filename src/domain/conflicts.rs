//! Recorded conflicts: what a merge could not settle, kept for the user to
//! resolve later from the app's conflict screen, or for an administrator to
//! resolve from a console. A conflict is a versioned row in the change log
//! (recorded at version 1, resolved or closed at 2), so its user and the
//! organisation's administrators follow it like any other entity.

use chrono::Utc;
use entity::enums::{EntityType, SyncConflictStatus};
use entity::ids::{SyncConflictId, UserId};
use entity::sync_conflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::merge::FieldConflict;
use super::pagination::{Page, PageRequest, paginate};
use super::scope::in_org;
use super::versioned::{insert, locked, save};
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
    let fields =
        serde_json::to_value(conflict.fields).map_err(|e| Error::Internal(e.to_string()))?;
    let now = Utc::now();
    let row = sync_conflict::Model {
        id: SyncConflictId::new(),
        org_id: principal.org_id,
        user_id: principal.user_id,
        entity_type: conflict.entity_type,
        entity_id: conflict.entity_id,
        base_version: conflict.base_version,
        server_version: conflict.server_version,
        client_patch: Value::Object(conflict.client_patch.clone()),
        fields,
        status: SyncConflictStatus::Open,
        resolution: None,
        created_at: now,
        resolved_at: None,
        version: 1,
        updated_at: now,
    };
    Ok(insert(db, principal, row, None).await?.id)
}

/// The caller's own conflicts, oldest first, optionally in one state.
pub async fn mine(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: Option<SyncConflictStatus>,
) -> Result<Vec<sync_conflict::Model>> {
    let mut select = in_org::<sync_conflict::Entity>(principal)
        .filter(sync_conflict::Column::UserId.eq(principal.user_id));
    if let Some(status) = status {
        select = select.filter(sync_conflict::Column::Status.eq(status));
    }
    Ok(select
        .order_by_asc(sync_conflict::Column::Id)
        .all(db)
        .await?)
}

/// Which conflicts to list.
#[derive(Debug, Clone, Default)]
pub struct ConflictFilter {
    /// Of one user (administrators; others only ever list their own).
    pub user_id: Option<UserId>,
    /// About one kind of entity.
    pub entity_type: Option<EntityType>,
    /// About one entity.
    pub entity_id: Option<Uuid>,
    /// In one state.
    pub status: Option<SyncConflictStatus>,
}

/// Conflicts in creation order: an administrator's organisation's, anyone
/// else's own (`FORBIDDEN` for another user's).
pub async fn page(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &ConflictFilter,
    request: &PageRequest,
) -> Result<Page<sync_conflict::Model>> {
    let user = match filter.user_id {
        Some(user) if !principal.is_admin() && user != principal.user_id => {
            return Err(Error::forbidden("you may list only your own conflicts"));
        }
        Some(user) => Some(user),
        None if principal.is_admin() => None,
        None => Some(principal.user_id),
    };
    let mut select = in_org::<sync_conflict::Entity>(principal);
    if let Some(user) = user {
        select = select.filter(sync_conflict::Column::UserId.eq(user));
    }
    if let Some(entity_type) = filter.entity_type {
        select = select.filter(sync_conflict::Column::EntityType.eq(entity_type));
    }
    if let Some(entity_id) = filter.entity_id {
        select = select.filter(sync_conflict::Column::EntityId.eq(entity_id));
    }
    if let Some(status) = filter.status {
        select = select.filter(sync_conflict::Column::Status.eq(status));
    }
    paginate(db, select, sync_conflict::Column::Id, request).await
}

/// Why a conflict closes when its entity is deleted.
pub const ENTITY_DELETED: &str = "ENTITY_DELETED";

/// One open conflict the caller may resolve (their own; any of the
/// organisation's for an administrator), locked: `NOT_FOUND` when there is
/// none, `BAD_USER_INPUT` saying how it ended when it is no longer open.
pub async fn get_open(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: SyncConflictId,
) -> Result<sync_conflict::Model> {
    let mut select =
        in_org::<sync_conflict::Entity>(principal).filter(sync_conflict::Column::Id.eq(id));
    if !principal.is_admin() {
        select = select.filter(sync_conflict::Column::UserId.eq(principal.user_id));
    }
    let conflict = locked(db, select)
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

/// Ends a conflict: `status` with `resolution` saying how or why.
pub async fn close(
    db: &impl ConnectionTrait,
    principal: &Principal,
    conflict: sync_conflict::Model,
    status: SyncConflictStatus,
    resolution: &str,
) -> Result<sync_conflict::Model> {
    let mut next = conflict.clone();
    next.status = status;
    next.resolution = Some(resolution.to_owned());
    next.resolved_at = Some(Utc::now());
    save(db, principal, &conflict, next, None).await
}

/// Closes every open conflict about an entity being deleted, in the
/// deletion's transaction.
pub async fn close_for_deleted(
    db: &impl ConnectionTrait,
    principal: &Principal,
    entity_type: EntityType,
    entity_id: Uuid,
) -> Result<()> {
    let open = locked(
        db,
        sync_conflict::Entity::find()
            .filter(sync_conflict::Column::OrgId.eq(principal.org_id))
            .filter(sync_conflict::Column::EntityType.eq(entity_type))
            .filter(sync_conflict::Column::EntityId.eq(entity_id))
            .filter(sync_conflict::Column::Status.eq(SyncConflictStatus::Open)),
    )
    .all(db)
    .await?;
    for conflict in open {
        close(
            db,
            principal,
            conflict,
            SyncConflictStatus::Closed,
            ENTITY_DELETED,
        )
        .await?;
    }
    Ok(())
}
