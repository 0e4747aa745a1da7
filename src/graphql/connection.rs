//! Relay connections from domain pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use uuid::Uuid;

use crate::domain::pagination::{Page, encode_cursor};

/// A connection whose cursors are the items' ids.
pub type IdConnection<N> = Connection<String, N>;

/// Builds a connection from a page, its ids and a node constructor.
pub fn from_page<M, N: OutputType>(
    page: Page<M>,
    id: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> N,
) -> IdConnection<N> {
    let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(encode_cursor(id(&item)), node(item))),
    );
    connection
}
