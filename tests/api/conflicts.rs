//! Conflicts one can always close: they close themselves when their entity
//! is deleted; administrators list and resolve their whole organisation's
//! (filtered, paged); and `syncConflictChanged` tells a console when one
//! opens or closes, each user hearing only of their own.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::ws::{Socket, ready_socket, recv_operation, send, subscribe};

const DESCRIBE: &str = "mutation($id: ID!, $d: String!) { updateTask(id: $id, patch: { description: $d }) { version } }";
const STATUS: &str = "mutation($id: ID!, $v: Int, $s: TaskStatus!) { updateTask(id: $id, expectedVersion: $v, patch: { status: $s }) { outcome conflict { id } } }";
const CONFLICTS: &str = "query($f: SyncConflictFilterInput, $first: Int, $after: String) { conflicts(filter: $f, first: $first, after: $after) { syncCursor pageInfo { hasNextPage endCursor } edges { node { id version status resolution user { id } entityType entityId } } } }";

/// The administrator edits the description of a task from a version that
/// someone changed online meanwhile: two texts, a recorded conflict.
/// Returns the task and the conflict's id.
async fn admins_conflict(app: &TestApp) -> (String, String) {
    let task = app.task_in(0, "IN_PROGRESS").await;
    let version = app
        .query(
            &app.admin(),
            &format!("{{ task(id: \"{task}\") {{ version }} }}"),
        )
        .await
        .ok()["task"]["version"]
        .clone();
    app.graphql(
        Some(&app.admin()),
        DESCRIBE,
        json!({ "id": task, "d": "online" }),
    )
    .await
    .ok();
    let stale = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: ID!, $v: Int!) { updateTask(id: $id, expectedVersion: $v, patch: { description: \"offline\" }) { outcome conflict { id } } }",
            json!({ "id": task, "v": version }),
        )
        .await;
    assert_eq!(stale.ok()["updateTask"]["outcome"], "CONFLICT");
    let conflict = stale.ok()["updateTask"]["conflict"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (task, conflict)
}

/// worker1 completes one of their tasks offline while an administrator
/// blocks it: COMPLETED wins the merge but cannot follow BLOCKED, so the
/// worker's edit is a recorded conflict. Returns its id.
async fn workers_conflict(app: &TestApp) -> String {
    let query = format!(
        "{{ tasks(filter: {{ status: [IN_PROGRESS], assigneeId: \"{}\" }}) {{ edges {{ node {{ id version }} }} }} }}",
        app.demo.workers[0]
    );
    let task = app.query(&app.admin(), &query).await.nodes("tasks")[0].clone();
    let (id, version) = (task["id"].as_str().unwrap(), task["version"].clone());
    app.graphql(
        Some(&app.admin()),
        STATUS,
        json!({ "id": id, "s": "BLOCKED" }),
    )
    .await
    .ok();
    let stale = app
        .graphql(
            Some(&app.worker(1)),
            STATUS,
            json!({ "id": id, "v": version, "s": "COMPLETED" }),
        )
        .await;
    assert_eq!(
        stale.ok()["updateTask"]["outcome"],
        "CONFLICT",
        "{:?}",
        stale.body
    );
    stale.ok()["updateTask"]["conflict"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn conflicts(
    app: &TestApp,
    token: &str,
    filter: Value,
    first: i64,
    after: Option<&str>,
) -> crate::helpers::Answer {
    app.graphql(
        Some(token),
        CONFLICTS,
        json!({ "f": filter, "first": first, "after": after }),
    )
    .await
}

fn ids(answer: &crate::helpers::Answer) -> Vec<String> {
    answer
        .nodes("conflicts")
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The next `syncConflictChanged` event on `socket`: its conflict.
async fn next_conflict(socket: &mut Socket) -> Value {
    let message = recv_operation(socket).await;
    let event = &message["payload"]["data"]["syncConflictChanged"];
    assert_eq!(event["entityType"], "SYNC_CONFLICT", "{message}");
    event["entity"].clone()
}

async fn administrators_list_resolve_and_follow_every_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let listed = conflicts(&app, &app.admin(), json!({}), 10, None).await;
    let cursor = listed.ok()["conflicts"]["syncCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(ids(&listed).is_empty());
    let feed = "subscription($after: String) { syncConflictChanged(after: $after) { entityType entityId version entity { ... on SyncConflict { id status version resolution user { id } } } } }";
    let mut admin_feed = ready_socket(&app, &app.admin()).await;
    send(
        &mut admin_feed,
        subscribe("a", feed, json!({ "after": cursor })),
    )
    .await;
    let mut worker2_feed = ready_socket(&app, &app.worker(2)).await;
    send(
        &mut worker2_feed,
        subscribe("w", feed, json!({ "after": cursor })),
    )
    .await;

    // worker1's conflict, and one of the administrator's own.
    let theirs = workers_conflict(&app).await;
    let (task, mine) = admins_conflict(&app).await;

    // The console hears both open, in order.
    let opened = next_conflict(&mut admin_feed).await;
    assert_eq!(opened["id"], theirs.as_str());
    assert_eq!(
        (opened["status"].clone(), opened["version"].clone()),
        (json!("OPEN"), json!(1))
    );
    assert_eq!(opened["user"]["id"], app.demo.workers[0].to_string());
    assert_eq!(next_conflict(&mut admin_feed).await["id"], mine.as_str());

    // Listed, filtered and paged.
    let all = conflicts(&app, &app.admin(), json!({}), 1, None).await;
    assert_eq!(ids(&all), [theirs.as_str()]);
    let after = all.ok()["conflicts"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ids(&conflicts(&app, &app.admin(), json!({}), 1, Some(&after)).await),
        [mine.as_str()]
    );
    let worker1 = app.demo.workers[0].to_string();
    assert_eq!(
        ids(&conflicts(&app, &app.admin(), json!({ "userId": worker1 }), 10, None).await),
        [theirs.as_str()]
    );
    assert_eq!(
        ids(&conflicts(&app, &app.admin(), json!({ "entityId": task }), 10, None).await),
        [mine.as_str()]
    );
    assert_eq!(
        ids(&conflicts(
            &app,
            &app.admin(),
            json!({ "entityType": "VIOLATION" }),
            10,
            None
        )
        .await),
        Vec::<String>::new()
    );
    // A worker lists their own, and only their own.
    assert_eq!(
        ids(&conflicts(&app, &app.worker(1), json!({}), 10, None).await),
        [theirs.as_str()]
    );
    let admins = app.demo.admin.to_string();
    let other = conflicts(&app, &app.worker(1), json!({ "userId": admins }), 10, None).await;
    assert_eq!(other.error_code(), Some("FORBIDDEN"), "{:?}", other.body);
    // Nor may they resolve the administrator's.
    let resolve =
        "mutation($c: ID!) { resolveSyncConflict(id: $c, resolution: KEEP_SERVER) { outcome } }";
    let denied = app
        .graphql(Some(&app.worker(1)), resolve, json!({ "c": mine }))
        .await;
    assert_eq!(denied.error_code(), Some("NOT_FOUND"), "{:?}", denied.body);

    // The administrator settles the worker's; the console hears it close.
    let settled = app
        .graphql(Some(&app.admin()), resolve, json!({ "c": theirs }))
        .await;
    assert_eq!(settled.ok()["resolveSyncConflict"]["outcome"], "APPLIED");
    let closed = next_conflict(&mut admin_feed).await;
    assert_eq!(closed["id"], theirs.as_str());
    assert_eq!(
        (closed["status"].clone(), closed["version"].clone()),
        (json!("RESOLVED"), json!(2))
    );
    assert_eq!(closed["resolution"], "KEEP_SERVER");
    let open = conflicts(&app, &app.admin(), json!({ "status": "OPEN" }), 10, None).await;
    assert_eq!(ids(&open), [mine.as_str()]);

    // worker2 heard of none of it; their own conflict is the first thing
    // their feed brings.
    let query = format!(
        "{{ tasks(filter: {{ status: [ASSIGNED, IN_PROGRESS], assigneeId: \"{}\" }}) {{ edges {{ node {{ id version status }} }} }} }}",
        app.demo.workers[1]
    );
    let task = app.query(&app.admin(), &query).await.nodes("tasks")[0].clone();
    for status in ["IN_PROGRESS", "BLOCKED"] {
        if task["status"] != status {
            app.graphql(
                Some(&app.admin()),
                STATUS,
                json!({ "id": task["id"], "s": status }),
            )
            .await
            .ok();
        }
    }
    let own = app
        .graphql(
            Some(&app.worker(2)),
            STATUS,
            json!({ "id": task["id"], "v": task["version"], "s": "COMPLETED" }),
        )
        .await;
    let own = own.ok()["updateTask"]["conflict"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(next_conflict(&mut worker2_feed).await["id"], own.as_str());
}

/// A conflict about a task that is then deleted closes itself: listed as
/// CLOSED with why, and resolving it says so instead of NOT_FOUND.
async fn a_conflict_on_a_deleted_task_closes_itself(backend: Backend) {
    let app = spawn_app(backend).await;
    let (task, conflict) = admins_conflict(&app).await;
    let listed = |status: &'static str| {
        let app = &app;
        async move {
            app.graphql(
                Some(&app.admin()),
                "query($s: SyncConflictStatus) { syncConflicts(status: $s) { id status resolution } }",
                json!({ "s": status }),
            )
            .await
            .ok()["syncConflicts"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    assert!(
        listed("OPEN")
            .await
            .iter()
            .any(|c| c["id"] == conflict.as_str())
    );

    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { deleteTask(id: $id) { version } }",
        json!({ "id": task }),
    )
    .await
    .ok();
    assert!(
        !listed("OPEN")
            .await
            .iter()
            .any(|c| c["id"] == conflict.as_str())
    );
    let closed = listed("CLOSED").await;
    let mine = closed
        .iter()
        .find(|c| c["id"] == conflict.as_str())
        .expect("listed as closed");
    assert_eq!(mine["resolution"], "ENTITY_DELETED");
    let resolve = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: ID!) { resolveSyncConflict(id: $id, resolution: KEEP_SERVER) { version } }",
            json!({ "id": conflict }),
        )
        .await;
    assert_eq!(
        resolve.error_code(),
        Some("BAD_USER_INPUT"),
        "{:?}",
        resolve.body
    );
    let message = resolve.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("deleted"), "{message}");
}

crate::on_both_backends!(
    administrators_list_resolve_and_follow_every_conflict,
    a_conflict_on_a_deleted_task_closes_itself,
);
