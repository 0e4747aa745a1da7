//! Versioned task writes: each mutation's happy path and its refusals per
//! role, stale versions under each strategy, concurrent writers, idempotent
//! replay and revert.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

/// The selection every write test reads back.
const PRIORITIES: [&str; 4] = ["LOW", "NORMAL", "HIGH", "URGENT"];

const RESULT: &str = "outcome version mergedFields conflict { id fields { field base server client } } \
    entity { ... on Task { id title description status progress priority startedAt completedAt assignee { id } } }";

/// Declares `$id` and `$v` when the arguments use them.
fn declarations(args: &str) -> String {
    let mut vars = Vec::new();
    if args.contains("$id") {
        vars.push("$id: ID");
    }
    if args.contains("$v") {
        vars.push("$v: Int");
    }
    if vars.is_empty() {
        String::new()
    } else {
        format!("({})", vars.join(", "))
    }
}

/// Runs a mutation and returns `data.<field>`, failing on errors.
async fn write(app: &TestApp, token: &str, field: &str, args: &str, vars: Value) -> Value {
    let query = format!(
        "mutation{} {{ {field}({args}) {{ {RESULT} }} }}",
        declarations(args)
    );
    let answer = app.graphql(Some(token), &query, vars).await;
    answer.ok()[field].clone()
}

/// Runs a mutation expected to fail; returns the error code.
async fn refused(app: &TestApp, token: &str, field: &str, args: &str, vars: Value) -> String {
    let query = format!(
        "mutation{} {{ {field}({args}) {{ outcome }} }}",
        declarations(args)
    );
    let answer = app.graphql(Some(token), &query, vars).await;
    answer
        .error_code()
        .unwrap_or_else(|| panic!("{field} was not refused: {}", answer.body))
        .to_owned()
}

/// The id and version of the first task the token sees with this status.
async fn task_with_status(app: &TestApp, token: &str, status: &str) -> (String, i64) {
    let answer = app
        .query(token, &format!("{{ tasks(filter: {{ status: [{status}] }}, first: 1) {{ edges {{ node {{ id version }} }} }} }}"))
        .await;
    let node = answer
        .nodes("tasks")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {status} task"));
    (
        node["id"].as_str().unwrap().to_owned(),
        node["version"].as_i64().unwrap(),
    )
}

async fn task_state(app: &TestApp, id: &str) -> Value {
    let answer = app
        .graphql(Some(&app.admin()), "query($id: ID!) { task(id: $id) { title description status progress priority version } }", json!({ "id": id }))
        .await;
    answer.ok()["task"].clone()
}

async fn a_worker_starts_progresses_and_completes_their_task(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(2);
    let (id, version) = task_with_status(&app, &token, "ASSIGNED").await;
    let started = write(
        &app,
        &token,
        "startTask",
        "id: $id, expectedVersion: $v",
        json!({ "id": id, "v": version }),
    )
    .await;
    assert_eq!(started["outcome"], "APPLIED");
    assert_eq!(started["entity"]["status"], "IN_PROGRESS");
    assert!(started["entity"]["startedAt"].is_string());
    assert_eq!(started["version"], version + 1);
    let progressed = write(
        &app,
        &token,
        "updateTaskProgress",
        "id: $id, progress: 60",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(progressed["entity"]["progress"], 60);
    let done = write(&app, &token, "completeTask", "id: $id", json!({ "id": id })).await;
    assert_eq!(done["entity"]["status"], "COMPLETED");
    assert_eq!(done["entity"]["progress"], 100);
    assert!(done["entity"]["completedAt"].is_string());
    // Terminal: no way back, and the error names both states.
    let query = "mutation($id: ID!) { startTask(id: $id) { outcome } }";
    let again = app.graphql(Some(&token), query, json!({ "id": id })).await;
    assert_eq!(again.error_code(), Some("BAD_USER_INPUT"));
    let message = again.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("COMPLETED") && message.contains("IN_PROGRESS"),
        "{message}"
    );
}

