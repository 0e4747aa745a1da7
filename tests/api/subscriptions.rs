//! Each subscription of the schema, per role, through the executable schema
//! (the socket layer is covered in `ws`): what arrives and what never does.

use std::pin::Pin;
use std::time::Duration;

use async_graphql::{Request, Response};
use entity::ids::UserId;
use fieldsync::auth::principal;
use fieldsync::graphql::build_schema;
use fieldsync::graphql::context::RequestContext;
use fieldsync::graphql::loaders::Loaders;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::helpers::{Backend, PROGRESS, TestApp, spawn_app};

pub type Events = Pin<Box<dyn Stream<Item = Response> + Send>>;

/// Subscribes as `user` to `query`, whose `AFTER` placeholder becomes
/// `after:` the log's newest cursor: the feed then starts exactly there,
/// however long it takes to open, so no write of the test can slip past it.
pub async fn subscribe(app: &TestApp, user: UserId, query: &str) -> Events {
    let who = principal::load(&app.state.db, user).await.unwrap();
    let cursor = app.newest_cursor().await;
    let query = query.replace("AFTER", &format!("after: \"{cursor}\""));
    let request = Request::new(query)
        .data(RequestContext {
            principal: Some(who),
            ..RequestContext::default()
        })
        .data(Loaders::new(app.state.db.clone(), who.org_id));
    Box::pin(build_schema(app.state.clone()).execute_stream(request))
}

pub async fn next(events: &mut Events) -> Value {
    let response = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("stream open");
    serde_json::to_value(&response).unwrap()
}

async fn admin(app: &TestApp, query: &str, vars: Value) {
    let answer = app.graphql(Some(&app.admin()), query, vars).await;
    answer.ok();
}

async fn task_changed_follows_one_building(backend: Backend) {
    let app = spawn_app(backend).await;
    let b1 = app.demo.buildings[0].to_string();
    let query = format!(
        "subscription {{ taskChanged(buildingId: \"{b1}\", AFTER) {{ entityId entity {{ ... on Task {{ progress building {{ id }} }} }} }} }}"
    );
    let mut events = subscribe(&app, app.demo.admin, &query).await;
    let other = app.task_in(2, "IN_PROGRESS").await;
    let mine = app.task_in(0, "IN_PROGRESS").await;
    admin(&app, PROGRESS, json!({ "id": other, "p": 11 })).await;
    admin(&app, PROGRESS, json!({ "id": mine, "p": 12 })).await;
    let event = next(&mut events).await;
    assert_eq!(
        event["data"]["taskChanged"]["entityId"],
        mine.as_str(),
        "{event}"
    );
    assert_eq!(event["data"]["taskChanged"]["entity"]["progress"], 12);
}

async fn my_task_assignments_reach_only_the_assignee(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = "subscription { myTaskAssignments(AFTER) { entityId tombstone entity { ... on Task { assignee { id } } } } }";
    let mut worker1 = subscribe(&app, app.demo.workers[0], query).await;
    let pending = app.task_in(0, "PENDING").await;
    let assign = "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
    admin(
        &app,
        assign,
        json!({ "id": pending, "w": app.demo.workers[1].to_string() }),
    )
    .await;
    let second = app.task_in(0, "PENDING").await;
    admin(
        &app,
        assign,
        json!({ "id": second, "w": app.demo.workers[0].to_string() }),
    )
    .await;
    // The first task leaves worker1's view (assigned to worker2) but was
    // never worker1's: no word of it, not even a tombstone.
    let event = next(&mut worker1).await;
    assert_eq!(
        event["data"]["myTaskAssignments"]["entityId"],
        second.as_str(),
        "{event}"
    );
    assert_eq!(
        event["data"]["myTaskAssignments"]["entity"]["assignee"]["id"],
        app.demo.workers[0].to_string().as_str()
    );
}

async fn clients_follow_worker_status_on_site_without_locations(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = "subscription { workerStatusChanged(AFTER) { entityId snapshot entity { ... on WorkerStatus { status location { latitude } } } } }";
    let mut client1 = subscribe(&app, app.demo.clients[0], query).await;
    app.graphql(
        Some(&app.worker(4)),
        "mutation { setWorkerStatus(status: ON_BREAK) { outcome } }",
        json!({}),
    )
    .await
    .ok();
    // A move alone is not news to a client, who never sees where: only
    // the status change after it arrives.
    for mutation in [
        "mutation { reportLocation(latitude: 40.7, longitude: -74.0, accuracy: 5) { outcome } }",
        "mutation { setWorkerStatus(status: ON_BREAK) { outcome } }",
    ] {
        app.graphql(Some(&app.worker(1)), mutation, json!({}))
            .await
            .ok();
    }
    let event = next(&mut client1).await;
    let change = &event["data"]["workerStatusChanged"];
    assert_eq!(
        change["entityId"],
        app.demo.workers[0].to_string().as_str(),
        "worker4 is not at client1's building: {event}"
    );
    assert_eq!(
        change["entity"]["status"], "ON_BREAK",
        "not the move: {event}"
    );
    assert!(
        change["entity"]["location"].is_null(),
        "clients never see locations"
    );
    assert!(change["snapshot"].get("latitude").is_none());
}

