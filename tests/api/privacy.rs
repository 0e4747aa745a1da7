//! Snapshots follow the typed fields' rules, every way out: a worker's
//! locations (current and recorded) and a user's email reach the JSON
//! `snapshot` of `syncPull`, of every subscription (live and replayed with
//! `after:`) and of `WriteResult` exactly when the typed fields show them,
//! for every role.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Backend, TestApp, spawn_app};
use crate::ws::{Socket, ready_socket, send, subscribe};

/// Every location field of a status or time entry snapshot (camelCase).
const LOCATION_KEYS: [&str; 8] = [
    "latitude",
    "longitude",
    "accuracyM",
    "locationAt",
    "clockInLatitude",
    "clockInLongitude",
    "clockOutLatitude",
    "clockOutLongitude",
];

const PRESENCE: &str = "[WORKER_STATUS, TIME_ENTRY, USER]";

fn located(snapshot: &Value) -> bool {
    LOCATION_KEYS.iter().any(|k| !snapshot[k].is_null())
}

/// `(entityType, snapshot)` of every presence change after `after`.
async fn pulled(app: &TestApp, token: &str, after: &str) -> Vec<(String, Value)> {
    let query = format!(
        "query($a: String) {{ syncPull(after: $a, entityTypes: {PRESENCE}, limit: 1000) \
         {{ changes {{ entityType snapshot }} }} }}"
    );
    app.graphql(Some(token), &query, json!({ "a": after }))
        .await
        .ok()["syncPull"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["entityType"].as_str().unwrap().to_owned(),
                c["snapshot"].clone(),
            )
        })
        .collect()
}

/// A socket of `token` running `query` (a subscription whose one root
/// field selects `entityType snapshot`).
async fn following(app: &TestApp, token: &str, query: &str, variables: Value) -> Socket {
    let mut socket = ready_socket(app, token).await;
    send(&mut socket, subscribe("s", query, variables)).await;
    socket
}

/// `(entityType, snapshot)` of the events that arrive until the socket has
/// been quiet for a second and a half.
async fn events(socket: &mut Socket) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_millis(1500), socket.next()).await
    {
        let Message::Text(text) = frame else { continue };
        let message: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(message["type"], "next", "{message}");
        let data = message["payload"]["data"].as_object().unwrap();
        let event = data.values().next().unwrap();
        out.push((
            event["entityType"]
                .as_str()
                .unwrap_or("WORKER_STATUS")
                .to_owned(),
            event["snapshot"].clone(),
        ));
    }
    out
}

/// Whether any snapshot holds a location.
fn any_located(snapshots: &[(String, Value)]) -> bool {
    snapshots.iter().any(|(_, s)| located(s))
}

