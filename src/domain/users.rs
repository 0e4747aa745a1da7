//! Users and who may see whom. Administrators see everyone in their
//! organisation. Workers see themselves, administrators and the workers they
//! share a building with. Clients see themselves, administrators and the
//! workers of their buildings, never another client. Email addresses are
//! shown only to the user and administrators; password hashes never leave.

use chrono::Utc;
use entity::enums::Role;
use entity::ids::{OrganizationId, UserId};
use entity::{building_worker, organization, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, Select, Set, SqlErr,
};

use super::pagination::{Page, PageRequest, SortKey, paginate_in};
use super::scope::{BuildingScope, in_org};
use crate::auth::{Principal, password};
use crate::error::{Error, Result};

/// The users the caller may see, before filtering and paging.
async fn visible(db: &impl ConnectionTrait, principal: &Principal) -> Result<Select<user::Entity>> {
    let select = in_org::<user::Entity>(principal).filter(user::Column::DeletedAt.is_null());
    if principal.is_admin() {
        return Ok(select);
    }
    let scope = BuildingScope::of(db, principal).await?;
    let coworkers: Vec<UserId> = in_org::<building_worker::Entity>(principal)
        .select_only()
        .column(building_worker::Column::WorkerId)
        .filter(scope.condition(building_worker::Column::BuildingId))
        .into_tuple()
        .all(db)
        .await?;
    Ok(select.filter(
        Condition::any()
            .add(user::Column::Id.eq(principal.user_id))
            .add(user::Column::Role.eq(Role::Admin))
            .add(
                Condition::all()
                    .add(user::Column::Role.eq(Role::Worker))
                    .add(user::Column::Id.is_in(coworkers)),
            ),
    ))
}

/// The caller's own user row.
pub async fn me(db: &impl ConnectionTrait, principal: &Principal) -> Result<user::Model> {
    get(db, principal, principal.user_id).await
}

/// A page of visible users, optionally of one role.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    role: Option<Role>,
    order: Option<&SortKey<user::Model>>,
    page: &PageRequest,
) -> Result<Page<user::Model>> {
    let mut select = visible(db, principal).await?;
    if let Some(role) = role {
        select = select.filter(user::Column::Role.eq(role));
    }
    paginate_in(db, select, user::Column::Id, order, page).await
}

/// The ids of every user the caller may see.
pub async fn visible_ids(db: &impl ConnectionTrait, principal: &Principal) -> Result<Vec<UserId>> {
    Ok(visible(db, principal)
        .await?
        .select_only()
        .column(user::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// One visible user, or `NOT_FOUND`.
pub async fn get(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: UserId,
) -> Result<user::Model> {
    visible(db, principal)
        .await?
        .filter(user::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("user"))
}

/// Whether a user reached through another entity (a task's assignee or
/// creator) may be shown to the viewer, under the rule of [`visible`]:
/// administrators see everyone of their organisation; others see
/// themselves, administrators and workers (a worker reached through a task
/// the viewer sees works in the viewer's buildings), never a client.
pub fn visible_by_reference(viewer: &Principal, user: &user::Model) -> bool {
    user.org_id == viewer.org_id
        && (viewer.is_admin() || user.id == viewer.user_id || user.role != Role::Client)
}

/// Whether the viewer may read the user's email address.
pub fn email_visible(viewer: &Principal, user: &user::Model) -> bool {
    viewer.is_admin() || viewer.user_id == user.id
}

/// What is needed to create a user.
#[derive(Clone)]
pub struct NewUser {
    /// Sign-in address; stored lowercased and unique across organisations.
    pub email: String,
    /// Display name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Password for built-in login; `None` for identity-provider users.
    pub password: Option<String>,
    /// IANA time zone, for quiet hours.
    pub time_zone: String,
}

// Written out so that a password never reaches a log through `{:?}`.
impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

/// Creates a user in an organisation after checking the input.
pub async fn create(
    db: &impl ConnectionTrait,
    org_id: OrganizationId,
    new: NewUser,
) -> Result<user::Model> {
    let email = new.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 254 {
        return Err(Error::bad_input("email is not an email address"));
    }
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::bad_input("name must be 1 to 200 characters"));
    }
    if organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(Error::NotFound("organization"));
    }
    let taken = user::Entity::find()
        .filter(user::Column::Email.eq(email.clone()))
        .one(db)
        .await?
        .is_some();
    if taken {
        return Err(Error::bad_input("a user with this email already exists"));
    }
    if !is_known_zone(&new.time_zone) {
        return Err(Error::bad_input(
            "time zone must be an IANA name such as Europe/Paris",
        ));
    }
    let password_hash = match new.password {
        Some(p) if p.len() < 4 => {
            return Err(Error::bad_input("password must be at least 4 characters"));
        }
        Some(p) => Some(
            tokio::task::spawn_blocking(move || password::hash(&p))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| Error::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let now = Utc::now();
    let model = user::ActiveModel {
        id: Set(UserId::new()),
        org_id: Set(org_id),
        email: Set(email),
        name: Set(name),
        role: Set(new.role),
        active: Set(true),
        time_zone: Set(new.time_zone),
        location_sharing: Set(false),
        password_hash: Set(password_hash),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        // Lost a race with another create of the same address.
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Error::bad_input("a user with this email already exists")
        }
        _ => Error::Database(e),
    })?;
    Ok(model)
}

/// True when `zone` is an IANA time zone name this server knows.
pub fn is_known_zone(zone: &str) -> bool {
    zone.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_zones_are_iana_names() {
        assert!(super::is_known_zone("America/New_York"));
        assert!(!super::is_known_zone("America/Atlantis"));
    }
}
