//! Worker presence writes: clocking in and out, duty status, location
//! reports and the sharing switch; who may make them, what is refused (and
//! leaves nothing behind), idempotent replay, and the change log they feed.

use serde_json::{Value, json};

use crate::helpers::{Answer, Backend, TestApp, spawn_app};

/// What every worker mutation answers, with the entity in each shape.
const RESULT: &str = "outcome entityType entityId version snapshot entity { __typename \
    ... on TimeEntry { id clockInAt clockOutAt building { id } version \
        clockInLocation { latitude longitude } clockOutLocation { latitude longitude } } \
    ... on WorkerStatus { status version building { id } \
        location { latitude longitude accuracyMeters } } \
    ... on User { id locationSharing } }";

fn clock_in() -> String {
    format!(
        "mutation($b: ID!, $l: LocationInput, $c: String) \
         {{ clockIn(buildingId: $b, location: $l, clientMutationId: $c) {{ {RESULT} }} }}"
    )
}

fn clock_out() -> String {
    format!(
        "mutation($l: LocationInput, $c: String) \
         {{ clockOut(location: $l, clientMutationId: $c) {{ {RESULT} }} }}"
    )
}

fn set_status() -> String {
    format!(
        "mutation($s: WorkerDutyStatus!, $c: String) \
         {{ setWorkerStatus(status: $s, clientMutationId: $c) {{ {RESULT} }} }}"
    )
}

fn report_location() -> String {
    format!(
        "mutation($lat: Float!, $lng: Float!, $acc: Float, $c: String) \
         {{ reportLocation(latitude: $lat, longitude: $lng, accuracy: $acc, \
            clientMutationId: $c) {{ {RESULT} }} }}"
    )
}

fn set_sharing() -> String {
    format!(
        "mutation($e: Boolean!, $c: String) \
         {{ setLocationSharing(enabled: $e, clientMutationId: $c) {{ {RESULT} }} }}"
    )
}

/// The `n`th demo worker's id.
fn worker_id(app: &TestApp, n: usize) -> String {
    app.demo.workers[n - 1].to_string()
}

/// The `n`th demo building's id.
fn building(app: &TestApp, n: usize) -> String {
    app.demo.buildings[n - 1].to_string()
}

/// The `n`th worker's time entries, as the administrator sees them.
async fn entries(app: &TestApp, n: usize) -> Vec<Value> {
    app.graphql(
        Some(&app.admin()),
        "query($w: ID!) { timeEntries(workerId: $w, first: 100) \
         { edges { node { id clockOutAt version building { id } } } } }",
        json!({ "w": worker_id(app, n) }),
    )
    .await
    .nodes("timeEntries")
}

/// The `n`th worker's open time entries.
async fn open_entries(app: &TestApp, n: usize) -> Vec<Value> {
    entries(app, n)
        .await
        .into_iter()
        .filter(|e| e["clockOutAt"].is_null())
        .collect()
}

/// The `n`th worker's status, as the worker sees it.
async fn status(app: &TestApp, n: usize) -> Value {
    let answer = app
        .query(
            &app.worker(n),
            "{ workerStatuses { worker { id } status version building { id } \
               location { latitude longitude accuracyMeters } } }",
        )
        .await;
    let statuses = answer.ok()["workerStatuses"].as_array().unwrap().clone();
    assert_eq!(statuses.len(), 1, "a worker sees their own status only");
    statuses[0].clone()
}

/// The `field` result of a mutation that must have succeeded.
fn written<'a>(answer: &'a Answer, field: &str) -> &'a Value {
    &answer.ok()[field]
}

/// A `syncPull` as the holder of `token`; `after` is a cursor or null.
async fn pull(app: &TestApp, token: &str, after: Value) -> Value {
    let pulled = app
        .graphql(
            Some(token),
            "query($a: String) { syncPull(after: $a, limit: 1000) \
             { cursor hasMore changes { entityType entityId version op snapshot } } }",
            json!({ "a": after }),
        )
        .await
        .ok()["syncPull"]
        .clone();
    assert_eq!(pulled["hasMore"], false, "one page holds the demo's log");
    pulled
}

