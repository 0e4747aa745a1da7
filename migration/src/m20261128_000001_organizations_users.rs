//! Organizations and their users.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

/// Creates `organizations` and `users`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(pk_uuid(Organizations::Id))
                    .col(string(Organizations::Name))
                    .col(string(Organizations::Slug))
                    .col(integer(Organizations::Version))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "idx_organizations_slug",
                    Organizations::Table,
                    [Organizations::Slug],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(uuid(Users::OrgId))
                    .col(string(Users::Email))
                    .col(string(Users::Name))
                    .col(string(Users::Role))
                    .col(boolean(Users::Active))
                    .col(string(Users::TimeZone).default("UTC"))
                    .col(boolean(Users::LocationSharing))
                    .col(string_null(Users::PasswordHash))
                    .col(integer(Users::Version))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Users::DeletedAt))
                    .foreign_key(&mut fk(
                        "fk_users_org_id",
                        Users::Table,
                        Users::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_users_org_id_role",
                Users::Table,
                [Users::OrgId, Users::Role],
            ))
            .await?;
        // Emails are stored lowercased, so a plain unique index is enough.
        manager
            .create_index(
                index("idx_users_email", Users::Table, [Users::Email])
                    .unique()
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).take())
            .await?;
        manager
            .drop_table(Table::drop().table(Organizations::Table).take())
            .await
    }
}

/// The `organizations` table and its columns.
#[derive(DeriveIden)]
pub(crate) enum Organizations {
    Table,
    Id,
    Name,
    Slug,
    Version,
    CreatedAt,
    UpdatedAt,
}

/// The `users` table and its columns.
#[derive(DeriveIden)]
pub(crate) enum Users {
    Table,
    Id,
    OrgId,
    Email,
    Name,
    Role,
    Active,
    TimeZone,
    LocationSharing,
    PasswordHash,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
