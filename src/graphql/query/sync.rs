//! Sync reads: the delta pull and the caller's recorded conflicts.

use async_graphql::{Context, Object};
use entity::enums::{EntityType, SyncConflictStatus};

use crate::changelog;
use crate::domain::conflicts::{self, ConflictFilter};
use crate::graphql::connection::{IdConnection, SyncPosition, from_page};
use crate::graphql::context::ContextExt;
use crate::graphql::inputs::SyncConflictFilterInput;
use crate::graphql::objects::write::{SyncChange, SyncConflict, SyncPullResult};
use crate::sync::pull;

/// Reads for offline sync.
#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// Every change you may see since `after` (from the start when omitted):
    /// the newest state per entity, tombstones for what was deleted or left
    /// your view, and the cursor for next time. A cursor older than the
    /// change-log retention answers `CURSOR_EXPIRED`: reload in full.
    async fn sync_pull(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        entity_types: Option<Vec<EntityType>>,
        #[graphql(default = 500)] limit: i32,
    ) -> async_graphql::Result<SyncPullResult> {
        let state = ctx.state()?;
        let limit = u64::try_from(limit).unwrap_or(0);
        let pulled = pull::pull(
            &state.db,
            ctx.principal()?,
            after.as_deref(),
            &entity_types.unwrap_or_default(),
            limit,
            state.settings.sync.retention_days,
        )
        .await?;
        Ok(SyncPullResult {
            changes: pulled.changes.into_iter().map(SyncChange).collect(),
            cursor: pulled.cursor,
            has_more: pulled.has_more,
        })
    }

    /// Conflicts in the order they arose: an administrator's whole
    /// organisation's, anyone else's own (FORBIDDEN for another user's
    /// `userId`). Resolve them with `resolveSyncConflict` (administrators
    /// any of the organisation's); follow them with `syncConflictChanged`,
    /// `after:` this list's `syncCursor`.
    async fn conflicts(
        &self,
        ctx: &Context<'_>,
        filter: Option<SyncConflictFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<SyncConflict>> {
        let state = ctx.state()?;
        let filter: ConflictFilter = filter.unwrap_or_default().try_into()?;
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            conflicts::page(db, principal, &filter, &page).await
        })
        .await?;
        Ok(from_page(
            page,
            SyncPosition { sync_cursor },
            |c| c.id.into_uuid(),
            SyncConflict,
        ))
    }

    /// Your recorded conflicts, oldest first.
    async fn sync_conflicts(
        &self,
        ctx: &Context<'_>,
        status: Option<SyncConflictStatus>,
    ) -> async_graphql::Result<Vec<SyncConflict>> {
        let state = ctx.state()?;
        let rows = conflicts::mine(&state.db, ctx.principal()?, status).await?;
        Ok(rows.into_iter().map(SyncConflict).collect())
    }
}
