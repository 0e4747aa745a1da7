//! The facts of a change-log snapshot that the rules read — which building
//! an entity is in, whose it is, whether it is open, deleted or located —
//! read into types in this one place. Who sees a change (`visibility`),
//! which filtered feed it belongs to and whom a push goes to all ask
//! [`Facts`], never the snapshot's fields by name: each kind of entity is
//! read through a struct whose field names are its model's, and the tests
//! read a serialised model of every kind, so a renamed model field cannot
//! silently change who sees what.

use entity::enums::{EntityType, TaskStatus};
use entity::ids::{BuildingId, UserId};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use uuid::Uuid;

/// What the rules read of one snapshot. A snapshot that does not read as
/// its kind yields the default: no building, nobody's, which only an
/// administrator sees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// The entity's own id, where its snapshot has one.
    pub id: Option<Uuid>,
    /// The building it is in (a building: itself).
    pub building: Option<BuildingId>,
    /// A task's assignee.
    pub assignee: Option<UserId>,
    /// The worker a status, time entry or assignment belongs to.
    pub worker: Option<UserId>,
    /// The client of a building link.
    pub client: Option<UserId>,
    /// The user a sync conflict belongs to.
    pub owner: Option<UserId>,
    /// A task's status.
    pub task_status: Option<TaskStatus>,
    /// Soft-deleted (`deleted_at` set).
    pub deleted: bool,
    /// A user who may not sign in (deactivated).
    pub inactive: bool,
    /// A worker status that holds a location.
    pub located: bool,
    /// A user who shares their location.
    pub shares_location: bool,
}

impl Facts {
    /// The facts of a snapshot of `entity_type`. Borrows the snapshot's
    /// strings while reading: no allocation.
    pub fn of(entity_type: EntityType, snapshot: &Value) -> Self {
        let read = match entity_type {
            EntityType::Organization => Ok(Facts::default()),
            EntityType::Building => Building::deserialize(snapshot).map(|b| Facts {
                id: Some(b.id.into_uuid()),
                building: Some(b.id),
                deleted: b.deleted_at.is_some(),
                ..Facts::default()
            }),
            EntityType::Task => Task::deserialize(snapshot).map(|t| Facts {
                id: Some(t.id),
                building: Some(t.building_id),
                assignee: t.assignee_id,
                task_status: Some(t.status),
                deleted: t.deleted_at.is_some(),
                ..Facts::default()
            }),
            EntityType::Violation | EntityType::Inspection | EntityType::ComplianceAlert => {
                InBuilding::deserialize(snapshot).map(|r| Facts {
                    id: Some(r.id),
                    building: Some(r.building_id),
                    ..Facts::default()
                })
            }
            EntityType::User => User::deserialize(snapshot).map(|u| Facts {
                id: Some(u.id.into_uuid()),
                deleted: u.deleted_at.is_some(),
                inactive: !u.active,
                shares_location: u.location_sharing,
                ..Facts::default()
            }),
            EntityType::WorkerStatus => WorkerStatus::deserialize(snapshot).map(|s| Facts {
                id: Some(s.worker_id.into_uuid()),
                building: s.building_id,
                worker: Some(s.worker_id),
                located: s.latitude.is_some(),
                ..Facts::default()
            }),
            EntityType::TimeEntry => TimeEntry::deserialize(snapshot).map(|e| Facts {
                id: Some(e.id),
                building: Some(e.building_id),
                worker: Some(e.worker_id),
                ..Facts::default()
            }),
            EntityType::BuildingWorker => BuildingWorker::deserialize(snapshot).map(|m| Facts {
                building: Some(m.building_id),
                worker: Some(m.worker_id),
                ..Facts::default()
            }),
            EntityType::BuildingClient => BuildingClient::deserialize(snapshot).map(|m| Facts {
                building: Some(m.building_id),
                client: Some(m.client_id),
                ..Facts::default()
            }),
            EntityType::SyncConflict => SyncConflict::deserialize(snapshot).map(|c| Facts {
                id: Some(c.id),
                owner: Some(c.user_id),
                ..Facts::default()
            }),
        };
        read.unwrap_or_else(|error| {
            tracing::warn!(?entity_type, %error, "a snapshot does not read as its kind");
            Facts::default()
        })
    }

