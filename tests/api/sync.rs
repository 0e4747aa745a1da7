//! Offline sync: `syncPush` batches (ordered, idempotent, atomic), the delta
//! pull with tombstones and expired cursors, retention, and the change log's
//! commit-ordered `seq`.

use std::time::Duration;

use chrono::Utc;
use entity::change;
use fieldsync::auth::principal;
use fieldsync::domain::operations::{self, Operation};
use fieldsync::domain::task_rules::TaskPatch;
use fieldsync::domain::task_writes::TaskUpdate;
use fieldsync::domain::writes::ConflictStrategy;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};

use crate::helpers::{Backend, PROGRESS, TestApp, spawn_app};

const PUSH: &str = "mutation($ops: [SyncOperationInput!]!, $atomic: Boolean) { syncPush(operations: $ops, atomic: $atomic) { clientMutationId status error { code message } result { version entity { ... on Task { id progress title } } } } }";
const PULL: &str = "query($after: String) { syncPull(after: $after) { cursor hasMore changes { entityType entityId version op tombstone snapshot } } }";

async fn tasks_of(app: &TestApp, token: &str, status: &str) -> Vec<Value> {
    app.query(token, &format!("{{ tasks(filter: {{ status: [{status}] }}) {{ edges {{ node {{ id version building {{ id }} assignee {{ id }} }} }} }} }}"))
        .await
        .nodes("tasks")
}

async fn progress(app: &TestApp, id: &str) -> i64 {
    let answer = app
        .graphql(
            Some(&app.admin()),
            "query($id: ID!) { task(id: $id) { progress } }",
            json!({ "id": id }),
        )
        .await;
    answer.ok()["task"]["progress"].as_i64().unwrap()
}

async fn pull(app: &TestApp, token: &str, after: &Value) -> Value {
    app.graphql(Some(token), PULL, json!({ "after": after }))
        .await
        .ok()["syncPull"]
        .clone()
}

