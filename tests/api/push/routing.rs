//! Routing: who is told what, and when — building scoping, quiet hours,
//! burst folding, clock events for admins who opted in, overdue tasks.

use chrono::{Timelike, Utc};
use entity::enums::{NotificationCategory, NotificationStatus};
use serde_json::json;

use std::sync::{Arc, Mutex};

use entity::device;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::mocks::{
    ADMIN_PHONE, Script, Seen, WORKER_PHONE, app_with_providers, notifications_of, only, register,
    wait_for, wait_routed,
};
use crate::helpers::{Backend, PROGRESS, TestApp};

const CLIENT1_PHONE: &str = "ExponentPushToken[client1-phone-000000]";
const CLIENT2_PHONE: &str = "ExponentPushToken[client2-phone-000000]";
const WORKER2_PHONE: &str = "ExponentPushToken[worker2-phone-000000]";

async fn raise_alert(app: &TestApp, building: usize, severity: &str, message: &str) {
    let raise = "mutation($b: ID!, $s: AlertSeverity!, $m: String!) { raiseComplianceAlert(input: { buildingId: $b, severity: $s, message: $m }) { outcome } }";
    app.graphql(
        Some(&app.admin()),
        raise,
        json!({ "b": app.demo.buildings[building].to_string(), "s": severity, "m": message }),
    )
    .await
    .ok();
}

async fn a_critical_alert_reaches_the_buildings_clients_only(backend: Backend) {
    let (app, _seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.client(1), "EXPO", CLIENT1_PHONE).await;
    register(&app, &app.client(2), "EXPO", CLIENT2_PHONE).await;
    // The admin would be a recipient, but raises the alert.
    register(&app, &app.admin(), "EXPO", ADMIN_PHONE).await;
    for severity in ["WARNING", "CRITICAL"] {
        raise_alert(&app, 2, severity, "Sprinklers offline").await;
    }
    let rows = wait_for(&app, app.demo.clients[1], NotificationStatus::Sent, 1).await;
    assert_eq!(rows.len(), 1, "only the critical alert: {rows:?}");
    let building3 = app.demo.buildings[2];
    assert_eq!(
        rows[0].data["url"],
        format!("fieldsync://buildings/{building3}/compliance")
    );
    assert_eq!(rows[0].body, "Sprinklers offline");
    assert!(
        notifications_of(&app, app.demo.clients[0]).await.is_empty(),
        "client1 is not linked to building 3"
    );
    assert!(
        notifications_of(&app, app.demo.admin).await.is_empty(),
        "the actor is not told"
    );
}

/// Starts an ASSIGNED task of worker2 in building 1, as worker2; its id.
async fn started_worker2_task(app: &TestApp) -> String {
    let tasks = app
        .graphql(
            Some(&app.worker(2)),
            "query($b: ID!) { tasks(filter: { buildingId: $b, status: [ASSIGNED] }) { edges { node { id } } } }",
            json!({ "b": app.demo.buildings[0].to_string() }),
        )
        .await;
    let id = tasks.nodes("tasks")[0]["id"].as_str().unwrap().to_owned();
    as_worker2(
        app,
        "mutation($id: ID!) { startTask(id: $id) { outcome } }",
        &id,
    )
    .await;
    id
}

async fn as_worker2(app: &TestApp, mutation: &str, id: &str) {
    app.graphql(Some(&app.worker(2)), mutation, json!({ "id": id }))
        .await
        .ok();
}

async fn a_completed_task_reaches_the_buildings_clients_and_replaces_progress(backend: Backend) {
    let (app, _seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.client(1), "EXPO", CLIENT1_PHONE).await;
    let id = started_worker2_task(&app).await;
    as_worker2(
        &app,
        "mutation($id: ID!) { completeTask(id: $id) { outcome } }",
        &id,
    )
    .await;

    let rows = wait_for(&app, app.demo.clients[0], NotificationStatus::Sent, 1).await;
    let sent = only(&rows, NotificationStatus::Sent);
    assert_eq!(sent.title, "Task completed");
    assert_eq!(sent.data["url"], format!("fieldsync://tasks/{id}"));
    let progress = only(&rows, NotificationStatus::Cancelled);
    assert_eq!(
        progress.category,
        NotificationCategory::TaskUpdated,
        "the waiting progress notice gave way to the completion"
    );
}

async fn ten_progress_updates_within_the_window_are_one_notification(backend: Backend) {
    let (app, seen, _apns) = app_with_providers(backend, Script::Accept, |push| {
        push.push.collapse_window_secs = 5;
    })
    .await;
    register(&app, &app.client(1), "EXPO", CLIENT1_PHONE).await;
    let id = started_worker2_task(&app).await;
    for progress in 1..=10 {
        app.graphql(
            Some(&app.worker(2)),
            PROGRESS,
            json!({ "id": id, "p": progress * 5 }),
        )
        .await
        .ok();
    }

    let rows = wait_for(&app, app.demo.clients[0], NotificationStatus::Sent, 1).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].category, NotificationCategory::TaskUpdated);
    assert!(
        rows[0].body.ends_with("50% done"),
        "the latest: {}",
        rows[0].body
    );
    assert_eq!(rows[0].priority, 5, "routine");
    // Every update has been routed, and all of them folded into that one
    // row: no other row exists, sent or still waiting for its window.
    wait_routed(&app).await;
    let all = notifications_of(&app, app.demo.clients[0]).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(seen.lock().unwrap().answered.len(), 1);
}

