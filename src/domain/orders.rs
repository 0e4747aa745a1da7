//! The orders lists can be given besides creation: for each kind of row,
//! the fields a screen sorts by and their sort keys (enums by rank, times
//! with empty ones last, text in the database's collation), the id
//! breaking ties so cursors stay valid (see `pagination::paginate_sorted`).

use entity::enums::{
    AlertSeverity, InspectionResult, TaskPriority, TaskStatus, ViolationSeverity, ViolationStatus,
};
use entity::{compliance_alert, inspection, task, user, violation};

use super::pagination::{KeyValue, Order, Orderable, SortKey, column_key, rank_key, rank_of};

/// What a task list can be ordered by.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOrderField {
    /// When it was created (the default).
    CreatedAt,
    /// LOW, NORMAL, HIGH, URGENT.
    Priority,
    /// When it is due; tasks without a due date last.
    DueAt,
    /// PENDING, ASSIGNED, IN_PROGRESS, BLOCKED, COMPLETED, CANCELLED.
    Status,
    /// When it last changed.
    UpdatedAt,
    /// Its title (the database's collation).
    Title,
}

/// What a violation list can be ordered by.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationOrderField {
    /// When it was recorded (the default).
    CreatedAt,
    /// LOW, MEDIUM, HIGH, CRITICAL.
    Severity,
    /// OPEN, RESOLVED, DISMISSED.
    Status,
    /// When it was issued.
    IssuedAt,
    /// When it must be cured by; those without a date last.
    DueAt,
    /// When it last changed.
    UpdatedAt,
}

/// What an inspection list can be ordered by.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectionOrderField {
    /// When it was scheduled (the default).
    CreatedAt,
    /// When it takes place.
    ScheduledFor,
    /// PENDING, PASSED, FAILED.
    Result,
    /// When it last changed.
    UpdatedAt,
}

/// What a compliance alert list can be ordered by.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOrderField {
    /// When it was raised (the default).
    CreatedAt,
    /// INFO, WARNING, CRITICAL.
    Severity,
    /// When it last changed.
    UpdatedAt,
}

/// What a user list can be ordered by.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOrderField {
    /// When the account was created (the default).
    CreatedAt,
    /// Their name (the database's collation).
    Name,
    /// When the account last changed.
    UpdatedAt,
}

const PRIORITIES: [TaskPriority; 4] = [
    TaskPriority::Low,
    TaskPriority::Normal,
    TaskPriority::High,
    TaskPriority::Urgent,
];
const TASK_STATUSES: [TaskStatus; 6] = [
    TaskStatus::Pending,
    TaskStatus::Assigned,
    TaskStatus::InProgress,
    TaskStatus::Blocked,
    TaskStatus::Completed,
    TaskStatus::Cancelled,
];
const VIOLATION_SEVERITIES: [ViolationSeverity; 4] = [
    ViolationSeverity::Low,
    ViolationSeverity::Medium,
    ViolationSeverity::High,
    ViolationSeverity::Critical,
];
const VIOLATION_STATUSES: [ViolationStatus; 3] = [
    ViolationStatus::Open,
    ViolationStatus::Resolved,
    ViolationStatus::Dismissed,
];
const RESULTS: [InspectionResult; 3] = [
    InspectionResult::Pending,
    InspectionResult::Passed,
    InspectionResult::Failed,
];
const ALERT_SEVERITIES: [AlertSeverity; 3] = [
    AlertSeverity::Info,
    AlertSeverity::Warning,
    AlertSeverity::Critical,
];

fn time(at: chrono::DateTime<chrono::Utc>) -> Option<KeyValue> {
    Some(KeyValue::Time(at))
}

impl Orderable for task::Model {
    type Field = TaskOrderField;

