//! A deterministic offline-sync simulation: workers' phones go offline with
//! a snapshot, edit tasks from a realistic mix while administrators keep
//! editing online, then every phone flushes its queue with `syncPush` in
//! random chunks over several calls, as a flaky network allows (some answers
//! are lost on the way back and the same chunk is sent again), and catches
//! up with `syncPull`. It reports how many operations resolved
//! automatically, whether every phone converged to the server's state,
//! whether any accepted change was lost, and whether any answer claimed a
//! value survived when it did not. Used by `fieldsync-tools simulate-sync`
//! and by the test suite.
//!
//! A phone belongs to a worker, whose role allows only status and progress
//! edits; the description, priority and reassignment edits of the mix are
//! made on the same phone by a supervisor (an administrator) signed in on
//! it, queued offline like the rest.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use entity::enums::{EntityType, Role, TaskPriority, TaskStatus};
use entity::ids::{BuildingId, OrganizationId, TaskId, UserId};
use entity::{building, building_worker, change, organization, task, user};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
};

use fieldsync::auth::Principal;
use fieldsync::changelog::{self, CommitSignal};
use fieldsync::config::SyncSettings;
use fieldsync::domain::operations::{Operation, Writer};
use fieldsync::domain::task_rules::{self, TaskPatch};
use fieldsync::domain::task_writes::TaskUpdate;
use fieldsync::domain::writes::{ConflictStrategy, Outcome, Written};
use fieldsync::error::Result;
use fieldsync::sync::batch::{self, BatchItem, BatchOutcome, ClockWindow, Push};
use fieldsync::sync::pull::{self, PulledChange};

/// A writer of the simulation's own: nobody subscribes to its database.
fn writer(db: &DatabaseConnection) -> Writer {
    Writer::new(db.clone(), CommitSignal::default())
}

/// The shape of a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seeds every random choice: the same seed gives the same run.
    pub seed: u64,
    /// Workers, each with one offline phone.
    pub workers: usize,
    /// Tasks, spread over the buildings and assigned to their workers.
    pub tasks: usize,
    /// Edits each phone makes while offline.
    pub edits_per_client: usize,
    /// Edits the administrators make online meanwhile.
    pub admin_edits: usize,
    /// The most operations a phone sends in one call.
    pub max_chunk: usize,
    /// Chance that a call's answer is lost and the chunk sent again.
    pub lost_answer_rate: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 7,
            workers: 20,
            tasks: 200,
            edits_per_client: 50,
            admin_edits: 100,
            max_chunk: 8,
            lost_answer_rate: 0.1,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Offline operations replayed.
    pub operations: usize,
    /// Written as sent.
    pub applied: usize,
    /// Written after a merge.
    pub merged: usize,
    /// Not written: recorded for the user to resolve.
    pub conflicts: usize,
    /// Refused with an error.
    pub failed: usize,
    /// Phones whose final local state equals the server's.
    pub converged_clients: usize,
    /// Phones in the run.
    pub clients: usize,
    /// Accepted operations whose effect is missing from the server.
    pub lost_changes: usize,
    /// `syncPush` calls made, resends included.
    pub calls: usize,
    /// Answers lost on the way back (their chunk was sent again).
    pub lost_answers: usize,
    /// APPLIED or MERGED answers in which a value the phone sent did not
    /// survive and is not named in `overridden_fields`.
    pub misreported: usize,
    /// Accepted answers that named overridden fields.
    pub overridden: usize,
    /// Seconds spent replaying.
    pub replay_seconds: f64,
}

impl Report {
    /// Share of operations resolved without the user (APPLIED or MERGED).
    pub fn automatic_rate(&self) -> f64 {
        if self.operations == 0 {
            return 1.0;
        }
        (self.applied + self.merged) as f64 / self.operations as f64
    }
}

/// A phone's copy of a task.
#[derive(Debug, Clone, PartialEq)]
struct Local {
    version: i32,
    status: TaskStatus,
    progress: i32,
    description: String,
    priority: TaskPriority,
    assignee: Option<UserId>,
}

impl From<&task::Model> for Local {
    fn from(t: &task::Model) -> Self {
        Self {
            version: t.version,
            status: t.status,
            progress: t.progress,
            description: t.description.clone(),
            priority: t.priority,
            assignee: t.assignee_id,
        }
    }
}

