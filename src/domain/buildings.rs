//! Buildings: administrators see all of their organisation's, workers those
//! they are assigned to, clients those they are linked to.

use entity::building;
use entity::ids::BuildingId;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, Select};

use super::pagination::{Page, PageRequest, paginate};
use super::scope::{BuildingScope, in_org};
use crate::auth::Principal;
use crate::error::{Error, Result};

/// The buildings the caller may see, before paging.
async fn visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> Result<Select<building::Entity>> {
    let scope = BuildingScope::of(db, principal).await?;
    Ok(in_org::<building::Entity>(principal)
        .filter(building::Column::DeletedAt.is_null())
        .filter(scope.condition(building::Column::Id)))
}

/// A page of visible buildings.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    page: &PageRequest,
) -> Result<Page<building::Model>> {
    let select = visible(db, principal).await?;
    paginate(db, select, building::Column::Id, page).await
}

/// One visible building, or `NOT_FOUND`.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: BuildingId,
) -> Result<building::Model> {
    visible(db, principal)
        .await?
        .filter(building::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("building"))
}
