//! Where workers are and what they are doing: duty status, clock entries and
//! locations. A location is shown only to administrators and the worker
//! themself, and only while the worker shares it; clients see who is on site
//! and their status, never where exactly.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::ids::{BuildingId, OrganizationId, UserId};
use entity::{time_entry, user, worker_status};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::pagination::{Page, PageRequest, paginate};
use super::scope::{BuildingScope, in_org};
use super::{buildings, users};
use crate::auth::Principal;
use crate::error::{Error, Result};

/// A worker's status together with the worker, as a viewer may see it.
#[derive(Debug, Clone)]
pub struct StatusView {
    /// The status row.
    pub status: worker_status::Model,
    /// The worker it belongs to.
    pub worker: user::Model,
    /// Whether the viewer may see the location fields.
    pub location_visible: bool,
}

/// Whether the viewer may see where the worker is or was.
pub fn location_visible(viewer: &Principal, worker: &user::Model) -> bool {
    may_see_location(viewer, worker.id, worker.location_sharing)
}

/// The one location rule, for typed fields and snapshots alike: only while
/// the worker shares now (whenever the location was recorded), and only to
/// administrators and the worker themself.
pub fn may_see_location(viewer: &Principal, worker: UserId, shares_now: bool) -> bool {
    shares_now && (viewer.is_admin() || viewer.user_id == worker)
}

/// The workers who share their location now and whose locations the
/// viewer may see ([`may_see_location`]): every one of the organisation
/// for an administrator, at most themself for a worker, none for a
/// client; sorted.
pub async fn sharing_location(
    db: &impl ConnectionTrait,
    viewer: &Principal,
) -> Result<Vec<UserId>> {
    let mut select = in_org::<user::Entity>(viewer)
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::LocationSharing.eq(true));
    match viewer.role {
        Role::Admin => {}
        Role::Worker => select = select.filter(user::Column::Id.eq(viewer.user_id)),
        Role::Client => return Ok(Vec::new()),
    }
    let mut ids: Vec<UserId> = select.into_tuple().all(db).await?;
    ids.sort();
    Ok(ids)
}

/// Statuses the caller may see: administrators all workers, workers their
/// own, clients the workers currently at one of their buildings. With
/// `building`, only workers currently at that building.
pub async fn statuses(
    db: &impl ConnectionTrait,
    principal: &Principal,
    building: Option<BuildingId>,
) -> Result<Vec<StatusView>> {
    if let Some(id) = building {
        buildings::get(db, principal, id).await?;
    }
    let mut select = in_org::<worker_status::Entity>(principal);
    match principal.role {
        Role::Admin => {}
        Role::Worker => {
            select = select.filter(worker_status::Column::WorkerId.eq(principal.user_id))
        }
        Role::Client => {
            let scope = BuildingScope::of(db, principal).await?;
            select = select.filter(scope.condition(worker_status::Column::BuildingId));
        }
    }
    if let Some(id) = building {
        select = select.filter(worker_status::Column::BuildingId.eq(id));
    }
    let rows = select
        .order_by_asc(worker_status::Column::WorkerId)
        .all(db)
        .await?;
    let workers: HashMap<UserId, user::Model> = in_org::<user::Entity>(principal)
        .filter(user::Column::Id.is_in(rows.iter().map(|r| r.worker_id)))
        .filter(user::Column::DeletedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|status| {
            let worker = workers.get(&status.worker_id)?.clone();
            Some(StatusView {
                location_visible: location_visible(principal, &worker),
                status,
                worker,
            })
        })
        .collect())
}

/// A worker's clock entries overlapping `[from, to)`: administrators for any
/// worker, workers for themselves.
pub async fn time_entries(
    db: &impl ConnectionTrait,
    principal: &Principal,
    worker_id: UserId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    page: &PageRequest,
) -> Result<(user::Model, Page<time_entry::Model>)> {
    let worker = readable_worker(db, principal, worker_id).await?;
    let mut select =
        in_org::<time_entry::Entity>(principal).filter(time_entry::Column::WorkerId.eq(worker_id));
    if let Some(to) = to {
        select = select.filter(time_entry::Column::ClockInAt.lt(to));
    }
    if let Some(from) = from {
        select = select.filter(
            Condition::any()
                .add(time_entry::Column::ClockOutAt.is_null())
                .add(time_entry::Column::ClockOutAt.gt(from)),
        );
    }
    let page = paginate(db, select, time_entry::Column::Id, page).await?;
    Ok((worker, page))
}

/// The worker whose clock and metrics the caller asks for, if allowed:
/// `NOT_FOUND` when the caller cannot see the user at all, `FORBIDDEN` when
/// they can but it is not theirs to read.
pub async fn readable_worker(
    db: &impl ConnectionTrait,
    principal: &Principal,
    worker_id: UserId,
) -> Result<user::Model> {
    let worker = users::get(db, principal, worker_id).await?;
    if worker.role != Role::Worker {
        return Err(Error::bad_input("that user is not a worker"));
    }
    if !(principal.is_admin() || principal.user_id == worker_id) {
        return Err(Error::forbidden(
            "only administrators and the worker may read this",
        ));
    }
    Ok(worker)
}

/// Fetches the time entries overlapping a period, for metrics.
pub async fn entries_overlapping(
    db: &impl ConnectionTrait,
    org: OrganizationId,
    workers: &[UserId],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<time_entry::Model>> {
    Ok(time_entry::Entity::find()
        .filter(time_entry::Column::OrgId.eq(org))
        .filter(time_entry::Column::WorkerId.is_in(workers.iter().copied()))
        .filter(time_entry::Column::ClockInAt.lt(to))
        .filter(
            Condition::any()
                .add(time_entry::Column::ClockOutAt.is_null())
                .add(time_entry::Column::ClockOutAt.gt(from)),
        )
        .all(db)
        .await?)
}