/// One offline phone.
struct Phone {
    worker: Principal,
    supervisor: Principal,
    building: BuildingId,
    tasks: HashMap<TaskId, Local>,
    cursor: String,
    queue: Vec<(Principal, String, TaskUpdate)>,
}

/// Runs the simulation in a fresh organisation of `db`.
pub async fn run(db: &DatabaseConnection, config: &Config, retention_days: u32) -> Result<Report> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let world = seed_world(db, config, &mut rng).await?;
    let mut phones = Vec::new();
    for (i, worker) in world.workers.iter().enumerate() {
        let worker = Principal {
            user_id: *worker,
            org_id: world.org,
            role: Role::Worker,
        };
        let supervisor = Principal {
            user_id: world.admins[i % world.admins.len()],
            org_id: world.org,
            role: Role::Admin,
        };
        let (tasks, cursor) = snapshot(db, &worker, retention_days).await?;
        phones.push(Phone {
            worker,
            supervisor,
            building: world.building_of[i],
            tasks,
            cursor,
            queue: Vec::new(),
        });
    }
    for phone in &mut phones {
        for n in 0..config.edits_per_client {
            queue_edit(phone, n, &world, &mut rng);
        }
    }
    admins_edit_online(db, config, &world, &mut rng).await?;

    let mut report = Report {
        clients: phones.len(),
        ..Default::default()
    };
    let started = Instant::now();
    let mut accepted: Vec<(String, TaskUpdate, Written)> = Vec::new();
    let clock = ClockWindow::of(&SyncSettings::default());
    for (n, phone) in phones.iter_mut().enumerate() {
        let queue_id = format!("phone-{n}");
        let queue = std::mem::take(&mut phone.queue);
        let mut start = 0;
        while start < queue.len() {
            // A chunk of the queue, all of one principal (a push is signed
            // in as one user): as much as the network lets through.
            let principal = queue[start].0;
            let same = (start..queue.len())
                .find(|&i| queue[i].0 != principal)
                .unwrap_or(queue.len());
            let end = same.min(start + rng.random_range(1..=config.max_chunk.max(1)));
            let chunk = &queue[start..end];
            let push = Push {
                atomic: false,
                queue: Some(&queue_id),
                clock,
            };
            let items = || {
                chunk
                    .iter()
                    .map(|(_, cmid, update)| BatchItem {
                        client_mutation_id: cmid.clone(),
                        occurred_at: None,
                        operation: Ok(Operation::UpdateTask(update.clone())),
                    })
                    .collect()
            };
            report.calls += 1;
            let mut outcomes = batch::replay(&writer(db), &principal, items(), push).await?;
            // The answer may be lost on the way back; the phone, none the
            // wiser, sends the same operations again.
            while rng.random_bool(config.lost_answer_rate) {
                report.lost_answers += 1;
                report.calls += 1;
                outcomes = batch::replay(&writer(db), &principal, items(), push).await?;
            }
            for ((_, cmid, update), outcome) in chunk.iter().zip(outcomes) {
                report.operations += 1;
                match outcome {
                    BatchOutcome::Done(result) => {
                        match result.outcome {
                            Outcome::Applied => report.applied += 1,
                            Outcome::Merged => report.merged += 1,
                            Outcome::Conflict => report.conflicts += 1,
                        }
                        if result.outcome != Outcome::Conflict {
                            report.misreported += usize::from(misreports(update, &result));
                            report.overridden += usize::from(!result.overridden_fields.is_empty());
                            accepted.push((cmid.clone(), update.clone(), result));
                        }
                    }
                    BatchOutcome::Failed(error) => {
                        tracing::debug!(%error, "simulated operation refused");
                        report.failed += 1;
                    }
                    BatchOutcome::RolledBack => report.failed += 1,
                }
            }
            start = end;
        }
    }
    report.replay_seconds = started.elapsed().as_secs_f64();
    for phone in &mut phones {
        catch_up(db, phone, retention_days).await?;
        let (server, _) = snapshot(db, &phone.worker, retention_days).await?;
        if server == phone.tasks {
            report.converged_clients += 1;
        }
    }
    report.lost_changes = lost(db, world.org, &accepted).await?;
    Ok(report)
}

/// Whether an accepted answer hides a dropped value: a field the update sent
/// holds another value in the answer's snapshot, unnamed in
/// `overridden_fields`.
fn misreports(update: &TaskUpdate, result: &Written) -> bool {
    update.patch.to_map().iter().any(|(field, value)| {
        result.snapshot.get(field) != Some(value) && !result.overridden_fields.contains(field)
    })
}

