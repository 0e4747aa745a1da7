//! sea-orm entities of fieldsync: one module per table, typed ids and the
//! closed enums shared by the database and the GraphQL API.

#![warn(missing_docs)]

pub mod enums;
pub mod ids;

pub mod building;
pub mod building_client;
pub mod building_worker;
pub mod change;
pub mod client_mutation;
pub mod compliance_alert;
pub mod device;
pub mod inspection;
pub mod notification;
pub mod notification_preference;
pub mod organization;
pub mod push_cursor;
pub mod refresh_token;
pub mod sync_conflict;
pub mod task;
pub mod time_entry;
pub mod user;
pub mod violation;
pub mod worker_status;

/// Every table's `Entity` under the table's singular name, for glob imports.
pub mod prelude {
    pub use crate::building::Entity as Building;
    pub use crate::building_client::Entity as BuildingClient;
    pub use crate::building_worker::Entity as BuildingWorker;
    pub use crate::change::Entity as Change;
    pub use crate::client_mutation::Entity as ClientMutation;
    pub use crate::compliance_alert::Entity as ComplianceAlert;
    pub use crate::device::Entity as Device;
    pub use crate::inspection::Entity as Inspection;
    pub use crate::notification::Entity as Notification;
    pub use crate::notification_preference::Entity as NotificationPreference;
    pub use crate::organization::Entity as Organization;
    pub use crate::push_cursor::Entity as PushCursor;
    pub use crate::refresh_token::Entity as RefreshToken;
    pub use crate::sync_conflict::Entity as SyncConflict;
    pub use crate::task::Entity as Task;
    pub use crate::time_entry::Entity as TimeEntry;
    pub use crate::user::Entity as User;
    pub use crate::violation::Entity as Violation;
    pub use crate::worker_status::Entity as WorkerStatus;
}