async fn a_batch_replays_in_order_and_a_replay_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(2);
    let task = &tasks_of(&app, &token, "ASSIGNED").await[0];
    let id = task["id"].as_str().unwrap();
    let ops = json!([
        { "clientMutationId": "op-1", "updateTask": { "id": id, "expectedVersion": task["version"], "patch": { "status": "IN_PROGRESS" } } },
        { "clientMutationId": "op-2", "updateTask": { "id": id, "expectedVersion": task["version"], "patch": { "progress": 30 } } },
        { "clientMutationId": "op-3", "updateTask": { "id": id, "patch": { "progress": 300 } } },
        { "clientMutationId": "op-4" },
    ]);
    let first = app.graphql(Some(&token), PUSH, json!({ "ops": ops })).await;
    let results = first.ok()["syncPush"].as_array().unwrap().clone();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["APPLIED", "MERGED", "FAILED", "FAILED"],
        "{results:?}"
    );
    assert_eq!(results[2]["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(progress(&app, id).await, 30);
    let replay = app.graphql(Some(&token), PUSH, json!({ "ops": ops })).await;
    let replayed = replay.ok()["syncPush"].as_array().unwrap().clone();
    assert_eq!(replayed[0], results[0]);
    assert_eq!(
        replayed[1], results[1],
        "the first result, not a second write"
    );
    let version = app
        .graphql(
            Some(&token),
            "query($id: ID!) { task(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        version.ok()["task"]["version"],
        task["version"].as_i64().unwrap() + 2
    );
}

async fn an_atomic_batch_commits_whole_or_not_at_all(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let task = &tasks_of(&app, &admin, "IN_PROGRESS").await[0];
    let id = task["id"].as_str().unwrap();
    let before = progress(&app, id).await;
    let new_id = uuid::Uuid::now_v7().to_string();
    let ops = json!([
        { "clientMutationId": "a-1", "updateTask": { "id": id, "patch": { "progress": 99 } } },
        { "clientMutationId": "a-2", "createTask": { "id": new_id, "buildingId": app.demo.buildings[0].to_string(), "title": "Batch" } },
        { "clientMutationId": "a-3", "updateTask": { "id": id, "patch": { "progress": -5 } } },
        { "clientMutationId": "a-4", "updateTask": { "id": id, "patch": { "progress": 98 } } },
    ]);
    let answer = app
        .graphql(Some(&admin), PUSH, json!({ "ops": ops, "atomic": true }))
        .await;
    let statuses: Vec<String> = answer.ok()["syncPush"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["ROLLED_BACK", "ROLLED_BACK", "FAILED", "ROLLED_BACK"]
    );
    assert_eq!(
        progress(&app, id).await,
        before,
        "nothing of the batch was written"
    );
    let created = app
        .graphql(
            Some(&admin),
            "query($id: ID!) { task(id: $id) { id } }",
            json!({ "id": new_id }),
        )
        .await;
    assert_eq!(created.error_code(), Some("NOT_FOUND"));
    // The same keys can be sent again once fixed: nothing was remembered.
    let fixed = json!([
        { "clientMutationId": "a-1", "updateTask": { "id": id, "patch": { "progress": 99 } } },
        { "clientMutationId": "a-2", "createTask": { "id": new_id, "buildingId": app.demo.buildings[0].to_string(), "title": "Batch" } },
    ]);
    let answer = app
        .graphql(Some(&admin), PUSH, json!({ "ops": fixed, "atomic": true }))
        .await;
    let statuses: Vec<&str> = answer.ok()["syncPush"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["APPLIED", "APPLIED"]);
    assert_eq!(progress(&app, id).await, 99);
}

async fn the_delta_pull_sends_changes_and_tombstones_only_to_who_may_see_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let worker = app.worker(1);
    let admin = app.admin();
    let start = pull(&app, &worker, &Value::Null).await;
    assert!(
        !start["changes"].as_array().unwrap().is_empty(),
        "a pull from the start carries the worker's world"
    );
    let cursor = start["cursor"].clone();
    let client2_cursor = pull(&app, &app.client(2), &Value::Null).await["cursor"].clone();

    // Reassign one of worker1's tasks to worker2 (same building): it leaves worker1's view.
    let mine = tasks_of(&app, &worker, "IN_PROGRESS").await;
    let moved = mine[0]["id"].as_str().unwrap().to_owned();
    let assign = "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
    app.graphql(
        Some(&admin),
        assign,
        json!({ "id": moved, "w": app.demo.workers[1].to_string() }),
    )
    .await
    .ok();
    // Delete an open task of building 1, and create a new one there.
    let open: Vec<Value> = tasks_of(&app, &worker, "PENDING").await;
    let deleted = open[0]["id"].as_str().unwrap().to_owned();
    app.graphql(
        Some(&admin),
        "mutation($id: ID!) { deleteTask(id: $id) { outcome } }",
        json!({ "id": deleted }),
    )
    .await
    .ok();
    let created = app
        .graphql(
            Some(&admin),
            "mutation($b: ID!) { createTask(input: { buildingId: $b, title: \"New leak\" }) { entityId } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    let created = created.ok()["createTask"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned();

    let delta = pull(&app, &worker, &cursor).await;
    let changes = delta["changes"].as_array().unwrap();
    let find = |id: &str| changes.iter().find(|c| c["entityId"] == id).cloned();
    let moved_change = find(&moved).expect("the reassigned task is reported");
    assert_eq!(moved_change["tombstone"], true, "it left worker1's view");
    assert!(moved_change["snapshot"].is_null());
    assert_eq!(
        find(&deleted).expect("deleted task reported")["tombstone"],
        true
    );
    let new_task = find(&created).expect("new task reported");
    assert_eq!(new_task["tombstone"], false);
    assert_eq!(new_task["snapshot"]["title"], "New leak");
    assert!(
        new_task["snapshot"]["buildingId"].is_string(),
        "snapshots use GraphQL field names"
    );
    // Nothing more: a pull with the new cursor is empty.
    let again = pull(&app, &worker, &delta["cursor"]).await;
    assert_eq!(again["changes"], json!([]));
    // client2 (buildings 2 and 3) hears of none of it, only of a change of
    // their own building made after it.
    let theirs = app.task_in(2, "IN_PROGRESS").await;
    app.graphql(Some(&admin), PROGRESS, json!({ "id": theirs, "p": 64 }))
        .await
        .ok();
    let other = pull(&app, &app.client(2), &client2_cursor).await;
    let ids: Vec<&Value> = other["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["entityId"])
        .collect();
    assert_eq!(ids, [&json!(theirs)], "{other}");
}

async fn an_old_or_forged_cursor_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let old = fieldsync::changelog::cursor::encode(1, Utc::now() - chrono::Duration::days(31));
    let expired = app
        .graphql(Some(&app.admin()), PULL, json!({ "after": old }))
        .await;
    assert_eq!(expired.error_code(), Some("CURSOR_EXPIRED"));
    let forged = app
        .graphql(
            Some(&app.admin()),
            PULL,
            json!({ "after": "bm90IGEgY3Vyc29y" }),
        )
        .await;
    assert_eq!(forged.error_code(), Some("BAD_USER_INPUT"));
    let limit = app
        .graphql(
            Some(&app.admin()),
            "{ syncPull(limit: 0) { cursor } }",
            json!({}),
        )
        .await;
    assert_eq!(limit.error_code(), Some("BAD_USER_INPUT"));
}

async fn pruning_keeps_the_newest_change_of_every_entity(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let task = &tasks_of(&app, &admin, "IN_PROGRESS").await[0];
    let id = task["id"].as_str().unwrap();
    for p in [81, 82, 83] {
        app.graphql(Some(&admin), PROGRESS, json!({ "id": id, "p": p }))
            .await
            .ok();
    }
    let before = pull(&app, &admin, &Value::Null).await["changes"]
        .as_array()
        .unwrap()
        .len();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let pruned = fieldsync::changelog::retention::prune(&app.state.db, 0)
        .await
        .unwrap();
    assert!(pruned >= 3, "superseded rows go: {pruned}");
    let after = pull(&app, &admin, &Value::Null).await;
    let changes = after["changes"].as_array().unwrap();
    assert_eq!(
        changes.len(),
        before,
        "every entity is still there, newest state"
    );
    let ours = changes.iter().find(|c| c["entityId"] == id).unwrap();
    assert_eq!(ours["snapshot"]["progress"], 83);
}

/// An atomic batch that meets a conflict writes nothing, the conflict's
/// record included: it comes back without an id to resolve.
async fn a_conflict_in_a_rolled_back_batch_has_no_id_to_resolve(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let task = &tasks_of(&app, &admin, "IN_PROGRESS").await[0];
    let id = task["id"].as_str().unwrap();
    app.graphql(
        Some(&admin),
        "mutation($id: ID!) { updateTask(id: $id, patch: { description: \"Server side\" }) { outcome } }",
        json!({ "id": id }),
    )
    .await
    .ok();
    let ops = json!([
        { "clientMutationId": "c-1", "updateTask": { "id": id, "expectedVersion": task["version"], "patch": { "description": "Phone side" } } },
    ]);
    let answer = app
        .graphql(
            Some(&admin),
            "mutation($ops: [SyncOperationInput!]!) { syncPush(operations: $ops, atomic: true) { status result { conflict { id fields { field } } } } }",
            json!({ "ops": ops }),
        )
        .await;
    let result = &answer.ok()["syncPush"][0];
    assert_eq!(result["status"], "CONFLICT", "{result}");
    assert_eq!(result["result"]["conflict"]["id"], Value::Null);
    assert_eq!(
        result["result"]["conflict"]["fields"][0]["field"],
        "description"
    );
    let open = app.query(&admin, "{ syncConflicts { id } }").await;
    assert_eq!(
        open.ok()["syncConflicts"],
        json!([]),
        "nothing was recorded"
    );
}

/// A version superseded within the retention period stays, however old it
/// is itself: a client whose cursor is inside the period may hold it.
async fn pruning_keeps_a_version_superseded_within_retention(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let task = &tasks_of(&app, &admin, "IN_PROGRESS").await[0];
    let id = task["id"].as_str().unwrap();
    let task_id: uuid::Uuid = id.parse().unwrap();
    let version = task["version"].as_i64().unwrap() as i32;
    // The task's current version is 40 days old…
    change::Entity::update_many()
        .col_expr(
            change::Column::CreatedAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::days(40)),
        )
        .filter(change::Column::EntityId.eq(task_id))
        .exec(&app.state.db)
        .await
        .unwrap();
    // …and is superseded today.
    app.graphql(
        Some(&admin),
        "mutation($id: ID!) { updateTaskProgress(id: $id, progress: 61) { outcome } }",
        json!({ "id": id }),
    )
    .await
    .ok();
    fieldsync::changelog::retention::prune(&app.state.db, 30)
        .await
        .unwrap();
    let kept = change::Entity::find()
        .filter(change::Column::EntityId.eq(task_id))
        .filter(change::Column::Version.eq(version))
        .one(&app.state.db)
        .await
        .unwrap();
    assert!(kept.is_some(), "version {version} is still a merge base");
}

