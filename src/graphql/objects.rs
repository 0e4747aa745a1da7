//! The object types of the schema: thin wrappers over entity models whose
//! resolvers apply the field-level rules of `domain`.

pub mod building;
pub mod compliance;
pub mod device;
pub mod history;
pub mod organization;
pub mod performance;
pub mod session;
pub mod task;
pub mod user;
pub mod worker;
pub mod write;

use std::fmt::Display;

use async_graphql::{Context, ID};
use entity::ids::{BuildingId, UserId};

use super::context::ContextExt;
use crate::domain::users::visible_by_reference;

/// An id as a GraphQL `ID`.
pub fn gid(id: impl Display) -> ID {
    ID(id.to_string())
}

/// A referenced building (of a visible entity), batched per request.
pub async fn building_ref(
    ctx: &Context<'_>,
    id: BuildingId,
) -> async_graphql::Result<Option<building::Building>> {
    Ok(ctx.loaders()?.building(id).await?.map(building::Building))
}

/// A referenced user, batched per request; `null` where the viewer may not
/// see that user (a client looking at another client).
pub async fn user_ref(ctx: &Context<'_>, id: UserId) -> async_graphql::Result<Option<user::User>> {
    let viewer = ctx.principal()?;
    Ok(ctx
        .loaders()?
        .user(id)
        .await?
        .filter(|u| visible_by_reference(viewer, u))
        .map(user::User::from))
}