async fn worker_clocks_in_at_an_assigned_building_and_goes_on_duty(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = status(&app, 4).await;
    assert_eq!(before["status"], "OFF_DUTY");

    let answer = app
        .graphql(
            Some(&app.worker(4)),
            &clock_in(),
            json!({ "b": building(&app, 3) }),
        )
        .await;

    let result = written(&answer, "clockIn");
    assert_eq!(result["outcome"], "APPLIED");
    assert_eq!(result["entityType"], "TIME_ENTRY");
    assert_eq!(result["version"], 1);
    let entry = &result["entity"];
    assert_eq!(entry["__typename"], "TimeEntry");
    assert_eq!(entry["building"]["id"], building(&app, 3).as_str());
    assert!(entry["clockInAt"].is_string());
    assert!(entry["clockOutAt"].is_null());
    assert!(entry["clockInLocation"].is_null());
    let open = open_entries(&app, 4).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], result["entityId"]);
    let after = status(&app, 4).await;
    assert_eq!(after["status"], "ON_DUTY");
    assert_eq!(after["building"]["id"], building(&app, 3).as_str());
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
}

async fn worker_who_shares_clocks_in_with_a_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(4);
    let sharing = app
        .graphql(Some(&token), &set_sharing(), json!({ "e": true }))
        .await;
    assert_eq!(
        written(&sharing, "setLocationSharing")["entityType"],
        "USER"
    );
    let location = json!({ "latitude": 40.75, "longitude": -73.99, "accuracyMeters": 5.0 });

    let answer = app
        .graphql(
            Some(&token),
            &clock_in(),
            json!({ "b": building(&app, 3), "l": location }),
        )
        .await;

    let entry = &written(&answer, "clockIn")["entity"];
    assert_eq!(
        entry["clockInLocation"],
        json!({ "latitude": 40.75, "longitude": -73.99 })
    );
    let now = status(&app, 4).await;
    assert_eq!(
        now["location"],
        json!({ "latitude": 40.75, "longitude": -73.99, "accuracyMeters": 5.0 }),
        "the clock-in location is the worker's latest location"
    );
}

async fn worker_clocks_out_and_goes_off_duty(backend: Backend) {
    let app = spawn_app(backend).await;
    let open = open_entries(&app, 1).await;
    assert_eq!(open.len(), 1, "worker1 is clocked in in the demo");
    let location = json!({ "latitude": 40.7, "longitude": -74.0 });

    let answer = app
        .graphql(Some(&app.worker(1)), &clock_out(), json!({ "l": location }))
        .await;

    let result = written(&answer, "clockOut");
    assert_eq!(result["entityType"], "TIME_ENTRY");
    assert_eq!(result["entityId"], open[0]["id"]);
    assert_eq!(result["version"], open[0]["version"].as_i64().unwrap() + 1);
    assert!(result["entity"]["clockOutAt"].is_string());
    assert_eq!(result["entity"]["clockOutLocation"], location);
    assert!(open_entries(&app, 1).await.is_empty());
    let now = status(&app, 1).await;
    assert_eq!(now["status"], "OFF_DUTY");
    assert!(now["building"].is_null());
}

async fn worker_sets_their_duty_status_without_touching_their_entries(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = status(&app, 1).await;

    let answer = app
        .graphql(
            Some(&app.worker(1)),
            &set_status(),
            json!({ "s": "ON_BREAK" }),
        )
        .await;

    let result = written(&answer, "setWorkerStatus");
    assert_eq!(result["entityType"], "WORKER_STATUS");
    assert_eq!(result["entityId"], worker_id(&app, 1).as_str());
    assert_eq!(result["entity"]["__typename"], "WorkerStatus");
    assert_eq!(result["entity"]["status"], "ON_BREAK");
    assert_eq!(result["version"], before["version"].as_i64().unwrap() + 1);
    let now = status(&app, 1).await;
    assert_eq!(now["status"], "ON_BREAK");
    assert_eq!(now["building"], before["building"], "still at the building");
    assert_eq!(open_entries(&app, 1).await.len(), 1, "still clocked in");
}

async fn worker_who_shares_reports_their_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = status(&app, 1).await;

    let answer = app
        .graphql(
            Some(&app.worker(1)),
            &report_location(),
            json!({ "lat": -33.86, "lng": 151.21, "acc": 12.5 }),
        )
        .await;

    let result = written(&answer, "reportLocation");
    assert_eq!(result["entityType"], "WORKER_STATUS");
    assert_eq!(result["version"], before["version"].as_i64().unwrap() + 1);
    let expected = json!({ "latitude": -33.86, "longitude": 151.21, "accuracyMeters": 12.5 });
    assert_eq!(result["entity"]["location"], expected);
    assert_eq!(status(&app, 1).await["location"], expected);
    assert_eq!(result["snapshot"]["latitude"], -33.86);
    assert!(result["snapshot"]["locationAt"].is_string());
}

