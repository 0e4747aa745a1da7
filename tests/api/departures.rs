//! Departures reach every live feed, the way apps use them: load a list by
//! query, then subscribe (with `after:` a cursor taken before the query, or
//! live from now). A subscriber who could see an entity at its previous
//! version, under the subscription's filter, gets a tombstone when it is
//! deleted or leaves; moves between two other values of the filter are
//! not sent at all.

use std::time::Duration;

use entity::ids::UserId;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{Backend, PROGRESS, TestApp, spawn_app};
use crate::subscriptions::{Events, next, subscribe};

const ASSIGN: &str =
    "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
const DELETE: &str = "mutation($id: ID!) { deleteTask(id: $id) { outcome } }";

/// How a test subscribes after loading its list.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// `after:` the cursor taken before the list was loaded.
    After,
    /// Live, without `after:`.
    Live,
}

/// Subscribes as `user` to `query` (whose `AFTER` placeholder becomes the
/// cursor, or nothing). A live feed misses what was written before it
/// opened, so `mark` writes (its argument counts the attempts) until an
/// event shows the feed is live; the markers' events are then drained.
async fn follow(
    app: &TestApp,
    start: Start,
    user: UserId,
    query: &str,
    mark: impl AsyncFn(usize),
) -> Events {
    match start {
        Start::After => subscribe(app, user, query).await,
        Start::Live => {
            let mut events = subscribe(
                app,
                user,
                &query.replace("(AFTER)", "").replace(", AFTER", ""),
            )
            .await;
            for attempt in 0.. {
                assert!(attempt < 20, "the feed never went live");
                mark(attempt).await;
                if let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(500), events.next()).await
                {
                    break;
                }
            }
            while let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(300), events.next()).await
            {}
            events
        }
    }
}

/// A marker for [`follow`]: the admin raises the progress of `task`, one
/// the feed shows.
fn progress_of<'a>(app: &'a TestApp, task: &'a str) -> impl AsyncFn(usize) + 'a {
    async move |attempt| admin(app, PROGRESS, json!({ "id": task, "p": 40 + attempt })).await
}

