//! The caller's organisation.

use entity::organization;
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::auth::Principal;
use crate::error::{Error, Result};

/// The organisation the caller belongs to.
pub async fn current(
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> Result<organization::Model> {
    organization::Entity::find_by_id(principal.org_id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("organization"))
}
