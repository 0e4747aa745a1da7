//! Worker presence types: `WorkerStatus`, `TimeEntry` and `Location`.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::WorkerDutyStatus;
use entity::time_entry;

use super::building::Building;
use super::user::User;
use super::{building_ref, gid};
use crate::domain::workers::StatusView;

/// A point on Earth, as reported by a worker's phone.
#[derive(SimpleObject)]
pub struct Location {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
    /// Radius of uncertainty in metres, when known.
    pub accuracy_meters: Option<f64>,
    /// When it was recorded.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl Location {
    /// A location from optional coordinates; `None` unless both are present.
    fn from_parts(
        latitude: Option<f64>,
        longitude: Option<f64>,
        accuracy_meters: Option<f64>,
        recorded_at: Option<DateTime<Utc>>,
    ) -> Option<Self> {
        Some(Location {
            latitude: latitude?,
            longitude: longitude?,
            accuracy_meters,
            recorded_at,
        })
    }
}

/// What a worker is doing now and where.
pub struct WorkerStatus(pub StatusView);

/// Workers' duty statuses, and where in the change log the list stands.
#[derive(async_graphql::SimpleObject)]
pub struct WorkerStatusList {
    /// The statuses.
    pub nodes: Vec<WorkerStatus>,
    /// As on connections: the change-log position this list reflects.
    pub sync_cursor: String,
}

#[Object]
impl WorkerStatus {
    /// The worker's id: a worker has one status, so it is the status's id
    /// too (Apollo's cache keys it as `WorkerStatus:<id>`, apart from the
    /// `User`). Change events of a status carry the same `entityId`.
    pub(crate) async fn id(&self) -> ID {
        gid(self.0.worker.id)
    }
    /// The worker.
    async fn worker(&self) -> User {
        User::from(self.0.worker.clone())
    }
    /// Duty status.
    async fn status(&self) -> WorkerDutyStatus {
        self.0.status.status
    }
    /// The building the worker is at, when on site.
    async fn building(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Building>> {
        match self.0.status.building_id {
            Some(id) => building_ref(ctx, id).await,
            None => Ok(None),
        }
    }
    /// Last reported location: only for administrators and the worker, and
    /// only while the worker shares it.
    async fn location(&self) -> Option<Location> {
        let s = &self.0.status;
        self.0
            .location_visible
            .then(|| Location::from_parts(s.latitude, s.longitude, s.accuracy_m, s.location_at))
            .flatten()
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.0.status.version
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.status.updated_at
    }
}

/// One clock-in to clock-out span.
pub struct TimeEntry {
    /// The entry.
    pub entry: time_entry::Model,
    /// The worker it belongs to.
    pub worker: entity::user::Model,
    /// Whether the viewer may see the recorded locations.
    pub location_visible: bool,
}

#[Object]
impl TimeEntry {
    /// Unique id.
    pub(crate) async fn id(&self) -> ID {
        gid(self.entry.id)
    }
    /// The worker.
    async fn worker(&self) -> User {
        User::from(self.worker.clone())
    }
    /// Where they clocked in.
    async fn building(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Building>> {
        building_ref(ctx, self.entry.building_id).await
    }
    /// Clock-in time.
    async fn clock_in_at(&self) -> DateTime<Utc> {
        self.entry.clock_in_at
    }
    /// Clock-out time; `null` while still clocked in.
    async fn clock_out_at(&self) -> Option<DateTime<Utc>> {
        self.entry.clock_out_at
    }
    /// Length in seconds (up to now while still clocked in).
    async fn duration_seconds(&self) -> i64 {
        (self.entry.clock_out_at.unwrap_or_else(Utc::now) - self.entry.clock_in_at).num_seconds()
    }
    /// Where they clocked in, under the same rule as a live location.
    async fn clock_in_location(&self) -> Option<Location> {
        let e = &self.entry;
        self.location_visible
            .then(|| {
                Location::from_parts(
                    e.clock_in_latitude,
                    e.clock_in_longitude,
                    None,
                    Some(e.clock_in_at),
                )
            })
            .flatten()
    }
    /// Where they clocked out, under the same rule as a live location.
    async fn clock_out_location(&self) -> Option<Location> {
        let e = &self.entry;
        self.location_visible
            .then(|| {
                Location::from_parts(
                    e.clock_out_latitude,
                    e.clock_out_longitude,
                    None,
                    e.clock_out_at,
                )
            })
            .flatten()
    }
    /// Incremented on every change.
    async fn version(&self) -> i32 {
        self.entry.version
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.entry.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.entry.updated_at
    }
}
