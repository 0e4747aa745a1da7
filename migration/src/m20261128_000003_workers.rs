//! Workers' live status and their time entries.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_organizations_users::{Organizations, Users};
use crate::m20261128_000002_buildings_tasks::Buildings;
use crate::{fk, index};

/// Creates `worker_status` and `time_entries`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkerStatus::Table)
                    .col(pk_uuid(WorkerStatus::WorkerId))
                    .col(uuid(WorkerStatus::OrgId))
                    .col(string(WorkerStatus::Status))
                    .col(uuid_null(WorkerStatus::BuildingId))
                    .col(double_null(WorkerStatus::Latitude))
                    .col(double_null(WorkerStatus::Longitude))
                    .col(double_null(WorkerStatus::AccuracyM))
                    .col(timestamp_with_time_zone_null(WorkerStatus::LocationAt))
                    .col(integer(WorkerStatus::Version))
                    .col(timestamp_with_time_zone(WorkerStatus::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_worker_status_org_id",
                        WorkerStatus::Table,
                        WorkerStatus::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_worker_status_worker_id",
                        WorkerStatus::Table,
                        WorkerStatus::WorkerId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_worker_status_building_id",
                        WorkerStatus::Table,
                        WorkerStatus::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_worker_status_org_id_building_id",
                WorkerStatus::Table,
                [WorkerStatus::OrgId, WorkerStatus::BuildingId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TimeEntries::Table)
                    .col(pk_uuid(TimeEntries::Id))
                    .col(uuid(TimeEntries::OrgId))
                    .col(uuid(TimeEntries::WorkerId))
                    .col(uuid(TimeEntries::BuildingId))
                    .col(timestamp_with_time_zone(TimeEntries::ClockInAt))
                    .col(timestamp_with_time_zone_null(TimeEntries::ClockOutAt))
                    .col(double_null(TimeEntries::ClockInLatitude))
                    .col(double_null(TimeEntries::ClockInLongitude))
                    .col(double_null(TimeEntries::ClockOutLatitude))
                    .col(double_null(TimeEntries::ClockOutLongitude))
                    .col(integer(TimeEntries::Version))
                    .col(timestamp_with_time_zone(TimeEntries::CreatedAt))
                    .col(timestamp_with_time_zone(TimeEntries::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_time_entries_org_id",
                        TimeEntries::Table,
                        TimeEntries::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_time_entries_worker_id",
                        TimeEntries::Table,
                        TimeEntries::WorkerId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_time_entries_building_id",
                        TimeEntries::Table,
                        TimeEntries::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_time_entries_org_id_worker_id_clock_in_at",
                TimeEntries::Table,
                [
                    TimeEntries::OrgId,
                    TimeEntries::WorkerId,
                    TimeEntries::ClockInAt,
                ],
            ))
            .await?;
        // Finds a worker's open entry (`worker_id = ? AND clock_out_at IS
        // NULL`). It does not forbid two open entries: the domain layer
        // enforces one open entry per worker.
        manager
            .create_index(index(
                "idx_time_entries_worker_id_clock_out_at",
                TimeEntries::Table,
                [TimeEntries::WorkerId, TimeEntries::ClockOutAt],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TimeEntries::Table).take())
            .await?;
        manager
            .drop_table(Table::drop().table(WorkerStatus::Table).take())
            .await
    }
}

/// The `worker_status` table and its columns.
#[derive(DeriveIden)]
enum WorkerStatus {
    #[sea_orm(iden = "worker_status")]
    Table,
    WorkerId,
    OrgId,
    Status,
    BuildingId,
    Latitude,
    Longitude,
    AccuracyM,
    LocationAt,
    Version,
    UpdatedAt,
}

/// The `time_entries` table and its columns.
#[derive(DeriveIden)]
enum TimeEntries {
    Table,
    Id,
    OrgId,
    WorkerId,
    BuildingId,
    ClockInAt,
    ClockOutAt,
    ClockInLatitude,
    ClockInLongitude,
    ClockOutLatitude,
    ClockOutLongitude,
    Version,
    CreatedAt,
    UpdatedAt,
}
