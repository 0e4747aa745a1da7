//! Session mutations: login, refresh, logout.

use async_graphql::{Context, Object};

use crate::auth::session;
use crate::graphql::context::ContextExt;
use crate::graphql::objects::session::AuthPayload;

/// Signing in and out.
#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in with email and password. A wrong password and an unknown email
    /// answer alike (`UNAUTHENTICATED`). One sign-in per request; attempts
    /// are limited per email and per client address (`RATE_LIMITED`, with
    /// `extensions.retryAfterSeconds`).
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> async_graphql::Result<AuthPayload> {
        let sign_in = ctx.sign_in()?;
        let session = session::login(&ctx.state()?.db, &sign_in, &email, &password).await?;
        Ok(AuthPayload(session))
    }

    /// Exchanges a refresh token for a new access token and refresh token.
    /// Each refresh token works once; reusing one ends the whole session.
    /// One sign-in per request, limited per client address like `login`.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let sign_in = ctx.sign_in()?;
        let session = session::refresh(&ctx.state()?.db, &sign_in, &refresh_token).await?;
        Ok(AuthPayload(session))
    }

    /// Ends the session of a refresh token. Always true, so it leaks nothing.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        let state = ctx.state()?;
        session::logout(&state.db, &refresh_token).await?;
        Ok(true)
    }
}
