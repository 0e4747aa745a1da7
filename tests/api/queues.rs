//! Offline queues that span calls: a queue named by `queueId` keeps its own
//! earlier writes as its base in every later push; an answer never hides a
//! value that did not survive (`overriddenFields`); and queued operations
//! carry when they happened (`occurredAt`), which clocking and task
//! completion are stamped with, inside the clock window.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

const PUSH: &str = "mutation($ops: [SyncOperationInput!]!, $queue: String) { syncPush(operations: $ops, queueId: $queue) { clientMutationId status error { code message } result { version mergedFields overriddenFields snapshot } } }";

/// Pushes `ops` as the holder of `token`, from `queue`; the results.
async fn push(app: &TestApp, token: &str, queue: Option<&str>, ops: Value) -> Vec<Value> {
    let answer = app
        .graphql(Some(token), PUSH, json!({ "ops": ops, "queue": queue }))
        .await;
    answer.ok()["syncPush"].as_array().unwrap().clone()
}

/// `n` IN_PROGRESS tasks assigned to `worker` (a demo user id), with versions.
async fn in_progress_of(app: &TestApp, worker: impl ToString, n: usize) -> Vec<(String, i64)> {
    let query = format!(
        "{{ tasks(filter: {{ status: [IN_PROGRESS], assigneeId: \"{}\" }}) {{ edges {{ node {{ id version }} }} }} }}",
        worker.to_string()
    );
    let tasks: Vec<(String, i64)> = app
        .query(&app.admin(), &query)
        .await
        .nodes("tasks")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(tasks.len() >= n, "the demo has {n} such tasks: {tasks:?}");
    tasks
}

