//! Batch loaders for references (a task's building, assignee, creator), so a
//! list of N tasks costs one query per referenced type instead of N. Created
//! per request and bound to the caller's organisation.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{building, user};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};

use crate::error::Error;

/// Loads rows by id within one organisation.
pub struct OrgLoader {
    db: DatabaseConnection,
    org_id: OrganizationId,
}

impl Loader<UserId> for OrgLoader {
    type Value = user::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, user::Model>, Self::Error> {
        Ok(user::Entity::find()
            .filter(user::Column::OrgId.eq(self.org_id))
            .filter(user::Column::Id.is_in(keys.iter().copied()))
            .filter(user::Column::DeletedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }
}

impl Loader<BuildingId> for OrgLoader {
    type Value = building::Model;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[BuildingId],
    ) -> Result<HashMap<BuildingId, building::Model>, Self::Error> {
        Ok(building::Entity::find()
            .filter(building::Column::OrgId.eq(self.org_id))
            .filter(building::Column::Id.is_in(keys.iter().copied()))
            .filter(building::Column::DeletedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|b| (b.id, b))
            .collect())
    }
}

/// The loaders of one request.
pub struct Loaders {
    loader: DataLoader<OrgLoader>,
}

impl Loaders {
    /// Loaders for a caller in `org_id`.
    pub fn new(db: DatabaseConnection, org_id: OrganizationId) -> Self {
        Self {
            loader: DataLoader::new(OrgLoader { db, org_id }, tokio::spawn),
        }
    }

    /// A user of the organisation, if it exists.
    pub async fn user(&self, id: UserId) -> Result<Option<user::Model>, Error> {
        self.loader
            .load_one(id)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// A building of the organisation, if it exists.
    pub async fn building(&self, id: BuildingId) -> Result<Option<building::Model>, Error> {
        self.loader
            .load_one(id)
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }
}
