//! Reads of the organisation's entities: thin resolvers that authorise
//! through the principal, call `domain`, and wrap the result.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::Role;

use crate::domain::{buildings, compliance, organizations, performance, tasks, users, workers};
use crate::graphql::connection::{IdConnection, from_page};
use crate::graphql::context::ContextExt;
use crate::graphql::inputs::{
    ComplianceAlertFilterInput, InspectionFilterInput, TaskFilterInput, ViolationFilterInput,
    parse_id,
};
use crate::graphql::objects::building::Building;
use crate::graphql::objects::compliance::{ComplianceAlert, Inspection, Violation};
use crate::graphql::objects::organization::Organization;
use crate::graphql::objects::performance::WorkerMetrics;
use crate::graphql::objects::task::Task;
use crate::graphql::objects::user::User;
use crate::graphql::objects::worker::{TimeEntry, WorkerStatus};

/// Entity reads, each scoped to what the caller's role may see.
#[derive(Default)]
pub struct ReadQuery;

#[Object]
impl ReadQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let state = ctx.state()?;
        Ok(users::me(&state.db, ctx.principal()?).await?.into())
    }

    /// The signed-in user's organisation.
    async fn organization(&self, ctx: &Context<'_>) -> async_graphql::Result<Organization> {
        let state = ctx.state()?;
        Ok(Organization(
            organizations::current(&state.db, ctx.principal()?).await?,
        ))
    }

    /// Buildings you may see, in creation order.
    async fn buildings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Building>> {
        let state = ctx.state()?;
        let page = buildings::list(&state.db, ctx.principal()?, &ctx.page(first, after)?).await?;
        Ok(from_page(page, |b| b.id.into_uuid(), Building))
    }

    /// One building; `NOT_FOUND` when it does not exist or is not yours to see.
    async fn building(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Building>> {
        let state = ctx.state()?;
        let id = parse_id(&id, "building")?;
        Ok(Some(Building(
            buildings::get(&state.db, ctx.principal()?, id).await?,
        )))
    }

    /// Tasks you may see, in creation order.
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        filter: Option<TaskFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Task>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let page = tasks::list(
            &state.db,
            ctx.principal()?,
            &filter,
            &ctx.page(first, after)?,
        )
        .await?;
        Ok(from_page(page, |t| t.id.into_uuid(), Task))
    }

    /// One task; `NOT_FOUND` when it does not exist or is not yours to see.
    async fn task(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Task>> {
        let state = ctx.state()?;
        let id = parse_id(&id, "task")?;
        Ok(Some(Task(
            tasks::get(&state.db, ctx.principal()?, id).await?,
        )))
    }

    /// Users you may see, in creation order, optionally of one role.
    async fn users(
        &self,
        ctx: &Context<'_>,
        role: Option<Role>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<User>> {
        let state = ctx.state()?;
        let page = users::list(&state.db, ctx.principal()?, role, &ctx.page(first, after)?).await?;
        Ok(from_page(page, |u| u.id.into_uuid(), User::from))
    }

    /// One user; `NOT_FOUND` when it does not exist or is not yours to see.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let state = ctx.state()?;
        let id = parse_id(&id, "user")?;
        Ok(Some(
            users::get(&state.db, ctx.principal()?, id).await?.into(),
        ))
    }

    /// Duty status of the workers you may see; with `buildingId`, of those on
    /// site there now.
    async fn worker_statuses(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
    ) -> async_graphql::Result<Vec<WorkerStatus>> {
        let state = ctx.state()?;
        let building = building_id
            .map(|id| parse_id(&id, "building"))
            .transpose()?;
        let views = workers::statuses(&state.db, ctx.principal()?, building).await?;
        Ok(views.into_iter().map(WorkerStatus).collect())
    }

    /// A worker's clock entries overlapping `[from, to)` (administrators, or the worker).
    async fn time_entries(
        &self,
        ctx: &Context<'_>,
        worker_id: ID,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<TimeEntry>> {
        let state = ctx.state()?;
        let principal = ctx.principal()?;
        let worker_id = parse_id(&worker_id, "user")?;
        let (worker, page) = workers::time_entries(
            &state.db,
            principal,
            worker_id,
            from,
            to,
            &ctx.page(first, after)?,
        )
        .await?;
        let location_visible = workers::location_visible(principal, &worker);
        Ok(from_page(
            page,
            |e| e.id.into_uuid(),
            |entry| TimeEntry {
                entry,
                worker: worker.clone(),
                location_visible,
            },
        ))
    }

    /// Violations of the buildings you may see.
    async fn violations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ViolationFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Violation>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let page = compliance::violations(
            &state.db,
            ctx.principal()?,
            &filter,
            &ctx.page(first, after)?,
        )
        .await?;
        Ok(from_page(page, |v| v.id.into_uuid(), Violation))
    }

    /// Inspections of the buildings you may see.
    async fn inspections(
        &self,
        ctx: &Context<'_>,
        filter: Option<InspectionFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Inspection>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let page = compliance::inspections(
            &state.db,
            ctx.principal()?,
            &filter,
            &ctx.page(first, after)?,
        )
        .await?;
        Ok(from_page(page, |i| i.id.into_uuid(), Inspection))
    }

    /// Compliance alerts of the buildings you may see.
    async fn compliance_alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComplianceAlertFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<ComplianceAlert>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let page = compliance::alerts(
            &state.db,
            ctx.principal()?,
            &filter,
            &ctx.page(first, after)?,
        )
        .await?;
        Ok(from_page(page, |a| a.id.into_uuid(), ComplianceAlert))
    }

    /// A worker's performance over `[from, to)` (administrators, or the worker).
    async fn worker_metrics(
        &self,
        ctx: &Context<'_>,
        worker_id: ID,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<Option<WorkerMetrics>> {
        let state = ctx.state()?;
        let worker_id = parse_id(&worker_id, "user")?;
        let figures =
            performance::worker_metrics(&state.db, ctx.principal()?, worker_id, from, to).await?;
        Ok(Some(WorkerMetrics(figures)))
    }
}