/// The ids of the tasks a query lists.
async fn listed(app: &TestApp, token: &str, query: &str, vars: Value) -> Vec<String> {
    app.graphql(Some(token), query, vars)
        .await
        .nodes("tasks")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn admin(app: &TestApp, query: &str, vars: Value) {
    app.graphql(Some(&app.admin()), query, vars).await.ok();
}

/// The next event's `field`, which must be a tombstone of `id`.
async fn tombstone_of(events: &mut Events, field: &str, id: &str) {
    let event = next(events).await;
    let change = &event["data"][field];
    assert_eq!(change["entityId"], id, "{event}");
    assert_eq!(change["tombstone"], true, "{event}");
}

async fn an_admins_changes_feed_hears_of_a_deletion_it_never_sent(backend: Backend, start: Start) {
    let app = spawn_app(backend).await;
    let query = "subscription { changes(entityTypes: [TASK], AFTER) { entityId tombstone } }";
    let tasks = listed(
        &app,
        &app.admin(),
        "{ tasks(first: 100) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    let mut events = follow(
        &app,
        start,
        app.demo.admin,
        query,
        progress_of(&app, &tasks[0]),
    )
    .await;
    admin(&app, DELETE, json!({ "id": tasks[1] })).await;
    tombstone_of(&mut events, "changes", &tasks[1]).await;
}

async fn a_clients_building_feed_hears_of_a_deleted_task(backend: Backend, start: Start) {
    let app = spawn_app(backend).await;
    let b1 = app.demo.buildings[0].to_string();
    let query = format!(
        "subscription {{ taskChanged(buildingId: \"{b1}\", AFTER) {{ entityId tombstone }} }}"
    );
    let tasks = listed(
        &app,
        &app.client(1),
        "query($b: ID!) { tasks(filter: { buildingId: $b }, first: 100) { edges { node { id } } } }",
        json!({ "b": b1 }),
    )
    .await;
    let mut events = follow(
        &app,
        start,
        app.demo.clients[0],
        &query,
        progress_of(&app, &tasks[0]),
    )
    .await;
    // A task of another building, deleted: not this feed's concern.
    let elsewhere = app.task_in(2, "PENDING").await;
    admin(&app, DELETE, json!({ "id": elsewhere })).await;
    admin(&app, DELETE, json!({ "id": tasks[1] })).await;
    tombstone_of(&mut events, "taskChanged", &tasks[1]).await;
}

async fn a_workers_assignments_feed_hears_of_a_task_reassigned_away(
    backend: Backend,
    start: Start,
) {
    let app = spawn_app(backend).await;
    // Both work in building 1 (and nobody else does).
    let (worker1, worker2) = (
        app.demo.workers[0].to_string(),
        app.demo.workers[1].to_string(),
    );
    // Two tasks of worker1's, one of worker2's.
    let open = listed(
        &app,
        &app.admin(),
        "query($b: ID!) { tasks(filter: { buildingId: $b, status: [PENDING, ASSIGNED, IN_PROGRESS] }, first: 3) { edges { node { id } } } }",
        json!({ "b": app.demo.buildings[0].to_string() }),
    )
    .await;
    let [mine, other, theirs] = [&open[0], &open[1], &open[2]];
    for (task, worker) in [(mine, &worker1), (other, &worker1), (theirs, &worker2)] {
        admin(&app, ASSIGN, json!({ "id": task, "w": worker })).await;
    }
    let query = "subscription { myTaskAssignments(AFTER) { entityId tombstone } }";
    let assigned = listed(
        &app,
        &app.worker(1),
        "query($w: ID!) { tasks(filter: { assigneeId: $w }, first: 100) { edges { node { id } } } }",
        json!({ "w": worker1 }),
    )
    .await;
    assert!(assigned.contains(mine), "{assigned:?}");
    let mut events = follow(
        &app,
        start,
        app.demo.workers[0],
        query,
        progress_of(&app, other),
    )
    .await;
    // Between two others (worker2, nobody): nothing. Away from worker1: a tombstone.
    admin(&app, ASSIGN, json!({ "id": theirs, "w": null })).await;
    admin(&app, ASSIGN, json!({ "id": mine, "w": worker2 })).await;
    tombstone_of(&mut events, "myTaskAssignments", mine).await;

    // The same through an administrator's `taskChanged(assigneeId:)`.
    let query = format!(
        "subscription {{ taskChanged(assigneeId: \"{worker1}\", AFTER) {{ entityId tombstone }} }}"
    );
    let mut events = follow(
        &app,
        start,
        app.demo.admin,
        &query,
        progress_of(&app, other),
    )
    .await;
    admin(&app, ASSIGN, json!({ "id": theirs, "w": worker2 })).await;
    admin(&app, ASSIGN, json!({ "id": other, "w": null })).await;
    tombstone_of(&mut events, "taskChanged", other).await;
}

async fn a_clients_status_feed_hears_of_a_worker_clocking_out(backend: Backend, start: Start) {
    let app = spawn_app(backend).await;
    let b1 = app.demo.buildings[0].to_string();
    let worker1 = app.demo.workers[0].to_string();
    let on_site = app
        .graphql(
            Some(&app.client(1)),
            "query($b: ID!) { workerStatuses(buildingId: $b) { worker { id } } }",
            json!({ "b": b1 }),
        )
        .await;
    assert!(
        on_site.ok()["workerStatuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["worker"]["id"] == worker1.as_str()),
        "worker1 is on site: {:?}",
        on_site.body
    );
    let query = format!(
        "subscription {{ workerStatusChanged(buildingId: \"{b1}\", AFTER) {{ entityId tombstone }} }}"
    );
    // The marker: worker1's own status (a task write, which this feed
    // never shows, cannot tell it is live).
    let status = async |attempt: usize| {
        app.graphql(
            Some(&app.worker(1)),
            "mutation($s: WorkerDutyStatus!) { setWorkerStatus(status: $s) { outcome } }",
            json!({ "s": if attempt.is_multiple_of(2) { "ON_BREAK" } else { "ON_DUTY" } }),
        )
        .await
        .ok();
    };
    let mut events = follow(&app, start, app.demo.clients[0], &query, status).await;
    app.graphql(
        Some(&app.worker(1)),
        "mutation { clockOut { outcome } }",
        json!({}),
    )
    .await
    .ok();
    let event = next(&mut events).await;
    let change = &event["data"]["workerStatusChanged"];
    assert_eq!(change["entityId"], worker1.as_str(), "{event}");
    assert_eq!(change["tombstone"], true, "{event}");
}

/// Fills the change log with `rows` rows of the other organisation (which
/// nobody here may see), pushing everything before them out of the hub's
/// window of recent rows: a feed resumed from before them replays from the
/// log itself.
async fn crowd_out_the_window(app: &TestApp, rows: usize) {
    use sea_orm::{EntityTrait, Set};
    let now = chrono::Utc::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(500) {
        let batch = chunk.iter().map(|_| entity::change::ActiveModel {
            org_id: Set(app.other.org_id),
            entity_type: Set(entity::enums::EntityType::Task),
            entity_id: Set(uuid::Uuid::now_v7()),
            version: Set(1),
            op: Set(entity::enums::ChangeOp::Created),
            snapshot: Set(json!({})),
            changed_fields: Set(json!([])),
            actor_id: Set(None),
            client_mutation_id: Set(None),
            queue_id: Set(None),
            priority: Set(0),
            created_at: Set(now),
            ..Default::default()
        });
        entity::change::Entity::insert_many(batch)
            .exec(&app.state.db)
            .await
            .expect("filler rows");
    }
    // Once the hub has read them, the rows before them left its window.
    let newest = fieldsync::changelog::newest_seq(&app.state.db)
        .await
        .unwrap();
    for _ in 0..200 {
        if app.state.hub.last_seq() >= newest {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.state.hub.last_seq() >= newest,
        "the hub read the filler rows"
    );
}

/// Departures read back from the log, not the hub's window: a deletion and
/// a reassignment away from a filter, written before thousands of other
/// rows, reach feeds resumed from before them as tombstones, over a socket.
async fn departures_replayed_from_the_log_are_tombstones(backend: Backend) {
    let app = spawn_app(backend).await;
    let worker1 = app.demo.workers[0].to_string();
    let open = listed(
        &app,
        &app.admin(),
        "query($b: ID!) { tasks(filter: { buildingId: $b, status: [PENDING, ASSIGNED, IN_PROGRESS] }, first: 2) { edges { node { id } } } }",
        json!({ "b": app.demo.buildings[0].to_string() }),
    )
    .await;
    let [reassigned, deleted] = [&open[0], &open[1]];
    admin(&app, ASSIGN, json!({ "id": reassigned, "w": worker1 })).await;
    let cursor = app.newest_cursor().await;
    admin(
        &app,
        ASSIGN,
        json!({ "id": reassigned, "w": app.demo.workers[1].to_string() }),
    )
    .await;
    admin(&app, DELETE, json!({ "id": deleted })).await;
    crowd_out_the_window(&app, 4_500).await;
    let (seq, _) = fieldsync::changelog::cursor::decode(&cursor).unwrap();
    assert!(
        app.state.hub.recent_after(seq, 1).is_none(),
        "replayed from the log"
    );

    let mut socket = crate::ws::ready_socket(&app, &app.admin()).await;
    let feeds = [
        ("c", "changes", "subscription($a: String) { changes(entityTypes: [TASK], after: $a) { entityId tombstone } }".to_owned()),
        ("t", "taskChanged", format!("subscription($a: String) {{ taskChanged(assigneeId: \"{worker1}\", after: $a) {{ entityId tombstone }} }}")),
    ];
    for (id, _, query) in &feeds {
        crate::ws::send(
            &mut socket,
            crate::ws::subscribe(id, query, json!({ "a": cursor })),
        )
        .await;
    }
    let (mut deletion, mut departure) = (None, None);
    while deletion.is_none() || departure.is_none() {
        let message = crate::ws::recv_operation(&mut socket).await;
        let (id, field) = match message["id"].as_str() {
            Some("c") => ("c", "changes"),
            Some("t") => ("t", "taskChanged"),
            _ => panic!("{message}"),
        };
        let change = message["payload"]["data"][field].clone();
        match id {
            "c" if change["entityId"] == *deleted => deletion = Some(change),
            "t" => departure = Some(change),
            _ => {}
        }
    }
    assert_eq!(deletion.unwrap()["tombstone"], true);
    let departure = departure.unwrap();
    assert_eq!(
        (
            departure["entityId"].as_str(),
            departure["tombstone"].as_bool()
        ),
        (reassigned.as_str().into(), Some(true)),
        "the first event of worker1's filter is the task leaving it"
    );
}

crate::on_both_backends!(departures_replayed_from_the_log_are_tombstones);

/// Runs each `async fn(Backend, Start)` from both starts, on both backends.
macro_rules! both_starts {
    ($($name:ident),* $(,)?) => {
        mod after {
            use crate::helpers::Backend;
            $(async fn $name(backend: Backend) { super::$name(backend, super::Start::After).await })*
            crate::on_both_backends!($($name),*);
        }
        mod live {
            use crate::helpers::Backend;
            $(async fn $name(backend: Backend) { super::$name(backend, super::Start::Live).await })*
            crate::on_both_backends!($($name),*);
        }
    };
}

both_starts!(
    an_admins_changes_feed_hears_of_a_deletion_it_never_sent,
    a_clients_building_feed_hears_of_a_deleted_task,
    a_workers_assignments_feed_hears_of_a_task_reassigned_away,
    a_clients_status_feed_hears_of_a_worker_clocking_out,
);