/// Measures `syncPush` throughput: one batch of `size` progress updates.
/// Returns operations per second.
pub async fn push_throughput(
    db: &DatabaseConnection,
    size: usize,
    atomic: bool,
    seed: u64,
) -> Result<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let config = Config {
        seed,
        workers: 4,
        tasks: 40,
        ..Config::default()
    };
    let world = seed_world(db, &config, &mut rng).await?;
    let admin = Principal {
        user_id: world.admins[0],
        org_id: world.org,
        role: Role::Admin,
    };
    let items = (0..size)
        .map(|i| BatchItem {
            client_mutation_id: format!("bench-{seed}-{atomic}-{i}"),
            occurred_at: None,
            operation: Ok(Operation::UpdateTask(TaskUpdate::new(
                world.tasks[i % world.tasks.len()],
                None,
                TaskPatch {
                    progress: Some((i % 101) as i32),
                    ..Default::default()
                },
                ConflictStrategy::Merge,
            ))),
        })
        .collect();
    let started = Instant::now();
    let push = Push {
        atomic,
        queue: None,
        clock: ClockWindow::of(&SyncSettings::default()),
    };
    batch::replay(&writer(db), &admin, items, push).await?;
    Ok(size as f64 / started.elapsed().as_secs_f64())
}

/// The organisation a run plays in.
struct World {
    org: OrganizationId,
    admins: Vec<UserId>,
    workers: Vec<UserId>,
    building_of: Vec<BuildingId>,
    crews: HashMap<BuildingId, Vec<UserId>>,
    tasks: Vec<TaskId>,
}

