//! Buildings, who works at and may see them, and their tasks.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_organizations_users::{Organizations, Users};
use crate::{fk, index};

/// Creates `buildings`, `building_workers`, `building_clients` and `tasks`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Buildings::Table)
                    .col(pk_uuid(Buildings::Id))
                    .col(uuid(Buildings::OrgId))
                    .col(string(Buildings::Name))
                    .col(string(Buildings::Address))
                    .col(string(Buildings::Status))
                    .col(integer(Buildings::Version))
                    .col(timestamp_with_time_zone(Buildings::CreatedAt))
                    .col(timestamp_with_time_zone(Buildings::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Buildings::DeletedAt))
                    .foreign_key(&mut fk(
                        "fk_buildings_org_id",
                        Buildings::Table,
                        Buildings::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_buildings_org_id",
                Buildings::Table,
                [Buildings::OrgId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BuildingWorkers::Table)
                    .col(uuid(BuildingWorkers::BuildingId))
                    .col(uuid(BuildingWorkers::WorkerId))
                    .col(uuid(BuildingWorkers::OrgId))
                    .col(timestamp_with_time_zone(BuildingWorkers::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(BuildingWorkers::BuildingId)
                            .col(BuildingWorkers::WorkerId),
                    )
                    .foreign_key(&mut fk(
                        "fk_building_workers_org_id",
                        BuildingWorkers::Table,
                        BuildingWorkers::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_building_workers_building_id",
                        BuildingWorkers::Table,
                        BuildingWorkers::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_building_workers_worker_id",
                        BuildingWorkers::Table,
                        BuildingWorkers::WorkerId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        // The primary key serves lookups by building; this one serves "my buildings".
        manager
            .create_index(index(
                "idx_building_workers_worker_id",
                BuildingWorkers::Table,
                [BuildingWorkers::WorkerId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BuildingClients::Table)
                    .col(uuid(BuildingClients::BuildingId))
                    .col(uuid(BuildingClients::ClientId))
                    .col(uuid(BuildingClients::OrgId))
                    .col(timestamp_with_time_zone(BuildingClients::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(BuildingClients::BuildingId)
                            .col(BuildingClients::ClientId),
                    )
                    .foreign_key(&mut fk(
                        "fk_building_clients_org_id",
                        BuildingClients::Table,
                        BuildingClients::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_building_clients_building_id",
                        BuildingClients::Table,
                        BuildingClients::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_building_clients_client_id",
                        BuildingClients::Table,
                        BuildingClients::ClientId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_building_clients_client_id",
                BuildingClients::Table,
                [BuildingClients::ClientId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tasks::Table)
                    .col(pk_uuid(Tasks::Id))
                    .col(uuid(Tasks::OrgId))
                    .col(uuid(Tasks::BuildingId))
                    .col(string(Tasks::Title))
                    .col(string(Tasks::Description))
                    .col(string(Tasks::Category))
                    .col(string(Tasks::Priority))
                    .col(string(Tasks::Status))
                    .col(uuid_null(Tasks::AssigneeId))
                    .col(uuid(Tasks::CreatedBy))
                    .col(integer(Tasks::Progress))
                    .col(timestamp_with_time_zone_null(Tasks::DueAt))
                    .col(timestamp_with_time_zone_null(Tasks::StartedAt))
                    .col(timestamp_with_time_zone_null(Tasks::CompletedAt))
                    .col(integer(Tasks::Version))
                    .col(timestamp_with_time_zone(Tasks::CreatedAt))
                    .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Tasks::DeletedAt))
                    .foreign_key(&mut fk(
                        "fk_tasks_org_id",
                        Tasks::Table,
                        Tasks::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tasks_building_id",
                        Tasks::Table,
                        Tasks::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_tasks_assignee_id",
                        Tasks::Table,
                        Tasks::AssigneeId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    // NO ACTION rather than RESTRICT: it is checked at the end
                    // of the statement, so deleting an organization (which
                    // cascades to its users and its tasks alike) still works.
                    .foreign_key(&mut fk(
                        "fk_tasks_created_by",
                        Tasks::Table,
                        Tasks::CreatedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_tasks_org_id_building_id_status",
                Tasks::Table,
                [Tasks::OrgId, Tasks::BuildingId, Tasks::Status],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_tasks_org_id_assignee_id_status",
                Tasks::Table,
                [Tasks::OrgId, Tasks::AssigneeId, Tasks::Status],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_tasks_org_id_status_due_at",
                Tasks::Table,
                [Tasks::OrgId, Tasks::Status, Tasks::DueAt],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Tasks::Table.into_iden(),
            BuildingClients::Table.into_iden(),
            BuildingWorkers::Table.into_iden(),
            Buildings::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}

/// The `buildings` table and its columns.
#[derive(DeriveIden)]
pub(crate) enum Buildings {
    Table,
    Id,
    OrgId,
    Name,
    Address,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// The `building_workers` table and its columns.
#[derive(DeriveIden)]
enum BuildingWorkers {
    Table,
    BuildingId,
    WorkerId,
    OrgId,
    CreatedAt,
}

/// The `building_clients` table and its columns.
#[derive(DeriveIden)]
enum BuildingClients {
    Table,
    BuildingId,
    ClientId,
    OrgId,
    CreatedAt,
}

/// The `tasks` table and its columns.
#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    OrgId,
    BuildingId,
    Title,
    Description,
    Category,
    Priority,
    Status,
    AssigneeId,
    CreatedBy,
    Progress,
    DueAt,
    StartedAt,
    CompletedAt,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}
