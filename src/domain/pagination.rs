//! Keyset pagination over UUIDv7 ids: ids grow with creation time, so
//! ordering by id is stable and a cursor is just the last id seen.

use base64::Engine;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Page size when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// What a connection field was asked for.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// How many items at most.
    pub first: Option<i32>,
    /// Start after this cursor.
    pub after: Option<String>,
    /// The largest `first` accepted (from `graphql.max_page_size`).
    pub max_page_size: u64,
}

impl PageRequest {
    /// The page size asked for, or `BAD_USER_INPUT` beyond the maximum.
    pub fn size(&self) -> Result<u64> {
        match self.first {
            None => Ok(DEFAULT_PAGE_SIZE.min(self.max_page_size)),
            Some(n) if n >= 0 && (n as u64) <= self.max_page_size => Ok(n as u64),
            Some(_) => Err(Error::bad_input(format!(
                "`first` must be between 0 and {}",
                self.max_page_size
            ))),
        }
    }
}

/// One page of results in id order.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether more items follow the last one.
    pub has_next_page: bool,
    /// Whether items precede the first one (known when `after` was given).
    pub has_previous_page: bool,
}

/// The opaque cursor of an id.
pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The id behind a cursor, or `BAD_USER_INPUT`.
pub fn decode_cursor(cursor: &str) -> Result<Uuid> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| Error::bad_input("`after` is not a cursor returned by this server"))
}

/// Runs `select` ordered by `id_column`, one page at a time.
pub async fn paginate<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id_column: E::Column,
    request: &PageRequest,
) -> Result<Page<E::Model>> {
    let size = request.size()?;
    let mut select = select.order_by_asc(id_column);
    if let Some(after) = &request.after {
        select = select.filter(id_column.gt(decode_cursor(after)?));
    }
    let mut items = select.limit(size + 1).all(db).await?;
    let has_next_page = items.len() as u64 > size;
    items.truncate(size as usize);
    Ok(Page {
        items,
        has_next_page,
        has_previous_page: request.after.is_some(),
    })
}
