//! Reads of the organisation's entities: thin resolvers that authorise
//! through the principal, call `domain`, and wrap the result.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{EntityType, Role};

use crate::changelog;
use crate::domain::orders::{
    AlertOrderField, InspectionOrderField, TaskOrderField, UserOrderField, ViolationOrderField,
};
use crate::domain::{
    buildings, compliance, history, lookup, organizations, performance, tasks, users, workers,
};
use crate::error::Error;
use crate::graphql::connection::{IdConnection, SyncPosition, cursor_in, from_page, from_page_by};
use crate::graphql::context::ContextExt;
use crate::graphql::inputs::{
    ComplianceAlertFilterInput, InspectionFilterInput, OrderInput, TaskFilterInput,
    ViolationFilterInput, parse_id,
};
use crate::graphql::objects::building::Building;
use crate::graphql::objects::compliance::{ComplianceAlert, Inspection, Violation};
use crate::graphql::objects::history::EntityVersion;
use crate::graphql::objects::organization::Organization;
use crate::graphql::objects::performance::WorkerMetrics;
use crate::graphql::objects::task::Task;
use crate::graphql::objects::user::User;
use crate::graphql::objects::worker::{TimeEntry, WorkerStatus, WorkerStatusList};
use crate::graphql::objects::write::{Node, entity_of};

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
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            buildings::list(db, principal, &page).await
        })
        .await?;
        Ok(from_page(
            page,
            SyncPosition { sync_cursor },
            |b| b.id.into_uuid(),
            Building,
        ))
    }

    /// One building; `NOT_FOUND` when it does not exist or is not yours to see.
    async fn building(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Building>> {
        let state = ctx.state()?;
        let id = parse_id(&id, "building")?;
        Ok(Some(Building(
            buildings::get(&state.db, ctx.principal()?, id).await?,
        )))
    }

    /// Tasks you may see, in creation order or `orderBy`.
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        filter: Option<TaskFilterInput>,
        order_by: Option<OrderInput<TaskOrderField>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Task>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let key = order_by.and_then(|order| order.key());
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            tasks::list(db, principal, &filter, key.as_ref(), &page).await
        })
        .await?;
        let cursor = cursor_in(key.as_ref(), |t: &entity::task::Model| t.id.into_uuid());
        Ok(from_page_by(
            page,
            SyncPosition { sync_cursor },
            cursor,
            Task,
        ))
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
        order_by: Option<OrderInput<UserOrderField>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<User>> {
        let state = ctx.state()?;
        let key = order_by.and_then(|order| order.key());
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            users::list(db, principal, role, key.as_ref(), &page).await
        })
        .await?;
        let cursor = cursor_in(key.as_ref(), |u: &entity::user::Model| u.id.into_uuid());
        Ok(from_page_by(
            page,
            SyncPosition { sync_cursor },
            cursor,
            User::from,
        ))
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
    #[graphql(
        deprecation = "Use workerStatusList, which also says where in the change log the list stands (syncCursor)."
    )]
    async fn worker_statuses(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
    ) -> async_graphql::Result<Vec<WorkerStatus>> {
        Ok(self.worker_status_list(ctx, building_id).await?.nodes)
    }

    /// Duty status of the workers you may see; with `buildingId`, of those on
    /// site there now. Its `syncCursor` resumes `workerStatusChanged` and
    /// `workerLocationUpdated` from exactly this list.
    async fn worker_status_list(
        &self,
        ctx: &Context<'_>,
        building_id: Option<ID>,
    ) -> async_graphql::Result<WorkerStatusList> {
        let state = ctx.state()?;
        let principal = ctx.principal()?;
        let building = building_id
            .map(|id| parse_id(&id, "building"))
            .transpose()?;
        let (views, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            workers::statuses(db, principal, building).await
        })
        .await?;
        Ok(WorkerStatusList {
            nodes: views.into_iter().map(WorkerStatus).collect(),
            sync_cursor,
        })
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
        let page = ctx.page(first, after)?;
        let ((worker, page), sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            workers::time_entries(db, principal, worker_id, from, to, &page).await
        })
        .await?;
        let location_visible = workers::location_visible(principal, &worker);
        Ok(from_page(
            page,
            SyncPosition { sync_cursor },
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
        order_by: Option<OrderInput<ViolationOrderField>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Violation>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let key = order_by.and_then(|order| order.key());
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            compliance::violations(db, principal, &filter, key.as_ref(), &page).await
        })
        .await?;
        let cursor = cursor_in(key.as_ref(), |v: &entity::violation::Model| {
            v.id.into_uuid()
        });
        Ok(from_page_by(
            page,
            SyncPosition { sync_cursor },
            cursor,
            Violation,
        ))
    }

    /// Inspections of the buildings you may see.
    async fn inspections(
        &self,
        ctx: &Context<'_>,
        filter: Option<InspectionFilterInput>,
        order_by: Option<OrderInput<InspectionOrderField>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Inspection>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let key = order_by.and_then(|order| order.key());
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            compliance::inspections(db, principal, &filter, key.as_ref(), &page).await
        })
        .await?;
        let cursor = cursor_in(key.as_ref(), |i: &entity::inspection::Model| {
            i.id.into_uuid()
        });
        Ok(from_page_by(
            page,
            SyncPosition { sync_cursor },
            cursor,
            Inspection,
        ))
    }

    /// Compliance alerts of the buildings you may see.
    async fn compliance_alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<ComplianceAlertFilterInput>,
        order_by: Option<OrderInput<AlertOrderField>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<ComplianceAlert>> {
        let state = ctx.state()?;
        let filter = filter.unwrap_or_default().try_into()?;
        let key = order_by.and_then(|order| order.key());
        let (principal, page) = (ctx.principal()?, ctx.page(first, after)?);
        let (page, sync_cursor) = changelog::read_at_cursor(&state.db, async |db| {
            compliance::alerts(db, principal, &filter, key.as_ref(), &page).await
        })
        .await?;
        let cursor = cursor_in(key.as_ref(), |a: &entity::compliance_alert::Model| {
            a.id.into_uuid()
        });
        Ok(from_page_by(
            page,
            SyncPosition { sync_cursor },
            cursor,
            ComplianceAlert,
        ))
    }

    /// Any entity by its id (Relay's global lookup), as your reads show it;
    /// `null` when there is none you may see. A worker's status shares the
    /// worker's id, which finds the `User`.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let state = ctx.state()?;
        let id = uuid::Uuid::parse_str(id.as_str())
            .map_err(|_| Error::bad_input(format!("`{}` is not a valid id", id.as_str())))?;
        let Some((entity_type, snapshot)) = lookup::find(&state.db, ctx.principal()?, id).await?
        else {
            return Ok(None);
        };
        Ok(entity_of(ctx, entity_type, snapshot)
            .await?
            .and_then(Node::of))
    }

    /// The versions of an entity, newest first: who changed it, when,
    /// which fields, and the snapshot as you may see it (versions you could
    /// not see are left out). `NOT_FOUND` unless you may see the entity
    /// now; administrators also read the history of deleted ones. Kept as
    /// long as the change log keeps them (`sync.retention_days` for
    /// superseded versions).
    async fn history(
        &self,
        ctx: &Context<'_>,
        entity_type: EntityType,
        entity_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<EntityVersion, EmptyFields>> {
        let state = ctx.state()?;
        let id = uuid::Uuid::parse_str(entity_id.as_str())
            .map_err(|_| Error::bad_input(format!("`{}` is not a valid id", entity_id.as_str())))?;
        let page = ctx.page(first, after)?;
        let page = history::versions(&state.db, ctx.principal()?, entity_type, id, &page).await?;
        let mut connection = Connection::new(page.has_previous_page, page.has_next_page);
        connection.edges.extend(
            page.items
                .into_iter()
                .map(|v| Edge::new(history::encode(v.version), EntityVersion(v))),
        );
        Ok(connection)
    }

    /// The performance of every active worker over `[from, to)`, or of the
    /// workers assigned to one building, in name order (administrators):
    /// a team view, read in two queries whatever its size.
    async fn team_metrics(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        building_id: Option<ID>,
    ) -> async_graphql::Result<Vec<WorkerMetrics>> {
        let state = ctx.state()?;
        let building = building_id
            .map(|id| parse_id(&id, "building"))
            .transpose()?;
        let team =
            performance::team_metrics(&state.db, ctx.principal()?, building, from, to).await?;
        Ok(team.into_iter().map(WorkerMetrics).collect())
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
