//! Client mutation ids: the first result of an operation is stored with its
//! key, in the same transaction as the write, so a replay returns it and
//! writes nothing.

use chrono::Utc;
use entity::client_mutation;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, SqlErr};

use crate::auth::Principal;
use crate::domain::writes::Written;
use crate::error::{Error, Result};

/// Longest accepted client mutation id.
const MAX_ID_LEN: usize = 128;

/// Refuses empty or oversized ids.
pub fn check(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::bad_input(format!(
            "clientMutationId must be 1 to {MAX_ID_LEN} bytes"
        )));
    }
    Ok(())
}

/// The stored result of an operation the caller already sent.
pub async fn recall(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
) -> Result<Option<Written>> {
    let Some(row) = client_mutation::Entity::find_by_id((principal.user_id, id.to_owned()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_value(row.result)
        .map(Some)
        .map_err(|e| Error::Internal(format!("stored result unreadable: {e}")))
}

/// Stores an operation's result under its id.
pub async fn remember(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: &str,
    result: &Written,
) -> Result<()> {
    let stored = serde_json::to_value(result).map_err(|e| Error::Internal(e.to_string()))?;
    client_mutation::ActiveModel {
        user_id: Set(principal.user_id),
        client_mutation_id: Set(id.to_owned()),
        org_id: Set(principal.org_id),
        result: Set(stored),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::bad_input(
            "an operation with this clientMutationId is already being applied; retry",
        ),
        _ => Error::Database(e),
    })?;
    Ok(())
}
