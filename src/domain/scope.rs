//! Visibility scoping. [`in_org`] is the only way the domain starts a read,
//! so every query is bound to the caller's organisation; [`BuildingScope`]
//! narrows it to the buildings a worker is assigned to or a client is linked to.

use entity::enums::Role;
use entity::ids::BuildingId;
use entity::{building_client, building_worker};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Select,
};

use crate::auth::Principal;
use crate::error::Result;

/// An entity whose rows belong to one organisation.
pub trait OrgOwned: EntityTrait {
    /// The `org_id` column.
    fn org_column() -> Self::Column;
}

macro_rules! org_owned {
    ($($module:ident),* $(,)?) => {
        $(impl OrgOwned for entity::$module::Entity {
            fn org_column() -> Self::Column {
                entity::$module::Column::OrgId
            }
        })*
    };
}

org_owned!(
    user,
    building,
    building_worker,
    building_client,
    task,
    worker_status,
    time_entry,
    violation,
    inspection,
    compliance_alert,
    notification,
    sync_conflict,
);

/// Starts a read of `E` limited to the caller's organisation.
pub fn in_org<E: OrgOwned>(principal: &Principal) -> Select<E> {
    E::find().filter(E::org_column().eq(principal.org_id))
}

/// The buildings whose contents a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildingScope {
    /// Every building of the organisation (administrators).
    All,
    /// Only these (a worker's assignments, a client's links).
    Only(Vec<BuildingId>),
}

impl BuildingScope {
    /// The scope of a caller, read from the assignment and link tables.
    pub async fn of(db: &impl ConnectionTrait, principal: &Principal) -> Result<Self> {
        let ids = match principal.role {
            Role::Admin => return Ok(BuildingScope::All),
            Role::Worker => {
                in_org::<building_worker::Entity>(principal)
                    .select_only()
                    .column(building_worker::Column::BuildingId)
                    .filter(building_worker::Column::WorkerId.eq(principal.user_id))
                    .into_tuple::<BuildingId>()
                    .all(db)
                    .await?
            }
            Role::Client => {
                in_org::<building_client::Entity>(principal)
                    .select_only()
                    .column(building_client::Column::BuildingId)
                    .filter(building_client::Column::ClientId.eq(principal.user_id))
                    .into_tuple::<BuildingId>()
                    .all(db)
                    .await?
            }
        };
        Ok(BuildingScope::Only(ids))
    }

    /// True when the building is inside the scope.
    pub fn allows(&self, building: BuildingId) -> bool {
        match self {
            BuildingScope::All => true,
            BuildingScope::Only(ids) => ids.contains(&building),
        }
    }

    /// A condition restricting `column` (a building id) to the scope.
    pub fn condition(&self, column: impl ColumnTrait) -> Condition {
        match self {
            BuildingScope::All => Condition::all(),
            BuildingScope::Only(ids) => Condition::all().add(column.is_in(ids.iter().copied())),
        }
    }
}
