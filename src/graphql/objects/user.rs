//! The `User` type, with email and sharing settings shown only to the user
//! and administrators.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::user;

use super::gid;
use crate::domain::users::email_visible;
use crate::graphql::context::ContextExt;

/// A person in the organisation: administrator, worker or client.
pub struct User {
    model: user::Model,
    /// Shown to the user themself (after login, before a principal exists).
    own: bool,
}

impl User {
    /// The signed-in user's own view of their account.
    pub fn own(model: user::Model) -> Self {
        Self { model, own: true }
    }

    /// Whether the viewer may see private fields of this user.
    fn private_visible(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.own || email_visible(ctx.principal()?, &self.model))
    }
}

impl From<user::Model> for User {
    fn from(model: user::Model) -> Self {
        Self { model, own: false }
    }
}

#[Object]
impl User {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.model.id)
    }
    /// Sign-in address; `null` unless you are this user or an administrator.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        Ok(self
            .private_visible(ctx)?
            .then_some(self.model.email.as_str()))
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.model.name
    }
    /// What the user may do.
    async fn role(&self) -> Role {
        self.model.role
    }
    /// False once an administrator deactivated the account.
    async fn active(&self) -> bool {
        self.model.active
    }
    /// IANA time zone, used for quiet hours.
    async fn time_zone(&self) -> &str {
        &self.model.time_zone
    }
    /// Whether the worker shares their location; `null` unless you are this
    /// user or an administrator.
    async fn location_sharing(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        Ok(self
            .private_visible(ctx)?
            .then_some(self.model.location_sharing))
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.model.version
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// When the account last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}
