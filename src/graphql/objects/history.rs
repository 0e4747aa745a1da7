//! An entity's past versions, as `history` lists them.

use async_graphql::{Context, Json, Object};
use chrono::{DateTime, Utc};
use entity::enums::ChangeOp;
use serde_json::Value;

use crate::domain::history::Version;
use crate::graphql::json::{camel_keys, graphql_fields};
use crate::graphql::objects::user::User;
use crate::graphql::objects::user_ref;

/// One version of an entity.
pub struct EntityVersion(pub Version);

#[Object]
impl EntityVersion {
    /// The version; pass it as `toVersion` to `revertEntity`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// What happened at this version.
    async fn op(&self) -> ChangeOp {
        self.0.op
    }
    /// The fields of the entity's GraphQL type this version changed (as
    /// on change events; every field for a creation).
    async fn changed_fields(&self) -> Vec<String> {
        graphql_fields(&self.0.changed_fields)
    }
    /// Who made it; `null` for the system, or where you may not see that user.
    async fn changed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.actor {
            Some(actor) => user_ref(ctx, actor).await,
            None => Ok(None),
        }
    }
    /// When.
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The entity at this version as you may see it (camelCase fields).
    async fn snapshot(&self) -> Json<Value> {
        Json(camel_keys(self.0.snapshot.clone()))
    }
}
