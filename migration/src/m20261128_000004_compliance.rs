//! Violations, inspections and compliance alerts of buildings.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261128_000001_organizations_users::{Organizations, Users};
use crate::m20261128_000002_buildings_tasks::Buildings;
use crate::{fk, index};

/// Creates `violations`, `inspections` and `compliance_alerts`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Violations::Table)
                    .col(pk_uuid(Violations::Id))
                    .col(uuid(Violations::OrgId))
                    .col(uuid(Violations::BuildingId))
                    .col(string(Violations::Source))
                    .col(string(Violations::Code))
                    .col(string(Violations::Description))
                    .col(string(Violations::Severity))
                    .col(string(Violations::Status))
                    .col(timestamp_with_time_zone(Violations::IssuedAt))
                    .col(timestamp_with_time_zone_null(Violations::DueAt))
                    .col(timestamp_with_time_zone_null(Violations::ResolvedAt))
                    .col(big_integer_null(Violations::PenaltyCents))
                    .col(integer(Violations::Version))
                    .col(timestamp_with_time_zone(Violations::CreatedAt))
                    .col(timestamp_with_time_zone(Violations::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_violations_org_id",
                        Violations::Table,
                        Violations::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_violations_building_id",
                        Violations::Table,
                        Violations::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_violations_org_id_building_id_status",
                Violations::Table,
                [
                    Violations::OrgId,
                    Violations::BuildingId,
                    Violations::Status,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Inspections::Table)
                    .col(pk_uuid(Inspections::Id))
                    .col(uuid(Inspections::OrgId))
                    .col(uuid(Inspections::BuildingId))
                    .col(string(Inspections::Kind))
                    .col(timestamp_with_time_zone(Inspections::ScheduledFor))
                    .col(string(Inspections::Result))
                    .col(string_null(Inspections::Inspector))
                    .col(string_null(Inspections::Notes))
                    .col(timestamp_with_time_zone_null(Inspections::CompletedAt))
                    .col(integer(Inspections::Version))
                    .col(timestamp_with_time_zone(Inspections::CreatedAt))
                    .col(timestamp_with_time_zone(Inspections::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_inspections_org_id",
                        Inspections::Table,
                        Inspections::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_inspections_building_id",
                        Inspections::Table,
                        Inspections::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_inspections_org_id_building_id_scheduled_for",
                Inspections::Table,
                [
                    Inspections::OrgId,
                    Inspections::BuildingId,
                    Inspections::ScheduledFor,
                ],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ComplianceAlerts::Table)
                    .col(pk_uuid(ComplianceAlerts::Id))
                    .col(uuid(ComplianceAlerts::OrgId))
                    .col(uuid(ComplianceAlerts::BuildingId))
                    .col(string(ComplianceAlerts::Severity))
                    .col(string(ComplianceAlerts::Message))
                    .col(uuid_null(ComplianceAlerts::AcknowledgedBy))
                    .col(timestamp_with_time_zone_null(
                        ComplianceAlerts::AcknowledgedAt,
                    ))
                    .col(integer(ComplianceAlerts::Version))
                    .col(timestamp_with_time_zone(ComplianceAlerts::CreatedAt))
                    .col(timestamp_with_time_zone(ComplianceAlerts::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_compliance_alerts_org_id",
                        ComplianceAlerts::Table,
                        ComplianceAlerts::OrgId,
                        Organizations::Table,
                        Organizations::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_compliance_alerts_building_id",
                        ComplianceAlerts::Table,
                        ComplianceAlerts::BuildingId,
                        Buildings::Table,
                        Buildings::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_compliance_alerts_acknowledged_by",
                        ComplianceAlerts::Table,
                        ComplianceAlerts::AcknowledgedBy,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_compliance_alerts_org_id_building_id_acknowledged_at",
                ComplianceAlerts::Table,
                [
                    ComplianceAlerts::OrgId,
                    ComplianceAlerts::BuildingId,
                    ComplianceAlerts::AcknowledgedAt,
                ],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ComplianceAlerts::Table.into_iden(),
            Inspections::Table.into_iden(),
            Violations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).take())
                .await?;
        }
        Ok(())
    }
}

/// The `violations` table and its columns.
#[derive(DeriveIden)]
enum Violations {
    Table,
    Id,
    OrgId,
    BuildingId,
    Source,
    Code,
    Description,
    Severity,
    Status,
    IssuedAt,
    DueAt,
    ResolvedAt,
    PenaltyCents,
    Version,
    CreatedAt,
    UpdatedAt,
}

/// The `inspections` table and its columns.
#[derive(DeriveIden)]
enum Inspections {
    Table,
    Id,
    OrgId,
    BuildingId,
    Kind,
    ScheduledFor,
    Result,
    Inspector,
    Notes,
    CompletedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

/// The `compliance_alerts` table and its columns.
#[derive(DeriveIden)]
enum ComplianceAlerts {
    Table,
    Id,
    OrgId,
    BuildingId,
    Severity,
    Message,
    AcknowledgedBy,
    AcknowledgedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
