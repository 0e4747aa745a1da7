//! Compliance types: `Violation`, `Inspection` and `ComplianceAlert`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{AlertSeverity, InspectionResult, ViolationSeverity, ViolationStatus};
use entity::{compliance_alert, inspection, violation};

use super::building::Building;
use super::user::User;
use super::{building_ref, gid, user_ref};

/// A code violation issued against a building.
pub struct Violation(pub violation::Model);

#[Object]
impl Violation {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// The building it was issued against.
    async fn building(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Building>> {
        building_ref(ctx, self.0.building_id).await
    }
    /// Issuing authority (e.g. DOB, HPD, FDNY).
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// The authority's violation code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// What is wrong.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// How serious it is.
    async fn severity(&self) -> ViolationSeverity {
        self.0.severity
    }
    /// Where it stands.
    async fn status(&self) -> ViolationStatus {
        self.0.status
    }
    /// When it was issued.
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
    /// When it must be cured by.
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    /// When it was resolved.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    /// Penalty in cents, if any.
    async fn penalty_cents(&self) -> Option<i64> {
        self.0.penalty_cents
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A scheduled or completed inspection of a building.
pub struct Inspection(pub inspection::Model);

#[Object]
impl Inspection {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// The building inspected.
    async fn building(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Building>> {
        building_ref(ctx, self.0.building_id).await
    }
    /// What is inspected (elevator, boiler, fire safety, …).
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// When it is scheduled.
    async fn scheduled_for(&self) -> DateTime<Utc> {
        self.0.scheduled_for
    }
    /// Outcome; PENDING until recorded.
    async fn result(&self) -> InspectionResult {
        self.0.result
    }
    /// Who inspects.
    async fn inspector(&self) -> Option<&str> {
        self.0.inspector.as_deref()
    }
    /// Findings.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// When the result was recorded.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Something about a building's compliance that needs attention.
pub struct ComplianceAlert(pub compliance_alert::Model);

#[Object]
impl ComplianceAlert {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.id)
    }
    /// The building concerned.
    async fn building(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Building>> {
        building_ref(ctx, self.0.building_id).await
    }
    /// How urgent it is.
    async fn severity(&self) -> AlertSeverity {
        self.0.severity
    }
    /// What happened.
    async fn message(&self) -> &str {
        &self.0.message
    }
    /// Who acknowledged it; `null` while unacknowledged or not visible to you.
    async fn acknowledged_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match self.0.acknowledged_by {
            Some(id) => user_ref(ctx, id).await,
            None => Ok(None),
        }
    }
    /// When it was acknowledged.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.acknowledged_at
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was raised.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
