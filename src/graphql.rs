//! The GraphQL API: schema assembly, the query, mutation and subscription
//! roots, the object types clients see, the mapping of our errors to
//! GraphQL errors, and for socket transports the [`live`] seam (one
//! operation's outputs, with each event rendered once per alike
//! subscribers by [`renderings`]).

pub mod connection;
pub mod context;
pub mod errors;
pub mod inputs;
pub mod json;
pub mod live;
pub mod loaders;
pub mod mutation;
pub mod objects;
pub mod query;
pub mod renderings;
pub mod storable;
pub mod subscription;
pub mod write_inputs;

use async_graphql::Schema;

use crate::state::AppState;

/// The executable schema of fieldsync.
pub type AppSchema =
    Schema<query::QueryRoot, mutation::MutationRoot, subscription::SubscriptionRoot>;

/// Builds the schema with the limits of the settings and the state as data.
pub fn build_schema(state: AppState) -> AppSchema {
    let limits = state.settings.graphql.clone();
    let mut builder = Schema::build(
        query::QueryRoot::default(),
        mutation::MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(32)
    .limit_directives(16)
    .extension(storable::StorableText)
    .data(state);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL that `schema.graphql` must equal (independent of settings).
pub fn sdl() -> String {
    Schema::build(
        query::QueryRoot::default(),
        mutation::MutationRoot::default(),
        subscription::SubscriptionRoot,
    )
    .finish()
    .sdl()
}
