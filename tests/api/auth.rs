//! Authentication: every bad token is refused with UNAUTHENTICATED and no
//! data; identity-provider keys work by `kid`; login, refresh rotation,
//! reuse detection and logout.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::user;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::helpers::{Backend, TEST_SECRET, TestApp, fixtures, spawn_app};

const ME: &str = "{ me { id } }";

/// Claims for a demo user, valid now, which each case then spoils.
fn claims(app: &TestApp) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": app.demo.workers[0].to_string(),
        "iss": "fieldsync",
        "aud": "fieldsync",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    })
}

fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

fn sign_with_pem(alg: Algorithm, kid: Option<&str>, pem_file: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixtures().join("keys").join(pem_file)).unwrap();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn assert_refused(app: &TestApp, token: &str, case: &str) {
    let answer = app.query(token, ME).await;
    assert_eq!(answer.status, 401, "{case}: {}", answer.body);
    assert_eq!(
        answer.error_code(),
        Some("UNAUTHENTICATED"),
        "{case}: {}",
        answer.body
    );
    assert!(answer.body.get("data").is_none(), "{case}: no data at all");
}

async fn every_bad_token_is_refused_with_unauthenticated_and_no_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = TEST_SECRET.as_bytes();
    let now = Utc::now().timestamp();
    let mut expired = claims(&app);
    expired["exp"] = json!(now - 3600);
    expired["iat"] = json!(now - 7200);
    expired["nbf"] = json!(now - 7200);
    let mut early = claims(&app);
    early["nbf"] = json!(now + 3600);
    early["exp"] = json!(now + 7200);
    let mut issuer = claims(&app);
    issuer["iss"] = json!("someone-else");
    let mut audience = claims(&app);
    audience["aud"] = json!("another-api");
    let mut no_exp = claims(&app);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut stranger = claims(&app);
    stranger["sub"] = json!(uuid::Uuid::now_v7().to_string());
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(&app).to_string())
    );
    // Algorithm confusion: an HS256 token keyed with the public RSA key.
    let public_pem = std::fs::read(fixtures().join("keys/rsa-public.pem")).unwrap();
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".into());
        jsonwebtoken::encode(
            &header,
            &claims(&app),
            &EncodingKey::from_secret(&public_pem).unwrap(),
        )
        .unwrap()
    };
    let cases = [
        ("malformed", "not-a-jwt".to_owned()),
        ("expired", sign_hs256(&expired, secret)),
        ("not yet valid", sign_hs256(&early, secret)),
        ("wrong issuer", sign_hs256(&issuer, secret)),
        ("wrong audience", sign_hs256(&audience, secret)),
        ("missing exp", sign_hs256(&no_exp, secret)),
        (
            "wrong secret",
            sign_hs256(&claims(&app), b"another-secret-of-sufficient-length!!"),
        ),
        ("unknown user", sign_hs256(&stranger, secret)),
        ("alg none", unsigned),
        ("HS/RS confusion", confused),
        (
            "unknown kid",
            sign_with_pem(
                Algorithm::RS256,
                Some("nobody"),
                "rsa-private.pem",
                &claims(&app),
            ),
        ),
        (
            "key of another alg",
            sign_with_pem(
                Algorithm::ES256,
                Some("rsa-1"),
                "ec-private.pem",
                &claims(&app),
            ),
        ),
    ];
    for (case, token) in cases {
        assert_refused(&app, &token, case).await;
    }
    let wrong_scheme = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_scheme.status(), 401);
    assert!(app.healthy().await);
}

async fn deactivated_and_deleted_users_lose_access_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.worker(1);
    app.query(&token, ME).await.ok();
    let worker = user::Entity::find_by_id(app.demo.workers[0])
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: user::ActiveModel = worker.into();
    active.active = Set(false);
    active.update(&app.state.db).await.unwrap();
    assert_refused(&app, &token, "deactivated").await;

    let token = app.worker(2);
    let worker = user::Entity::find_by_id(app.demo.workers[1])
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut deleted: user::ActiveModel = worker.into();
    deleted.deleted_at = Set(Some(Utc::now()));
    deleted.update(&app.state.db).await.unwrap();
    assert_refused(&app, &token, "deleted").await;
}