    fn key(order: Order<TaskOrderField>) -> Option<SortKey<Self>> {
        use task::Column as C;
        let d = order.descending;
        Some(match order.field {
            TaskOrderField::CreatedAt if !d => return None,
            TaskOrderField::CreatedAt => column_key(C::CreatedAt, |t| time(t.created_at), d),
            TaskOrderField::Priority => rank_key(
                C::Priority,
                &PRIORITIES,
                |t| rank_of(&PRIORITIES, &t.priority),
                d,
            ),
            TaskOrderField::Status => rank_key(
                C::Status,
                &TASK_STATUSES,
                |t| rank_of(&TASK_STATUSES, &t.status),
                d,
            ),
            TaskOrderField::DueAt => column_key(C::DueAt, |t| t.due_at.map(KeyValue::Time), d),
            TaskOrderField::UpdatedAt => column_key(C::UpdatedAt, |t| time(t.updated_at), d),
            TaskOrderField::Title => {
                column_key(C::Title, |t| Some(KeyValue::Text(t.title.clone())), d)
            }
        })
    }
}

impl Orderable for violation::Model {
    type Field = ViolationOrderField;

    fn key(order: Order<ViolationOrderField>) -> Option<SortKey<Self>> {
        use violation::Column as C;
        let d = order.descending;
        Some(match order.field {
            ViolationOrderField::CreatedAt if !d => return None,
            ViolationOrderField::CreatedAt => column_key(C::CreatedAt, |v| time(v.created_at), d),
            ViolationOrderField::Severity => rank_key(
                C::Severity,
                &VIOLATION_SEVERITIES,
                |v| rank_of(&VIOLATION_SEVERITIES, &v.severity),
                d,
            ),
            ViolationOrderField::Status => rank_key(
                C::Status,
                &VIOLATION_STATUSES,
                |v| rank_of(&VIOLATION_STATUSES, &v.status),
                d,
            ),
            ViolationOrderField::IssuedAt => column_key(C::IssuedAt, |v| time(v.issued_at), d),
            ViolationOrderField::DueAt => column_key(C::DueAt, |v| v.due_at.map(KeyValue::Time), d),
            ViolationOrderField::UpdatedAt => column_key(C::UpdatedAt, |v| time(v.updated_at), d),
        })
    }
}

impl Orderable for inspection::Model {
    type Field = InspectionOrderField;

    fn key(order: Order<InspectionOrderField>) -> Option<SortKey<Self>> {
        use inspection::Column as C;
        let d = order.descending;
        Some(match order.field {
            InspectionOrderField::CreatedAt if !d => return None,
            InspectionOrderField::CreatedAt => column_key(C::CreatedAt, |i| time(i.created_at), d),
            InspectionOrderField::ScheduledFor => {
                column_key(C::ScheduledFor, |i| time(i.scheduled_for), d)
            }
            InspectionOrderField::Result => {
                rank_key(C::Result, &RESULTS, |i| rank_of(&RESULTS, &i.result), d)
            }
            InspectionOrderField::UpdatedAt => column_key(C::UpdatedAt, |i| time(i.updated_at), d),
        })
    }
}

impl Orderable for compliance_alert::Model {
    type Field = AlertOrderField;

    fn key(order: Order<AlertOrderField>) -> Option<SortKey<Self>> {
        use compliance_alert::Column as C;
        let d = order.descending;
        Some(match order.field {
            AlertOrderField::CreatedAt if !d => return None,
            AlertOrderField::CreatedAt => column_key(C::CreatedAt, |a| time(a.created_at), d),
            AlertOrderField::Severity => rank_key(
                C::Severity,
                &ALERT_SEVERITIES,
                |a| rank_of(&ALERT_SEVERITIES, &a.severity),
                d,
            ),
            AlertOrderField::UpdatedAt => column_key(C::UpdatedAt, |a| time(a.updated_at), d),
        })
    }
}

impl Orderable for user::Model {
    type Field = UserOrderField;

    fn key(order: Order<UserOrderField>) -> Option<SortKey<Self>> {
        use user::Column as C;
        let d = order.descending;
        Some(match order.field {
            UserOrderField::CreatedAt if !d => return None,
            UserOrderField::CreatedAt => column_key(C::CreatedAt, |u| time(u.created_at), d),
            UserOrderField::Name => {
                column_key(C::Name, |u| Some(KeyValue::Text(u.name.clone())), d)
            }
            UserOrderField::UpdatedAt => column_key(C::UpdatedAt, |u| time(u.updated_at), d),
        })
    }
}
