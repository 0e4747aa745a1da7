//! Compliance records (violations, inspections, alerts) of the buildings a
//! caller may see: administrators all, clients their linked buildings, and
//! workers their assigned buildings (they are the ones who fix violations).

use chrono::{DateTime, Utc};
use entity::enums::{AlertSeverity, InspectionResult, ViolationSeverity, ViolationStatus};
use entity::ids::BuildingId;
use entity::{compliance_alert, inspection, violation};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};

use super::pagination::{Page, PageRequest, SortKey, paginate_in};
use super::scope::{BuildingScope, in_org};
use crate::auth::Principal;
use crate::error::Result;

/// Narrows a violation list.
#[derive(Debug, Clone, Default)]
pub struct ViolationFilter {
    /// Only this building.
    pub building_id: Option<BuildingId>,
    /// Only these statuses.
    pub statuses: Vec<ViolationStatus>,
    /// Only this severity.
    pub severity: Option<ViolationSeverity>,
}

/// Narrows an inspection list.
#[derive(Debug, Clone, Default)]
pub struct InspectionFilter {
    /// Only this building.
    pub building_id: Option<BuildingId>,
    /// Only this result.
    pub result: Option<InspectionResult>,
    /// Only inspections scheduled at or after this time.
    pub scheduled_after: Option<DateTime<Utc>>,
    /// Only inspections scheduled before this time.
    pub scheduled_before: Option<DateTime<Utc>>,
}

/// Narrows an alert list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this building.
    pub building_id: Option<BuildingId>,
    /// Only acknowledged (true) or unacknowledged (false) alerts.
    pub acknowledged: Option<bool>,
    /// Only this severity.
    pub severity: Option<AlertSeverity>,
}

/// A page of visible violations.
pub async fn violations(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &ViolationFilter,
    order: Option<&SortKey<violation::Model>>,
    page: &PageRequest,
) -> Result<Page<violation::Model>> {
    let scope = BuildingScope::of(db, principal).await?;
    let mut select = in_org::<violation::Entity>(principal)
        .filter(scope.condition(violation::Column::BuildingId));
    if let Some(building) = filter.building_id {
        select = select.filter(violation::Column::BuildingId.eq(building));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(violation::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(severity) = filter.severity {
        select = select.filter(violation::Column::Severity.eq(severity));
    }
    paginate_in(db, select, violation::Column::Id, order, page).await
}

/// A page of visible inspections.
pub async fn inspections(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &InspectionFilter,
    order: Option<&SortKey<inspection::Model>>,
    page: &PageRequest,
) -> Result<Page<inspection::Model>> {
    let scope = BuildingScope::of(db, principal).await?;
    let mut select = in_org::<inspection::Entity>(principal)
        .filter(scope.condition(inspection::Column::BuildingId));
    if let Some(building) = filter.building_id {
        select = select.filter(inspection::Column::BuildingId.eq(building));
    }
    if let Some(result) = filter.result {
        select = select.filter(inspection::Column::Result.eq(result));
    }
    if let Some(after) = filter.scheduled_after {
        select = select.filter(inspection::Column::ScheduledFor.gte(after));
    }
    if let Some(before) = filter.scheduled_before {
        select = select.filter(inspection::Column::ScheduledFor.lt(before));
    }
    paginate_in(db, select, inspection::Column::Id, order, page).await
}

/// A page of visible compliance alerts.
pub async fn alerts(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &AlertFilter,
    order: Option<&SortKey<compliance_alert::Model>>,
    page: &PageRequest,
) -> Result<Page<compliance_alert::Model>> {
    let scope = BuildingScope::of(db, principal).await?;
    let mut select = in_org::<compliance_alert::Entity>(principal)
        .filter(scope.condition(compliance_alert::Column::BuildingId));
    if let Some(building) = filter.building_id {
        select = select.filter(compliance_alert::Column::BuildingId.eq(building));
    }
    if let Some(acknowledged) = filter.acknowledged {
        select = select.filter(if acknowledged {
            compliance_alert::Column::AcknowledgedAt.is_not_null()
        } else {
            compliance_alert::Column::AcknowledgedAt.is_null()
        });
    }
    if let Some(severity) = filter.severity {
        select = select.filter(compliance_alert::Column::Severity.eq(severity));
    }
    paginate_in(db, select, compliance_alert::Column::Id, order, page).await
}
