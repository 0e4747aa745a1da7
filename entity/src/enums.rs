//! Closed sets of values shared by the database and the GraphQL API.
//!
//! Each enum is stored as a string column and exposed as a GraphQL enum. The
//! stored value, the serde name and the GraphQL name are all the variant's
//! name in SCREAMING_SNAKE_CASE (`InProgress` is `"IN_PROGRESS"` everywhere):
//! sea-orm and serde are told so by `rename_all`, and it is async-graphql's
//! default. Renaming a variant therefore changes stored data and the API, and
//! needs a data migration.

use sea_orm::entity::prelude::*;

/// Declares closed enums with the derives and naming every one of them needs.
macro_rules! closed_enums {
    ($(
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)? }
    )+) => {$(
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum,
            async_graphql::Enum, serde::Serialize, serde::Deserialize,
        )]
        #[sea_orm(
            rs_type = "String",
            db_type = "String(StringLen::None)",
            rename_all = "SCREAMING_SNAKE_CASE"
        )]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }
    )+};
}

closed_enums! {
    /// What a user may do within their organization.
    Role {
        /// Manages the organization: buildings, users, tasks and compliance.
        Admin,
        /// Works on site: sees assigned buildings and tasks, clocks in and out.
        Worker,
        /// A building's owner or manager: read-only view of their buildings.
        Client,
    }

    /// Overall condition of a building.
    BuildingStatus {
        /// Nothing needs attention.
        Operational,
        /// Something needs attention soon.
        Attention,
        /// Something needs attention now.
        Critical,
    }

    /// How urgently a task should be done.
    TaskPriority {
        /// Whenever convenient.
        Low,
        /// In the usual course of work.
        Normal,
        /// Before normal work.
        High,
        /// Immediately.
        Urgent,
    }

    /// Where a task is in its life cycle.
    TaskStatus {
        /// Created but not yet assigned.
        Pending,
        /// Assigned to a worker who has not started.
        Assigned,
        /// Being worked on.
        InProgress,
        /// Cannot proceed until something else happens.
        Blocked,
        /// Done.
        Completed,
        /// Will not be done.
        Cancelled,
    }

    /// What a worker is doing right now.
    WorkerDutyStatus {
        /// Working.
        OnDuty,
        /// Not working.
        OffDuty,
        /// On a break during a shift.
        OnBreak,
        /// Travelling between buildings.
        Traveling,
    }

    /// How serious a building code violation is.
    ViolationSeverity {
        /// Minor.
        Low,
        /// Moderate.
        Medium,
        /// Serious.
        High,
        /// Hazardous: fix immediately.
        Critical,
    }

    /// Where a violation is in its life cycle.
    ViolationStatus {
        /// Issued and not yet handled.
        Open,
        /// Being remedied.
        InProgress,
        /// Remedied.
        Resolved,
        /// Withdrawn or found invalid.
        Dismissed,
    }

    /// Outcome of an inspection.
    InspectionResult {
        /// Not yet held, or held without a result.
        Pending,
        /// The building passed.
        Passed,
        /// The building failed.
        Failed,
    }

    /// How serious a compliance alert is.
    AlertSeverity {
        /// For information only.
        Info,
        /// Needs attention.
        Warning,
        /// Needs attention now.
        Critical,
    }

    /// Which push service delivers to a device.
    PushProvider {
        /// Apple Push Notification service, directly.
        Apns,
        /// Expo's push service.
        Expo,
    }

    /// Delivery state of a queued notification.
    NotificationStatus {
        /// Waiting for its next attempt.
        Pending,
        /// Claimed by a sender, in flight.
        Sending,
        /// Accepted by the push provider.
        Sent,
        /// Given up on after an error or too many attempts.
        Failed,
        /// Withdrawn before it was sent.
        Cancelled,
    }

    /// What a notification is about; preferences are kept per category.
    NotificationCategory {
        /// A task was assigned to the recipient.
        TaskAssigned,
        /// A task the recipient follows was changed.
        TaskUpdated,
        /// A task the recipient follows was completed.
        TaskCompleted,
        /// A task the recipient follows was blocked.
        TaskBlocked,
        /// A task passed its due time unfinished.
        TaskOverdue,
        /// A compliance alert was raised.
        ComplianceAlert,
        /// A violation was issued or changed.
        Violation,
        /// An inspection was scheduled or completed.
        Inspection,
        /// A worker clocked in or out.
        ClockEvent,
        /// A test notification requested by the user.
        Test,
    }

    /// Kind of change recorded in the change log.
    ChangeOp {
        /// The row was created.
        Created,
        /// The row was updated.
        Updated,
        /// The row was deleted (or soft-deleted).
        Deleted,
    }

    /// Kind of row a change-log entry or sync conflict refers to.
    EntityType {
        /// An organization.
        Organization,
        /// A user.
        User,
        /// A building.
        Building,
        /// A task.
        Task,
        /// A worker's current status.
        WorkerStatus,
        /// A time entry.
        TimeEntry,
        /// A violation.
        Violation,
        /// An inspection.
        Inspection,
        /// A compliance alert.
        ComplianceAlert,
        /// A worker's assignment to a building.
        BuildingWorker,
        /// A client's access to a building.
        BuildingClient,
        /// A conflict an offline write left for its user (or an
        /// administrator) to resolve.
        SyncConflict,
    }

    /// The operating system of a registered device.
    DevicePlatform {
        /// An iPhone or iPad.
        Ios,
        /// An Android phone.
        Android,
        /// A web app (Expo for web).
        Web,
    }

    /// Whether a sync conflict still needs a decision.
    SyncConflictStatus {
        /// Waiting for the user to resolve it.
        Open,
        /// Resolved.
        Resolved,
        /// Closed without a decision: its entity was deleted, so there is
        /// nothing left to decide (`resolution` says why).
        Closed,
    }
}
