//! One entity, live (`entityChanged`), and who made each change
//! (`changedBy`, `changedAt`) on every feed, under the `users` rule.

use serde_json::{Value, json};

use crate::helpers::{Backend, PROGRESS, spawn_app};
use crate::ws::{Socket, ready_socket, recv_operation, send, subscribe};

const DELETE: &str = "mutation($id: ID!) { deleteTask(id: $id) { outcome } }";

async fn next_of(socket: &mut Socket, field: &str) -> Value {
    let message = recv_operation(socket).await;
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"][field].clone()
}

/// A client follows one task: its versions with who and when, nothing of
/// another task, then its tombstone, and the subscription completes.
async fn one_entity_is_followed_until_its_tombstone(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.task_in(0, "IN_PROGRESS").await;
    let other = app.task_in(0, "PENDING").await;
    let mut socket = ready_socket(&app, &app.client(1)).await;
    let feed = "subscription($id: ID!, $a: String) { entityChanged(entityType: TASK, entityId: $id, after: $a) { entityId version tombstone changedAt changedBy { id } entity { ... on Task { progress } } } }";
    let cursor = app.newest_cursor().await;
    send(
        &mut socket,
        subscribe("one", feed, json!({ "id": task, "a": cursor })),
    )
    .await;

    app.graphql(Some(&app.admin()), PROGRESS, json!({ "id": task, "p": 61 }))
        .await
        .ok();
    let event = next_of(&mut socket, "entityChanged").await;
    assert_eq!(event["entityId"], task.as_str());
    assert_eq!(event["entity"]["progress"], 61);
    assert_eq!(event["changedBy"]["id"], app.demo.admin.to_string());
    assert!(event["changedAt"].is_string(), "{event}");

    app.graphql(Some(&app.admin()), PROGRESS, json!({ "id": other, "p": 5 }))
        .await
        .ok();
    app.graphql(Some(&app.admin()), DELETE, json!({ "id": task }))
        .await
        .ok();
    let tombstone = next_of(&mut socket, "entityChanged").await;
    assert_eq!(
        (
            tombstone["entityId"].as_str(),
            tombstone["tombstone"].as_bool()
        ),
        (Some(task.as_str()), Some(true)),
        "the other task is not this feed's: {tombstone}"
    );
    let done = recv_operation(&mut socket).await;
    assert_eq!(done, json!({ "id": "one", "type": "complete" }));

    send(
        &mut socket,
        subscribe(
            "bad",
            "subscription { entityChanged(entityType: TASK, entityId: \"nope\") { version } }",
            json!({}),
        ),
    )
    .await;
    let bad = recv_operation(&mut socket).await;
    assert_eq!(
        bad["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
}

/// `changedBy` follows the `users` rule: a worker sees who of the staff
/// changed a task, never which client opened it.
async fn changed_by_shows_only_users_the_caller_may_see(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut socket = ready_socket(&app, &app.worker(1)).await;
    let feed = "subscription($a: String) { changes(entityTypes: [TASK], after: $a) { entityId op changedBy { id } } }";
    send(
        &mut socket,
        subscribe("w", feed, json!({ "a": app.newest_cursor().await })),
    )
    .await;
    let request = app
        .graphql(
            Some(&app.client(1)),
            "mutation($b: ID!) { createTask(input: { buildingId: $b, title: \"Leak in 4B\" }) { entityId } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    let id = request.ok()["createTask"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = next_of(&mut socket, "changes").await;
    assert_eq!(
        (created["entityId"].as_str(), created["op"].as_str()),
        (Some(id.as_str()), Some("CREATED"))
    );
    assert_eq!(
        created["changedBy"],
        Value::Null,
        "a client is not the worker's to see"
    );
    app.graphql(Some(&app.admin()), PROGRESS, json!({ "id": id, "p": 10 }))
        .await
        .ok();
    let updated = next_of(&mut socket, "changes").await;
    assert_eq!(
        updated["changedBy"]["id"],
        app.demo.admin.to_string(),
        "{updated}"
    );
}

/// A worker's status has an id, the worker's, so a cache can key it.
async fn worker_statuses_have_the_workers_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let list = app
        .query(
            &app.admin(),
            "{ workerStatusList { nodes { id worker { id } } } }",
        )
        .await;
    let nodes = list.ok()["workerStatusList"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!nodes.is_empty());
    for node in nodes {
        assert_eq!(node["id"], node["worker"]["id"], "{node}");
    }
}

/// `syncPull` entries carry the typed entity beside the JSON snapshot,
/// under the same field rules: a worker reads tasks, their own status and
/// other users without their email.
async fn sync_pull_entries_carry_the_typed_entity(backend: Backend) {
    let app = spawn_app(backend).await;
    let pull = "{ syncPull(entityTypes: [TASK, USER, WORKER_STATUS], limit: 1000) { changes { entityType entityId tombstone snapshot entity { __typename ... on Task { id progress } ... on User { id email } ... on WorkerStatus { id } } } } }";
    let answer = app.query(&app.worker(1), pull).await;
    let changes = answer.ok()["syncPull"]["changes"]
        .as_array()
        .unwrap()
        .clone();
    let me = app.demo.workers[0].to_string();
    let mut kinds = std::collections::HashSet::new();
    for change in &changes {
        let entity = &change["entity"];
        assert_eq!(entity["id"], change["entityId"], "{change}");
        match change["entityType"].as_str().unwrap() {
            "TASK" => {
                assert_eq!(entity["__typename"], "Task");
                assert_eq!(entity["progress"], change["snapshot"]["progress"]);
            }
            "USER" if entity["id"] == me.as_str() => assert!(entity["email"].is_string()),
            "USER" => assert_eq!(entity["email"], Value::Null, "{change}"),
            "WORKER_STATUS" => assert_eq!(entity["__typename"], "WorkerStatus"),
            other => panic!("{other}"),
        }
        kinds.insert(change["entityType"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.len(), 3, "tasks, users and a status: {kinds:?}");
}

/// The team view agrees with each worker's own figures, a building's crew
/// is a subset of it, and only administrators read it.
async fn team_metrics_agree_with_each_workers_figures(backend: Backend) {
    let app = spawn_app(backend).await;
    let period = json!({ "from": "2020-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z" });
    let fields = "worker { id } tasksCompleted averageCompletionSeconds onTimeRate hoursWorked";
    let team = app
        .graphql(
            Some(&app.admin()),
            &format!("query($from: DateTime!, $to: DateTime!, $b: ID) {{ teamMetrics(from: $from, to: $to, buildingId: $b) {{ {fields} }} }}"),
            period.clone(),
        )
        .await;
    let team = team.ok()["teamMetrics"].as_array().unwrap().clone();
    assert_eq!(team.len(), app.demo.workers.len(), "{team:?}");
    assert!(
        team.iter()
            .any(|m| m["hoursWorked"].as_f64().unwrap() > 0.0)
    );
    for figures in &team {
        let own = app
            .graphql(
                Some(&app.admin()),
                &format!("query($w: ID!, $from: DateTime!, $to: DateTime!) {{ workerMetrics(workerId: $w, from: $from, to: $to) {{ {fields} }} }}"),
                json!({ "w": figures["worker"]["id"], "from": period["from"], "to": period["to"] }),
            )
            .await;
        let own = &own.ok()["workerMetrics"];
        for field in ["tasksCompleted", "averageCompletionSeconds", "onTimeRate"] {
            assert_eq!(figures[field], own[field], "{field}");
        }
        // An open entry counts up to now, read a moment apart.
        let hours = (
            figures["hoursWorked"].as_f64().unwrap(),
            own["hoursWorked"].as_f64().unwrap(),
        );
        assert!((hours.0 - hours.1).abs() < 0.01, "{hours:?}");
    }
    let crew_query = format!(
        "query($from: DateTime!, $to: DateTime!, $b: ID) {{ teamMetrics(from: $from, to: $to, buildingId: $b) {{ {fields} }} }}"
    );
    let mut crew_vars = period.clone();
    crew_vars["b"] = json!(app.demo.buildings[0].to_string());
    let crew = app
        .graphql(Some(&app.admin()), &crew_query, crew_vars.clone())
        .await;
    let crew = crew.ok()["teamMetrics"].as_array().unwrap().clone();
    assert!(!crew.is_empty() && crew.len() < team.len(), "{crew:?}");
    let refused = app
        .graphql(Some(&app.worker(1)), &crew_query, crew_vars)
        .await;
    assert_eq!(refused.error_code(), Some("FORBIDDEN"));
}

/// Every stored field an event or a history entry can name maps to a field
/// of the entity's GraphQL type: the creation rows of every kind (whose
/// changed fields are all their fields) read through `graphql_fields` name
/// only fields that introspection lists.
async fn changed_fields_are_fields_of_the_graphql_type(backend: Backend) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app(backend).await;
    // A conflict, so that kind has a row too.
    let task = app.task_in(0, "IN_PROGRESS").await;
    let stale = "mutation($id: ID!) { updateTask(id: $id, expectedVersion: 1, patch: { description: \"x\" }) { outcome } }";
    app.graphql(Some(&app.admin()), PROGRESS, json!({ "id": task, "p": 3 }))
        .await
        .ok();
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { updateTask(id: $id, patch: { description: \"y\" }) { outcome } }",
        json!({ "id": task }),
    )
    .await
    .ok();
    app.graphql(Some(&app.admin()), stale, json!({ "id": task }))
        .await
        .ok();
    let kinds = [
        ("TASK", "Task"),
        ("TIME_ENTRY", "TimeEntry"),
        ("WORKER_STATUS", "WorkerStatus"),
        ("USER", "User"),
        ("BUILDING", "Building"),
        ("VIOLATION", "Violation"),
        ("INSPECTION", "Inspection"),
        ("COMPLIANCE_ALERT", "ComplianceAlert"),
        ("SYNC_CONFLICT", "SyncConflict"),
    ];
    for (kind, type_name) in kinds {
        let entity_type: entity::enums::EntityType = serde_json::from_value(json!(kind)).unwrap();
        let row = entity::change::Entity::find()
            .filter(entity::change::Column::OrgId.eq(app.demo.org_id))
            .filter(entity::change::Column::EntityType.eq(entity_type))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a {kind} row"));
        let stored: Vec<String> = row.snapshot.as_object().unwrap().keys().cloned().collect();
        let introspected = app
            .query(
                &app.admin(),
                &format!("{{ __type(name: \"{type_name}\") {{ fields {{ name }} }} }}"),
            )
            .await;
        let fields: Vec<String> = introspected.ok()["__type"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .collect();
        for name in fieldsync::graphql::json::graphql_fields(&stored) {
            assert!(
                fields.contains(&name),
                "{type_name} has no field `{name}` (from {stored:?})"
            );
        }
    }
}

/// `node(id:)` finds any kind by its id alone, as the caller's reads show
/// it, and nothing they may not see.
async fn node_finds_any_entity_the_caller_may_see(backend: Backend) {
    let app = spawn_app(backend).await;
    let node = "query($id: ID!) { node(id: $id) { __typename id ... on Task { title } ... on User { email } } }";
    let find = |token: String, id: String| {
        let app = &app;
        async move {
            let answer = app.graphql(Some(&token), node, json!({ "id": id })).await;
            answer.ok()["node"].clone()
        }
    };
    let task = app.task_in(0, "IN_PROGRESS").await;
    let found = find(app.admin(), task.clone()).await;
    assert_eq!(
        (found["__typename"].as_str(), found["id"].as_str()),
        (Some("Task"), Some(task.as_str()))
    );
    assert!(found["title"].is_string());
    // A client of the building sees it; the other organisation does not.
    assert_eq!(find(app.client(1), task.clone()).await["id"], task.as_str());
    assert_eq!(find(app.other_admin(), task.clone()).await, Value::Null);
    // A violation and a worker (whose status shares the id: the user).
    let violation = app
        .query(
            &app.admin(),
            "{ violations(first: 1) { edges { node { id } } } }",
        )
        .await
        .nodes("violations")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        find(app.admin(), violation).await["__typename"],
        "Violation"
    );
    let worker = app.demo.workers[0].to_string();
    let user = find(app.admin(), worker.clone()).await;
    assert_eq!(user["__typename"], "User");
    assert!(user["email"].is_string(), "the admin reads emails");
    assert_eq!(
        find(app.worker(2), worker).await["email"],
        Value::Null,
        "a worker does not"
    );
    // A time entry is its worker's and the admins'.
    let entries = app
        .graphql(
            Some(&app.admin()),
            "query($w: ID!) { timeEntries(workerId: $w, first: 1) { edges { node { id } } } }",
            json!({ "w": app.demo.workers[0].to_string() }),
        )
        .await;
    let entry = entries.nodes("timeEntries")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        find(app.worker(1), entry.clone()).await["__typename"],
        "TimeEntry"
    );
    assert_eq!(find(app.worker(2), entry).await, Value::Null);
    // A deleted task is gone; a malformed id is refused.
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { deleteTask(id: $id) { outcome } }",
        json!({ "id": task }),
    )
    .await
    .ok();
    assert_eq!(find(app.admin(), task).await, Value::Null);
    let bad = app
        .graphql(Some(&app.admin()), node, json!({ "id": "nope" }))
        .await;
    assert_eq!(bad.error_code(), Some("BAD_USER_INPUT"));
}

crate::on_both_backends!(
    node_finds_any_entity_the_caller_may_see,
    changed_fields_are_fields_of_the_graphql_type,
    team_metrics_agree_with_each_workers_figures,
    sync_pull_entries_carry_the_typed_entity,
    one_entity_is_followed_until_its_tombstone,
    changed_by_shows_only_users_the_caller_may_see,
    worker_statuses_have_the_workers_id,
);