async fn identity_provider_tokens_are_accepted_by_kid(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = app.demo.workers[0].to_string();
    let cases = [
        (
            "RS256 PEM",
            sign_with_pem(
                Algorithm::RS256,
                Some("rsa-1"),
                "rsa-private.pem",
                &claims(&app),
            ),
        ),
        (
            "ES256 PEM",
            sign_with_pem(
                Algorithm::ES256,
                Some("ec-1"),
                "ec-private.pem",
                &claims(&app),
            ),
        ),
        (
            "RS256 JWKS",
            sign_with_pem(
                Algorithm::RS256,
                Some("jwks-rsa"),
                "jwks-rsa-private.pem",
                &claims(&app),
            ),
        ),
        (
            "ES256 without kid",
            sign_with_pem(Algorithm::ES256, None, "ec-private.pem", &claims(&app)),
        ),
    ];
    for (case, token) in cases {
        let answer = app.query(&token, ME).await;
        assert_eq!(answer.ok()["me"]["id"], me.as_str(), "{case}");
    }
    // Two RS256 keys are configured, so a token without a kid is ambiguous.
    let ambiguous = sign_with_pem(Algorithm::RS256, None, "rsa-private.pem", &claims(&app));
    assert_refused(&app, &ambiguous, "RS256 without kid").await;
}

const LOGIN: &str = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken accessTokenExpiresAt user { email role } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }";

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(None, LOGIN, json!({ "e": email, "p": password }))
        .await
        .body
}

async fn login_issues_working_tokens_and_failures_look_alike(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = login(&app, "Worker1@Demo.local", "demo").await;
    let access = session["data"]["login"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(
        session["data"]["login"]["user"]["email"],
        "worker1@demo.local"
    );
    assert_eq!(
        app.query(&access, ME).await.ok()["me"]["id"],
        app.demo.workers[0].to_string().as_str()
    );

    let wrong_password = login(&app, "worker1@demo.local", "wrong").await;
    let unknown_email = login(&app, "nobody@demo.local", "demo").await;
    assert_eq!(
        wrong_password["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(wrong_password["errors"], unknown_email["errors"]);
    assert!(wrong_password["data"].is_null());
}

async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = login(&app, "admin@demo.local", "demo").await;
    let first = session["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();

    // An expired access token in the header must not block the refresh.
    let mut stale = claims(&app);
    stale["exp"] = json!(Utc::now().timestamp() - 3600);
    let stale = sign_hs256(&stale, TEST_SECRET.as_bytes());
    let rotated = app
        .graphql(Some(&stale), REFRESH, json!({ "t": first }))
        .await;
    let second = rotated.ok()["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let access = rotated.ok()["refreshSession"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.query(&access, ME).await.ok();

    // Replaying the first token is theft or a bug: the whole family dies.
    let replay = app.graphql(None, REFRESH, json!({ "t": first })).await;
    assert_eq!(replay.error_code(), Some("UNAUTHENTICATED"));
    let after_replay = app.graphql(None, REFRESH, json!({ "t": second })).await;
    assert_eq!(
        after_replay.error_code(),
        Some("UNAUTHENTICATED"),
        "the newer token is revoked too"
    );

    // A new login starts a new family; logout ends it.
    let fresh = login(&app, "admin@demo.local", "demo").await;
    let token = fresh["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let logout = app
        .graphql(
            None,
            "mutation($t: String!) { logout(refreshToken: $t) }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(logout.ok()["logout"], true);
    let after_logout = app.graphql(None, REFRESH, json!({ "t": token })).await;
    assert_eq!(after_logout.error_code(), Some("UNAUTHENTICATED"));
    let garbage = app.graphql(None, REFRESH, json!({ "t": "garbage" })).await;
    assert_eq!(garbage.error_code(), Some("UNAUTHENTICATED"));
}

async fn a_deactivated_user_cannot_log_in_or_refresh(backend: Backend) {
    let app = spawn_app(backend).await;
    let session = login(&app, "client1@demo.local", "demo").await;
    let refresh = session["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = user::Entity::find_by_id(app.demo.clients[0])
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut inactive: user::ActiveModel = client.into();
    inactive.active = Set(false);
    inactive.update(&app.state.db).await.unwrap();
    let again = login(&app, "client1@demo.local", "demo").await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let refreshed = app.graphql(None, REFRESH, json!({ "t": refresh })).await;
    assert_eq!(refreshed.error_code(), Some("UNAUTHENTICATED"));
}

crate::on_both_backends!(
    every_bad_token_is_refused_with_unauthenticated_and_no_data,
    deactivated_and_deleted_users_lose_access_at_once,
    identity_provider_tokens_are_accepted_by_kid,
    login_issues_working_tokens_and_failures_look_alike,
    refresh_rotates_and_a_reused_refresh_token_revokes_the_family,
    a_deactivated_user_cannot_log_in_or_refresh,
);
