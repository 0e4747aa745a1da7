//! `devices.platform` holds the `DevicePlatform` enum's stored names
//! (`IOS`, `ANDROID`, `WEB`) instead of the lowercase strings apps sent.

use sea_orm_migration::prelude::*;

/// Upper-cases the stored platforms.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("UPDATE devices SET platform = UPPER(platform)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("UPDATE devices SET platform = LOWER(platform)")
            .await?;
        Ok(())
    }
}
