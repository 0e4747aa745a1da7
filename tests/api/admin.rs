//! Administration writes: creating and deactivating users, assigning
//! workers and linking clients to buildings, and what members who lose a
//! building are told through `syncPull`.

use std::collections::BTreeSet;

use entity::refresh_token;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, TestApp, spawn_app};

const RESULT: &str = "outcome entityType entityId version snapshot \
    entity { ... on User { id email name role active timeZone version } }";
const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";
const BUILDINGS: &str = "{ buildings { edges { node { id } } } }";

fn create_user() -> String {
    format!("mutation($input: CreateUserInput!) {{ createUser(input: $input) {{ {RESULT} }} }}")
}

fn deactivate() -> String {
    format!("mutation($id: ID!) {{ deactivateUser(id: $id) {{ {RESULT} }} }}")
}

fn assign() -> String {
    format!(
        "mutation($w: ID!, $b: ID!, $on: Boolean = true) \
         {{ assignWorkerToBuilding(workerId: $w, buildingId: $b, assigned: $on) {{ {RESULT} }} }}"
    )
}

fn link() -> String {
    format!(
        "mutation($c: ID!, $b: ID!, $on: Boolean = true) \
         {{ linkClientToBuilding(clientId: $c, buildingId: $b, linked: $on) {{ {RESULT} }} }}"
    )
}

/// The `field` result of a mutation that must have succeeded.
fn written<'a>(answer: &'a Answer, field: &str) -> &'a Value {
    &answer.ok()[field]
}

/// Every page of `syncPull` after `after`, as the holder of `token`:
/// the changes and the cursor to continue from.
async fn pull_all(app: &TestApp, token: &str, after: Value) -> (Vec<Value>, Value) {
    let mut after = after;
    let mut changes = Vec::new();
    loop {
        let page = app
            .graphql(
                Some(token),
                "query($a: String) { syncPull(after: $a, limit: 1000) \
                 { cursor hasMore changes { entityType entityId version op tombstone snapshot } } }",
                json!({ "a": after }),
            )
            .await
            .ok()["syncPull"]
            .clone();
        changes.extend(page["changes"].as_array().unwrap().iter().cloned());
        after = page["cursor"].clone();
        if page["hasMore"] == false {
            return (changes, after);
        }
    }
}

