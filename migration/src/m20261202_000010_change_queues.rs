//! `changes.queue_id`: the offline queue (a device's outbox, named by the
//! client on `syncPush`) whose operation made the change, so a queue's own
//! earlier writes count as its base in every later push, not just within
//! one call.

use sea_orm_migration::prelude::*;

/// Adds the nullable `queue_id` column and an index for a queue's writes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Changes {
    Table,
    QueueId,
    ActorId,
    EntityId,
}

const INDEX: &str = "idx_changes_queue";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Changes::Table)
                    .add_column(ColumnDef::new(Changes::QueueId).string_len(128).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Changes::Table)
                    .col(Changes::EntityId)
                    .col(Changes::ActorId)
                    .col(Changes::QueueId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Changes::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Changes::Table)
                    .drop_column(Changes::QueueId)
                    .to_owned(),
            )
            .await
    }
}