fn set_status(cmid: &str, id: &str, version: i64, status: &str) -> Value {
    json!({ "clientMutationId": cmid, "updateTask": { "id": id, "expectedVersion": version, "patch": { "status": status } } })
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let answer = app
        .graphql(
            Some(&app.admin()),
            "query($id: ID!) { task(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    answer.ok()["task"]["status"].as_str().unwrap().to_owned()
}

/// The phone: BLOCKED, then (a later push, same base) back to
/// IN_PROGRESS. With its queue named, the second edit is the phone's own
/// next step and lands; without, the server cannot tell it from a stale
/// edit, keeps BLOCKED, and says so in `overriddenFields`. A queue id is
/// the user's own: another user naming it gains nothing.
async fn a_queue_spanning_calls_keeps_its_own_edits(backend: Backend) {
    let app = spawn_app(backend).await;
    let worker = app.worker(1);
    let tasks = in_progress_of(&app, app.demo.workers[0], 2).await;

    let (named, v) = &tasks[0];
    let first = push(
        &app,
        &worker,
        Some("phone-1"),
        json!([set_status("a1", named, *v, "BLOCKED")]),
    )
    .await;
    assert_eq!(first[0]["status"], "APPLIED", "{first:?}");
    let second = push(
        &app,
        &worker,
        Some("phone-1"),
        json!([set_status("a2", named, *v, "IN_PROGRESS")]),
    )
    .await;
    assert_eq!(second[0]["status"], "MERGED", "{second:?}");
    assert_eq!(
        second[0]["result"]["overriddenFields"],
        json!([]),
        "{second:?}"
    );
    assert_eq!(status_of(&app, named).await, "IN_PROGRESS");

    // Positive control: the same two pushes with no queue named.
    let (unnamed, v) = &tasks[1];
    push(
        &app,
        &worker,
        None,
        json!([set_status("b1", unnamed, *v, "BLOCKED")]),
    )
    .await;
    let second = push(
        &app,
        &worker,
        None,
        json!([set_status("b2", unnamed, *v, "IN_PROGRESS")]),
    )
    .await;
    assert_eq!(second[0]["status"], "MERGED", "{second:?}");
    assert_eq!(
        second[0]["result"]["overriddenFields"],
        json!(["status"]),
        "the answer names the value that did not survive: {second:?}"
    );
    assert_eq!(status_of(&app, unnamed).await, "BLOCKED");

    // Within one call, the call is its own queue, as before.
    let (one_call, v) = &in_progress_of(&app, app.demo.workers[0], 1).await[0];
    let both = push(
        &app,
        &worker,
        None,
        json!([
            set_status("c1", one_call, *v, "BLOCKED"),
            set_status("c2", one_call, *v, "IN_PROGRESS")
        ]),
    )
    .await;
    assert_eq!(both[1]["result"]["overriddenFields"], json!([]), "{both:?}");
    assert_eq!(status_of(&app, one_call).await, "IN_PROGRESS");

    // The administrator names worker1's queue: their stale edit is still
    // a stale edit, and the answer says what stood.
    let (theirs, v) = &in_progress_of(&app, app.demo.workers[0], 1).await[0];
    push(
        &app,
        &worker,
        Some("phone-9"),
        json!([set_status("d1", theirs, *v, "BLOCKED")]),
    )
    .await;
    let admin = push(
        &app,
        &app.admin(),
        Some("phone-9"),
        json!([set_status("d2", theirs, *v, "IN_PROGRESS")]),
    )
    .await;
    assert_eq!(
        admin[0]["result"]["overriddenFields"],
        json!(["status"]),
        "{admin:?}"
    );
    assert_eq!(status_of(&app, theirs).await, "BLOCKED");

    // A queue id must be 1 to 128 bytes.
    for bad in ["", &"q".repeat(129)] {
        let answer = app
            .graphql(Some(&worker), PUSH, json!({ "ops": [], "queue": bad }))
            .await;
        assert_eq!(
            answer.error_code(),
            Some("BAD_USER_INPUT"),
            "{:?}",
            answer.body
        );
    }
}

/// The time entries of worker4 (off duty in the demo) since `from`.
async fn entries_since(app: &TestApp, from: DateTime<Utc>) -> Vec<Value> {
    let answer = app
        .graphql(
            Some(&app.admin()),
            "query($w: ID!, $from: DateTime) { timeEntries(workerId: $w, from: $from, first: 100) { edges { node { id clockInAt clockOutAt } } } }",
            json!({ "w": app.demo.workers[3].to_string(), "from": from }),
        )
        .await;
    answer.nodes("timeEntries")
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

fn near(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).num_milliseconds().abs() < 1000
}

/// Worker4 worked 5 to 2 hours ago without a network: the entry, the hours
/// and a task's completion carry those times. Times in the future or
/// beyond the offline window, and times that would overlap or invert an
/// entry, are refused and store nothing.
async fn queued_times_stamp_entries_hours_and_completions(backend: Backend) {
    let app = spawn_app(backend).await;
    let worker = app.worker(4);
    let now = Utc::now();
    let building = app.demo.buildings[2].to_string();
    let clock_in = |cmid: &str, at: DateTime<Utc>| json!({ "clientMutationId": cmid, "occurredAt": at, "clockIn": { "buildingId": building } });
    let clock_out = |cmid: &str, at: DateTime<Utc>| json!({ "clientMutationId": cmid, "occurredAt": at, "clockOut": {} });
    let window_start = now - Duration::hours(6);
    assert!(entries_since(&app, window_start).await.is_empty());

    // Refused, one by one, with nothing stored.
    let refused = push(
        &app,
        &worker,
        Some("w4"),
        json!([
            clock_in("future", now + Duration::hours(1)),
            clock_in("ancient", now - Duration::hours(24 * 8)),
        ]),
    )
    .await;
    for result in &refused {
        assert_eq!(result["status"], "FAILED", "{refused:?}");
        assert_eq!(result["error"]["code"], "BAD_USER_INPUT", "{refused:?}");
    }
    assert!(
        refused[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("future")
    );
    assert!(
        entries_since(&app, window_start).await.is_empty(),
        "nothing stored"
    );

    // The shift, as it happened.
    let (start, end) = (now - Duration::hours(5), now - Duration::hours(2));
    let shift = push(
        &app,
        &worker,
        Some("w4"),
        json!([clock_in("in", start), clock_out("out", end)]),
    )
    .await;
    assert!(shift.iter().all(|r| r["status"] == "APPLIED"), "{shift:?}");
    let entries = entries_since(&app, window_start).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(near(time(&entries[0]["clockInAt"]), start), "{entries:?}");
    assert!(near(time(&entries[0]["clockOutAt"]), end), "{entries:?}");
    let metrics = app
        .graphql(
            Some(&app.admin()),
            "query($w: ID!, $from: DateTime!, $to: DateTime!) { workerMetrics(workerId: $w, from: $from, to: $to) { hoursWorked } }",
            json!({ "w": app.demo.workers[3].to_string(), "from": window_start, "to": now }),
        )
        .await;
    let hours = metrics.ok()["workerMetrics"]["hoursWorked"]
        .as_f64()
        .unwrap();
    assert!(
        (hours - 3.0).abs() < 0.01,
        "three hours worked, not {hours}"
    );

    // Overlapping the shift, or clocking out before clocking in: refused.
    let overlap = push(
        &app,
        &worker,
        Some("w4"),
        json!([clock_in("overlap", now - Duration::hours(3))]),
    )
    .await;
    assert_eq!(overlap[0]["error"]["code"], "BAD_USER_INPUT", "{overlap:?}");
    let inverted = push(
        &app,
        &worker,
        Some("w4"),
        json!([
            clock_in("in2", now - Duration::minutes(60)),
            clock_out("out2", now - Duration::minutes(90))
        ]),
    )
    .await;
    assert_eq!(inverted[0]["status"], "APPLIED", "{inverted:?}");
    assert_eq!(
        inverted[1]["error"]["code"], "BAD_USER_INPUT",
        "{inverted:?}"
    );
    let entries = entries_since(&app, window_start).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries.iter().any(|e| e["clockOutAt"].is_null()),
        "still clocked in"
    );

    // A task completed offline half an hour ago.
    let (task, version) = &in_progress_of(&app, app.demo.workers[0], 1).await[0];
    let done_at = now - Duration::minutes(30);
    let completed = push(
        &app,
        &app.worker(1),
        Some("w1"),
        json!([{ "clientMutationId": "done", "occurredAt": done_at, "updateTask": { "id": task, "expectedVersion": version, "patch": { "status": "COMPLETED" } } }]),
    )
    .await;
    assert_eq!(completed[0]["status"], "APPLIED", "{completed:?}");
    let answer = app
        .graphql(
            Some(&app.admin()),
            "query($id: ID!) { task(id: $id) { completedAt } }",
            json!({ "id": task }),
        )
        .await;
    assert!(
        near(time(&answer.ok()["task"]["completedAt"]), done_at),
        "{:?}",
        answer.body
    );
}

crate::on_both_backends!(
    a_queue_spanning_calls_keeps_its_own_edits,
    queued_times_stamp_entries_hours_and_completions,
);