/// `HH:MM` of `offset_minutes` from now in New York (the demo users' zone).
fn new_york_clock(offset_minutes: i64) -> String {
    let local = (Utc::now() + chrono::Duration::minutes(offset_minutes))
        .with_timezone(&chrono_tz::America::New_York);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

async fn quiet_hours_hold_a_normal_push_and_pass_a_critical_one(backend: Backend) {
    let (app, seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.client(2), "EXPO", CLIENT2_PHONE).await;
    let quiet = json!({ "start": new_york_clock(-60), "end": new_york_clock(60) });
    app.graphql(
        Some(&app.client(2)),
        "mutation($q: QuietHoursInput) { updateNotificationPreferences(preferences: [{ category: VIOLATION, enabled: true, quietHours: $q }, { category: COMPLIANCE_ALERT, enabled: true, quietHours: $q }]) { category } }",
        json!({ "q": quiet }),
    )
    .await
    .ok();
    app.graphql(
        Some(&app.admin()),
        "mutation($b: ID!) { createViolation(input: { buildingId: $b, source: \"FDNY\", code: \"FC-901\", description: \"Blocked exit\", severity: HIGH }) { outcome } }",
        json!({ "b": app.demo.buildings[2].to_string() }),
    )
    .await
    .ok();
    raise_alert(&app, 2, "CRITICAL", "Gas leak").await;

    let rows = wait_for(&app, app.demo.clients[1], NotificationStatus::Sent, 1).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(only(&rows, NotificationStatus::Sent).body, "Gas leak");
    let held = only(&rows, NotificationStatus::Pending);
    assert_eq!(held.category, NotificationCategory::Violation);
    let wait = held.next_attempt_at - Utc::now();
    assert!(
        wait > chrono::Duration::minutes(55) && wait <= chrono::Duration::minutes(61),
        "held until the quiet hours end: {wait:?}"
    );
    let answered = seen.lock().unwrap().answered.clone();
    assert_eq!(answered.len(), 1, "{answered:?}");
}

async fn clock_events_reach_only_admins_who_opted_in(backend: Backend) {
    let (app, _seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.admin(), "EXPO", ADMIN_PHONE).await;
    // Others with a phone who opted in too: a client of the building and a
    // fellow worker, neither of them an administrator.
    register(&app, &app.client(1), "EXPO", CLIENT1_PHONE).await;
    register(&app, &app.worker(2), "EXPO", WORKER2_PHONE).await;
    for token in [app.client(1), app.worker(2)] {
        let opted = app
            .graphql(
                Some(&token),
                "mutation { updateNotificationPreferences(preferences: [{ category: CLOCK_EVENT, enabled: true }]) { category enabled } }",
                json!({}),
            )
            .await;
        let preferences = opted.ok()["updateNotificationPreferences"].clone();
        assert!(
            preferences
                .as_array()
                .expect("preferences")
                .contains(&json!({ "category": "CLOCK_EVENT", "enabled": true })),
            "{preferences}"
        );
    }
    // worker1 starts the day clocked in (demo data).
    app.query(&app.worker(1), "mutation { clockOut { outcome } }")
        .await
        .ok();
    // Preferences apply when a change is routed.
    wait_routed(&app).await;
    app.graphql(
        Some(&app.admin()),
        "mutation { updateNotificationPreferences(preferences: [{ category: CLOCK_EVENT, enabled: true }]) { category } }",
        json!({}),
    )
    .await
    .ok();
    app.graphql(
        Some(&app.worker(1)),
        "mutation($b: ID!) { clockIn(buildingId: $b) { outcome } }",
        json!({ "b": app.demo.buildings[0].to_string() }),
    )
    .await
    .ok();

    let rows = wait_for(&app, app.demo.admin, NotificationStatus::Sent, 1).await;
    assert_eq!(
        rows.len(),
        1,
        "the clock-out came before the opt-in: {rows:?}"
    );
    assert_eq!(rows[0].category, NotificationCategory::ClockEvent);
    assert!(rows[0].title.ends_with("clocked in"), "{}", rows[0].title);
    assert!(
        rows[0].data["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("workers/{}", app.demo.workers[0]))
    );
    wait_routed(&app).await;
    for (who, user) in [
        ("the worker who clocked", app.demo.workers[0]),
        ("a client who opted in", app.demo.clients[0]),
        ("a worker who opted in", app.demo.workers[1]),
    ] {
        assert!(notifications_of(&app, user).await.is_empty(), "{who}");
    }
}

async fn a_task_falling_due_unfinished_is_announced_to_admins(backend: Backend) {
    let (app, _seen, _apns) = app_with_providers(backend, Script::Accept, |_| {}).await;
    register(&app, &app.admin(), "EXPO", ADMIN_PHONE).await;
    register(&app, &app.worker(1), "EXPO", WORKER_PHONE).await;
    let due = Utc::now() + chrono::Duration::seconds(2);
    let created = app
        .graphql(
            Some(&app.admin()),
            "mutation($b: ID!, $d: DateTime) { createTask(input: { buildingId: $b, title: \"Reset the breaker\", dueAt: $d }) { entityId } }",
            json!({ "b": app.demo.buildings[0].to_string(), "d": due.to_rfc3339() }),
        )
        .await;
    let id = created.ok()["createTask"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned();

    let rows = wait_for(&app, app.demo.admin, NotificationStatus::Sent, 1).await;
    let row = only(&rows, NotificationStatus::Sent);
    assert_eq!(row.category, NotificationCategory::TaskOverdue);
    assert_eq!(row.body, "Reset the breaker");
    assert_eq!(row.data["url"], format!("fieldsync://tasks/{id}"));
    wait_routed(&app).await;
    for (who, user) in [
        ("the worker who clocked", app.demo.workers[0]),
        ("a client who opted in", app.demo.clients[0]),
        ("a worker who opted in", app.demo.workers[1]),
    ] {
        assert!(notifications_of(&app, user).await.is_empty(), "{who}");
    }
}

/// Client1's phone with a progress notice for client1 waiting out its
/// collapse window (3 s).
async fn client1_notice_waiting(backend: Backend) -> (TestApp, Arc<Mutex<Seen>>) {
    let (app, seen, _apns) = app_with_providers(backend, Script::Accept, |push| {
        push.push.collapse_window_secs = 3;
    })
    .await;
    register(&app, &app.client(1), "EXPO", CLIENT1_PHONE).await;
    let id = started_worker2_task(&app).await;
    app.graphql(Some(&app.worker(2)), PROGRESS, json!({ "id": id, "p": 30 }))
        .await
        .ok();
    wait_for(&app, app.demo.clients[0], NotificationStatus::Pending, 1).await;
    (app, seen)
}

/// The sender delivers a notification only while its device still belongs
/// to the notification's user: a token that moved to someone else since it
/// was queued (here behind the API's back) gets nothing, and the
/// notification is cancelled.
async fn a_notification_is_sent_only_while_its_device_is_still_its_users(backend: Backend) {
    let (app, seen) = client1_notice_waiting(backend).await;
    let phone = device::Entity::find()
        .filter(device::Column::Token.eq(CLIENT1_PHONE))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut moved: device::ActiveModel = phone.into();
    moved.user_id = Set(app.demo.admin);
    moved.update(&app.state.db).await.unwrap();
    let rows = wait_for(&app, app.demo.clients[0], NotificationStatus::Cancelled, 1).await;
    assert!(
        rows.iter()
            .all(|r| r.status == NotificationStatus::Cancelled),
        "{rows:?}"
    );
    assert!(
        seen.lock().unwrap().answered.is_empty(),
        "nothing reached the phone"
    );
}

/// A phone's token cannot be taken by another organisation while it is
/// registered here; within the organisation it moves to its new user, and
/// what was queued for the old one is cancelled at once, never delivered.
async fn a_token_moves_only_within_the_organisation_and_leaves_the_old_owners_pushes_behind(
    backend: Backend,
) {
    let (app, seen) = client1_notice_waiting(backend).await;
    let taken = app
        .graphql(
            Some(&app.other_admin()),
            "mutation($t: String!) { registerDevice(provider: EXPO, token: $t, platform: IOS, environment: \"production\") { id } }",
            json!({ "t": CLIENT1_PHONE }),
        )
        .await;
    assert_eq!(taken.error_code(), Some("FORBIDDEN"), "{:?}", taken.body);
    let mine = app.query(&app.client(1), "{ myDevices { token } }").await;
    assert_eq!(mine.ok()["myDevices"][0]["token"], CLIENT1_PHONE);

    register(&app, &app.admin(), "EXPO", CLIENT1_PHONE).await;
    let rows = notifications_of(&app, app.demo.clients[0]).await;
    assert!(
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.status == NotificationStatus::Cancelled),
        "cancelled as the token moved: {rows:?}"
    );
    // Past the window, nothing of client1's went out.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert!(seen.lock().unwrap().answered.is_empty());
    let rows = notifications_of(&app, app.demo.clients[0]).await;
    assert!(
        rows.iter()
            .all(|r| r.status == NotificationStatus::Cancelled),
        "{rows:?}"
    );
}

crate::on_both_backends!(
    a_critical_alert_reaches_the_buildings_clients_only,
    a_completed_task_reaches_the_buildings_clients_and_replaces_progress,
    ten_progress_updates_within_the_window_are_one_notification,
    quiet_hours_hold_a_normal_push_and_pass_a_critical_one,
    clock_events_reach_only_admins_who_opted_in,
    a_task_falling_due_unfinished_is_announced_to_admins,
    a_notification_is_sent_only_while_its_device_is_still_its_users,
    a_token_moves_only_within_the_organisation_and_leaves_the_old_owners_pushes_behind,
);
