//! Built-in login: email and password for an access token plus a refresh
//! token. Refresh tokens rotate on every use; presenting one that was already
//! used revokes its whole family, since only a thief or a replay does that.
//! Only a SHA-256 of each refresh token is stored.

use base64::Engine;
use chrono::{DateTime, Utc};
use entity::ids::RefreshTokenId;
use entity::{refresh_token, user};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::password;
use super::throttle::SignInThrottle;
use super::tokens::{IssuedToken, TokenService};
use crate::config::AuthSettings;
use crate::db::begin_write;
use crate::error::{Error, Result};

/// What login and refresh hand back.
#[derive(Debug, Clone)]
pub struct Session {
    /// The short-lived access token.
    pub access: IssuedToken,
    /// The opaque refresh token (shown once; only its hash is kept).
    pub refresh_token: String,
    /// When the refresh token stops working.
    pub refresh_expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: user::Model,
}

/// The same answer for an unknown email and a wrong password.
fn bad_credentials() -> Error {
    Error::Unauthenticated("invalid email or password".into())
}

/// Where a sign-in comes from and what it may spend.
pub struct SignIn<'a> {
    /// The issuer of tokens.
    pub tokens: &'a TokenService,
    /// Token lifetimes.
    pub settings: &'a AuthSettings,
    /// The process's sign-in limits.
    pub throttle: &'a SignInThrottle,
    /// The client's address, when known.
    pub address: Option<std::net::IpAddr>,
}

/// Checks the password and opens a new session (a new refresh-token family).
/// Attempts count against the email's and the address's quotas, and the
/// password check waits its turn (`RATE_LIMITED` when either runs out).
pub async fn login(
    db: &DatabaseConnection,
    sign_in: &SignIn<'_>,
    email: &str,
    password: &str,
) -> Result<Session> {
    let email = email.trim().to_lowercase();
    sign_in.throttle.attempt(sign_in.address, Some(&email))?;
    let _turn = sign_in.throttle.password_check().await?;
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(db)
        .await?;
    let candidate = password.to_owned();
    let hash = found.as_ref().and_then(|u| u.password_hash.clone());
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let matches = tokio::task::spawn_blocking(move || match hash {
        Some(hash) => password::verify(&candidate, &hash),
        None => {
            password::verify_decoy(&candidate);
            false
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("password check panicked: {e}")))?;
    let user = match found {
        Some(user) if matches && user.active && user.deleted_at.is_none() => user,
        _ => return Err(bad_credentials()),
    };
    let txn = begin_write(db).await?;
    let session = open(&txn, sign_in, user, Uuid::now_v7()).await?;
    txn.commit().await?;
    tracing::info!(user.id = %session.user.id, "login");
    Ok(session)
}

/// Exchanges a refresh token for a new session in the same family. It
/// writes, so it takes the write lock before it reads (SQLite would
/// otherwise refuse the upgrade of a read under concurrent writers, and a
/// racing reuse would escape detection).
pub async fn refresh(
    db: &DatabaseConnection,
    sign_in: &SignIn<'_>,
    presented: &str,
) -> Result<Session> {
    sign_in.throttle.attempt(sign_in.address, None)?;
    let rejected = || Error::Unauthenticated("refresh token is not valid".into());
    let txn = begin_write(db).await?;
    // On PostgreSQL the presented token's row is locked first, so racing
    // refreshes of one token queue on it and touch the family's rows one
    // after another (claimed, then revoked): in any other order two losers
    // revoking the family deadlocked. SQLite's write lock already
    // serialises them.
    let mut find = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(digest(presented)));
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    let Some(row) = find.one(&txn).await? else {
        return Err(rejected());
    };
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
        return Err(rejected());
    }
    // Claim the token only if nobody has used it yet: of two racing refreshes
    // exactly one wins, and the loser is treated as a reuse.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        revoke_family(&txn, row.family_id).await?;
        txn.commit().await?;
        tracing::warn!(user.id = %row.user_id, "refresh token reused; family revoked");
        return Err(rejected());
    }
    let user = user::Entity::find_by_id(row.user_id)
        .one(&txn)
        .await?
        .filter(|u| u.active && u.deleted_at.is_none())
        .ok_or_else(|| Error::Unauthenticated("account is not active".into()))?;
    let session = open(&txn, sign_in, user, row.family_id).await?;
    txn.commit().await?;
    Ok(session)
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored.
pub async fn logout(db: &DatabaseConnection, presented: &str) -> Result<()> {
    let txn = begin_write(db).await?;
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(digest(presented)))
        .one(&txn)
        .await?
    {
        revoke_family(&txn, row.family_id).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Issues an access token and stores a new refresh token in `family`.
async fn open(
    db: &impl ConnectionTrait,
    sign_in: &SignIn<'_>,
    user: user::Model,
    family: Uuid,
) -> Result<Session> {
    let settings = sign_in.settings;
    let access = sign_in
        .tokens
        .issue(user.id, user.org_id, user.role)
        .map_err(|e| Error::Internal(format!("signing failed: {e}")))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let refresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = Utc::now();
    let expires_at = now + chrono::Duration::seconds(settings.refresh_token_ttl_secs as i64);
    refresh_token::ActiveModel {
        id: Set(RefreshTokenId::new()),
        org_id: Set(user.org_id),
        user_id: Set(user.id),
        family_id: Set(family),
        token_hash: Set(digest(&refresh)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(Session {
        access,
        refresh_token: refresh,
        refresh_expires_at: expires_at,
        user,
    })
}

/// Revokes every refresh token of a family.
async fn revoke_family(db: &impl ConnectionTrait, family: Uuid) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Hex SHA-256 of a refresh token, the form in which it is stored.
fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