async fn locations_stream_to_administrators_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = "subscription { workerLocationUpdated(AFTER) { entityId entity { ... on WorkerStatus { location { latitude } } } } }";
    let mut refused = subscribe(&app, app.demo.workers[0], query).await;
    let event = next(&mut refused).await;
    assert_eq!(event["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let mut admin_feed = subscribe(&app, app.demo.admin, query).await;
    app.graphql(
        Some(&app.worker(1)),
        "mutation { setWorkerStatus(status: TRAVELING) { outcome } }",
        json!({}),
    )
    .await
    .ok();
    app.graphql(
        Some(&app.worker(1)),
        "mutation { reportLocation(latitude: 40.71, longitude: -74.01) { outcome } }",
        json!({}),
    )
    .await
    .ok();
    let event = next(&mut admin_feed).await;
    assert_eq!(
        event["data"]["workerLocationUpdated"]["entity"]["location"]["latitude"], 40.71,
        "only the location change: {event}"
    );
}

async fn compliance_and_building_events_stay_in_their_buildings(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut client2 = subscribe(
        &app,
        app.demo.clients[1],
        "subscription { complianceEvents(AFTER) { entityType entityId snapshot } }",
    )
    .await;
    let mut worker1 = subscribe(
        &app,
        app.demo.workers[0],
        "subscription { buildingStatusChanged(AFTER) { entityId entity { ... on Building { status } } } }",
    )
    .await;
    let raise = "mutation($b: ID!, $m: String!) { raiseComplianceAlert(input: { buildingId: $b, severity: CRITICAL, message: $m }) { outcome } }";
    admin(
        &app,
        raise,
        json!({ "b": app.demo.buildings[0].to_string(), "m": "not for client2" }),
    )
    .await;
    admin(
        &app,
        raise,
        json!({ "b": app.demo.buildings[2].to_string(), "m": "for client2" }),
    )
    .await;
    let event = next(&mut client2).await;
    assert_eq!(
        event["data"]["complianceEvents"]["snapshot"]["message"], "for client2",
        "{event}"
    );
    let status = "mutation($id: ID!, $s: BuildingStatus!) { setBuildingStatus(id: $id, status: $s) { outcome } }";
    admin(
        &app,
        status,
        json!({ "id": app.demo.buildings[1].to_string(), "s": "CRITICAL" }),
    )
    .await;
    admin(
        &app,
        status,
        json!({ "id": app.demo.buildings[0].to_string(), "s": "ATTENTION" }),
    )
    .await;
    let event = next(&mut worker1).await;
    assert_eq!(
        event["data"]["buildingStatusChanged"]["entityId"],
        app.demo.buildings[0].to_string().as_str(),
        "{event}"
    );
    assert_eq!(
        event["data"]["buildingStatusChanged"]["entity"]["status"],
        "ATTENTION"
    );
}

async fn a_task_taken_off_the_assignee_is_announced_to_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = "subscription { myTaskAssignments(AFTER) { entityId tombstone entity { ... on Task { assignee { id } } } } }";
    let mut worker1 = subscribe(&app, app.demo.workers[0], query).await;
    let task = app.task_in(0, "PENDING").await;
    let assign = "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
    let w1 = app.demo.workers[0].to_string();
    admin(&app, assign, json!({ "id": task, "w": w1 })).await;
    let assigned = next(&mut worker1).await;
    let assigned = &assigned["data"]["myTaskAssignments"];
    assert_eq!(assigned["entityId"], task.as_str(), "{assigned}");
    assert_eq!(assigned["entity"]["assignee"]["id"], w1.as_str());
    // Unassigned, the open task stays in worker1's view, no longer theirs:
    // it leaves this subscription.
    admin(&app, assign, json!({ "id": task, "w": null })).await;
    let released = next(&mut worker1).await;
    let released = &released["data"]["myTaskAssignments"];
    assert_eq!(released["entityId"], task.as_str(), "{released}");
    assert_eq!(released["tombstone"], true);
    assert_eq!(released["entity"], Value::Null);
}

/// `taskChanged(assigneeId:)` tells of a task reassigned away from that
/// assignee with a tombstone (the subscriber drops it from the list), then
/// no more of it.
async fn a_task_reassigned_away_leaves_the_assignee_filter_with_a_tombstone(backend: Backend) {
    let app = spawn_app(backend).await;
    let assign = "mutation($id: ID!, $w: ID) { assignTask(id: $id, assigneeId: $w) { outcome } }";
    let (worker1, worker2) = (
        app.demo.workers[0].to_string(),
        app.demo.workers[1].to_string(),
    );
    let leaving = app.task_in(0, "PENDING").await;
    admin(&app, assign, json!({ "id": leaving, "w": worker1 })).await;
    let staying = app.task_in(0, "PENDING").await;
    admin(&app, assign, json!({ "id": staying, "w": worker1 })).await;
    let query = format!(
        "subscription {{ taskChanged(assigneeId: \"{worker1}\", AFTER) {{ entityId tombstone entity {{ ... on Task {{ progress assignee {{ id }} }} }} }} }}"
    );
    let mut events = subscribe(&app, app.demo.admin, &query).await;
    admin(&app, assign, json!({ "id": leaving, "w": worker2 })).await;
    admin(&app, PROGRESS, json!({ "id": leaving, "p": 41 })).await;
    admin(&app, PROGRESS, json!({ "id": staying, "p": 42 })).await;
    let event = next(&mut events).await;
    let change = &event["data"]["taskChanged"];
    assert_eq!(change["entityId"], leaving.as_str(), "{event}");
    assert_eq!(change["tombstone"], true, "{event}");
    let event = next(&mut events).await;
    let change = &event["data"]["taskChanged"];
    assert_eq!(
        change["entityId"],
        staying.as_str(),
        "no more of the task once it left: {event}"
    );
    assert_eq!(change["entity"]["progress"], 42);
}

crate::on_both_backends!(
    a_task_reassigned_away_leaves_the_assignee_filter_with_a_tombstone,
    a_task_taken_off_the_assignee_is_announced_to_them,
    task_changed_follows_one_building,
    my_task_assignments_reach_only_the_assignee,
    clients_follow_worker_status_on_site_without_locations,
    locations_stream_to_administrators_only,
    compliance_and_building_events_stay_in_their_buildings,
);