async fn locations_and_emails_reach_snapshots_exactly_where_typed_fields_show_them(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let start = app.newest_cursor().await;
    let worker1 = app.demo.workers[0].to_string();
    let changes =
        format!("subscription {{ changes(entityTypes: {PRESENCE}) {{ entityType snapshot }} }}");
    let located_feed =
        "subscription($w: ID) { workerLocationUpdated(workerId: $w) { entityType snapshot } }";
    let mut live = following(&app, &app.admin(), &changes, json!({})).await;
    let mut live_locations =
        following(&app, &app.admin(), located_feed, json!({ "w": worker1 })).await;

    // Worker1, who shares (and is on duty), clocks out and in, moves,
    // clocks out and in again.
    let here = json!({ "latitude": 40.7, "longitude": -74.0 });
    let clock_in = "mutation($b: ID!, $l: LocationInput) { clockIn(buildingId: $b, location: $l) { outcome } }";
    let clock_out = "mutation($l: LocationInput) { clockOut(location: $l) { outcome } }";
    let building = app.demo.buildings[0].to_string();
    for (query, variables) in [
        (clock_out, json!({ "l": here })),
        (clock_in, json!({ "b": building, "l": here })),
        (
            "mutation { reportLocation(latitude: 40.71, longitude: -74.01) { outcome } }",
            json!({}),
        ),
        (clock_out, json!({ "l": here })),
        (clock_in, json!({ "b": building, "l": here })),
    ] {
        app.graphql(Some(&app.worker(1)), query, variables)
            .await
            .ok();
    }

    // While they share, coordinates do flow where the rules allow (so the
    // checks below can fail): to administrators and to worker1.
    assert!(any_located(&pulled(&app, &app.admin(), &start).await));
    assert!(any_located(&pulled(&app, &app.worker(1), &start).await));
    assert!(!any_located(&pulled(&app, &app.client(1), &start).await));
    assert!(!any_located(&pulled(&app, &app.worker(2), &start).await));
    assert!(
        any_located(&events(&mut live).await),
        "the live feed, while sharing"
    );
    assert!(any_located(&events(&mut live_locations).await));

    // Worker1 stops sharing, then clocks out: the entry they close holds
    // the clock-in location recorded while they shared.
    app.graphql(
        Some(&app.worker(1)),
        "mutation { setLocationSharing(enabled: false) { outcome } }",
        json!({}),
    )
    .await
    .ok();
    let out = app
        .graphql(
            Some(&app.worker(1)),
            "mutation { clockOut { snapshot entity { ... on TimeEntry { clockInLocation { latitude } } } } }",
            json!({}),
        )
        .await;
    let out = &out.ok()["clockOut"];
    assert!(
        out["entity"]["clockInLocation"].is_null(),
        "the typed field hides it: {out}"
    );
    assert!(
        !located(&out["snapshot"]),
        "WriteResult.snapshot hides it too: {out}"
    );
    let after_switch = events(&mut live).await;
    assert!(!after_switch.is_empty(), "the live feed went on");
    assert!(
        !any_located(&after_switch),
        "live, after the switch: {after_switch:?}"
    );

    // Typed fields: no location of worker1 for anyone now.
    let typed = app
        .graphql(
            Some(&app.admin()),
            "query($w: ID!) { timeEntries(workerId: $w, first: 100) { edges { node { clockInLocation { latitude } clockOutLocation { latitude } } } } \
             workerStatuses { worker { id } location { latitude } } }",
            json!({ "w": worker1 }),
        )
        .await;
    for entry in typed.nodes("timeEntries") {
        assert!(
            entry["clockInLocation"].is_null() && entry["clockOutLocation"].is_null(),
            "{entry}"
        );
    }
    for status in typed.ok()["workerStatuses"].as_array().unwrap() {
        if status["worker"]["id"] == worker1.as_str() {
            assert!(status["location"].is_null(), "{status}");
        }
    }

    // Every role, every way out, over the whole history.
    let viewers = [
        ("admin", app.admin(), app.demo.admin.to_string()),
        ("worker1", app.worker(1), worker1.clone()),
        ("worker2", app.worker(2), app.demo.workers[1].to_string()),
        ("client1", app.client(1), app.demo.clients[0].to_string()),
    ];
    for (name, token, id) in &viewers {
        let replay = format!(
            "subscription {{ changes(entityTypes: {PRESENCE}, after: \"{start}\") {{ entityType snapshot }} }}"
        );
        let mut replayed = following(&app, token, &replay, json!({})).await;
        for (way, snapshots) in [
            ("syncPull", pulled(&app, token, &start).await),
            ("changes(after:)", events(&mut replayed).await),
        ] {
            assert!(
                !snapshots.is_empty() || *name == "worker2",
                "{name} {way}: saw nothing"
            );
            assert!(!any_located(&snapshots), "{name} {way}: {snapshots:?}");
            for (entity_type, snapshot) in &snapshots {
                if entity_type == "USER" {
                    let own = snapshot["id"] == id.as_str();
                    assert_eq!(
                        snapshot.get("email").is_some(),
                        *name == "admin" || own,
                        "{name} {way}: email as `users` shows it: {snapshot}"
                    );
                }
            }
        }
    }
    let mut replayed_locations = following(
        &app,
        &app.admin(),
        "subscription($w: ID, $a: String) { workerLocationUpdated(workerId: $w, after: $a) { entityType snapshot } }",
        json!({ "w": worker1, "a": start }),
    )
    .await;
    let replayed = events(&mut replayed_locations).await;
    assert!(
        !any_located(&replayed),
        "workerLocationUpdated(after:): {replayed:?}"
    );
}

crate::on_both_backends!(locations_and_emails_reach_snapshots_exactly_where_typed_fields_show_them,);
