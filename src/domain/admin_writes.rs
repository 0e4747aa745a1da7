//! Administration writes (administrators only): creating and deactivating
//! users, assigning workers to buildings and linking clients to them. Each
//! runs inside the caller's write transaction and records its change there.
//!
//! Memberships have no version of their own: their changes are logged as
//! `BuildingWorker` / `BuildingClient` rows with version 1, keyed by
//! [`changelog::membership_id`], and a DELETED one is what makes `syncPull`
//! send the member tombstones for the building they lost.

use chrono::Utc;
use entity::enums::{ChangeOp, EntityType, Role};
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{building_client, building_worker, refresh_token, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use super::compliance_writes::locked_building;
use super::scope::in_org;
use super::users::{self, NewUser};
use super::versioned::{Versioned, admin_only, answer, locked, log, save};
use super::writes::{Outcome, Written};
use crate::auth::Principal;
use crate::changelog;
use crate::error::{Error, Result};

/// Creates a user in the caller's organisation and records its creation.
pub async fn create_user(
    db: &impl ConnectionTrait,
    principal: &Principal,
    new: NewUser,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "create users")?;
    let saved = users::create(db, principal.org_id, new).await?;
    log(db, principal, &saved, ChangeOp::Created, Vec::new(), cmid).await?;
    answer(Outcome::Applied, &saved, None)
}

/// Deactivates a user (never oneself): their access tokens stop working at
/// once, since every request reloads the user, and their refresh tokens are
/// revoked. Deactivating an inactive user writes nothing.
pub async fn deactivate_user(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: UserId,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "deactivate users")?;
    if id == principal.user_id {
        return Err(Error::bad_input("you cannot deactivate yourself"));
    }
    let select = in_org::<user::Entity>(principal)
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::Id.eq(id));
    let current = locked(db, select)
        .one(db)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let mut next = current.clone();
    next.active = false;
    let saved = save(db, principal, &current, next, cmid).await?;
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::UserId.eq(id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    answer(Outcome::Applied, &saved, None)
}

/// Assigns an active worker to a building (`assigned`), or removes the
/// assignment. Asking for what already holds writes nothing.
pub async fn assign_worker(
    db: &impl ConnectionTrait,
    principal: &Principal,
    worker_id: UserId,
    building_id: BuildingId,
    assigned: bool,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "assign workers")?;
    set_membership::<building_worker::Model>(db, principal, worker_id, building_id, assigned, cmid)
        .await
}

/// Links a client to a building (`linked`), or removes the link. Asking for
/// what already holds writes nothing.
pub async fn link_client(
    db: &impl ConnectionTrait,
    principal: &Principal,
    client_id: UserId,
    building_id: BuildingId,
    linked: bool,
    cmid: Option<&str>,
) -> Result<Written> {
    admin_only(principal, "link clients")?;
    set_membership::<building_client::Model>(db, principal, client_id, building_id, linked, cmid)
        .await
}

/// A building membership row: a worker's assignment or a client's link.
trait Membership: Versioned + Clone + IntoActiveModel<Self::Active> {
    /// Its active model.
    type Active: ActiveModelTrait + ActiveModelBehavior + Send;
    /// The role a member must have.
    const ROLE: Role;
    /// The row for `user` in `building`.
    fn row(building: BuildingId, user: UserId, org: OrganizationId) -> Self;
    /// The stored row, if the user is a member.
    async fn find(
        db: &impl ConnectionTrait,
        building: BuildingId,
        user: UserId,
    ) -> Result<Option<Self>>;
}

impl Membership for building_worker::Model {
    type Active = building_worker::ActiveModel;
    const ROLE: Role = Role::Worker;
    fn row(building_id: BuildingId, worker_id: UserId, org_id: OrganizationId) -> Self {
        Self {
            building_id,
            worker_id,
            org_id,
            created_at: Utc::now(),
        }
    }
    async fn find(
        db: &impl ConnectionTrait,
        building: BuildingId,
        user: UserId,
    ) -> Result<Option<Self>> {
        Ok(building_worker::Entity::find_by_id((building, user))
            .one(db)
            .await?)
    }
}

impl Membership for building_client::Model {
    type Active = building_client::ActiveModel;
    const ROLE: Role = Role::Client;
    fn row(building_id: BuildingId, client_id: UserId, org_id: OrganizationId) -> Self {
        Self {
            building_id,
            client_id,
            org_id,
            created_at: Utc::now(),
        }
    }
    async fn find(
        db: &impl ConnectionTrait,
        building: BuildingId,
        user: UserId,
    ) -> Result<Option<Self>> {
        Ok(building_client::Entity::find_by_id((building, user))
            .one(db)
            .await?)
    }
}

/// Makes `user` a member of `building` (`present`) or not, logging a
/// CREATED or DELETED change when that changes anything.
async fn set_membership<M>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    user: UserId,
    building: BuildingId,
    present: bool,
    cmid: Option<&str>,
) -> Result<Written>
where
    M: Membership,
    <M::Active as ActiveModelTrait>::Entity: EntityTrait<Model = M>,
    M: IntoActiveModel<M::Active>,
{
    // Locking the building serialises membership changes of one building.
    locked_building(db, principal, building).await?;
    member(db, principal, user, M::ROLE, present).await?;
    let (row, op) = match (present, M::find(db, building, user).await?) {
        (true, Some(row)) => (row, None),
        (true, None) => {
            let saved = M::row(building, user, principal.org_id)
                .into_active_model()
                .reset_all()
                .insert(db)
                .await?;
            (saved, Some(ChangeOp::Created))
        }
        (false, Some(row)) => {
            row.clone().into_active_model().delete(db).await?;
            (row, Some(ChangeOp::Deleted))
        }
        (false, None) => (M::row(building, user, principal.org_id), None),
    };
    if let Some(op) = op {
        log(db, principal, &row, op, Vec::new(), cmid).await?;
    }
    answer(Outcome::Applied, &row, None)
}

/// The user to add to or remove from a building: of the caller's
/// organisation (else NOT_FOUND), of the right role, and active when added.
/// Removal accepts an inactive user, so a deactivated worker can be cleaned up.
async fn member(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: UserId,
    role: Role,
    adding: bool,
) -> Result<user::Model> {
    let user = in_org::<user::Entity>(principal)
        .filter(user::Column::DeletedAt.is_null())
        .filter(user::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("user"))?;
    let what = match role {
        Role::Worker => "worker",
        Role::Client => "client",
        Role::Admin => "administrator",
    };
    if user.role != role {
        return Err(Error::bad_input(format!("this user is not a {what}")));
    }
    if adding && !user.active {
        return Err(Error::bad_input(format!("this {what} is not active")));
    }
    Ok(user)
}

impl Versioned for building_worker::Model {
    const ENTITY: EntityType = EntityType::BuildingWorker;
    fn key(&self) -> Uuid {
        changelog::membership_id(self.building_id.into_uuid(), self.worker_id.into_uuid())
    }
    fn org(&self) -> OrganizationId {
        self.org_id
    }
    fn version(&self) -> i32 {
        1
    }
}

impl Versioned for building_client::Model {
    const ENTITY: EntityType = EntityType::BuildingClient;
    fn key(&self) -> Uuid {
        changelog::membership_id(self.building_id.into_uuid(), self.client_id.into_uuid())
    }
    fn org(&self) -> OrganizationId {
        self.org_id
    }
    fn version(&self) -> i32 {
        1
    }
}
