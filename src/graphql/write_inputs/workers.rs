//! Worker presence inputs: clocking in and out, duty status, locations.

use async_graphql::{ID, InputObject};
use entity::enums::WorkerDutyStatus;

use crate::domain::operations::Operation;
use crate::domain::worker_writes::GeoPoint;
use crate::error::Result;
use crate::graphql::inputs::parse_id;

/// A position from the worker's phone.
#[derive(InputObject, Clone, Copy)]
pub struct LocationInput {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
    /// Radius of uncertainty in metres (≥ 0), when known.
    pub accuracy_meters: Option<f64>,
}

impl LocationInput {
    /// The domain form (checked by the domain).
    pub fn into_point(self) -> GeoPoint {
        GeoPoint {
            latitude: self.latitude,
            longitude: self.longitude,
            accuracy_m: self.accuracy_meters,
        }
    }
}

/// `clockIn` inside a sync batch.
#[derive(InputObject)]
pub struct ClockInOperation {
    /// The building (one you are assigned to).
    pub building_id: ID,
    /// Where you are; only accepted while you share your location.
    pub location: Option<LocationInput>,
}

/// `clockOut` inside a sync batch.
#[derive(InputObject)]
pub struct ClockOutOperation {
    /// Where you are; only accepted while you share your location.
    pub location: Option<LocationInput>,
}

/// `setWorkerStatus` inside a sync batch.
#[derive(InputObject)]
pub struct SetWorkerStatusOperation {
    /// The new duty status.
    pub status: WorkerDutyStatus,
}

/// `reportLocation` inside a sync batch.
#[derive(InputObject)]
pub struct ReportLocationOperation {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
    /// Radius of uncertainty in metres (≥ 0), when known.
    pub accuracy: Option<f64>,
}

/// `setLocationSharing` inside a sync batch.
#[derive(InputObject)]
pub struct SetLocationSharingOperation {
    /// Share your location from now on, or stop (which erases the stored one).
    pub enabled: bool,
}

/// A `ClockIn` operation from its parts.
pub fn clock_in_operation(building_id: ID, location: Option<LocationInput>) -> Result<Operation> {
    Ok(Operation::ClockIn {
        building_id: parse_id(&building_id, "building")?,
        location: location.map(LocationInput::into_point),
        occurred_at: None,
    })
}

/// A `ClockOut` operation from its parts.
pub fn clock_out_operation(location: Option<LocationInput>) -> Operation {
    Operation::ClockOut {
        location: location.map(LocationInput::into_point),
        occurred_at: None,
    }
}

/// A `ReportLocation` operation from its parts.
pub fn report_location_operation(
    latitude: f64,
    longitude: f64,
    accuracy: Option<f64>,
) -> Operation {
    Operation::ReportLocation(GeoPoint {
        latitude,
        longitude,
        accuracy_m: accuracy,
    })
}