async fn building_ids(app: &TestApp, token: &str) -> BTreeSet<String> {
    app.query(token, BUILDINGS)
        .await
        .nodes("buildings")
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn admin_creates_a_user_who_can_sign_in_and_the_creation_is_logged(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let (_, cursor) = pull_all(&app, &admin, Value::Null).await;
    let answer = app
        .graphql(
            Some(&admin),
            &create_user(),
            json!({ "input": { "email": "Worker5@Demo.local", "name": "Worker Five", "role": "WORKER", "password": "hunter22", "timeZone": "Europe/Paris" } }),
        )
        .await;
    let result = written(&answer, "createUser");
    assert_eq!(result["outcome"], "APPLIED");
    assert_eq!(result["entityType"], "USER");
    assert_eq!(result["version"], 1);
    assert_eq!(
        result["entity"],
        json!({ "id": result["entityId"], "email": "worker5@demo.local", "name": "Worker Five", "role": "WORKER", "active": true, "timeZone": "Europe/Paris", "version": 1 })
    );
    assert!(
        result["snapshot"].get("passwordHash").is_none(),
        "no hash in the answer"
    );
    let id = result["entityId"].as_str().unwrap().to_owned();

    let login = app
        .graphql(
            None,
            LOGIN,
            json!({ "e": "worker5@demo.local", "p": "hunter22" }),
        )
        .await;
    assert!(login.ok()["login"]["accessToken"].is_string());

    let (changes, _) = pull_all(&app, &admin, cursor).await;
    let created: Vec<&Value> = changes
        .iter()
        .filter(|c| c["entityType"] == "USER" && c["entityId"] == id.as_str())
        .collect();
    assert_eq!(created.len(), 1, "{changes:?}");
    assert_eq!(created[0]["op"], "CREATED");
    assert!(created[0]["snapshot"].get("passwordHash").is_none());

    // Taken addresses and bad input are refused; the default zone is UTC.
    let taken = app
        .graphql(
            Some(&admin),
            &create_user(),
            json!({ "input": { "email": "worker5@demo.local", "name": "Again", "role": "WORKER" } }),
        )
        .await;
    assert_eq!(taken.error_code(), Some("BAD_USER_INPUT"));
    let client = app
        .graphql(
            Some(&admin),
            &create_user(),
            json!({ "input": { "email": "client9@demo.local", "name": "Client Nine", "role": "CLIENT" } }),
        )
        .await;
    assert_eq!(written(&client, "createUser")["entity"]["timeZone"], "UTC");
}

/// Every user of the demo organisation with their buildings as they see
/// them, and the size of its change log: what a refused write must leave
/// as it was.
async fn people_state(app: &TestApp) -> (Value, Vec<BTreeSet<String>>, u64) {
    let users = app
        .query(
            &app.admin(),
            "{ users(first: 100) { edges { node { id email name role active version } } } }",
        )
        .await
        .ok()
        .clone();
    let mut buildings = Vec::new();
    for token in [app.worker(1), app.worker(2), app.client(1), app.client(2)] {
        buildings.push(building_ids(app, &token).await);
    }
    (users, buildings, app.change_count().await)
}

async fn workers_and_clients_may_not_administer(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = people_state(&app).await;
    let worker1 = app.demo.workers[0].to_string();
    let client1 = app.demo.clients[0].to_string();
    let b1 = app.demo.buildings[0].to_string();
    let cases = [
        (
            create_user(),
            json!({ "input": { "email": "x@demo.local", "name": "X", "role": "ADMIN" } }),
        ),
        (deactivate(), json!({ "id": worker1 })),
        (assign(), json!({ "w": worker1, "b": b1, "on": false })),
        (link(), json!({ "c": client1, "b": b1, "on": false })),
    ];
    for token in [app.worker(1), app.client(1)] {
        for (query, variables) in &cases {
            let answer = app.graphql(Some(&token), query, variables.clone()).await;
            assert_eq!(answer.error_code(), Some("FORBIDDEN"), "{query}");
        }
    }
    assert_eq!(people_state(&app).await, before, "nothing was written");
}

async fn a_deactivated_user_is_refused_at_once_and_cannot_refresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let session = app
        .graphql(
            None,
            LOGIN,
            json!({ "e": "worker2@demo.local", "p": "demo" }),
        )
        .await;
    let access = session.ok()["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let refresh = session.ok()["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.query(&access, "{ me { id } }").await.ok();

    let worker2 = app.demo.workers[1];
    let answer = app
        .graphql(
            Some(&admin),
            &deactivate(),
            json!({ "id": worker2.to_string() }),
        )
        .await;
    let result = written(&answer, "deactivateUser");
    assert_eq!(result["outcome"], "APPLIED");
    assert_eq!(result["version"], 2);
    assert_eq!(result["entity"]["active"], false);

    let refused = app.query(&access, "{ me { id } }").await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(refused.error_code(), Some("UNAUTHENTICATED"));
    let refreshed = app.graphql(None, REFRESH, json!({ "t": refresh })).await;
    assert_eq!(refreshed.error_code(), Some("UNAUTHENTICATED"));
    let live = refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(worker2))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(live.is_empty(), "every refresh token revoked: {live:?}");

    // Again changes nothing; yourself is refused; another organisation's admin finds nobody.
    let again = app
        .graphql(
            Some(&admin),
            &deactivate(),
            json!({ "id": worker2.to_string() }),
        )
        .await;
    assert_eq!(written(&again, "deactivateUser")["version"], 2);
    let myself = app
        .graphql(
            Some(&admin),
            &deactivate(),
            json!({ "id": app.demo.admin.to_string() }),
        )
        .await;
    assert_eq!(myself.error_code(), Some("BAD_USER_INPUT"));
    let other = app
        .graphql(
            Some(&app.other_admin()),
            &deactivate(),
            json!({ "id": app.demo.workers[0].to_string() }),
        )
        .await;
    assert_eq!(other.error_code(), Some("NOT_FOUND"));
    app.query(&app.worker(1), "{ me { id } }").await.ok();
}

