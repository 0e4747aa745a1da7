//! Delivery: each provider gets the right request, once; dead tokens are
//! deactivated, transient failures retried, receipts read, and a sender
//! killed mid-send loses nothing.

use std::time::Duration;

use entity::enums::NotificationStatus;
use serde_json::{Value, json};

use super::mocks::{
    ADMIN_PHONE, Script, TOPIC, WORKER_PHONE, app_with_providers, assign_to_worker1,
    notifications_of, only, register, start_expo, wait_for,
};
use crate::helpers::{Backend, ServeProcess, TestApp, spawn_app};

const CLIENT1_PHONE: &str = "ExponentPushToken[client1-phone-000000]";
const APNS_PHONE: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

async fn an_assigned_worker_gets_one_push_on_each_device(backend: Backend) {
    let (app, seen, apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.worker(1), "EXPO", WORKER_PHONE).await;
    register(&app, &app.worker(1), "APNS", APNS_PHONE).await;

    let (task_id, title) = assign_to_worker1(&app).await;

    let rows = wait_for(&app, app.demo.workers[0], NotificationStatus::Sent, 2).await;
    assert_eq!(rows.len(), 2, "one per device: {rows:?}");
    assert!(rows.iter().all(|r| r.attempts == 1 && r.sent_at.is_some()));
    assert!(rows.iter().all(|r| r.provider_ticket.is_some()));
    let link = format!("fieldsync://tasks/{task_id}");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.answered.len(), 1, "{:?}", seen.answered);
        let message = &seen.answered[0];
        assert_eq!(message["to"], WORKER_PHONE);
        assert_eq!(message["title"], "New task assigned");
        assert_eq!(message["body"], title);
        assert_eq!(message["priority"], "high");
        assert_eq!(message["data"]["url"], link);
        assert_eq!(message["data"]["entityType"], "TASK");
        assert_eq!(message["data"]["entityId"], task_id);
        assert!(
            message["badge"].as_u64().is_some_and(|b| b >= 1),
            "{message}"
        );
        assert_eq!(
            seen.authorization.as_deref(),
            Some("Bearer expo-test-access-token")
        );
        assert!(seen.all_gzip, "Expo requests are gzip-compressed");
    }
    let sent = apns.to(APNS_PHONE);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = &sent[0];
    assert_eq!(request.topic, TOPIC);
    assert_eq!(request.push_type, "alert");
    assert_eq!(request.priority, 10);
    assert!(!request.sandbox);
    assert_eq!(
        request.collapse_id.as_deref(),
        Some(&*format!("TASK:{task_id}"))
    );
    assert!(request.expiration > chrono::Utc::now().timestamp() as u64);
    assert_eq!(request.payload["url"], link);
    assert_eq!(
        request.payload["aps"]["alert"]["title"],
        "New task assigned"
    );
    assert_eq!(request.payload["aps"]["alert"]["body"], title);
    assert_eq!(
        request.payload["aps"]["thread-id"],
        format!("TASK:{task_id}")
    );

    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "fieldsync_push_sent_total{provider=\"apns\"}",
        "fieldsync_push_sent_total{provider=\"expo\"}",
        "fieldsync_push_queue_depth",
        "fieldsync_push_send_seconds",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

/// Registers worker1's phone, assigns them a task and waits for its
/// notification to fail with Expo's `DeviceNotRegistered`.
async fn worker1_push_failed_as_unregistered(app: &TestApp) -> entity::notification::Model {
    register(app, &app.worker(1), "EXPO", WORKER_PHONE).await;
    assign_to_worker1(app).await;
    let rows = wait_for(app, app.demo.workers[0], NotificationStatus::Failed, 1).await;
    let row = only(&rows, NotificationStatus::Failed);
    assert!(
        row.error
            .as_deref()
            .is_some_and(|e| e.contains("DeviceNotRegistered")),
        "{row:?}"
    );
    row
}

async fn a_device_expo_no_longer_knows_is_deactivated(backend: Backend) {
    let (app, _seen, _apns) =
        app_with_providers(backend, Script::DeviceNotRegistered, |_| {}).await;
    worker1_push_failed_as_unregistered(&app).await;
    let mine = app.query(&app.worker(1), "{ myDevices { id } }").await;
    assert_eq!(mine.ok()["myDevices"], json!([]));
}