async fn switching_sharing_off_erases_the_stored_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(1);
    let start = pull(&app, &token, Value::Null).await["cursor"].clone();

    let answer = app
        .graphql(Some(&token), &set_sharing(), json!({ "e": false }))
        .await;

    let result = written(&answer, "setLocationSharing");
    assert_eq!(result["entityType"], "USER");
    assert_eq!(result["entityId"], worker_id(&app, 1).as_str());
    assert_eq!(result["entity"]["locationSharing"], false);
    assert_eq!(result["version"], 2);
    let changes = pull(&app, &token, start).await["changes"].clone();
    let status = changes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["entityType"] == "WORKER_STATUS")
        .unwrap_or_else(|| panic!("the erasure is a change: {changes}"))
        .clone();
    for field in ["latitude", "longitude", "accuracyM", "locationAt"] {
        assert!(status["snapshot"][field].is_null(), "{field}: {status}");
    }
    let refused = app
        .graphql(
            Some(&token),
            &report_location(),
            json!({ "lat": 1.0, "lng": 1.0 }),
        )
        .await;
    assert_eq!(refused.error_code(), Some("BAD_USER_INPUT"));
}

async fn clocking_in_twice_is_refused_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let entries_before = entries(&app, 1).await;
    let status_before = status(&app, 1).await;

    let answer = app
        .graphql(
            Some(&app.worker(1)),
            &clock_in(),
            json!({ "b": building(&app, 1) }),
        )
        .await;

    assert_eq!(answer.error_code(), Some("BAD_USER_INPUT"), "{:?}", answer);
    assert_eq!(entries(&app, 1).await, entries_before);
    assert_eq!(status(&app, 1).await, status_before);
}

async fn clocking_out_while_clocked_out_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let entries_before = entries(&app, 4).await;
    let status_before = status(&app, 4).await;

    let answer = app
        .graphql(Some(&app.worker(4)), &clock_out(), json!({}))
        .await;

    assert_eq!(answer.error_code(), Some("BAD_USER_INPUT"), "{:?}", answer);
    assert_eq!(entries(&app, 4).await, entries_before);
    assert_eq!(status(&app, 4).await, status_before);
}

async fn a_location_while_sharing_is_off_is_refused_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    // worker2 is on duty without sharing; worker4 is off duty without sharing.
    let worker2_before = status(&app, 2).await;
    let worker4_entries = entries(&app, 4).await;
    let worker4_before = status(&app, 4).await;
    let location = json!({ "latitude": 40.7, "longitude": -74.0 });

    let report = app
        .graphql(
            Some(&app.worker(2)),
            &report_location(),
            json!({ "lat": 40.7, "lng": -74.0, "acc": 3.0 }),
        )
        .await;
    let clock_in = app
        .graphql(
            Some(&app.worker(4)),
            &clock_in(),
            json!({ "b": building(&app, 3), "l": location }),
        )
        .await;
    let clock_out = app
        .graphql(Some(&app.worker(2)), &clock_out(), json!({ "l": location }))
        .await;

    for answer in [&report, &clock_in, &clock_out] {
        assert_eq!(answer.error_code(), Some("BAD_USER_INPUT"), "{:?}", answer);
    }
    assert_eq!(status(&app, 2).await, worker2_before);
    assert_eq!(open_entries(&app, 2).await.len(), 1, "still clocked in");
    assert_eq!(entries(&app, 4).await, worker4_entries);
    assert_eq!(status(&app, 4).await, worker4_before);
}