    /// A task that anyone in its building may take: unassigned and not finished.
    pub fn is_open_task(&self) -> bool {
        self.assignee.is_none()
            && !matches!(
                self.task_status,
                Some(TaskStatus::Completed | TaskStatus::Cancelled)
            )
    }
}

// One struct per kind: the fields the rules read, named as in the model.

#[derive(Deserialize)]
struct Building {
    id: BuildingId,
    deleted_at: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Task {
    id: Uuid,
    building_id: BuildingId,
    assignee_id: Option<UserId>,
    status: TaskStatus,
    deleted_at: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct InBuilding {
    id: Uuid,
    building_id: BuildingId,
}

#[derive(Deserialize)]
struct User {
    id: UserId,
    active: bool,
    location_sharing: bool,
    deleted_at: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct WorkerStatus {
    worker_id: UserId,
    building_id: Option<BuildingId>,
    latitude: Option<f64>,
}

#[derive(Deserialize)]
struct TimeEntry {
    id: Uuid,
    worker_id: UserId,
    building_id: BuildingId,
}

#[derive(Deserialize)]
struct BuildingWorker {
    building_id: BuildingId,
    worker_id: UserId,
}

#[derive(Deserialize)]
struct BuildingClient {
    building_id: BuildingId,
    client_id: UserId,
}

#[derive(Deserialize)]
struct SyncConflict {
    id: Uuid,
    user_id: UserId,
}

#[cfg(test)]
mod tests {
    //! Every kind is read from its model as serialised into the change log,
    //! with each fact set, so a model field renamed without its reader here
    //! fails these tests instead of hiding entities from their people.

    use chrono::Utc;
    use entity::enums::*;
    use entity::ids::*;
    use entity::{
        building, building_client, building_worker, compliance_alert, inspection, sync_conflict,
        task, time_entry, user, violation, worker_status,
    };

    use super::*;

    fn facts(entity_type: EntityType, model: &impl serde::Serialize) -> Facts {
        Facts::of(
            entity_type,
            &serde_json::to_value(model).expect("a snapshot"),
        )
    }

    #[test]
    fn tasks_read_their_building_assignee_status_and_deletion() {
        let now = Utc::now();
        let mut row = task::Model {
            id: TaskId::new(),
            org_id: OrganizationId::new(),
            building_id: BuildingId::new(),
            title: "Fix the boiler".into(),
            description: String::new(),
            category: "hvac".into(),
            priority: TaskPriority::High,
            status: TaskStatus::Assigned,
            assignee_id: Some(UserId::new()),
            created_by: UserId::new(),
            progress: 10,
            due_at: None,
            started_at: None,
            completed_at: None,
            version: 3,
            created_at: now,
            updated_at: now,
            deleted_at: Some(now),
        };
        let read = facts(EntityType::Task, &row);
        assert_eq!(read.id, Some(row.id.into_uuid()));
        assert_eq!(read.building, Some(row.building_id));
        assert_eq!(read.assignee, row.assignee_id);
        assert_eq!(read.task_status, Some(TaskStatus::Assigned));
        assert!(read.deleted && !read.is_open_task());
        row.assignee_id = None;
        row.deleted_at = None;
        row.status = TaskStatus::Pending;
        let read = facts(EntityType::Task, &row);
        assert!(!read.deleted && read.is_open_task());
        row.status = TaskStatus::Cancelled;
        assert!(!facts(EntityType::Task, &row).is_open_task());
    }

    #[test]
    fn buildings_and_compliance_records_read_their_building() {
        let now = Utc::now();
        let org_id = OrganizationId::new();
        let site = building::Model {
            id: BuildingId::new(),
            org_id,
            name: "North".into(),
            address: String::new(),
            status: BuildingStatus::Operational,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: Some(now),
        };
        let read = facts(EntityType::Building, &site);
        assert_eq!(read.building, Some(site.id));
        assert!(read.deleted);
        let violation = violation::Model {
            id: ViolationId::new(),
            org_id,
            building_id: site.id,
            source: "city".into(),
            code: "F-1".into(),
            description: "exit blocked".into(),
            severity: ViolationSeverity::High,
            status: ViolationStatus::Open,
            issued_at: now,
            due_at: None,
            resolved_at: None,
            penalty_cents: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            facts(EntityType::Violation, &violation).building,
            Some(site.id)
        );
        let inspection = inspection::Model {
            id: InspectionId::new(),
            org_id,
            building_id: site.id,
            kind: "fire".into(),
            scheduled_for: now,
            result: InspectionResult::Pending,
            inspector: None,
            notes: None,
            completed_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        assert_eq!(
            facts(EntityType::Inspection, &inspection).building,
            Some(site.id)
        );
        let alert = compliance_alert::Model {
            id: ComplianceAlertId::new(),
            org_id,
            building_id: site.id,
            severity: AlertSeverity::Critical,
            message: "smoke".into(),
            acknowledged_by: None,
            acknowledged_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let read = facts(EntityType::ComplianceAlert, &alert);
        assert_eq!(
            (read.id, read.building),
            (Some(alert.id.into_uuid()), Some(site.id))
        );
    }

    #[test]
    fn people_their_presence_and_memberships_read_whose_they_are() {
        let now = Utc::now();
        let org_id = OrganizationId::new();
        let site = BuildingId::new();
        let person = user::Model {
            id: UserId::new(),
            org_id,
            email: "w@example.com".into(),
            name: "W".into(),
            role: Role::Worker,
            active: false,
            time_zone: "UTC".into(),
            location_sharing: true,
            password_hash: None,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: Some(now),
        };
        let read = facts(EntityType::User, &person);
        assert_eq!(read.id, Some(person.id.into_uuid()));
        assert!(read.inactive && read.deleted && read.shares_location);
        let status = worker_status::Model {
            worker_id: person.id,
            org_id,
            status: WorkerDutyStatus::OnDuty,
            building_id: Some(site),
            latitude: Some(40.7),
            longitude: Some(-74.0),
            accuracy_m: None,
            location_at: Some(now),
            version: 2,
            updated_at: now,
        };
        let read = facts(EntityType::WorkerStatus, &status);
        assert_eq!((read.worker, read.building), (Some(person.id), Some(site)));
        assert!(read.located);
        let entry = time_entry::Model {
            id: TimeEntryId::new(),
            org_id,
            worker_id: person.id,
            building_id: site,
            clock_in_at: now,
            clock_out_at: None,
            clock_in_latitude: None,
            clock_in_longitude: None,
            clock_out_latitude: None,
            clock_out_longitude: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let read = facts(EntityType::TimeEntry, &entry);
        assert_eq!((read.worker, read.building), (Some(person.id), Some(site)));
        let assignment = building_worker::Model {
            building_id: site,
            worker_id: person.id,
            org_id,
            created_at: now,
        };
        let read = facts(EntityType::BuildingWorker, &assignment);
        assert_eq!((read.worker, read.building), (Some(person.id), Some(site)));
        let link = building_client::Model {
            building_id: site,
            client_id: person.id,
            org_id,
            created_at: now,
        };
        let read = facts(EntityType::BuildingClient, &link);
        assert_eq!((read.client, read.building), (Some(person.id), Some(site)));
    }

    #[test]
    fn sync_conflicts_read_their_owner() {
        let now = Utc::now();
        let conflict = sync_conflict::Model {
            id: SyncConflictId::new(),
            org_id: OrganizationId::new(),
            user_id: UserId::new(),
            entity_type: EntityType::Task,
            entity_id: uuid::Uuid::nil(),
            base_version: 1,
            server_version: 2,
            client_patch: serde_json::json!({}),
            fields: serde_json::json!([]),
            status: SyncConflictStatus::Open,
            resolution: None,
            created_at: now,
            resolved_at: None,
            version: 1,
            updated_at: now,
        };
        let read = facts(EntityType::SyncConflict, &conflict);
        assert_eq!(
            (read.id, read.owner),
            (Some(conflict.id.into_uuid()), Some(conflict.user_id))
        );
    }

    #[test]
    fn a_snapshot_that_does_not_read_as_its_kind_belongs_to_nobody() {
        let read = Facts::of(EntityType::Task, &serde_json::json!({ "building": "x" }));
        assert_eq!(read, Facts::default());
    }
}