async fn roles_are_enforced_on_every_task_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let building1 = app.demo.buildings[0].to_string();
    let building3 = app.demo.buildings[2].to_string();
    let create = "input: { buildingId: $b, title: \"Broken window\" }";
    let run_create = |token: String, building: String| {
        let app = &app;
        async move {
            app.graphql(
                Some(&token),
                &format!("mutation($b: ID!) {{ createTask({create}) {{ outcome entity {{ ... on Task {{ status }} }} }} }}"),
                json!({ "b": building }),
            )
            .await
        }
    };
    let by_client = run_create(app.client(1), building1.clone()).await;
    assert_eq!(
        by_client.ok()["createTask"]["entity"]["status"],
        "PENDING",
        "a client opens a service request"
    );
    // Everything below is refused: the tasks it aims at and the change log
    // must stand as they are now.
    let (theirs, _) = task_with_status(&app, &app.worker(2), "ASSIGNED").await;
    let (own, _) = task_with_status(&app, &app.worker(1), "IN_PROGRESS").await;
    let (pending, _) = task_with_status(&app, &app.admin(), "PENDING").await;
    let targets = [&theirs, &own, &pending];
    let mut states_before = Vec::new();
    for id in targets {
        states_before.push(task_state(&app, id).await);
    }
    let changes_before = app.change_count().await;
    assert_eq!(
        run_create(app.client(1), building3.clone())
            .await
            .error_code(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        run_create(app.worker(1), building1.clone())
            .await
            .error_code(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        run_create(app.other_admin(), building1.clone())
            .await
            .error_code(),
        Some("NOT_FOUND")
    );

    // worker1 may not touch worker2's task, nor edit the title of their own.
    let code = refused(
        &app,
        &app.worker(1),
        "startTask",
        "id: $id",
        json!({ "id": theirs }),
    )
    .await;
    assert!(code == "FORBIDDEN" || code == "NOT_FOUND", "{code}");
    let code = refused(
        &app,
        &app.worker(1),
        "updateTask",
        "id: $id, patch: { title: \"mine\" }",
        json!({ "id": own }),
    )
    .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(
        refused(
            &app,
            &app.client(1),
            "updateTaskProgress",
            "id: $id, progress: 10",
            json!({ "id": own })
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        refused(
            &app,
            &app.worker(1),
            "deleteTask",
            "id: $id",
            json!({ "id": own })
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        refused(
            &app,
            &app.other_admin(),
            "deleteTask",
            "id: $id",
            json!({ "id": own })
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(
        refused(
            &app,
            &app.admin(),
            "updateTaskProgress",
            "id: $id, progress: 140",
            json!({ "id": own })
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        refused(
            &app,
            &app.admin(),
            "completeTask",
            "id: $id",
            json!({ "id": pending })
        )
        .await,
        "BAD_USER_INPUT"
    );
    let mut states_after = Vec::new();
    for id in targets {
        states_after.push(task_state(&app, id).await);
    }
    assert_eq!(states_after, states_before, "refusals stored nothing");
    assert_eq!(
        app.change_count().await,
        changes_before,
        "nor logged anything"
    );

    let deleted = write(
        &app,
        &app.admin(),
        "deleteTask",
        "id: $id",
        json!({ "id": own }),
    )
    .await;
    assert_eq!(deleted["outcome"], "APPLIED");
    let gone = app
        .graphql(
            Some(&app.admin()),
            "query($id: ID!) { task(id: $id) { id } }",
            json!({ "id": own }),
        )
        .await;
    assert_eq!(gone.error_code(), Some("NOT_FOUND"));
}

async fn admins_assign_only_workers_of_the_building(backend: Backend) {
    let app = spawn_app(backend).await;
    let (pending, _) = task_with_status(&app, &app.admin(), "PENDING").await;
    let building = app
        .query(
            &app.admin(),
            &format!("{{ task(id: \"{pending}\") {{ building {{ id }} }} }}"),
        )
        .await;
    let building = building.ok()["task"]["building"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let index = app
        .demo
        .buildings
        .iter()
        .position(|b| b.to_string() == building)
        .unwrap();
    let crew = [[0, 1], [1, 2], [3, 3]][index];
    let outsider = (0..4).find(|w| !crew.contains(w)).unwrap();
    let assign = "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome entity { ... on Task { status assignee { id } } } } }";
    let wrong = app
        .graphql(
            Some(&app.admin()),
            assign,
            json!({ "id": pending, "w": app.demo.workers[outsider].to_string() }),
        )
        .await;
    assert_eq!(wrong.error_code(), Some("BAD_USER_INPUT"));
    let right = app
        .graphql(
            Some(&app.admin()),
            assign,
            json!({ "id": pending, "w": app.demo.workers[crew[0]].to_string() }),
        )
        .await;
    assert_eq!(right.ok()["assignTask"]["entity"]["status"], "ASSIGNED");
    let unassigned = app
        .graphql(
            Some(&app.admin()),
            assign,
            json!({ "id": pending, "w": null }),
        )
        .await;
    assert_eq!(unassigned.ok()["assignTask"]["entity"]["status"], "PENDING");
    assert!(unassigned.ok()["assignTask"]["entity"]["assignee"].is_null());
}

async fn stale_versions_follow_the_chosen_strategy(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let (id, v1) = task_with_status(&app, &admin, "IN_PROGRESS").await;
    let update = |patch: &str, strategy: &str| {
        format!("id: $id, expectedVersion: $v, patch: {{ {patch} }}, onConflict: {strategy}")
    };
    // The server moves on: title and progress change at v1 → v2.
    let moved = write(
        &app,
        &admin,
        "updateTask",
        &update("title: \"Server title\", progress: 70", "MERGE"),
        json!({ "id": id, "v": v1 }),
    )
    .await;
    assert_eq!(moved["outcome"], "APPLIED");

    let rejected = write(
        &app,
        &admin,
        "updateTask",
        &update("priority: URGENT", "REJECT"),
        json!({ "id": id, "v": v1 }),
    )
    .await;
    assert_eq!(rejected["outcome"], "CONFLICT");
    assert!(rejected["conflict"]["id"].is_null());
    assert_eq!(rejected["version"], v1 + 1, "nothing written");

    let merged = write(
        &app,
        &admin,
        "updateTask",
        &update("priority: URGENT, progress: 40", "MERGE"),
        json!({ "id": id, "v": v1 }),
    )
    .await;
    assert_eq!(merged["outcome"], "MERGED");
    assert_eq!(
        merged["entity"]["priority"], "URGENT",
        "a field the server left alone applies"
    );
    assert_eq!(
        merged["entity"]["progress"], 70,
        "progress merges as the maximum"
    );
    assert_eq!(merged["entity"]["title"], "Server title");
    assert_eq!(merged["mergedFields"], json!(["progress"]));

    let conflict = write(
        &app,
        &admin,
        "updateTask",
        &update("title: \"Client title\"", "MERGE"),
        json!({ "id": id, "v": v1 }),
    )
    .await;
    assert_eq!(conflict["outcome"], "CONFLICT");
    assert_eq!(conflict["conflict"]["fields"][0]["field"], "title");
    assert_eq!(conflict["conflict"]["fields"][0]["server"], "Server title");
    assert_eq!(conflict["conflict"]["fields"][0]["client"], "Client title");
    let conflict_id = conflict["conflict"]["id"]
        .as_str()
        .expect("recorded")
        .to_owned();
    assert_eq!(
        task_state(&app, &id).await["title"],
        "Server title",
        "a conflict writes nothing"
    );

    let open = app
        .query(
            &admin,
            "{ syncConflicts(status: OPEN) { id entityId fields { field } } }",
        )
        .await;
    assert_eq!(open.ok()["syncConflicts"][0]["id"], conflict_id.as_str());
    let resolve = "mutation($c: ID!) { resolveSyncConflict(id: $c, resolution: TAKE_MINE) { outcome entity { ... on Task { title } } } }";
    let resolved = app
        .graphql(Some(&admin), resolve, json!({ "c": conflict_id }))
        .await;
    assert_eq!(
        resolved.ok()["resolveSyncConflict"]["entity"]["title"],
        "Client title"
    );
    let closed = app
        .query(&admin, "{ syncConflicts(status: OPEN) { id } }")
        .await;
    assert_eq!(closed.ok()["syncConflicts"], json!([]));
    let twice = app
        .graphql(Some(&admin), resolve, json!({ "c": conflict_id }))
        .await;
    assert_eq!(
        twice.error_code(),
        Some("BAD_USER_INPUT"),
        "{:?}",
        twice.body
    );
    let message = twice.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("already resolved (TAKE_MINE)"),
        "{message}"
    );

    let lww = write(
        &app,
        &admin,
        "updateTask",
        &update("description: \"Overwritten\"", "LAST_WRITE_WINS"),
        json!({ "id": id, "v": v1 }),
    )
    .await;
    assert_eq!(lww["outcome"], "APPLIED");
    assert_eq!(lww["entity"]["description"], "Overwritten");

    let future = refused(
        &app,
        &admin,
        "updateTask",
        &update("title: \"x\"", "MERGE"),
        json!({ "id": id, "v": 99 }),
    )
    .await;
    assert_eq!(future, "BAD_USER_INPUT");
}

async fn thirty_two_concurrent_updates_never_lose_a_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let (id, v1) = task_with_status(&app, &admin, "IN_PROGRESS").await;
    let query = "mutation($id: ID!, $v: Int, $p: TaskPatchInput!) { updateTask(id: $id, expectedVersion: $v, patch: $p) { outcome version mergedFields } }";
    let patches: Vec<Value> = (0..32)
        .map(|i| match i % 4 {
            0 => json!({ "description": format!("edit {i}") }),
            1 => json!({ "progress": 40 + i }),
            2 => json!({ "priority": PRIORITIES[i / 4 % 4] }),
            _ => json!({ "progress": 30 + i, "category": "hvac" }),
        })
        .collect();
    let requests = patches
        .iter()
        .map(|p| app.graphql(Some(&admin), query, json!({ "id": id, "v": v1, "p": p })));
    let answers = futures_util::future::join_all(requests).await;
    let outcomes: Vec<(String, i64)> = answers
        .iter()
        .map(|a| {
            let r = &a.ok()["updateTask"];
            (
                r["outcome"].as_str().unwrap().to_owned(),
                r["version"].as_i64().unwrap(),
            )
        })
        .collect();
    let applied = outcomes.iter().filter(|(o, _)| o == "APPLIED").count();
    assert_eq!(
        applied, 1,
        "exactly one writer saw the version it expected: {outcomes:?}"
    );
    let final_state = task_state(&app, &id).await;
    let last = final_state["version"].as_i64().unwrap();
    // The log holds exactly one row per version since v1, and every accepted
    // write answered with a version the log holds.
    let task_id: uuid::Uuid = id.parse().unwrap();
    let mut logged: Vec<i64> = entity::change::Entity::find()
        .filter(entity::change::Column::EntityId.eq(task_id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| i64::from(c.version))
        .filter(|v| *v > v1)
        .collect();
    logged.sort();
    assert_eq!(
        logged,
        ((v1 + 1)..=last).collect::<Vec<_>>(),
        "one change per version, none skipped or repeated"
    );
    // Every accepted write's values are in the log at the version it
    // answered; a field it reports merged holds what the field's rule made
    // of it (progress: the larger).
    for (((outcome, version), patch), answer) in outcomes.iter().zip(&patches).zip(&answers) {
        let merged = &answer.ok()["updateTask"]["mergedFields"];
        if outcome == "CONFLICT" {
            continue;
        }
        assert!(
            (v1 + 1..=last).contains(version),
            "{outcome} at unknown version {version}"
        );
        let logged = entity::change::Entity::find()
            .filter(entity::change::Column::EntityId.eq(task_id))
            .filter(entity::change::Column::Version.eq(*version as i32))
            .one(&app.state.db)
            .await
            .unwrap()
            .expect("a change at that version");
        for (field, sent) in patch.as_object().unwrap() {
            let stored = &logged.snapshot[field.as_str()];
            let was_merged = merged
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == field.as_str());
            let rank = |v: &Value| {
                PRIORITIES
                    .iter()
                    .position(|p| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(p)))
            };
            let same = match field.as_str() {
                // The rule's answer: the larger progress, the higher priority.
                "progress" if was_merged => stored.as_i64() >= sent.as_i64(),
                "priority" if was_merged => rank(stored) >= rank(sent),
                _ => match (sent.as_str(), stored.as_str()) {
                    (Some(sent), Some(stored)) => sent.eq_ignore_ascii_case(stored),
                    _ => sent == stored,
                },
            };
            assert!(
                same,
                "{outcome} v{version}: {field} sent {sent}, logged {stored}"
            );
        }
    }
    // Progress only grows, so the final progress is the largest accepted one.
    let max_progress = (0..32)
        .filter(|i| i % 4 == 1 || i % 4 == 3)
        .map(|i| if i % 4 == 1 { 40 + i } else { 30 + i })
        .max()
        .unwrap();
    assert_eq!(final_state["progress"], max_progress);
    // The change log explains the final state: one row per version, the last equals the task.
    let pulled = app
        .graphql(Some(&admin), "query { syncPull(entityTypes: [TASK], limit: 1000) { changes { entityId version snapshot } } }", json!({}))
        .await;
    let ours: Vec<Value> = pulled.ok()["syncPull"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entityId"] == id.as_str())
        .cloned()
        .collect();
    assert_eq!(ours.len(), 1, "one entry per entity");
    assert_eq!(ours[0]["version"], final_state["version"]);
    assert_eq!(ours[0]["snapshot"]["progress"], final_state["progress"]);
    assert_eq!(
        ours[0]["snapshot"]["description"],
        final_state["description"]
    );
}

/// Atomic batches that touch three tasks, each in its own order, race
/// single updates of the same tasks: on PostgreSQL every writer takes its
/// locks in one order (the change log first, then rows), so nothing
/// deadlocks and every write answers APPLIED; on SQLite the write lock is
/// taken up front. Every change reaches the log, one row per version.
async fn atomic_batches_and_single_updates_never_deadlock(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let ids: Vec<String> = app
        .query(&admin, "{ tasks(filter: { status: [IN_PROGRESS, ASSIGNED, PENDING] }, first: 3) { edges { node { id } } } }")
        .await
        .nodes("tasks")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    let changes_before = app.change_count().await;
    let batch = "mutation($ops: [SyncOperationInput!]!) { syncPush(operations: $ops, atomic: true) { status error { code message } } }";
    let single = "mutation($id: ID!, $d: String!) { updateTask(id: $id, patch: { description: $d }) { outcome } }";
    let rounds = 10;
    let batches = (0..6).map(|b| {
        let (app, admin, ids) = (&app, &admin, &ids);
        async move {
            let mut failures = Vec::new();
            for round in 0..rounds {
                // Each batcher walks the tasks in its own rotation and direction.
                let mut order: Vec<&String> = ids.iter().collect();
                order.rotate_left(b % 3);
                if b % 2 == 1 {
                    order.reverse();
                }
                let ops: Vec<Value> = order
                    .iter()
                    .enumerate()
                    .map(|(i, id)| json!({ "clientMutationId": format!("dl-{b}-{round}-{i}"), "updateTask": { "id": id, "patch": { "description": format!("batch {b} round {round}") } } }))
                    .collect();
                let answer = app.graphql(Some(admin), batch, json!({ "ops": ops })).await;
                match answer.body["data"]["syncPush"].as_array() {
                    Some(results) if results.iter().all(|r| r["status"] == "APPLIED") => {}
                    _ => failures.push(answer.body.to_string()),
                }
            }
            failures
        }
    });
    let singles = (0..6).map(|s| {
        let (app, admin, ids) = (&app, &admin, &ids);
        async move {
            let mut failures = Vec::new();
            for round in 0..rounds {
                let id = &ids[(s + round) % 3];
                let answer = app
                    .graphql(
                        Some(admin),
                        single,
                        json!({ "id": id, "d": format!("single {s} round {round}") }),
                    )
                    .await;
                if answer.body["data"]["updateTask"]["outcome"] != "APPLIED" {
                    failures.push(answer.body.to_string());
                }
            }
            failures
        }
    });
    let (batch_failures, single_failures) = futures_util::future::join(
        futures_util::future::join_all(batches),
        futures_util::future::join_all(singles),
    )
    .await;
    let failures: Vec<String> = batch_failures
        .into_iter()
        .chain(single_failures)
        .flatten()
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert_eq!(
        app.change_count().await - changes_before,
        (6 * rounds * 3 + 6 * rounds) as u64,
        "every write is one change"
    );
}

async fn a_replayed_client_mutation_id_returns_the_first_result_and_writes_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let (id, version) = task_with_status(&app, &admin, "IN_PROGRESS").await;
    let query = "mutation($id: ID!, $p: Int!) { updateTaskProgress(id: $id, progress: $p, clientMutationId: \"m-1\") { outcome version snapshot } }";
    let first = app
        .graphql(Some(&admin), query, json!({ "id": id, "p": 77 }))
        .await;
    let before_replay = task_state(&app, &id).await;
    // The same id with another value: a replay of what was sent, whatever
    // it says now, answers the first result and writes nothing.
    let second = app
        .graphql(Some(&admin), query, json!({ "id": id, "p": 33 }))
        .await;
    assert_eq!(first.ok(), second.ok());
    assert_eq!(
        second.ok()["updateTaskProgress"]["snapshot"]["progress"],
        77
    );
    let after_replay = task_state(&app, &id).await;
    assert_eq!(after_replay, before_replay, "the replay wrote nothing");
    assert_eq!(after_replay["version"], version + 1);
    assert_eq!(after_replay["progress"], 77);

    let new_id = uuid::Uuid::now_v7().to_string();
    let create = "mutation($id: ID!, $b: ID!) { createTask(input: { id: $id, buildingId: $b, title: \"Offline\" }) { outcome version } }";
    let vars = json!({ "id": new_id, "b": app.demo.buildings[0].to_string() });
    let created = app.graphql(Some(&admin), create, vars.clone()).await;
    let again = app.graphql(Some(&admin), create, vars.clone()).await;
    assert_eq!(
        created.ok(),
        again.ok(),
        "a create with a client id is idempotent"
    );
    let stolen = app
        .graphql(
            Some(&app.other_admin()),
            create,
            json!({ "id": new_id, "b": app.other.buildings[0].to_string() }),
        )
        .await;
    assert_eq!(stolen.error_code(), Some("BAD_USER_INPUT"));
}

async fn revert_restores_an_earlier_version_as_a_new_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let (id, v1) = task_with_status(&app, &admin, "IN_PROGRESS").await;
    let original = task_state(&app, &id).await;
    write(
        &app,
        &admin,
        "updateTask",
        "id: $id, patch: { title: \"Changed\", progress: 90 }",
        json!({ "id": id }),
    )
    .await;
    write(&app, &admin, "completeTask", "id: $id", json!({ "id": id })).await;
    let query = "mutation($id: ID!, $v: Int!) { revertEntity(entityType: TASK, id: $id, toVersion: $v) { outcome version entity { ... on Task { title status progress } } } }";
    let reverted = app
        .graphql(Some(&admin), query, json!({ "id": id, "v": v1 }))
        .await;
    let result = &reverted.ok()["revertEntity"];
    assert_eq!(result["version"], v1 + 3);
    assert_eq!(result["entity"]["title"], original["title"]);
    assert_eq!(result["entity"]["status"], "IN_PROGRESS");
    assert_eq!(result["entity"]["progress"], original["progress"]);
    let by_worker = app
        .graphql(Some(&app.worker(1)), query, json!({ "id": id, "v": v1 }))
        .await;
    assert_eq!(by_worker.error_code(), Some("FORBIDDEN"));
    let by_stranger = app
        .graphql(
            Some(&app.other_admin()),
            query,
            json!({ "id": id, "v": v1 }),
        )
        .await;
    assert_eq!(by_stranger.error_code(), Some("NOT_FOUND"));
}

/// A NUL character, which PostgreSQL cannot store, is refused the same way
/// on both backends wherever it comes in (a variable, a string literal, a
/// JSON argument, one operation of an atomic batch, a socket message), and
/// nothing is written.
async fn text_with_a_nul_character_is_refused_alike_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let (id, _) = task_with_status(&app, &admin, "PENDING").await;
    let before = task_state(&app, &id).await;
    let changes = app.change_count().await;
    let building = app.demo.buildings[0].to_string();
    let attempts = [
        (
            "mutation($id: ID!, $p: TaskPatchInput!) { updateTask(id: $id, patch: $p) { outcome } }",
            json!({ "id": id, "p": { "description": "before\u{0}after" } }),
        ),
        (
            "mutation($id: ID!) { updateTask(id: $id, patch: { title: \"a\\u0000b\" }) { outcome } }",
            json!({ "id": id }),
        ),
        (
            "mutation($b: ID!) { createTask(input: { buildingId: $b, title: \"x\\u0000\" }) { outcome } }",
            json!({ "b": building }),
        ),
        (
            "mutation($id: ID!) { resolveSyncConflict(id: $id, resolution: MERGED, patch: { title: \"\\u0000\" }) { outcome } }",
            json!({ "id": id }),
        ),
        (
            "mutation($ops: [SyncOperationInput!]!) { syncPush(operations: $ops, atomic: true) { status } }",
            json!({ "ops": [
                { "clientMutationId": "nul-1", "updateTask": { "id": id, "patch": { "progress": 40 } } },
                { "clientMutationId": "nul-2", "createTask": { "buildingId": building, "title": "fine", "description": "\u{0}" } },
            ] }),
        ),
    ];
    for (query, variables) in attempts {
        let answer = app.graphql(Some(&admin), query, variables).await;
        assert_eq!(
            answer.error_code(),
            Some("BAD_USER_INPUT"),
            "{query}: {:?}",
            answer.body
        );
        assert!(
            answer.body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("NUL")),
            "{:?}",
            answer.body
        );
    }
    let mut socket = crate::ws::ready_socket(&app, &admin).await;
    crate::ws::send(
        &mut socket,
        crate::ws::subscribe(
            "w",
            "mutation($id: ID!) { updateTask(id: $id, patch: { title: \"\\u0000\" }) { outcome } }",
            json!({ "id": id }),
        ),
    )
    .await;
    let refused = crate::ws::recv(&mut socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(task_state(&app, &id).await, before);
    assert_eq!(app.change_count().await, changes, "nothing was written");
}

crate::on_both_backends!(
    a_worker_starts_progresses_and_completes_their_task,
    roles_are_enforced_on_every_task_write,
    admins_assign_only_workers_of_the_building,
    stale_versions_follow_the_chosen_strategy,
    thirty_two_concurrent_updates_never_lose_a_change,
    a_replayed_client_mutation_id_returns_the_first_result_and_writes_nothing,
    revert_restores_an_earlier_version_as_a_new_one,
    text_with_a_nul_character_is_refused_alike_and_nothing_is_stored,
    atomic_batches_and_single_updates_never_deadlock,
);