async fn coordinates_off_the_globe_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = status(&app, 1).await;
    let token = app.worker(1);

    for (lat, lng, acc) in [
        (90.5, 0.0, 1.0),
        (-91.0, 0.0, 1.0),
        (0.0, 180.5, 1.0),
        (0.0, -181.0, 1.0),
        (0.0, 0.0, -1.0),
    ] {
        let answer = app
            .graphql(
                Some(&token),
                &report_location(),
                json!({ "lat": lat, "lng": lng, "acc": acc }),
            )
            .await;
        assert_eq!(
            answer.error_code(),
            Some("BAD_USER_INPUT"),
            "({lat}, {lng}, {acc}): {:?}",
            answer
        );
    }
    let clock_out = app
        .graphql(
            Some(&token),
            &clock_out(),
            json!({ "l": { "latitude": 95.0, "longitude": 0.0 } }),
        )
        .await;
    assert_eq!(clock_out.error_code(), Some("BAD_USER_INPUT"));

    assert_eq!(status(&app, 1).await, before);
    assert_eq!(open_entries(&app, 1).await.len(), 1, "still clocked in");
}

async fn only_workers_make_worker_writes(backend: Backend) {
    let app = spawn_app(backend).await;
    let b = building(&app, 1);
    let calls = [
        (clock_in(), json!({ "b": b })),
        (clock_out(), json!({})),
        (set_status(), json!({ "s": "ON_DUTY" })),
        (
            report_location(),
            json!({ "lat": 1.0, "lng": 1.0, "acc": 1.0 }),
        ),
        (set_sharing(), json!({ "e": true })),
    ];
    for token in [app.admin(), app.client(1), app.other_admin()] {
        for (query, variables) in &calls {
            let answer = app.graphql(Some(&token), query, variables.clone()).await;
            assert_eq!(
                answer.error_code(),
                Some("FORBIDDEN"),
                "{query}: {:?}",
                answer
            );
        }
    }
    let anonymous = app
        .graphql(None, &set_sharing(), json!({ "e": true }))
        .await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
}

async fn clocking_in_at_a_building_one_is_not_assigned_to_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let entries_before = entries(&app, 4).await;

    // worker4 is assigned to building 3 only.
    for b in [
        building(&app, 1),
        app.other.buildings[2].to_string(),
        uuid::Uuid::now_v7().to_string(),
    ] {
        let answer = app
            .graphql(Some(&app.worker(4)), &clock_in(), json!({ "b": b }))
            .await;
        assert_eq!(answer.error_code(), Some("NOT_FOUND"), "{b}: {:?}", answer);
    }

    assert_eq!(entries(&app, 4).await, entries_before);
    assert_eq!(status(&app, 4).await["status"], "OFF_DUTY");
}

async fn replaying_a_clock_in_returns_the_first_result_and_creates_one_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    let variables = json!({ "b": building(&app, 3), "c": "clock-in-1" });

    let first = app
        .graphql(Some(&app.worker(4)), &clock_in(), variables.clone())
        .await;
    let again = app
        .graphql(Some(&app.worker(4)), &clock_in(), variables)
        .await;

    let first = written(&first, "clockIn");
    let again = written(&again, "clockIn");
    assert_eq!(again["entityId"], first["entityId"]);
    assert_eq!(again["version"], first["version"]);
    assert_eq!(again["snapshot"], first["snapshot"]);
    assert_eq!(open_entries(&app, 4).await.len(), 1);
    assert_eq!(status(&app, 4).await["version"], 2, "one status write");
}

async fn two_clock_ins_at_once_open_one_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(4);
    let query = clock_in();
    let call = |c: &'static str| {
        app.graphql(
            Some(&token),
            &query,
            json!({ "b": building(&app, 3), "c": c }),
        )
    };

    let (a, b) = tokio::join!(call("race-a"), call("race-b"));

    let codes = [a.error_code(), b.error_code()];
    assert!(
        codes.contains(&None) && codes.contains(&Some("BAD_USER_INPUT")),
        "one wins, the other finds it clocked in: {a:?} {b:?}"
    );
    assert_eq!(open_entries(&app, 4).await.len(), 1);
}

