//! Push delivery: Expo receipts, one notification per change, device and
//! category, and the overdue-task scan's index.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index;

/// Adds `notifications.receipt_checked_at` and widens the routing key with
/// the category.
#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_KEY: &str = "idx_notifications_change_seq_device_id";
const NEW_KEY: &str = "idx_notifications_change_seq_device_id_category";
const DUE: &str = "idx_tasks_due_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(timestamp_with_time_zone_null(
                        Notifications::ReceiptCheckedAt,
                    ))
                    .take(),
            )
            .await?;
        // One change can concern the same device twice (a task blocked is
        // also an overdue task's latest change); each category is its own
        // notification, and re-routing a change still queues nothing twice.
        manager
            .drop_index(
                Index::drop()
                    .name(OLD_KEY)
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    NEW_KEY,
                    Notifications::Table,
                    [
                        Notifications::ChangeSeq,
                        Notifications::DeviceId,
                        Notifications::Category,
                    ],
                )
                .unique()
                .take(),
            )
            .await?;
        // The router looks for tasks that fell due since its last look,
        // across organisations.
        manager
            .create_index(index(DUE, Tasks::Table, [Tasks::DueAt]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(DUE).table(Tasks::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(NEW_KEY)
                    .table(Notifications::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    OLD_KEY,
                    Notifications::Table,
                    [Notifications::ChangeSeq, Notifications::DeviceId],
                )
                .unique()
                .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::ReceiptCheckedAt)
                    .take(),
            )
            .await
    }
}

/// The columns of `notifications` this migration touches.
#[derive(DeriveIden)]
enum Notifications {
    Table,
    ChangeSeq,
    DeviceId,
    Category,
    ReceiptCheckedAt,
}

/// The column of `tasks` the overdue scan reads.
#[derive(DeriveIden)]
enum Tasks {
    Table,
    DueAt,
}
