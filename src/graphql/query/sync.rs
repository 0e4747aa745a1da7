//! Sync reads: the delta pull and the caller's recorded conflicts.

use async_graphql::{Context, Object};
use entity::enums::{EntityType, SyncConflictStatus};

use crate::domain::conflicts;
use crate::graphql::context::ContextExt;
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

    /// Your recorded conflicts, oldest first.
    async fn sync_conflicts(
        &self,
        ctx: &Context<'_>,
        status: Option<SyncConflictStatus>,
    ) -> async_graphql::Result<Vec<SyncConflict>> {
        let state = ctx.state()?;
        let rows = conflicts::list(&state.db, ctx.principal()?, status).await?;
        Ok(rows.into_iter().map(SyncConflict).collect())
    }
}
