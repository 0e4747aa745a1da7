//! Push devices and notification preferences: registration is idempotent
//! per token, a token moves between users instead of being shared, and
//! preferences default to on.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

const REGISTER: &str = "mutation($p: PushProvider!, $t: String!, $os: DevicePlatform!, $env: String) { registerDevice(provider: $p, token: $t, platform: $os, environment: $env, appVersion: \"1.4.0\") { id provider token platform active } }";
const MINE: &str = "{ myDevices { id token provider } }";
const APNS_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn register(app: &TestApp, token: &str, provider: &str, push_token: &str) -> Value {
    app.graphql(
        Some(token),
        REGISTER,
        json!({ "p": provider, "t": push_token, "os": "IOS", "env": "production" }),
    )
    .await
    .body
}

async fn devices_register_idempotently_and_move_between_users(backend: Backend) {
    let app = spawn_app(backend).await;
    let expo = "ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]";
    let apns = "a".repeat(64);
    let first = register(&app, &app.worker(1), "EXPO", expo).await;
    let again = register(&app, &app.worker(1), "EXPO", expo).await;
    assert_eq!(
        first["data"]["registerDevice"]["id"], again["data"]["registerDevice"]["id"],
        "one row per token"
    );
    register(&app, &app.worker(1), "APNS", &apns).await;
    let mine = app.query(&app.worker(1), MINE).await;
    assert_eq!(mine.ok()["myDevices"].as_array().unwrap().len(), 2);

    // The phone changes hands: the token now belongs to worker2 only.
    register(&app, &app.worker(2), "EXPO", expo).await;
    let mine = app.query(&app.worker(1), MINE).await;
    assert_eq!(mine.ok()["myDevices"].as_array().unwrap().len(), 1);
    let theirs = app.query(&app.worker(2), MINE).await;
    assert_eq!(theirs.ok()["myDevices"][0]["token"], expo);

    let unregister = "mutation($t: String!) { unregisterDevice(token: $t) }";
    let not_mine = app
        .graphql(Some(&app.worker(1)), unregister, json!({ "t": expo }))
        .await;
    assert_eq!(
        not_mine.ok()["unregisterDevice"],
        false,
        "only your own devices"
    );
    let done = app
        .graphql(Some(&app.worker(2)), unregister, json!({ "t": expo }))
        .await;
    assert_eq!(done.ok()["unregisterDevice"], true);
    assert_eq!(
        app.query(&app.worker(2), MINE).await.ok()["myDevices"],
        json!([])
    );
}

async fn malformed_devices_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for (provider, token) in [
        ("EXPO", "not-a-token"),
        ("APNS", "zz"),
        ("APNS", "ExponentPushToken[abc]"),
    ] {
        let answer = register(&app, &app.worker(1), provider, token).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{provider} {token}"
        );
    }
    // A platform outside the enum, APNs for an Android phone, an APNs
    // token without its environment, an environment of neither kind.
    for (provider, token, os, env) in [
        ("EXPO", "ExpoPushToken[abc]", "WINDOWS", json!("production")),
        ("APNS", APNS_TOKEN, "ANDROID", json!("production")),
        ("APNS", APNS_TOKEN, "IOS", Value::Null),
        ("EXPO", "ExpoPushToken[abc]", "IOS", json!("staging")),
    ] {
        let refused = app
            .graphql(
                Some(&app.worker(1)),
                REGISTER,
                json!({ "p": provider, "t": token, "os": os, "env": env }),
            )
            .await;
        assert_eq!(
            refused.error_code(),
            Some("BAD_USER_INPUT"),
            "{provider} {os} {env}"
        );
    }
    let anonymous = app
        .graphql(
            None,
            REGISTER,
            json!({ "p": "EXPO", "t": "ExpoPushToken[abc]", "os": "IOS", "env": "production" }),
        )
        .await;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        app.query(&app.worker(1), MINE).await.ok()["myDevices"],
        json!([])
    );
    // An Expo token needs no environment.
    let android = app
        .graphql(
            Some(&app.worker(1)),
            REGISTER,
            json!({ "p": "EXPO", "t": "ExpoPushToken[abc]", "os": "ANDROID" }),
        )
        .await;
    assert_eq!(android.ok()["registerDevice"]["platform"], "ANDROID");
}

async fn preferences_default_to_on_and_keep_quiet_hours(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = "{ notificationPreferences { category enabled quietHours { start end } } }";
    // Everything is on, except clock events, which admins opt in to.
    let at_defaults = |list: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .all(|p| p["enabled"] == (p["category"] != "CLOCK_EVENT") && p["quietHours"].is_null())
    };
    let defaults = app.query(&app.client(1), query).await.ok()["notificationPreferences"].clone();
    assert!(at_defaults(&defaults), "{defaults}");
    let update = "mutation($p: [NotificationPreferenceInput!]!) { updateNotificationPreferences(preferences: $p) { category enabled quietHours { start end } } }";
    let changed = app
        .graphql(
            Some(&app.client(1)),
            update,
            json!({ "p": [
                { "category": "TASK_UPDATED", "enabled": false },
                { "category": "COMPLIANCE_ALERT", "enabled": true, "quietHours": { "start": "22:00", "end": "07:00" } }
            ] }),
        )
        .await;
    let list = changed.ok()["updateNotificationPreferences"]
        .as_array()
        .unwrap()
        .clone();
    let find = |c: &str| list.iter().find(|p| p["category"] == c).unwrap().clone();
    assert_eq!(find("TASK_UPDATED")["enabled"], false);
    assert_eq!(
        find("COMPLIANCE_ALERT")["quietHours"],
        json!({ "start": "22:00", "end": "07:00" })
    );
    assert_eq!(find("TASK_ASSIGNED")["enabled"], true);
    let bad = app
        .graphql(Some(&app.client(1)), update, json!({ "p": [{ "category": "INSPECTION", "enabled": true, "quietHours": { "start": "25:00", "end": "07:00" } }] }))
        .await;
    assert_eq!(bad.error_code(), Some("BAD_USER_INPUT"));
    let other = app.query(&app.client(2), query).await.ok()["notificationPreferences"].clone();
    assert!(at_defaults(&other), "another user's settings are untouched");
}

crate::on_both_backends!(
    devices_register_idempotently_and_move_between_users,
    malformed_devices_are_refused,
    preferences_default_to_on_and_keep_quiet_hours,
);
