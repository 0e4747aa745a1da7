//! What a resolver reads from the context: the state and the caller.

use async_graphql::Context;

use super::loaders::Loaders;
use crate::auth::Principal;
use crate::domain::pagination::PageRequest;
use crate::error::Error;
use crate::state::AppState;

/// Per-request data: the authenticated caller, if any.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `None` for anonymous requests (only login and friends work then).
    pub principal: Option<Principal>,
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
}
