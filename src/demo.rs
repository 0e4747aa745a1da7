//! The demo organisation: three buildings, an administrator, two clients,
//! four workers, thirty tasks in every status, and compliance records, so a
//! new user has something to query and tests have a known world.
//!
//! Logins are `admin@<slug>.local`, `client1@…`, `client2@…`, `worker1@…` to
//! `worker4@…`, all with password `demo`. Assignments:
//! worker1 → building 1; worker2 → buildings 1 and 2; worker3 → building 2;
//! worker4 → building 3; client1 → building 1; client2 → buildings 2 and 3.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{
    AlertSeverity, BuildingStatus, EntityType, InspectionResult, Role, TaskPriority, TaskStatus,
    ViolationSeverity, ViolationStatus, WorkerDutyStatus,
};
use entity::ids::{
    BuildingId, ComplianceAlertId, InspectionId, OrganizationId, TaskId, TimeEntryId, UserId,
    ViolationId,
};
use entity::{
    building, building_client, building_worker, compliance_alert, inspection, organization, task,
    time_entry, user, violation, worker_status,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};

use crate::auth::password;
use crate::changelog;
use crate::error::{Error, Result};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "demo";

/// Ids of what [`seed`] created, in the order the module doc lists them.
#[derive(Debug, Clone)]
pub struct DemoOrg {
    /// The organisation.
    pub org_id: OrganizationId,
    /// Its slug, the domain part of the demo logins.
    pub slug: String,
    /// `admin@<slug>.local`.
    pub admin: UserId,
    /// `client1@…`, `client2@…`.
    pub clients: Vec<UserId>,
    /// `worker1@…` to `worker4@…`.
    pub workers: Vec<UserId>,
    /// The three buildings.
    pub buildings: Vec<BuildingId>,
}

impl DemoOrg {
    /// The login of a demo user, e.g. `email("worker1")`.
    pub fn email(&self, local: &str) -> String {
        format!("{local}@{}.local", self.slug)
    }
}

/// Turns a display name into a slug: lowercase letters, digits and dashes.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// True when no organisation exists yet (a fresh database).
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool> {
    Ok(organization::Entity::find().count(db).await? == 0)
}

/// Finds the demo organisation with this slug, if it was seeded.
pub async fn find(db: &impl ConnectionTrait, slug: &str) -> Result<Option<DemoOrg>> {
    let Some(org) = organization::Entity::find()
        .filter(organization::Column::Slug.eq(slug))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let users = user::Entity::find()
        .filter(user::Column::OrgId.eq(org.id))
        .all(db)
        .await?;
    let by_email = |local: &str| {
        let email = format!("{local}@{slug}.local");
        users.iter().find(|u| u.email == email).map(|u| u.id)
    };
    let (Some(admin), Some(c1), Some(c2)) =
        (by_email("admin"), by_email("client1"), by_email("client2"))
    else {
        return Ok(None);
    };
    let workers: Option<Vec<UserId>> = (1..=4).map(|i| by_email(&format!("worker{i}"))).collect();
    let mut buildings: Vec<BuildingId> = building::Entity::find()
        .filter(building::Column::OrgId.eq(org.id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    buildings.sort();
    Ok(workers.map(|workers| DemoOrg {
        org_id: org.id,
        slug: slug.to_owned(),
        admin,
        clients: vec![c1, c2],
        workers,
        buildings,
    }))
}

/// Creates a demo organisation named `name`, in one transaction.
pub async fn seed<C: ConnectionTrait + TransactionTrait>(db: &C, name: &str) -> Result<DemoOrg> {
    let slug = slugify(name);
    if slug.is_empty() {
        return Err(Error::bad_input(
            "the organisation name needs a letter or digit",
        ));
    }
    let exists = organization::Entity::find()
        .filter(organization::Column::Slug.eq(slug.clone()))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Err(Error::bad_input(format!(
            "an organisation `{slug}` already exists"
        )));
    }
    // One hash for all demo users: they share a password, and argon2 is slow.
    let hash = tokio::task::spawn_blocking(|| password::hash(DEMO_PASSWORD))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(e.to_string()))?;
    let txn = db.begin().await?;
    let demo = Seeder {
        db: &txn,
        now: Utc::now(),
    }
    .run(name, &slug, &hash)
    .await?;
    txn.commit().await?;
    Ok(demo)
}