async fn worker_writes_replay_through_sync_push(backend: Backend) {
    let app = spawn_app(backend).await;
    let push = "mutation($ops: [SyncOperationInput!]!) { syncPush(operations: $ops) \
                { clientMutationId status error { code } result { entityType version } } }";
    let ops = json!([
        { "clientMutationId": "s1", "setLocationSharing": { "enabled": true } },
        { "clientMutationId": "s2", "clockIn": { "buildingId": building(&app, 3),
            "location": { "latitude": 1.5, "longitude": 2.5 } } },
        { "clientMutationId": "s3", "setWorkerStatus": { "status": "TRAVELING" } },
        { "clientMutationId": "s4", "reportLocation": { "latitude": 3.5, "longitude": 4.5,
            "accuracy": 7.0 } },
        { "clientMutationId": "s5", "clockOut": {} },
        { "clientMutationId": "s6", "clockOut": {}, "setWorkerStatus": { "status": "ON_DUTY" } },
    ]);

    let answer = app
        .graphql(Some(&app.worker(4)), push, json!({ "ops": ops.clone() }))
        .await;
    let replay = app
        .graphql(Some(&app.worker(4)), push, json!({ "ops": ops }))
        .await;

    let results = answer.ok()["syncPush"].as_array().unwrap().clone();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["result"]["entityType"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        kinds,
        [
            "USER",
            "TIME_ENTRY",
            "WORKER_STATUS",
            "WORKER_STATUS",
            "TIME_ENTRY",
            "-"
        ],
        "{results:?}"
    );
    assert_eq!(results[5]["status"], "FAILED");
    assert_eq!(results[5]["error"]["code"], "BAD_USER_INPUT");
    let replayed = replay.ok()["syncPush"].as_array().unwrap().clone();
    for (first, again) in results.iter().zip(&replayed).take(5) {
        assert_eq!(first, again, "a replay answers the first result");
    }
    assert_eq!(
        entries(&app, 4).await.len(),
        6,
        "five demo days and one shift"
    );
    assert!(open_entries(&app, 4).await.is_empty());
    let now = status(&app, 4).await;
    assert_eq!(now["status"], "OFF_DUTY");
    assert_eq!(
        now["location"],
        json!({ "latitude": 3.5, "longitude": 4.5, "accuracyMeters": 7.0 })
    );
}

async fn worker_writes_appear_in_the_workers_sync_pull(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(1);
    let cursor = pull(&app, &token, Value::Null).await["cursor"].clone();
    let entry_id = open_entries(&app, 1).await[0]["id"].clone();

    let out = app.graphql(Some(&token), &clock_out(), json!({})).await;
    written(&out, "clockOut");
    let located = app
        .graphql(
            Some(&token),
            &report_location(),
            json!({ "lat": 10.0, "lng": 20.0, "acc": 4.0 }),
        )
        .await;
    written(&located, "reportLocation");

    let pulled = pull(&app, &token, cursor).await;
    let changes = pulled["changes"].as_array().unwrap();
    let entry = changes
        .iter()
        .find(|c| c["entityType"] == "TIME_ENTRY")
        .unwrap_or_else(|| panic!("the clock-out: {pulled}"));
    assert_eq!(entry["entityId"], entry_id);
    assert_eq!(entry["op"], "UPDATED");
    assert!(entry["snapshot"]["clockOutAt"].is_string());
    let status = changes
        .iter()
        .find(|c| c["entityType"] == "WORKER_STATUS")
        .unwrap_or_else(|| panic!("the status: {pulled}"));
    assert_eq!(status["entityId"], worker_id(&app, 1).as_str());
    assert_eq!(status["snapshot"]["status"], "OFF_DUTY");
    assert_eq!(status["snapshot"]["latitude"], 10.0);
    assert_eq!(status["version"], 3, "clock-out, then the location");
    // Another worker is told nothing of it.
    let other = pull(&app, &app.worker(3), Value::Null).await;
    assert!(
        other["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["entityId"] != entry_id),
        "{other}"
    );
}

crate::on_both_backends!(
    worker_clocks_in_at_an_assigned_building_and_goes_on_duty,
    worker_who_shares_clocks_in_with_a_location,
    worker_clocks_out_and_goes_off_duty,
    worker_sets_their_duty_status_without_touching_their_entries,
    worker_who_shares_reports_their_location,
    switching_sharing_off_erases_the_stored_location,
    clocking_in_twice_is_refused_and_stores_nothing,
    clocking_out_while_clocked_out_is_refused,
    a_location_while_sharing_is_off_is_refused_and_stores_nothing,
    coordinates_off_the_globe_are_refused,
    only_workers_make_worker_writes,
    clocking_in_at_a_building_one_is_not_assigned_to_is_not_found,
    replaying_a_clock_in_returns_the_first_result_and_creates_one_entry,
    two_clock_ins_at_once_open_one_entry,
    worker_writes_replay_through_sync_push,
    worker_writes_appear_in_the_workers_sync_pull,
);
