//! The query → subscription hand-off: a list answers with the change-log
//! position it reflects (`syncCursor`), and a feed resumed `after:` it
//! carries on from exactly that state, with writes racing the query. Each
//! entity's first event is its listed version plus one (none missed, none
//! repeated), and every later one follows by one, over real sockets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::helpers::{Backend, PROGRESS, TestApp, spawn_app};
use crate::ws::{Socket, ready_socket, recv_operation, send, subscribe};

/// How many times the list is loaded while the writers run.
const ROUNDS: usize = 6;

/// A list to load and the entity type its feed follows.
struct List {
    /// The query; its answer's `field` has `syncCursor` and the items.
    query: &'static str,
    field: &'static str,
    entity_type: &'static str,
}

impl List {
    /// The entities' versions and the cursor, from one answer's `data`.
    fn read(&self, data: &Value) -> (HashMap<String, i64>, String) {
        let list = &data[self.field];
        let items = match list["edges"].as_array() {
            Some(edges) => edges.iter().map(|e| &e["node"]).collect::<Vec<_>>(),
            None => list["nodes"].as_array().expect("nodes").iter().collect(),
        };
        let versions = items
            .into_iter()
            .map(|item| {
                let id = item["id"].as_str().or(item["worker"]["id"].as_str());
                (
                    id.expect("an id").to_owned(),
                    item["version"].as_i64().expect("version"),
                )
            })
            .collect();
        let cursor = list["syncCursor"].as_str().expect("syncCursor").to_owned();
        (versions, cursor)
    }
}

/// Loads `list` [`ROUNDS`] times while `write` runs, subscribes to its
/// entity type's changes `after:` each answer's cursor, and checks each
/// feed brings its answer to the final state one version at a time.
async fn hand_off(app: &TestApp, token: &str, list: List, write: impl AsyncFn(usize)) {
    let stop = AtomicBool::new(false);
    let written = AtomicUsize::new(0);
    let writer = async {
        while !stop.load(Ordering::Relaxed) {
            write(written.load(Ordering::Relaxed)).await;
            written.fetch_add(1, Ordering::Relaxed);
        }
    };
    let loads = async {
        let mut loaded = Vec::new();
        for round in 0..ROUNDS {
            // Each load lands among the writes, a few of them later.
            while written.load(Ordering::Relaxed) < 2 * round + 1 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            let answer = app.graphql(Some(token), list.query, json!({})).await;
            let (versions, cursor) = list.read(answer.ok());
            let mut socket = ready_socket(app, token).await;
            let feed = format!(
                "subscription($after: String) {{ changes(entityTypes: [{}], after: $after) {{ entityId version }} }}",
                list.entity_type
            );
            send(
                &mut socket,
                subscribe("h", &feed, json!({ "after": cursor })),
            )
            .await;
            loaded.push((versions, socket));
        }
        stop.store(true, Ordering::Relaxed);
        loaded
    };
    let (loaded, ()) = futures_util::future::join(loads, writer).await;

    let (last, _) = list.read(app.graphql(Some(token), list.query, json!({})).await.ok());
    let mut raced = 0;
    for (round, (mut versions, mut socket)) in loaded.into_iter().enumerate() {
        raced += usize::from(versions != last);
        catch_up(&mut socket, &mut versions, &last, round).await;
    }
    assert!(raced > 0, "some loads were overtaken by writes");
}

/// Applies `socket`'s events to `versions` until they are `last`, each
/// exactly one version after the one before.
async fn catch_up(
    socket: &mut Socket,
    versions: &mut HashMap<String, i64>,
    last: &HashMap<String, i64>,
    round: usize,
) {
    while versions != last {
        let message = recv_operation(socket).await;
        let change = &message["payload"]["data"]["changes"];
        let id = change["entityId"]
            .as_str()
            .unwrap_or_else(|| panic!("{message}"));
        let Some(known) = versions.get_mut(id) else {
            continue;
        };
        let version = change["version"].as_i64().expect("version");
        assert_eq!(
            version,
            *known + 1,
            "round {round}: {id} listed or last seen at v{known}, next event v{version}"
        );
        *known = version;
    }
}

async fn tasks_hand_off_to_changes_without_gap_or_repeat(backend: Backend) {
    let app = spawn_app(backend).await;
    let tasks: Vec<String> = app
        .query(
            &app.admin(),
            "{ tasks(first: 3) { edges { node { id } } } }",
        )
        .await
        .nodes("tasks")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let list = List {
        query: "{ tasks(first: 100) { syncCursor edges { node { id version } } } }",
        field: "tasks",
        entity_type: "TASK",
    };
    let admin = app.admin();
    hand_off(&app, &admin, list, async |n| {
        let progress = json!({ "id": tasks[n % tasks.len()], "p": n % 90 + 1 });
        app.graphql(Some(&app.admin()), PROGRESS, progress)
            .await
            .ok();
    })
    .await;
}

async fn worker_statuses_hand_off_to_changes_without_gap_or_repeat(backend: Backend) {
    let app = spawn_app(backend).await;
    // worker1 and worker2 are on duty in the demo.
    let list = List {
        query: "{ workerStatusList { syncCursor nodes { worker { id } version } } }",
        field: "workerStatusList",
        entity_type: "WORKER_STATUS",
    };
    let admin = app.admin();
    hand_off(&app, &admin, list, async |n| {
        let status = ["ON_BREAK", "ON_DUTY"][n / 2 % 2];
        app.graphql(
            Some(&app.worker(n % 2 + 1)),
            "mutation($s: WorkerDutyStatus!) { setWorkerStatus(status: $s) { outcome } }",
            json!({ "s": status }),
        )
        .await
        .ok();
    })
    .await;
}

crate::on_both_backends!(
    tasks_hand_off_to_changes_without_gap_or_repeat,
    worker_statuses_hand_off_to_changes_without_gap_or_repeat,
);