/// Writes the rows of one demo organisation.
struct Seeder<'a, C> {
    db: &'a C,
    now: DateTime<Utc>,
}

impl<C: ConnectionTrait> Seeder<'_, C> {
    async fn run(&self, name: &str, slug: &str, hash: &str) -> Result<DemoOrg> {
        let org_id = OrganizationId::new();
        organization::ActiveModel {
            id: Set(org_id),
            name: Set(name.trim().to_owned()),
            slug: Set(slug.to_owned()),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.db)
        .await?;
        let admin = self
            .user(
                org_id,
                slug,
                "admin",
                "Avery Admin",
                Role::Admin,
                hash,
                false,
            )
            .await?;
        let clients = vec![
            self.user(
                org_id,
                slug,
                "client1",
                "Casey Client",
                Role::Client,
                hash,
                false,
            )
            .await?,
            self.user(
                org_id,
                slug,
                "client2",
                "Corey Client",
                Role::Client,
                hash,
                false,
            )
            .await?,
        ];
        let sharing = [true, false, true, false];
        let names = ["Wes Worker", "Wren Worker", "Willa Worker", "Walt Worker"];
        let mut workers = Vec::new();
        for (i, (name, shares)) in names.iter().zip(sharing).enumerate() {
            let local = format!("worker{}", i + 1);
            workers.push(
                self.user(org_id, slug, &local, name, Role::Worker, hash, shares)
                    .await?,
            );
        }
        let sites = [
            (
                "Harbor View Tower",
                "1 Harbor Way",
                BuildingStatus::Operational,
            ),
            ("Maple Court", "22 Maple Street", BuildingStatus::Attention),
            (
                "Riverside Lofts",
                "300 River Road",
                BuildingStatus::Critical,
            ),
        ];
        let mut buildings = Vec::new();
        for (name, address, status) in sites {
            buildings.push(self.building(org_id, name, address, status).await?);
        }
        let staffing = [(0, 0), (1, 0), (1, 1), (2, 1), (3, 2)];
        for (worker, site) in staffing {
            building_worker::ActiveModel {
                building_id: Set(buildings[site]),
                worker_id: Set(workers[worker]),
                org_id: Set(org_id),
                created_at: Set(self.now),
            }
            .insert(self.db)
            .await?;
        }
        for (client, site) in [(0, 0), (1, 1), (1, 2)] {
            building_client::ActiveModel {
                building_id: Set(buildings[site]),
                client_id: Set(clients[client]),
                org_id: Set(org_id),
                created_at: Set(self.now),
            }
            .insert(self.db)
            .await?;
        }
        self.presence(org_id, &workers, &buildings).await?;
        self.tasks(org_id, admin, &workers, &buildings, clients[0])
            .await?;
        self.compliance(org_id, admin, &buildings).await?;
        self.log_initial_state(org_id).await?;
        Ok(DemoOrg {
            org_id,
            slug: slug.to_owned(),
            admin,
            clients,
            workers,
            buildings,
        })
    }

    /// One CREATED change per seeded row, so delta sync starts from a
    /// complete log and merges find their base version.
    async fn log_initial_state(&self, org_id: OrganizationId) -> Result<()> {
        let org = organization::Entity::find_by_id(org_id)
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::Organization, org, |o| o.id.into_uuid())
            .await?;
        let users = user::Entity::find()
            .filter(user::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::User, users, |u| u.id.into_uuid())
            .await?;
        let buildings = building::Entity::find()
            .filter(building::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::Building, buildings, |b| {
            b.id.into_uuid()
        })
        .await?;
        let staff = building_worker::Entity::find()
            .filter(building_worker::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::BuildingWorker, staff, |m| {
            changelog::membership_id(m.building_id.into_uuid(), m.worker_id.into_uuid())
        })
        .await?;
        let links = building_client::Entity::find()
            .filter(building_client::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::BuildingClient, links, |m| {
            changelog::membership_id(m.building_id.into_uuid(), m.client_id.into_uuid())
        })
        .await?;
        let statuses = worker_status::Entity::find()
            .filter(worker_status::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::WorkerStatus, statuses, |w| {
            w.worker_id.into_uuid()
        })
        .await?;
        let entries = time_entry::Entity::find()
            .filter(time_entry::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::TimeEntry, entries, |e| e.id.into_uuid())
            .await?;
        let tasks = task::Entity::find()
            .filter(task::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::Task, tasks, |t| t.id.into_uuid())
            .await?;
        let violations = violation::Entity::find()
            .filter(violation::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::Violation, violations, |v| {
            v.id.into_uuid()
        })
        .await?;
        let inspections = inspection::Entity::find()
            .filter(inspection::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::Inspection, inspections, |i| {
            i.id.into_uuid()
        })
        .await?;
        let alerts = compliance_alert::Entity::find()
            .filter(compliance_alert::Column::OrgId.eq(org_id))
            .all(self.db)
            .await?;
        self.log_rows(org_id, EntityType::ComplianceAlert, alerts, |a| {
            a.id.into_uuid()
        })
        .await?;
        Ok(())
    }

    async fn log_rows<M: serde::Serialize>(
        &self,
        org_id: OrganizationId,
        entity_type: EntityType,
        rows: Vec<M>,
        id_of: impl Fn(&M) -> uuid::Uuid,
    ) -> Result<()> {
        for row in rows {
            changelog::record_created(self.db, org_id, entity_type, id_of(&row), &row).await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn user(
        &self,
        org_id: OrganizationId,
        slug: &str,
        local: &str,
        name: &str,
        role: Role,
        hash: &str,
        location_sharing: bool,
    ) -> Result<UserId> {
        let id = UserId::new();
        user::ActiveModel {
            id: Set(id),
            org_id: Set(org_id),
            email: Set(format!("{local}@{slug}.local")),
            name: Set(name.to_owned()),
            role: Set(role),
            active: Set(true),
            time_zone: Set("America/New_York".into()),
            location_sharing: Set(location_sharing),
            password_hash: Set(Some(hash.to_owned())),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            deleted_at: Set(None),
        }
        .insert(self.db)
        .await?;
        Ok(id)
    }

    async fn building(
        &self,
        org_id: OrganizationId,
        name: &str,
        address: &str,
        status: BuildingStatus,
    ) -> Result<BuildingId> {
        let id = BuildingId::new();
        building::ActiveModel {
            id: Set(id),
            org_id: Set(org_id),
            name: Set(name.to_owned()),
            address: Set(address.to_owned()),
            status: Set(status),
            version: Set(1),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            deleted_at: Set(None),
        }
        .insert(self.db)
        .await?;
        Ok(id)
    }

    /// Duty statuses and a week of clock entries. worker1 and worker3 share
    /// their location; worker2 is on duty without sharing; worker4 is off.
    async fn presence(
        &self,
        org_id: OrganizationId,
        workers: &[UserId],
        buildings: &[BuildingId],
    ) -> Result<()> {
        let statuses = [
            (
                WorkerDutyStatus::OnDuty,
                Some(buildings[0]),
                Some((40.7021, -74.0153)),
            ),
            (WorkerDutyStatus::OnDuty, Some(buildings[1]), None),
            (
                WorkerDutyStatus::OnBreak,
                Some(buildings[1]),
                Some((40.7306, -73.9866)),
            ),
            (WorkerDutyStatus::OffDuty, None, None),
        ];
        for (worker, (status, site, location)) in workers.iter().zip(statuses) {
            worker_status::ActiveModel {
                worker_id: Set(*worker),
                org_id: Set(org_id),
                status: Set(status),
                building_id: Set(site),
                latitude: Set(location.map(|l| l.0)),
                longitude: Set(location.map(|l| l.1)),
                accuracy_m: Set(location.map(|_| 8.0)),
                location_at: Set(location.map(|_| self.now - Duration::minutes(2))),
                version: Set(1),
                updated_at: Set(self.now),
            }
            .insert(self.db)
            .await?;
        }
        let home = [buildings[0], buildings[1], buildings[1], buildings[2]];
        for (i, worker) in workers.iter().enumerate() {
            for day in 1..=5 {
                let clock_in = self.now - Duration::days(day) - Duration::hours(9);
                self.time_entry(
                    org_id,
                    *worker,
                    home[i],
                    clock_in,
                    Some(clock_in + Duration::hours(8)),
                )
                .await?;
            }
        }
        for (worker, site) in [(0, 0), (1, 1), (2, 1)] {
            self.time_entry(
                org_id,
                workers[worker],
                buildings[site],
                self.now - Duration::hours(3),
                None,
            )
            .await?;
        }
        Ok(())
    }

    async fn time_entry(
        &self,
        org_id: OrganizationId,
        worker: UserId,
        site: BuildingId,
        clock_in_at: DateTime<Utc>,
        clock_out_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        time_entry::ActiveModel {
            id: Set(TimeEntryId::new()),
            org_id: Set(org_id),
            worker_id: Set(worker),
            building_id: Set(site),
            clock_in_at: Set(clock_in_at),
            clock_out_at: Set(clock_out_at),
            clock_in_latitude: Set(Some(40.70)),
            clock_in_longitude: Set(Some(-74.01)),
            clock_out_latitude: Set(clock_out_at.map(|_| 40.70)),
            clock_out_longitude: Set(clock_out_at.map(|_| -74.01)),
            version: Set(1),
            created_at: Set(clock_in_at),
            updated_at: Set(clock_out_at.unwrap_or(clock_in_at)),
        }
        .insert(self.db)
        .await?;
        Ok(())
    }

    /// Thirty tasks, ten per building, each building cycling through every
    /// status; pending ones are unassigned, the rest alternate between the
    /// workers of that building.
    async fn tasks(
        &self,
        org_id: OrganizationId,
        admin: UserId,
        workers: &[UserId],
        buildings: &[BuildingId],
        client: UserId,
    ) -> Result<()> {
        const TITLES: [(&str, &str); 10] = [
            ("Replace lobby light fixtures", "electrical"),
            ("Fix leaking faucet in 4B", "plumbing"),
            ("Service boiler", "hvac"),
            ("Repaint stairwell", "painting"),
            ("Clear roof drains", "roofing"),
            ("Replace elevator call button", "elevator"),
            ("Inspect fire extinguishers", "fire-safety"),
            ("Repair garage door", "general"),
            ("Rekey mailroom lock", "security"),
            ("Patch hallway drywall", "general"),
        ];
        const STATUSES: [TaskStatus; 6] = [
            TaskStatus::Pending,
            TaskStatus::Assigned,
            TaskStatus::InProgress,
            TaskStatus::Blocked,
            TaskStatus::Completed,
            TaskStatus::Cancelled,
        ];
        const PRIORITIES: [TaskPriority; 4] = [
            TaskPriority::Low,
            TaskPriority::Normal,
            TaskPriority::High,
            TaskPriority::Urgent,
        ];
        // Which workers serve each building (matches the staffing above).
        let crews = [
            vec![workers[0], workers[1]],
            vec![workers[1], workers[2]],
            vec![workers[3]],
        ];
        for n in 0..30usize {
            let (site, k) = (n % 3, n / 3);
            let status = STATUSES[(k + site) % STATUSES.len()];
            let (title, category) = TITLES[k];
            let assignee =
                (status != TaskStatus::Pending).then(|| crews[site][k % crews[site].len()]);
            let created_at = self.now - Duration::days(10) + Duration::hours(n as i64);
            let started_at = matches!(
                status,
                TaskStatus::InProgress | TaskStatus::Blocked | TaskStatus::Completed
            )
            .then(|| created_at + Duration::hours(2));
            let completed_at = (status == TaskStatus::Completed)
                .then(|| created_at + Duration::hours(5 + n as i64 % 4));
            let progress = match status {
                TaskStatus::Completed => 100,
                TaskStatus::InProgress | TaskStatus::Blocked => 25 + (n as i32 % 3) * 20,
                _ => 0,
            };
            task::ActiveModel {
                id: Set(TaskId::new()),
                org_id: Set(org_id),
                building_id: Set(buildings[site]),
                title: Set(title.to_owned()),
                description: Set(format!(
                    "{title} ({category}), reported during the weekly walk-through."
                )),
                category: Set(category.to_owned()),
                priority: Set(PRIORITIES[n % PRIORITIES.len()]),
                status: Set(status),
                assignee_id: Set(assignee),
                created_by: Set(if n == 0 { client } else { admin }),
                progress: Set(progress),
                due_at: Set(Some(created_at + Duration::hours(6))),
                started_at: Set(started_at),
                completed_at: Set(completed_at),
                version: Set(1),
                created_at: Set(created_at),
                updated_at: Set(completed_at.or(started_at).unwrap_or(created_at)),
                deleted_at: Set(None),
            }
            .insert(self.db)
            .await?;
        }
        Ok(())
    }

    /// Two violations, two inspections and an alert or two per building.
    async fn compliance(
        &self,
        org_id: OrganizationId,
        admin: UserId,
        buildings: &[BuildingId],
    ) -> Result<()> {
        for (i, site) in buildings.iter().enumerate() {
            for (j, (source, code, severity, status)) in [
                (
                    "DOB",
                    "BC-1008",
                    ViolationSeverity::Medium,
                    ViolationStatus::Open,
                ),
                (
                    "HPD",
                    "HMC-27-2005",
                    ViolationSeverity::Low,
                    ViolationStatus::Resolved,
                ),
            ]
            .into_iter()
            .enumerate()
            {
                let issued_at = self.now - Duration::days(20 - (i * 2 + j) as i64);
                violation::ActiveModel {
                    id: Set(ViolationId::new()),
                    org_id: Set(org_id),
                    building_id: Set(*site),
                    source: Set(source.into()),
                    code: Set(code.into()),
                    description: Set(format!("{source} {code}: condition requires correction")),
                    severity: Set(if i == 2 && j == 0 {
                        ViolationSeverity::Critical
                    } else {
                        severity
                    }),
                    status: Set(status),
                    issued_at: Set(issued_at),
                    due_at: Set(Some(issued_at + Duration::days(30))),
                    resolved_at: Set((status == ViolationStatus::Resolved)
                        .then_some(issued_at + Duration::days(5))),
                    penalty_cents: Set(Some(25_000 * (j as i64 + 1))),
                    version: Set(1),
                    created_at: Set(issued_at),
                    updated_at: Set(issued_at),
                }
                .insert(self.db)
                .await?;
            }
            let past_result = if i == 2 {
                InspectionResult::Failed
            } else {
                InspectionResult::Passed
            };
            for (kind, scheduled_for, result) in [
                ("elevator", self.now - Duration::days(7), past_result),
                (
                    "fire-safety",
                    self.now + Duration::days(14),
                    InspectionResult::Pending,
                ),
            ] {
                let done = result != InspectionResult::Pending;
                inspection::ActiveModel {
                    id: Set(InspectionId::new()),
                    org_id: Set(org_id),
                    building_id: Set(*site),
                    kind: Set(kind.into()),
                    scheduled_for: Set(scheduled_for),
                    result: Set(result),
                    inspector: Set(Some("City Inspections Unit".into())),
                    notes: Set(done.then(|| format!("{kind} inspection {result:?}").to_lowercase())),
                    completed_at: Set(done.then_some(scheduled_for)),
                    version: Set(1),
                    created_at: Set(self.now - Duration::days(30)),
                    updated_at: Set(self.now - Duration::days(7)),
                }
                .insert(self.db)
                .await?;
            }
            let alerts = match i {
                0 => vec![(
                    AlertSeverity::Info,
                    "Annual boiler certificate renewed",
                    true,
                )],
                1 => vec![(
                    AlertSeverity::Warning,
                    "Violation BC-1008 due in 10 days",
                    false,
                )],
                _ => vec![
                    (
                        AlertSeverity::Critical,
                        "Elevator inspection failed: unit out of service",
                        false,
                    ),
                    (AlertSeverity::Warning, "Critical violation open", false),
                ],
            };
            for (severity, message, acknowledged) in alerts {
                compliance_alert::ActiveModel {
                    id: Set(ComplianceAlertId::new()),
                    org_id: Set(org_id),
                    building_id: Set(*site),
                    severity: Set(severity),
                    message: Set(message.into()),
                    acknowledged_by: Set(acknowledged.then_some(admin)),
                    acknowledged_at: Set(acknowledged.then_some(self.now - Duration::days(1))),
                    version: Set(1),
                    created_at: Set(self.now - Duration::days(2)),
                    updated_at: Set(self.now - Duration::days(1)),
                }
                .insert(self.db)
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_lowercase_words_joined_by_dashes() {
        assert_eq!(slugify("Demo"), "demo");
        assert_eq!(slugify("  Acme Property  Group! "), "acme-property-group");
    }
}