/// Creates the organisation: 2 administrators, the workers four to a
/// building, and the tasks, each assigned to a worker of its building.
async fn seed_world(db: &DatabaseConnection, config: &Config, rng: &mut StdRng) -> Result<World> {
    let now = Utc::now();
    let org = OrganizationId::new();
    let org_row = organization::Model {
        id: org,
        name: format!("Simulation {}", config.seed),
        slug: format!("sim-{}-{}", config.seed, org.into_uuid().simple()),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    insert_logged(
        db,
        org,
        EntityType::Organization,
        org.into_uuid(),
        org_row.into_active_model(),
    )
    .await?;
    let person = |role: Role, n: usize| user::Model {
        id: UserId::new(),
        org_id: org,
        email: format!(
            "{}{n}@{}.sim",
            if role == Role::Admin {
                "admin"
            } else {
                "worker"
            },
            org.into_uuid().simple()
        ),
        name: format!("{role:?} {n}"),
        role,
        active: true,
        time_zone: "UTC".into(),
        location_sharing: false,
        password_hash: None,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let mut admins = Vec::new();
    let mut workers = Vec::new();
    for n in 0..2 {
        let admin = person(Role::Admin, n);
        admins.push(admin.id);
        insert_logged(
            db,
            org,
            EntityType::User,
            admin.id.into_uuid(),
            admin.into_active_model(),
        )
        .await?;
    }
    for n in 0..config.workers {
        let worker = person(Role::Worker, n);
        workers.push(worker.id);
        insert_logged(
            db,
            org,
            EntityType::User,
            worker.id.into_uuid(),
            worker.into_active_model(),
        )
        .await?;
    }
    let building_count = config.workers.div_ceil(4).max(1);
    let mut buildings = Vec::new();
    for n in 0..building_count {
        let row = building::Model {
            id: BuildingId::new(),
            org_id: org,
            name: format!("Building {n}"),
            address: format!("{n} Simulation Street"),
            status: entity::enums::BuildingStatus::Operational,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        buildings.push(row.id);
        insert_logged(
            db,
            org,
            EntityType::Building,
            row.id.into_uuid(),
            row.into_active_model(),
        )
        .await?;
    }
    let mut crews: HashMap<BuildingId, Vec<UserId>> = HashMap::new();
    let mut building_of = Vec::new();
    for (i, worker) in workers.iter().enumerate() {
        let site = buildings[i / 4 % buildings.len()];
        building_of.push(site);
        crews.entry(site).or_default().push(*worker);
        let row = building_worker::Model {
            building_id: site,
            worker_id: *worker,
            org_id: org,
            created_at: now,
        };
        let id = changelog::membership_id(site.into_uuid(), worker.into_uuid());
        insert_logged(
            db,
            org,
            EntityType::BuildingWorker,
            id,
            row.into_active_model(),
        )
        .await?;
    }
    let mut tasks = Vec::new();
    for n in 0..config.tasks {
        let site = buildings[n % buildings.len()];
        let crew = &crews[&site];
        let started = rng.random_bool(0.5);
        let row = task::Model {
            id: TaskId::new(),
            org_id: org,
            building_id: site,
            title: format!("Task {n}"),
            description: format!("Initial description {n}"),
            category: "general".into(),
            priority: [TaskPriority::Low, TaskPriority::Normal, TaskPriority::High]
                [rng.random_range(0..3)],
            status: if started {
                TaskStatus::InProgress
            } else {
                TaskStatus::Assigned
            },
            assignee_id: Some(crew[n / buildings.len() % crew.len()]),
            created_by: admins[0],
            progress: if started { rng.random_range(0..50) } else { 0 },
            due_at: None,
            started_at: started.then_some(now),
            completed_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        tasks.push(row.id);
        insert_logged(
            db,
            org,
            EntityType::Task,
            row.id.into_uuid(),
            row.into_active_model(),
        )
        .await?;
    }
    Ok(World {
        org,
        admins,
        workers,
        building_of,
        crews,
        tasks,
    })
}

/// Inserts a row and logs its creation.
async fn insert_logged<A>(
    db: &DatabaseConnection,
    org: OrganizationId,
    entity_type: EntityType,
    id: uuid::Uuid,
    row: A,
) -> Result<()>
where
    A: ActiveModelTrait + sea_orm::ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A> + serde::Serialize,
{
    let saved = row.reset_all().insert(db).await?;
    changelog::record_created(db, org, entity_type, id, &saved).await?;
    Ok(())
}

/// A phone's view: every task it may see, and the cursor after them.
async fn snapshot(
    db: &DatabaseConnection,
    who: &Principal,
    retention_days: u32,
) -> Result<(HashMap<TaskId, Local>, String)> {
    let mut tasks = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = pull::pull(
            db,
            who,
            after.as_deref(),
            &[EntityType::Task],
            pull::MAX_LIMIT,
            retention_days,
        )
        .await?;
        apply_pulled(&mut tasks, &page.changes);
        after = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    Ok((tasks, after.unwrap_or_default()))
}

/// Brings a phone up to date with what happened since its cursor.
async fn catch_up(db: &DatabaseConnection, phone: &mut Phone, retention_days: u32) -> Result<()> {
    loop {
        let page = pull::pull(
            db,
            &phone.worker,
            Some(&phone.cursor),
            &[EntityType::Task],
            pull::MAX_LIMIT,
            retention_days,
        )
        .await?;
        apply_pulled(&mut phone.tasks, &page.changes);
        phone.cursor = page.cursor;
        if !page.has_more {
            return Ok(());
        }
    }
}

fn apply_pulled(tasks: &mut HashMap<TaskId, Local>, changes: &[PulledChange]) {
    for PulledChange { change, .. } in changes {
        let id = TaskId::from(change.entity_id);
        match change
            .snapshot
            .as_ref()
            .and_then(|s| serde_json::from_value::<task::Model>(s.clone()).ok())
        {
            Some(model) if !change.tombstone => {
                tasks.insert(id, Local::from(&model));
            }
            _ => {
                tasks.remove(&id);
            }
        }
    }
}

/// Queues one offline edit from the mix: status steps 40%, progress 30%,
/// description 10%, priority 10%, reassignment 10%.
fn queue_edit(phone: &mut Phone, n: usize, world: &World, rng: &mut StdRng) {
    let mine: Vec<TaskId> = {
        let mut ids: Vec<TaskId> = phone
            .tasks
            .iter()
            .filter(|(_, t)| t.assignee == Some(phone.worker.user_id))
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    };
    if mine.is_empty() {
        return;
    }
    let id = mine[rng.random_range(0..mine.len())];
    let local = phone.tasks[&id].clone();
    let roll = rng.random_range(0..100);
    let next_status = match local.status {
        TaskStatus::Assigned | TaskStatus::Blocked => Some(TaskStatus::InProgress),
        TaskStatus::InProgress if rng.random_bool(0.3) => Some(TaskStatus::Completed),
        TaskStatus::InProgress if rng.random_bool(0.3) => Some(TaskStatus::Blocked),
        _ => None,
    };
    let (who, patch) = match roll {
        0..40 if next_status.is_some() => (
            phone.worker,
            TaskPatch {
                status: next_status,
                ..Default::default()
            },
        ),
        0..70 => {
            let progress = (local.progress + rng.random_range(5..=25)).min(100);
            (
                phone.worker,
                TaskPatch {
                    progress: Some(progress),
                    ..Default::default()
                },
            )
        }
        70..80 => (
            phone.supervisor,
            TaskPatch {
                description: Some(format!("Note {n} from the field")),
                ..Default::default()
            },
        ),
        80..90 => {
            let priority = [
                TaskPriority::Low,
                TaskPriority::Normal,
                TaskPriority::High,
                TaskPriority::Urgent,
            ][rng.random_range(0..4)];
            (
                phone.supervisor,
                TaskPatch {
                    priority: Some(priority),
                    ..Default::default()
                },
            )
        }
        _ => {
            let crew = &world.crews[&phone.building];
            let others: Vec<&UserId> = crew
                .iter()
                .filter(|w| **w != phone.worker.user_id)
                .collect();
            if others.is_empty() {
                return;
            }
            let to = *others[rng.random_range(0..others.len())];
            (
                phone.supervisor,
                TaskPatch {
                    assignee_id: Some(Some(to)),
                    ..Default::default()
                },
            )
        }
    };
    let update = TaskUpdate::new(
        id,
        Some(local.version),
        patch.clone(),
        ConflictStrategy::Merge,
    );
    // The phone shows its own edit at once.
    if let Some(t) = phone.tasks.get_mut(&id) {
        if let Some(s) = patch.status {
            t.status = s;
        }
        if let Some(p) = patch.progress {
            t.progress = p;
        }
        if let Some(d) = &patch.description {
            t.description = d.clone();
        }
        if let Some(p) = patch.priority {
            t.priority = p;
        }
        if let Some(a) = patch.assignee_id {
            t.assignee = a;
        }
    }
    let cmid = format!("sim-{}-{}", phone.worker.user_id, n);
    phone.queue.push((who, cmid, update));
}

/// The administrators' online edits: priority 40%, description 30%,
/// progress 30%, each on the current version.
async fn admins_edit_online(
    db: &DatabaseConnection,
    config: &Config,
    world: &World,
    rng: &mut StdRng,
) -> Result<()> {
    for n in 0..config.admin_edits {
        let admin = Principal {
            user_id: world.admins[n % world.admins.len()],
            org_id: world.org,
            role: Role::Admin,
        };
        let id = world.tasks[rng.random_range(0..world.tasks.len())];
        let roll = rng.random_range(0..100);
        let patch = match roll {
            0..40 => TaskPatch {
                priority: Some([TaskPriority::Normal, TaskPriority::High][rng.random_range(0..2)]),
                ..Default::default()
            },
            40..70 => TaskPatch {
                description: Some(format!("Office update {n}")),
                ..Default::default()
            },
            _ => TaskPatch {
                progress: Some(rng.random_range(10..60)),
                ..Default::default()
            },
        };
        let update = TaskUpdate::new(id, None, patch, ConflictStrategy::Merge);
        // A refusal (say, progress on a finished task) is part of life.
        let _ = writer(db)
            .execute(&admin, Operation::UpdateTask(update), None, None)
            .await;
    }
    Ok(())
}

/// Accepted operations whose effect the server does not show: neither
/// recorded in the log under their key nor subsumed by the merge rules.
async fn lost(
    db: &DatabaseConnection,
    org: OrganizationId,
    accepted: &[(String, TaskUpdate, Written)],
) -> Result<usize> {
    let logged: HashSet<String> = change::Entity::find()
        .filter(change::Column::OrgId.eq(org))
        .filter(change::Column::ClientMutationId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|c| c.client_mutation_id)
        .collect();
    let finals: HashMap<TaskId, task::Model> = task::Entity::find()
        .filter(task::Column::OrgId.eq(org))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut lost = 0;
    for (cmid, update, result) in accepted {
        let Some(current) = finals.get(&update.id) else {
            lost += 1;
            continue;
        };
        let shown = &result.snapshot;
        let held = update.patch.to_map().iter().all(|(field, value)| {
            task_rules::dominates(
                field,
                shown.get(field).unwrap_or(&serde_json::Value::Null),
                value,
            )
        });
        let progress_kept = update.patch.progress.is_none_or(|p| current.progress >= p);
        if !(logged.contains(cmid) || held) || !progress_kept {
            lost += 1;
        }
    }
    Ok(lost)
}
