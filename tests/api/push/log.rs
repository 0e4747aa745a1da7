//! The delivery log (`notifications`) and `sendTestNotification`: who may
//! read what, and what a test push does.

use entity::enums::NotificationStatus;
use serde_json::json;

use super::mocks::{ADMIN_PHONE, Script, WORKER_PHONE, app_with_providers, register, wait_for};
use crate::helpers::{Backend, spawn_app};

const LOG: &str = "query($u: ID, $s: NotificationStatus) { notifications(userId: $u, status: $s, first: 10) { edges { node { id userId category title status attempts providerTicket lastError deepLink sentAt } } } }";
const SEND_TEST: &str = "mutation { sendTestNotification { id status category } }";

async fn a_test_push_is_sent_and_logged_for_its_owner_and_admins(backend: Backend) {
    let (app, seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.worker(1), "EXPO", WORKER_PHONE).await;

    let queued = app.query(&app.worker(1), SEND_TEST).await;
    let queued = queued.ok()["sendTestNotification"].clone();
    assert_eq!(queued.as_array().map(Vec::len), Some(1), "{queued}");
    assert_eq!(queued[0]["category"], "TEST");
    wait_for(&app, app.demo.workers[0], NotificationStatus::Sent, 1).await;
    assert_eq!(seen.lock().unwrap().answered[0]["to"], WORKER_PHONE);

    let worker = app.demo.workers[0].to_string();
    let mine = app.graphql(Some(&app.worker(1)), LOG, json!({})).await;
    let mine = mine.nodes("notifications");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["id"], queued[0]["id"]);
    assert_eq!(mine[0]["userId"], worker);
    assert_eq!(mine[0]["status"], "SENT");
    assert_eq!(mine[0]["attempts"], 1);
    assert!(mine[0]["providerTicket"].is_string());
    assert_eq!(mine[0]["lastError"], json!(null));
    assert_eq!(mine[0]["deepLink"], "fieldsync://settings/notifications");

    let by_admin = app
        .graphql(Some(&app.admin()), LOG, json!({ "u": worker, "s": "SENT" }))
        .await;
    assert_eq!(by_admin.nodes("notifications").len(), 1);
    let failed = app
        .graphql(
            Some(&app.admin()),
            LOG,
            json!({ "u": worker, "s": "FAILED" }),
        )
        .await;
    assert!(failed.nodes("notifications").is_empty());
    let other_org = app.graphql(Some(&app.other_admin()), LOG, json!({})).await;
    assert!(
        other_org.nodes("notifications").is_empty(),
        "another org's log is not theirs"
    );
    let nosy = app
        .graphql(Some(&app.worker(2)), LOG, json!({ "u": worker }))
        .await;
    assert_eq!(nosy.error_code(), Some("FORBIDDEN"));
    let nobody = app.graphql(Some(&app.worker(2)), LOG, json!({})).await;
    assert!(nobody.nodes("notifications").is_empty(), "worker2 has none");
    let bad = app
        .graphql(Some(&app.admin()), LOG, json!({ "u": "nope" }))
        .await;
    assert_eq!(bad.error_code(), Some("BAD_USER_INPUT"));
}

async fn a_test_push_needs_a_device_and_a_provider(backend: Backend) {
    let (app, _seen, _apns) = app_with_providers(backend.clone(), Script::Accept, |_| {}).await;
    register(&app, &app.admin(), "EXPO", ADMIN_PHONE).await;
    let none = app.query(&app.worker(1), SEND_TEST).await;
    assert_eq!(none.error_code(), Some("BAD_USER_INPUT"), "{:?}", none.body);

    let off = spawn_app(backend).await;
    let answer = off.query(&off.admin(), SEND_TEST).await;
    assert_eq!(
        answer.error_code(),
        Some("UNAVAILABLE"),
        "{:?}",
        answer.body
    );
    let unauthenticated = off.graphql(None, SEND_TEST, json!({})).await;
    assert_eq!(unauthenticated.error_code(), Some("UNAUTHENTICATED"));
}

crate::on_both_backends!(
    a_test_push_is_sent_and_logged_for_its_owner_and_admins,
    a_test_push_needs_a_device_and_a_provider,
);
