//! `history`: an entity's versions, newest first, with who, when, which
//! fields and the snapshot as the caller may see it.

use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, TestApp, spawn_app};

const HISTORY: &str = "query($t: EntityType!, $id: ID!, $first: Int, $after: String) { history(entityType: $t, entityId: $id, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { version op changedFields changedAt changedBy { id } snapshot } } } }";

async fn history(
    app: &TestApp,
    token: &str,
    entity_type: &str,
    id: &str,
    first: i64,
    after: Option<&str>,
) -> Answer {
    app.graphql(
        Some(token),
        HISTORY,
        json!({ "t": entity_type, "id": id, "first": first, "after": after }),
    )
    .await
}

const DESCRIBE: &str = "mutation($id: ID!, $d: String!) { updateTask(id: $id, patch: { description: $d }) { version } }";

async fn versions_page_newest_first_and_feed_a_revert(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.task_in(0, "IN_PROGRESS").await;
    app.graphql(
        Some(&app.admin()),
        DESCRIBE,
        json!({ "id": task, "d": "first note" }),
    )
    .await
    .ok();
    app.graphql(
        Some(&app.admin()),
        DESCRIBE,
        json!({ "id": task, "d": "second note" }),
    )
    .await
    .ok();
    let assignee = app
        .query(
            &app.admin(),
            &format!("{{ task(id: \"{task}\") {{ version assignee {{ id }} }} }}"),
        )
        .await
        .ok()["task"]
        .clone();
    let newest = assignee["version"].as_i64().unwrap();

    let page = history(&app, &app.admin(), "TASK", &task, 2, None).await;
    let edges = page.ok()["history"]["edges"].as_array().unwrap().clone();
    let versions: Vec<i64> = edges
        .iter()
        .map(|e| e["node"]["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [newest, newest - 1], "{edges:?}");
    let top = &edges[0]["node"];
    assert_eq!(top["changedFields"], json!(["description"]));
    assert_eq!(top["changedBy"]["id"], app.demo.admin.to_string());
    assert_eq!(top["snapshot"]["description"], "second note");
    assert_eq!(edges[1]["node"]["snapshot"]["description"], "first note");
    assert!(top["changedAt"].is_string());
    assert_eq!(page.ok()["history"]["pageInfo"]["hasNextPage"], true);

    // The next page carries on below, down to version 1, a creation.
    let mut after = page.ok()["history"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut rest = Vec::new();
    loop {
        let page = history(&app, &app.admin(), "TASK", &task, 2, Some(&after)).await;
        let history = page.ok()["history"].clone();
        rest.extend(
            history["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone()),
        );
        if history["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = history["pageInfo"]["endCursor"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let below: Vec<i64> = rest
        .iter()
        .map(|n| n["version"].as_i64().unwrap())
        .collect();
    assert_eq!(below, (1..newest - 1).rev().collect::<Vec<_>>());
    assert_eq!(rest.last().unwrap()["op"], "CREATED");

    // An administrator picks the version with the first note and reverts to it.
    let reverted = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: ID!, $v: Int!) { revertEntity(entityType: TASK, id: $id, toVersion: $v) { version snapshot } }",
            json!({ "id": task, "v": newest - 1 }),
        )
        .await;
    assert_eq!(
        reverted.ok()["revertEntity"]["snapshot"]["description"],
        "first note"
    );

    // Bad cursors and ids are refused clearly.
    for (id, after) in [(task.as_str(), Some("nonsense")), ("not-a-uuid", None)] {
        let answer = history(&app, &app.admin(), "TASK", id, 2, after).await;
        assert_eq!(
            answer.error_code(),
            Some("BAD_USER_INPUT"),
            "{:?}",
            answer.body
        );
    }
}

/// What a caller may not see of an entity now, they may not read in its
/// past either: another organisation gets NOT_FOUND, a client sees a
/// worker's status versions without locations and none that moved only
/// the location, and a deleted task's history is the administrators'.
async fn history_follows_the_callers_view(backend: Backend) {
    let app = spawn_app(backend).await;
    let worker = app.demo.workers[0].to_string();
    app.graphql(
        Some(&app.worker(1)),
        "mutation { reportLocation(latitude: 40.71, longitude: -74.0) { version } }",
        json!({}),
    )
    .await
    .ok();

    let all = |answer: &Answer| -> Vec<Value> {
        answer.ok()["history"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    };
    let admin = all(&history(&app, &app.admin(), "WORKER_STATUS", &worker, 50, None).await);
    assert!(
        admin[0]["snapshot"]["latitude"].as_f64().is_some(),
        "the administrator sees the location: {admin:?}"
    );
    let client = all(&history(&app, &app.client(1), "WORKER_STATUS", &worker, 50, None).await);
    assert!(!client.is_empty(), "the client sees the worker's statuses");
    assert!(
        client.len() < admin.len(),
        "the location-only report is not theirs: {client:?}"
    );
    for node in &client {
        assert!(node["snapshot"].get("latitude").is_none(), "{node}");
    }

    let task = app.task_in(0, "IN_PROGRESS").await;
    let other = history(&app, &app.other_admin(), "TASK", &task, 5, None).await;
    assert_eq!(other.error_code(), Some("NOT_FOUND"), "{:?}", other.body);
    assert!(!all(&history(&app, &app.client(1), "TASK", &task, 5, None).await).is_empty());
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { deleteTask(id: $id) { version } }",
        json!({ "id": task }),
    )
    .await
    .ok();
    let gone = history(&app, &app.client(1), "TASK", &task, 5, None).await;
    assert_eq!(gone.error_code(), Some("NOT_FOUND"), "{:?}", gone.body);
    let admin = all(&history(&app, &app.admin(), "TASK", &task, 5, None).await);
    assert_eq!(admin[0]["op"], "DELETED", "{admin:?}");
}

/// A history longer than one read of the log pages through whole: every
/// version once, newest first, for a client who skips none of them.
async fn a_long_history_pages_through_every_version(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.task_in(0, "IN_PROGRESS").await;
    for n in 0..230 {
        app.graphql(
            Some(&app.admin()),
            crate::helpers::PROGRESS,
            json!({ "id": task, "p": n % 99 + 1 }),
        )
        .await
        .ok();
    }
    let mut versions = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = history(&app, &app.client(1), "TASK", &task, 50, after.as_deref()).await;
        let history = page.ok()["history"].clone();
        versions.extend(
            history["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["version"].as_i64().unwrap()),
        );
        if history["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = history["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let newest = versions[0];
    assert!(newest > 230, "{newest}");
    assert_eq!(versions, (1..=newest).rev().collect::<Vec<_>>());

    // A client skips a worker's location-only versions: hundreds of them
    // between the ones they see, read past batch after batch.
    let worker = app.demo.workers[0].to_string();
    for n in 0..230 {
        app.graphql(
            Some(&app.worker(1)),
            "mutation($lat: Float!) { reportLocation(latitude: $lat, longitude: -74.0) { version } }",
            json!({ "lat": 40.0 + f64::from(n) / 1000.0 }),
        )
        .await
        .ok();
    }
    let walk = |token: String| {
        let (app, worker) = (&app, &worker);
        async move {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = history(app, &token, "WORKER_STATUS", worker, 5, after.as_deref()).await;
                let history = page.ok()["history"].clone();
                seen.extend(
                    history["edges"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["node"].clone()),
                );
                if history["pageInfo"]["hasNextPage"] == false {
                    return seen;
                }
                after = history["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            }
        }
    };
    let everything = walk(app.admin()).await;
    let expected: Vec<Value> = everything
        .iter()
        .filter(|v| v["changedFields"] != json!(["location"]))
        .map(|v| v["version"].clone())
        .collect();
    let theirs: Vec<Value> = walk(app.client(1))
        .await
        .iter()
        .map(|v| v["version"].clone())
        .collect();
    assert!(
        everything.len() > 230 && !theirs.is_empty(),
        "{}",
        everything.len()
    );
    assert_eq!(theirs, expected);
}

crate::on_both_backends!(
    a_long_history_pages_through_every_version,
    versions_page_newest_first_and_feed_a_revert,
    history_follows_the_callers_view,
);
