//! Relay connections from domain pages, with the change-log position the
//! page reflects.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ObjectType, OutputType, SimpleObject};
use uuid::Uuid;

use crate::domain::pagination::{Page, SortKey, encode_cursor};

/// A connection whose cursors are the items' ids; `F` adds fields to it.
pub type IdConnection<N, F = SyncPosition> = Connection<String, N, F>;

/// Where in the change log a list's answer stands.
#[derive(SimpleObject)]
pub struct SyncPosition {
    /// The change-log position this page reflects, read in the same
    /// snapshot as its items: pass it as `after:` to the matching
    /// subscription (or `syncPull`) to receive exactly the changes made
    /// since, none missed and none repeated. Opaque; it expires with the
    /// change log's retention.
    pub sync_cursor: String,
}

/// Builds a connection from a page in creation order, its ids, a node
/// constructor and the connection's own fields.
pub fn from_page<M, N: OutputType, F: ObjectType>(
    page: Page<M>,
    fields: F,
    id: impl Fn(&M) -> Uuid,
    node: impl Fn(M) -> N,
) -> IdConnection<N, F> {
    from_page_by(page, fields, |item| encode_cursor(id(item)), node)
}

/// The cursor of a row in the order of `key` (creation order without).
pub fn cursor_in<M>(key: Option<&SortKey<M>>, id: impl Fn(&M) -> Uuid) -> impl Fn(&M) -> String {
    move |row| match key {
        Some(key) => key.cursor(row, id(row)),
        None => encode_cursor(id(row)),
    }
}

/// [`from_page`] for any order: `cursor` gives each item's cursor.
pub fn from_page_by<M, N: OutputType, F: ObjectType>(
    page: Page<M>,
    fields: F,
    cursor: impl Fn(&M) -> String,
    node: impl Fn(M) -> N,
) -> IdConnection<N, F> {
    let mut connection =
        Connection::with_additional_fields(page.has_previous_page, page.has_next_page, fields);
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|item| Edge::new(cursor(&item), node(item))),
    );
    connection
}
