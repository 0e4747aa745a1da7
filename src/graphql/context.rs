//! What a resolver reads from the context: the state, the caller, where the
//! request came from and its one sign-in.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::Context;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

use super::loaders::Loaders;
use crate::auth::Principal;
use crate::auth::session::SignIn;
use crate::domain::pagination::PageRequest;
use crate::error::Error;
use crate::state::AppState;

/// Per-request data: the authenticated caller, if any, and where the
/// request came from.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `None` for anonymous requests (only login and friends work then).
    pub principal: Option<Principal>,
    /// The client's address, when known: sign-in limits count per address.
    pub address: Option<IpAddr>,
    /// Shared by every operation of one HTTP request (a batch too) or
    /// socket message.
    pub sign_ins: SignInBudget,
}

/// The one sign-in (`login` or `refreshSession`) a request may make, so
/// that aliases, fragments and batches cannot multiply password guesses.
#[derive(Debug, Clone, Default)]
pub struct SignInBudget(Arc<AtomicBool>);

impl SignInBudget {
    /// Spends the request's sign-in; `BAD_USER_INPUT` once it is spent.
    fn spend(&self) -> Result<(), Error> {
        if self.0.swap(true, Ordering::Relaxed) {
            return Err(Error::bad_input(
                "a request may sign in only once (one login or refreshSession)",
            ));
        }
        Ok(())
    }
}

/// The client's address: the peer of the connection, or, when the server
/// sits behind a proxy it trusts (`server.trust_forwarded_for`), the
/// address that proxy appended last to `X-Forwarded-For`.
pub fn client_address(
    extensions: &Extensions,
    headers: &HeaderMap,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|v| v.trim().parse().ok())
        })
        .flatten();
    forwarded.or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}

/// Typed access to the context, without `unwrap`.
pub trait ContextExt {
    /// The application state.
    fn state(&self) -> async_graphql::Result<&AppState>;
    /// The authenticated caller, or `UNAUTHENTICATED`.
    fn principal(&self) -> async_graphql::Result<&Principal>;
    /// The per-request batch loaders.
    fn loaders(&self) -> async_graphql::Result<&Loaders>;
    /// A page request bounded by `graphql.max_page_size`.
    fn page(&self, first: Option<i32>, after: Option<String>)
    -> async_graphql::Result<PageRequest>;
    /// The request's one sign-in, spent here; `BAD_USER_INPUT` for a second.
    fn sign_in(&self) -> async_graphql::Result<SignIn<'_>>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> async_graphql::Result<&AppState> {
        self.data::<AppState>()
    }

    fn principal(&self) -> async_graphql::Result<&Principal> {
        self.data_opt::<RequestContext>()
            .and_then(|r| r.principal.as_ref())
            .ok_or_else(|| Error::Unauthenticated("authentication required".into()).into())
    }

    fn loaders(&self) -> async_graphql::Result<&Loaders> {
        self.data_opt::<Loaders>()
            .ok_or_else(|| Error::Unauthenticated("authentication required".into()).into())
    }

    fn page(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PageRequest> {
        Ok(PageRequest {
            first,
            after,
            max_page_size: self.state()?.settings.graphql.max_page_size,
        })
    }

    fn sign_in(&self) -> async_graphql::Result<SignIn<'_>> {
        let request = self.data_opt::<RequestContext>();
        if let Some(request) = request {
            request.sign_ins.spend()?;
        }
        let state = self.state()?;
        Ok(SignIn {
            tokens: &state.tokens,
            settings: &state.settings.auth,
            throttle: &state.sign_ins,
            address: request.and_then(|r| r.address),
        })
    }
}