/// Two writers whose transactions overlap: the second starts while the
/// first is still open and tries to commit first. Readers polling the log
/// must only ever see seq grow.
async fn change_log_seq_follows_commit_order_under_overlapping_transactions(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.state.db.clone();
    let admin = principal::load(&db, app.demo.admin).await.unwrap();
    let tasks = tasks_of(&app, &app.admin(), "IN_PROGRESS").await;
    let update = |i: usize, progress: i32| {
        Operation::UpdateTask(TaskUpdate::new(
            tasks[i]["id"].as_str().unwrap().parse().unwrap(),
            None,
            TaskPatch {
                progress: Some(progress),
                ..Default::default()
            },
            ConflictStrategy::Merge,
        ))
    };
    let max_seq = |db: sea_orm::DatabaseConnection| async move {
        change::Entity::find()
            .order_by_desc(change::Column::Seq)
            .one(&db)
            .await
            .unwrap()
            .map_or(0, |c| c.seq)
    };
    let watcher_db = db.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let watching = stop.clone();
    let watcher = tokio::spawn(async move {
        let mut seen: Vec<i64> = Vec::new();
        let mut high = 0;
        while !watching.is_cancelled() {
            let rows = change::Entity::find()
                .order_by_asc(change::Column::Seq)
                .all(&watcher_db)
                .await
                .unwrap();
            let fresh: Vec<i64> = rows
                .iter()
                .map(|r| r.seq)
                .filter(|seq| !seen.contains(seq))
                .collect();
            for seq in fresh {
                assert!(seq > high, "seq {seq} appeared after {high} was read");
                seen.push(seq);
            }
            high = seen.iter().copied().max().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let first = fieldsync::db::begin_write(&db).await.unwrap();
    operations::apply(&first, &admin, update(0, 91), None, None)
        .await
        .unwrap();
    let second_db = db.clone();
    let op = update(1, 92);
    let second = tokio::spawn(async move {
        let txn = fieldsync::db::begin_write(&second_db).await.unwrap();
        operations::apply(&txn, &admin, op, None, None)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !second.is_finished(),
        "the second writer waits for the first to commit"
    );
    let before_commit = max_seq(db.clone()).await;
    first.commit().await.unwrap();
    second.await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.cancel();
    watcher
        .await
        .expect("the watcher never saw seq go backwards");
    let rows = change::Entity::find()
        .order_by_desc(change::Column::Seq)
        .limit(2)
        .all(&db)
        .await
        .unwrap();
    assert_eq!(
        rows[1].snapshot["progress"], 91,
        "the first to commit has the lower seq"
    );
    assert_eq!(rows[0].snapshot["progress"], 92);
    assert!(rows[1].seq > before_commit);
}

/// A transaction that starts first but records its change last: on
/// PostgreSQL the later transaction commits first and gets the lower seq,
/// so a reader that has seen the later one's seq never finds a lower one
/// afterwards. (On SQLite the second writer cannot even start until the
/// first commits.)
async fn a_transaction_committing_after_a_later_one_still_gets_a_higher_seq(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let db = app.state.db.clone();
    let admin = principal::load(&db, app.demo.admin).await.unwrap();
    let tasks = tasks_of(&app, &app.admin(), "IN_PROGRESS").await;
    let task =
        |i: usize| -> entity::ids::TaskId { tasks[i]["id"].as_str().unwrap().parse().unwrap() };
    let update = |i: usize, progress: i32| {
        Operation::UpdateTask(TaskUpdate::new(
            task(i),
            None,
            TaskPatch {
                progress: Some(progress),
                ..Default::default()
            },
            ConflictStrategy::Merge,
        ))
    };
    // The first transaction starts and writes its row, but has not logged yet.
    let first = fieldsync::db::begin_write(&db).await.unwrap();
    let row = entity::task::Entity::find_by_id(task(0))
        .one(&first)
        .await
        .unwrap()
        .unwrap();
    let second_db = db.clone();
    let op = update(1, 95);
    let second = tokio::spawn(async move {
        let txn = fieldsync::db::begin_write(&second_db).await.unwrap();
        let result = operations::apply(&txn, &admin, op, None, None)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        result
    });
    if matches!(backend, Backend::Postgres(_)) {
        // Bounded generously: a busy machine may take a while, but the
        // second transaction must finish while the first is still open.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !second.is_finished() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "on PostgreSQL the later transaction commits first"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    } else {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !second.is_finished(),
            "on SQLite the later writer waits for the first"
        );
    }
    let seen = change::Entity::find()
        .order_by_desc(change::Column::Seq)
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .seq;
    let change = fieldsync::changelog::NewChange {
        org_id: row.org_id,
        entity_type: entity::enums::EntityType::Task,
        entity_id: row.id.into_uuid(),
        version: row.version,
        op: entity::enums::ChangeOp::Updated,
        snapshot: serde_json::to_value(&row).unwrap(),
        changed_fields: Vec::new(),
        actor_id: None,
        client_mutation_id: None,
    };
    let first_seq = fieldsync::changelog::record(&first, change).await.unwrap();
    first.commit().await.unwrap();
    second.await.unwrap();
    assert!(
        first_seq > seen,
        "the later commit's seq ({first_seq}) is above everything a reader saw before ({seen})"
    );
}

/// The seeded offline-sync simulation: 20 phones, 50 offline edits each,
/// flushed in random chunks over several calls with some answers lost and
/// sent again, administrators editing online meanwhile.
async fn the_offline_simulation_converges_without_losing_a_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let config = fieldsync_tools::simulation::Config::default();
    let report = fieldsync_tools::simulation::run(&app.state.db, &config, 30)
        .await
        .unwrap();
    assert_eq!(report.operations, 1000);
    assert_eq!(report.converged_clients, report.clients, "{report:?}");
    assert_eq!(report.lost_changes, 0, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(report.automatic_rate() >= 0.98, "{report:?}");
    assert_eq!(
        report.misreported, 0,
        "no answer hides a dropped value: {report:?}"
    );
    assert!(
        report.calls > 2 * report.clients && report.lost_answers > 0,
        "queues span calls and some answers were lost: {report:?}"
    );
    assert!(
        report.conflicts > 0,
        "different text edits of one field stay conflicts: {report:?}"
    );
}

crate::on_both_backends!(
    a_batch_replays_in_order_and_a_replay_writes_nothing,
    an_atomic_batch_commits_whole_or_not_at_all,
    the_delta_pull_sends_changes_and_tombstones_only_to_who_may_see_them,
    an_old_or_forged_cursor_is_refused,
    pruning_keeps_the_newest_change_of_every_entity,
    pruning_keeps_a_version_superseded_within_retention,
    a_conflict_in_a_rolled_back_batch_has_no_id_to_resolve,
    change_log_seq_follows_commit_order_under_overlapping_transactions,
    the_offline_simulation_converges_without_losing_a_change,
    a_transaction_committing_after_a_later_one_still_gets_a_higher_seq,
);
