//! Keyset pagination over UUIDv7 ids: ids grow with creation time, so
//! ordering by id is stable and a cursor is just the last id seen.

use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
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
            None => Ok(Ord::min(DEFAULT_PAGE_SIZE, self.max_page_size)),
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

/// A value of a sort key, as a cursor keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum KeyValue {
    /// A rank or a number.
    Int(i64),
    /// Text.
    Text(String),
    /// A time.
    Time(DateTime<Utc>),
}

impl KeyValue {
    fn sql(&self) -> sea_orm::Value {
        match self {
            KeyValue::Int(n) => (*n).into(),
            KeyValue::Text(s) => s.clone().into(),
            KeyValue::Time(t) => (*t).into(),
        }
    }
}

/// An order other than creation: a key as SQL and as read from a row,
/// ascending or descending, NULLs last, the id breaking ties (so a cursor,
/// the key and id of the last row, stays valid as rows come and go).
pub struct SortKey<M> {
    /// The key as SQL.
    pub expr: SimpleExpr,
    /// The key of a row (`None` for NULL).
    pub of: fn(&M) -> Option<KeyValue>,
    /// Largest first.
    pub descending: bool,
}

/// Where a sorted page resumes: the last row's key and id.
#[derive(serde::Serialize, serde::Deserialize)]
struct SortCursor {
    key: Option<KeyValue>,
    id: Uuid,
}

impl<M> SortKey<M> {
    /// The cursor of a row of a page sorted by this key.
    pub fn cursor(&self, row: &M, id: Uuid) -> String {
        let cursor = SortCursor {
            key: (self.of)(row),
            id,
        };
        let json = serde_json::to_vec(&cursor).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }
}

/// [`paginate`] in the order of `key`.
pub async fn paginate_sorted<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id_column: E::Column,
    key: &SortKey<E::Model>,
    request: &PageRequest,
) -> Result<Page<E::Model>> {
    let size = request.size()?;
    let direction = if key.descending {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let null = || Expr::expr(key.expr.clone()).is_null();
    let mut select = select
        .order_by(null(), sea_orm::Order::Asc)
        .order_by(key.expr.clone(), direction)
        .order_by_asc(id_column);
    if let Some(after) = &request.after {
        let cursor: SortCursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(after)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| Error::bad_input("`after` is not a cursor of this order"))?;
        let later_id = Expr::col(id_column).gt(cursor.id);
        let condition = match &cursor.key {
            None => Condition::all().add(null()).add(later_id),
            Some(value) => {
                let expr = || Expr::expr(key.expr.clone());
                let beyond = if key.descending {
                    expr().lt(value.sql())
                } else {
                    expr().gt(value.sql())
                };
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(expr().eq(value.sql())).add(later_id))
                    .add(null())
            }
        };
        select = select.filter(condition);
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

/// A key that ranks an enum column by the order of `ranked`.
pub fn rank_key<C: ColumnTrait, M, V: serde::Serialize + PartialEq>(
    column: C,
    ranked: &[V],
    of: fn(&M) -> Option<KeyValue>,
    descending: bool,
) -> SortKey<M> {
    SortKey {
        expr: rank_expr(column, ranked),
        of,
        descending,
    }
}

/// SQL ranking an enum column by the order of `ranked` (its stored names,
/// as serde writes them).
fn rank_expr<C: ColumnTrait, V: serde::Serialize + PartialEq>(
    column: C,
    ranked: &[V],
) -> SimpleExpr {
    let mut case = sea_orm::sea_query::CaseStatement::new();
    for (rank, value) in ranked.iter().enumerate() {
        let stored = serde_json::to_value(value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        case = case.case(Expr::col(column).eq(stored), rank as i64);
    }
    case.finally(ranked.len() as i64).into()
}

/// The rank of `value` in `ranked` (as [`rank_key`] computes it in SQL).
pub fn rank_of<V: PartialEq>(ranked: &[V], value: &V) -> Option<KeyValue> {
    let rank = ranked
        .iter()
        .position(|v| v == value)
        .unwrap_or(ranked.len());
    Some(KeyValue::Int(rank as i64))
}

/// A list's order: one of its fields, either way; creation breaks ties.
#[derive(Debug, Clone, Copy)]
pub struct Order<F> {
    /// By what.
    pub field: F,
    /// Largest first.
    pub descending: bool,
}

/// A kind of row that lists can be ordered by fields of.
pub trait Orderable: Sized {
    /// The fields it can be ordered by.
    type Field: Copy;
    /// The key of an order; `None` for creation order ascending (by id).
    fn key(order: Order<Self::Field>) -> Option<SortKey<Self>>;
}

/// [`paginate`], or [`paginate_sorted`] when an order is given.
pub async fn paginate_in<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    id_column: E::Column,
    order: Option<&SortKey<E::Model>>,
    request: &PageRequest,
) -> Result<Page<E::Model>> {
    match order {
        Some(key) => paginate_sorted(db, select, id_column, key, request).await,
        None => paginate(db, select, id_column, request).await,
    }
}

/// A key on a column, as stored (times, text).
pub fn column_key<C: ColumnTrait, M>(
    column: C,
    of: fn(&M) -> Option<KeyValue>,
    descending: bool,
) -> SortKey<M> {
    SortKey {
        expr: Expr::col(column),
        of,
        descending,
    }
}
