//! The push router's persisted cursor, and idempotent routing.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Creates `push_cursors` and makes a notification unique per change and device.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushCursors::Table)
                    .col(string(PushCursors::Name).primary_key())
                    .col(big_integer(PushCursors::Seq))
                    .take(),
            )
            .await?;
        // A router that re-reads a change (after a crash between insert and
        // cursor write, or two instances racing) cannot queue it twice.
        manager
            .create_index(
                index(
                    "idx_notifications_change_seq_device_id",
                    Notifications::Table,
                    [Notifications::ChangeSeq, Notifications::DeviceId],
                )
                .unique()
                .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_notifications_change_seq_device_id")
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PushCursors::Table).take())
            .await
    }
}

/// The `push_cursors` table: how far each push job has read the change log.
#[derive(DeriveIden)]
enum PushCursors {
    Table,
    Name,
    Seq,
}

/// The columns of `notifications` the index covers.
#[derive(DeriveIden)]
enum Notifications {
    Table,
    ChangeSeq,
    DeviceId,
}
