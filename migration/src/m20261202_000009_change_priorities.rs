//! Change priorities recomputed under the one scheme of
//! `changelog::priority::of`: each kind of entity keeps one priority
//! (compliance 30, assignment 20, everything else 10), except a worker's
//! location-only report (0). Rows written before chose their own (a task's
//! progress said 10, a revert said 10); delivery lanes now read this column.

use sea_orm_migration::prelude::*;

/// Rewrites `changes.priority` from each row's entity type.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Before, a worker status said 0 exactly for location-only writes
        // (location reports and the erasure when sharing stops): those keep 0.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE changes SET priority = CASE \
                   WHEN entity_type IN ('VIOLATION', 'INSPECTION', 'COMPLIANCE_ALERT', 'BUILDING') THEN 30 \
                   WHEN entity_type IN ('TASK', 'BUILDING_WORKER', 'BUILDING_CLIENT') THEN 20 \
                   WHEN entity_type = 'WORKER_STATUS' AND priority = 0 THEN 0 \
                   ELSE 10 END",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        // The old priorities were the writers' own choices: nothing to restore.
        Ok(())
    }
}
