//! `sync_conflicts.version` and `updated_at`: a conflict is now a versioned
//! row in the change log (recorded at 1, closed at 2), so consoles follow
//! conflicts opening and closing like any other entity.

use sea_orm_migration::prelude::*;

/// Adds the two columns; existing conflicts start at version 1, last
/// changed when they were resolved or else recorded.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SyncConflicts {
    Table,
    Version,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SyncConflicts::Table)
                    .add_column(
                        ColumnDef::new(SyncConflicts::Version)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        // SQLite adds no column with a computed default: add it empty, fill it.
        manager
            .alter_table(
                Table::alter()
                    .table(SyncConflicts::Table)
                    .add_column(
                        ColumnDef::new(SyncConflicts::UpdatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE sync_conflicts SET updated_at = COALESCE(resolved_at, created_at)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [SyncConflicts::UpdatedAt, SyncConflicts::Version] {
            manager
                .alter_table(
                    Table::alter()
                        .table(SyncConflicts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
