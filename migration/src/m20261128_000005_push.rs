//! Push devices, notification preferences and the notification outbox.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_organizations_users::{Organizations, Users};
use crate::{fk, index};

/// Creates `devices`, `notification_preferences` and `notifications`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(pk_uuid(Devices::Id))
                    .col(uuid(Devices::OrgId))
                    .col(uuid(Devices::UserId))
                    .col(string(Devices::Provider))
                    .col(string(Devices::Token))
                    .col(string(Devices::Platform))
                    .col(string(Devices::Environment))
                    .col(string_null(Devices::AppVersion))
                    .col(boolean(Devices::Active))
                    .col(timestamp_with_time_zone(Devices::CreatedAt))
                    .col(timestamp_with_time_zone(Devices::UpdatedAt))
                    .col(timestamp_with_time_zone(Devices::LastSeenAt))
                    .foreign_key(&mut fk(
                        "fk_devices_org_id",
                        Devices::Table,
                        Devices::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_devices_user_id",
                        Devices::Table,
                        Devices::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_devices_user_id_active",
                Devices::Table,
                [Devices::UserId, Devices::Active],
            ))
            .await?;
        manager
            .create_index(
                index("idx_devices_token", Devices::Table, [Devices::Token])
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(NotificationPreferences::Table)
                    .col(pk_uuid(NotificationPreferences::Id))
                    .col(uuid(NotificationPreferences::OrgId))
                    .col(uuid(NotificationPreferences::UserId))
                    .col(string(NotificationPreferences::Category))
                    .col(boolean(NotificationPreferences::Enabled))
                    .col(integer_null(NotificationPreferences::QuietStartMinute))
                    .col(integer_null(NotificationPreferences::QuietEndMinute))
                    .col(timestamp_with_time_zone(NotificationPreferences::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_notification_preferences_org_id",
                        NotificationPreferences::Table,
                        NotificationPreferences::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notification_preferences_user_id",
                        NotificationPreferences::Table,
                        NotificationPreferences::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "idx_notification_preferences_user_id_category",
                    NotificationPreferences::Table,
                    [
                        NotificationPreferences::UserId,
                        NotificationPreferences::Category,
                    ],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::OrgId))
                    .col(uuid(Notifications::UserId))
                    .col(uuid(Notifications::DeviceId))
                    .col(big_integer_null(Notifications::ChangeSeq))
                    .col(string(Notifications::Category))
                    .col(string(Notifications::Title))
                    .col(string(Notifications::Body))
                    .col(json_binary(Notifications::Data))
                    .col(string_null(Notifications::CollapseKey))
                    .col(integer(Notifications::Priority))
                    .col(string(Notifications::Status))
                    .col(integer(Notifications::Attempts))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(string_null(Notifications::ProviderTicket))
                    .col(string_null(Notifications::Error))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .foreign_key(&mut fk(
                        "fk_notifications_org_id",
                        Notifications::Table,
                        Notifications::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notifications_user_id",
                        Notifications::Table,
                        Notifications::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_notifications_device_id",
                        Notifications::Table,
                        Notifications::DeviceId,
                        Devices::Table,
                        Devices::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        // The sender's queue scan: due rows of a given status, oldest first.
        manager
            .create_index(index(
                "idx_notifications_status_next_attempt_at",
                Notifications::Table,
                [Notifications::Status, Notifications::NextAttemptAt],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_notifications_org_id_user_id_created_at",
                Notifications::Table,
                [
                    Notifications::OrgId,
                    Notifications::UserId,
                    Notifications::CreatedAt,
                ],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notifications::Table.into_iden(),
            NotificationPreferences::Table.into_iden(),
            Devices::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}

/// The `devices` table and its columns.
#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    OrgId,
    UserId,
    Provider,
    Token,
    Platform,
    Environment,
    AppVersion,
    Active,
    CreatedAt,
    UpdatedAt,
    LastSeenAt,
}

/// The `notification_preferences` table and its columns.
#[derive(DeriveIden)]
enum NotificationPreferences {
    Table,
    Id,
    OrgId,
    UserId,
    Category,
    Enabled,
    QuietStartMinute,
    QuietEndMinute,
    UpdatedAt,
}

/// The `notifications` table and its columns.
#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    OrgId,
    UserId,
    DeviceId,
    ChangeSeq,
    Category,
    Title,
    Body,
    Data,
    CollapseKey,
    Priority,
    Status,
    Attempts,
    NextAttemptAt,
    ProviderTicket,
    Error,
    CreatedAt,
    UpdatedAt,
    SentAt,
}
