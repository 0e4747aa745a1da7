//! The authenticated caller, loaded from the database on every request so a
//! deactivated or deleted user loses access at once, whatever their token says.

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::ids::{OrganizationId, UserId};
use entity::user;
use sea_orm::{ConnectionTrait, EntityTrait};

use super::tokens::TokenService;
use crate::error::{Error, Result};

/// The caller of an operation: who, in which organisation, with which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The calling user.
    pub user_id: UserId,
    /// Their organisation: every read and write is scoped to it.
    pub org_id: OrganizationId,
    /// What they may do.
    pub role: Role,
}

impl Principal {
    /// True for organisation administrators.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Verifies a bearer token and loads its user as the principal.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    tokens: &TokenService,
    bearer: &str,
) -> Result<Principal> {
    Ok(authenticate_session(db, tokens, bearer).await?.principal)
}

/// A principal together with the moment its token stops being valid, for
/// long-lived connections that must end when the token does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The token's `exp` claim.
    pub expires_at: DateTime<Utc>,
}

/// Like [`authenticate`], and also returns the token's expiry.
pub async fn authenticate_session(
    db: &impl ConnectionTrait,
    tokens: &TokenService,
    bearer: &str,
) -> Result<Authenticated> {
    let claims = tokens
        .verify(bearer)
        .map_err(|e| Error::Unauthenticated(e.to_string()))?;
    let user_id: UserId = claims
        .sub
        .parse()
        .map_err(|_| Error::Unauthenticated("invalid token: subject is not a user id".into()))?;
    let expires_at = DateTime::from_timestamp(claims.exp, 0)
        .ok_or_else(|| Error::Unauthenticated("invalid token: exp out of range".into()))?;
    let principal = load(db, user_id).await?;
    Ok(Authenticated {
        principal,
        expires_at,
    })
}

/// Loads an active, undeleted user as a principal.
pub async fn load(db: &impl ConnectionTrait, user_id: UserId) -> Result<Principal> {
    match user::Entity::find_by_id(user_id).one(db).await? {
        Some(user) if user.active && user.deleted_at.is_none() => Ok(Principal::from(&user)),
        _ => Err(Error::Unauthenticated("account is not active".into())),
    }
}

impl From<&user::Model> for Principal {
    /// The user as a principal; whether they may act at all (active, not
    /// deleted) is the caller's check.
    fn from(user: &user::Model) -> Self {
        Principal {
            user_id: user.id,
            org_id: user.org_id,
            role: user.role,
        }
    }
}
