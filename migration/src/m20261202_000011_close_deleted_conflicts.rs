//! Open conflicts about tasks already deleted are closed (`CLOSED`,
//! resolution `ENTITY_DELETED`), as deleting a task now does: they could
//! never be resolved, and stayed open forever.

use sea_orm_migration::prelude::*;

/// Closes open conflicts whose task is deleted.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE sync_conflicts SET status = 'CLOSED', resolution = 'ENTITY_DELETED', \
                   resolved_at = created_at \
                 WHERE status = 'OPEN' AND entity_type = 'TASK' \
                   AND entity_id IN (SELECT id FROM tasks WHERE deleted_at IS NOT NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        // Reopening conflicts nobody can resolve would restore nothing useful.
        Ok(())
    }
}