async fn apns_answers_deactivate_retry_or_fail(backend: Backend) {
    let (app, _seen, apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    let phone = |n: u8| format!("{n:02x}").repeat(32);
    apns.script(&phone(1), &[(410, "Unregistered")]);
    apns.script(&phone(2), &[(400, "BadDeviceToken")]);
    apns.script(
        &phone(3),
        &[
            (429, "TooManyRequests"),
            (503, "ServiceUnavailable"),
            (500, "InternalServerError"),
        ],
    );
    apns.script(&phone(4), &[(400, "BadTopic")]);
    for n in 1..=4 {
        register(&app, &app.worker(1), "APNS", &phone(n)).await;
    }

    assign_to_worker1(&app).await;

    let worker = app.demo.workers[0];
    wait_for(&app, worker, NotificationStatus::Failed, 3).await;
    let rows = wait_for(&app, worker, NotificationStatus::Sent, 1).await;
    let devices = app
        .query(&app.worker(1), "{ myDevices { token } }")
        .await
        .ok()["myDevices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["token"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        devices.len(),
        2,
        "410 and BadDeviceToken deactivate, BadTopic does not: {devices:?}"
    );
    assert!(devices.contains(&phone(3)) && devices.contains(&phone(4)));
    let sent = only(&rows, NotificationStatus::Sent);
    assert_eq!(sent.attempts, 4, "429, 503, 500, then 200");
    assert_eq!(apns.to(&phone(3)).len(), 4);
    assert_eq!(
        apns.to(&phone(4)).len(),
        1,
        "a permanent error is not retried"
    );
    let errors: Vec<String> = rows.iter().filter_map(|r| r.error.clone()).collect();
    for reason in ["410: Unregistered", "400: BadDeviceToken", "400: BadTopic"] {
        assert!(
            errors.iter().any(|e| e.contains(reason)),
            "{reason}: {errors:?}"
        );
    }
}

async fn transient_expo_failures_are_retried_and_delivered_once(backend: Backend) {
    for script in [Script::UnavailableOnce, Script::TooManyRequestsOnce] {
        let (app, seen, _apns) = app_with_providers(backend.clone(), script, |_| {}).await;
        register(&app, &app.worker(1), "EXPO", WORKER_PHONE).await;

        assign_to_worker1(&app).await;

        let rows = wait_for(&app, app.demo.workers[0], NotificationStatus::Sent, 1).await;
        assert_eq!(
            only(&rows, NotificationStatus::Sent).attempts,
            2,
            "{script:?}"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen.requests, 2, "{script:?}");
        assert_eq!(seen.answered.len(), 1, "{script:?}: delivered once");
    }
}

async fn the_actor_is_never_notified_of_their_own_change(backend: Backend) {
    let (app, seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.client(1), "EXPO", CLIENT1_PHONE).await;
    register(&app, &app.admin(), "EXPO", ADMIN_PHONE).await;
    // A task the admin created: its completion concerns its creator and the
    // building's clients, and the admin completes it.
    let tasks = app
        .graphql(
            Some(&app.admin()),
            "query($b: ID!) { tasks(filter: { buildingId: $b, status: [IN_PROGRESS] }) { edges { node { id createdBy { id } } } } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await
        .nodes("tasks");
    let admin = app.demo.admin.to_string();
    let task = tasks
        .iter()
        .find(|t| t["createdBy"]["id"] == admin.as_str())
        .expect("a task the admin created");
    app.graphql(
        Some(&app.admin()),
        "mutation($id: ID!) { completeTask(id: $id) { outcome } }",
        json!({ "id": task["id"] }),
    )
    .await
    .ok();

    wait_for(&app, app.demo.clients[0], NotificationStatus::Sent, 1).await;
    // One change, routed in one transaction: had the admin been a
    // recipient, their row would exist by now.
    assert!(notifications_of(&app, app.demo.admin).await.is_empty());
    let seen = seen.lock().unwrap();
    let recipients: Vec<&Value> = seen.answered.iter().map(|m| &m["to"]).collect();
    assert_eq!(recipients, [CLIENT1_PHONE]);
}

async fn an_expo_receipt_reporting_a_dead_device_deactivates_it(backend: Backend) {
    let (app, seen, _apns) =
        app_with_providers(backend, Script::ReceiptDeviceNotRegistered, |push| {
            push.push.expo_receipt_delay_secs = 0;
        })
        .await;
    let row = worker1_push_failed_as_unregistered(&app).await;
    assert!(row.receipt_checked_at.is_some());
    let ticket = row.provider_ticket.clone().expect("the ticket was kept");
    assert_eq!(seen.lock().unwrap().receipt_requests, [vec![ticket]]);
    let mine = app.query(&app.worker(1), "{ myDevices { id } }").await;
    assert_eq!(mine.ok()["myDevices"], json!([]));
}

/// A `fieldsync serve` process claims a notification and is killed while
/// Expo has not answered; a server started afterwards claims it again and
/// delivers it.
async fn a_sender_killed_mid_send_delivers_after_restart(backend: Backend) {
    // The test's own server writes but does not push.
    let app = spawn_app(backend).await;
    register(&app, &app.worker(1), "EXPO", WORKER_PHONE).await;
    let (hanging, hung) = start_expo(Script::Hang).await;
    let server = ServeProcess::start(
        &app,
        &[
            ("FIELDSYNC_PUSH_EXPO_BASE_URL", &hanging),
            ("FIELDSYNC_PUSH_WORKER_INTERVAL_MS", "50"),
        ],
    )
    .await;

    assign_to_worker1(&app).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while hung.lock().unwrap().requests == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never sent");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.kill();
    let rows = notifications_of(&app, app.demo.workers[0]).await;
    assert_eq!(only(&rows, NotificationStatus::Sending).attempts, 1);

    // Restart: a server with a working Expo reclaims the abandoned row.
    let (url, seen) = start_expo(Script::Accept).await;
    let mut restarted = (*app.state.settings).clone();
    restarted.push.expo_base_url = Some(url);
    restarted.push.worker_interval_ms = 50;
    restarted.push.claim_timeout_secs = 1;
    let state = fieldsync::state::AppState::connect(restarted)
        .await
        .unwrap();
    let server = fieldsync::Application::build(state).await.unwrap();
    let stop = server.shutdown_token();
    tokio::spawn(server.run());

    let rows = wait_for(&app, app.demo.workers[0], NotificationStatus::Sent, 1).await;
    stop.cancel();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].attempts, 2);
    assert_eq!(
        seen.lock().unwrap().answered.len(),
        1,
        "sent once after restart"
    );
}

crate::on_both_backends!(
    an_assigned_worker_gets_one_push_on_each_device,
    a_device_expo_no_longer_knows_is_deactivated,
    apns_answers_deactivate_retry_or_fail,
    transient_expo_failures_are_retried_and_delivered_once,
    the_actor_is_never_notified_of_their_own_change,
    an_expo_receipt_reporting_a_dead_device_deactivates_it,
    a_sender_killed_mid_send_delivers_after_restart,
);
