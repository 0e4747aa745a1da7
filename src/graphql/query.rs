//! The query root, merged from one object per area.

pub mod reads;
pub mod sync;

use async_graphql::MergedObject;

/// Every read the API offers.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    reads::ReadQuery,
    sync::SyncQuery,
    super::mutation::devices::DeviceQuery,
);