async fn an_unassigned_worker_pulls_tombstones_for_the_building_and_its_tasks(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let worker = app.worker(1);
    let w1 = app.demo.workers[0].to_string();
    let b1 = app.demo.buildings[0].to_string();
    let (_, cursor) = pull_all(&app, &worker, Value::Null).await;
    let before_unassignment = cursor.clone();
    let seen: BTreeSet<String> = app
        .query(&worker, "{ tasks(first: 100) { edges { node { id } } } }")
        .await
        .nodes("tasks")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!seen.is_empty());

    let answer = app
        .graphql(
            Some(&admin),
            &assign(),
            json!({ "w": w1, "b": b1, "on": false }),
        )
        .await;
    let result = written(&answer, "assignWorkerToBuilding");
    assert_eq!(result["outcome"], "APPLIED");
    assert_eq!(result["entityType"], "BUILDING_WORKER");
    assert_eq!(result["version"], 1);
    assert_eq!(result["snapshot"]["workerId"], w1.as_str());
    assert_eq!(result["snapshot"]["buildingId"], b1.as_str());

    let (changes, cursor) = pull_all(&app, &worker, cursor).await;
    assert!(
        changes.iter().all(|c| c["tombstone"] == true),
        "{changes:?}"
    );
    let tombstones: BTreeSet<(String, String)> = changes
        .iter()
        .map(|c| {
            (
                c["entityType"].as_str().unwrap().to_owned(),
                c["entityId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(tombstones.contains(&("BUILDING".to_owned(), b1.clone())));
    assert!(tombstones.contains(&(
        "BUILDING_WORKER".to_owned(),
        result["entityId"].as_str().unwrap().to_owned()
    )));
    for task in &seen {
        assert!(
            tombstones.contains(&("TASK".to_owned(), task.clone())),
            "task {task} has a tombstone"
        );
    }
    // A pull of tasks alone gets the task tombstones too.
    let tasks_only = app
        .graphql(
            Some(&worker),
            "query($a: String) { syncPull(after: $a, entityTypes: [TASK], limit: 1000) { changes { entityType entityId tombstone } } }",
            json!({ "a": before_unassignment }),
        )
        .await
        .ok()["syncPull"]["changes"]
        .clone();
    let task_tombstones: BTreeSet<String> = tasks_only
        .as_array()
        .unwrap()
        .iter()
        .inspect(|c| assert!(c["entityType"] == "TASK" && c["tombstone"] == true, "{c}"))
        .map(|c| c["entityId"].as_str().unwrap().to_owned())
        .collect();
    assert!(seen.is_subset(&task_tombstones), "{task_tombstones:?}");
    assert!(building_ids(&app, &worker).await.is_empty());
    let tasks = app
        .query(&worker, "{ tasks(first: 100) { edges { node { id } } } }")
        .await
        .nodes("tasks");
    assert!(tasks.is_empty(), "{tasks:?}");

    // Unassigning again writes nothing; assigning back (twice) restores the view once.
    let again = app
        .graphql(
            Some(&admin),
            &assign(),
            json!({ "w": w1, "b": b1, "on": false }),
        )
        .await;
    assert_eq!(
        written(&again, "assignWorkerToBuilding")["outcome"],
        "APPLIED"
    );
    let (nothing, cursor) = pull_all(&app, &admin, cursor).await;
    assert!(nothing.is_empty(), "{nothing:?}");
    for _ in 0..2 {
        let back = app
            .graphql(Some(&admin), &assign(), json!({ "w": w1, "b": b1 }))
            .await;
        assert_eq!(
            written(&back, "assignWorkerToBuilding")["outcome"],
            "APPLIED"
        );
    }
    let (logged, _) = pull_all(&app, &admin, cursor).await;
    assert_eq!(logged.len(), 1, "one CREATED change: {logged:?}");
    assert_eq!(logged[0]["op"], "CREATED");
    assert_eq!(building_ids(&app, &worker).await, BTreeSet::from([b1]));
}

async fn linking_a_client_opens_a_building_and_unlinking_closes_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let client = app.client(1);
    let c1 = app.demo.clients[0].to_string();
    let b2 = app.demo.buildings[1].to_string();
    assert!(!building_ids(&app, &client).await.contains(&b2));

    let linked = app
        .graphql(Some(&admin), &link(), json!({ "c": c1, "b": b2 }))
        .await;
    let result = written(&linked, "linkClientToBuilding");
    assert_eq!(result["entityType"], "BUILDING_CLIENT");
    assert_eq!(result["snapshot"]["clientId"], c1.as_str());
    assert!(building_ids(&app, &client).await.contains(&b2));

    let (_, cursor) = pull_all(&app, &client, Value::Null).await;
    app.graphql(
        Some(&admin),
        &link(),
        json!({ "c": c1, "b": b2, "on": false }),
    )
    .await
    .ok();
    assert!(!building_ids(&app, &client).await.contains(&b2));
    let (changes, _) = pull_all(&app, &client, cursor).await;
    assert!(
        changes.iter().any(|c| c["entityType"] == "BUILDING"
            && c["entityId"] == b2.as_str()
            && c["tombstone"] == true),
        "{changes:?}"
    );
}

async fn memberships_need_an_active_user_of_the_right_role_in_the_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    let b1 = app.demo.buildings[0].to_string();
    let wrong_role = app
        .graphql(
            Some(&admin),
            &assign(),
            json!({ "w": app.demo.clients[0].to_string(), "b": b1 }),
        )
        .await;
    assert_eq!(wrong_role.error_code(), Some("BAD_USER_INPUT"));
    let wrong_role = app
        .graphql(
            Some(&admin),
            &link(),
            json!({ "c": app.demo.workers[0].to_string(), "b": b1 }),
        )
        .await;
    assert_eq!(wrong_role.error_code(), Some("BAD_USER_INPUT"));

    let worker3 = app.demo.workers[2].to_string();
    app.graphql(Some(&admin), &deactivate(), json!({ "id": worker3 }))
        .await
        .ok();
    let inactive = app
        .graphql(Some(&admin), &assign(), json!({ "w": worker3, "b": b1 }))
        .await;
    assert_eq!(inactive.error_code(), Some("BAD_USER_INPUT"));

    let other_worker = app
        .graphql(
            Some(&admin),
            &assign(),
            json!({ "w": app.other.workers[0].to_string(), "b": b1 }),
        )
        .await;
    assert_eq!(other_worker.error_code(), Some("NOT_FOUND"));
    let other_building = app
        .graphql(
            Some(&admin),
            &assign(),
            json!({ "w": app.demo.workers[0].to_string(), "b": app.other.buildings[0].to_string() }),
        )
        .await;
    assert_eq!(other_building.error_code(), Some("NOT_FOUND"));
    let from_other_org = app
        .graphql(
            Some(&app.other_admin()),
            &link(),
            json!({ "c": app.demo.clients[0].to_string(), "b": b1, "on": false }),
        )
        .await;
    assert_eq!(from_other_org.error_code(), Some("NOT_FOUND"));
}

crate::on_both_backends!(
    admin_creates_a_user_who_can_sign_in_and_the_creation_is_logged,
    workers_and_clients_may_not_administer,
    a_deactivated_user_is_refused_at_once_and_cannot_refresh,
    an_unassigned_worker_pulls_tombstones_for_the_building_and_its_tasks,
    linking_a_client_opens_a_building_and_unlinking_closes_it,
    memberships_need_an_active_user_of_the_right_role_in_the_organisation,
);
