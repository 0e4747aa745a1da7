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

use crate::helpers::{
    Backend, PROGRESS, TEST_SECRET, TestApp, fixtures, spawn_app, spawn_app_with,
};

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

/// Two writers change tasks in a loop while a signed-in user refreshes:
/// session writes wait their turn for the write lock like every other
/// write, so none answers INTERNAL. Six concurrent refreshes of one token
/// have exactly one winner; the others are reuse, which revokes the family,
/// the winner's new token with it.
async fn refreshes_racing_each_other_and_writers_have_one_winner_and_no_internal(backend: Backend) {
    let app = spawn_app(backend).await;
    let task = app.task_in(0, "IN_PROGRESS").await;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let admin = app.admin();
    let writer = |w: i64| {
        let (app, admin, task, stop) = (&app, &admin, &task, &stop);
        async move {
            let mut codes = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let progress = json!({ "id": task, "p": (n * 7 + w) % 100 });
                let answer = app.graphql(Some(admin), PROGRESS, progress).await;
                codes.extend(answer.error_code().map(str::to_owned));
            }
            codes
        }
    };
    let refreshes = async {
        let mut refresh_codes = Vec::new();
        for round in 0..4 {
            let email = [
                "admin@demo.local",
                "worker1@demo.local",
                "client1@demo.local",
                "worker2@demo.local",
            ][round];
            let session = login(&app, email, "demo").await;
            let mut token = session["data"]["login"]["refreshToken"]
                .as_str()
                .unwrap_or_else(|| panic!("login answered {session}"))
                .to_owned();
            // A few plain rotations under load first.
            for _ in 0..5 {
                let rotated = app.graphql(None, REFRESH, json!({ "t": token })).await;
                match rotated.body["data"]["refreshSession"]["refreshToken"].as_str() {
                    Some(next) => token = next.to_owned(),
                    None => refresh_codes.push(rotated.error_code().unwrap_or("none").to_owned()),
                }
            }
            let racers = (0..6).map(|_| app.graphql(None, REFRESH, json!({ "t": token })));
            let answers = futures_util::future::join_all(racers).await;
            let winners: Vec<&str> = answers
                .iter()
                .filter_map(|a| a.body["data"]["refreshSession"]["refreshToken"].as_str())
                .collect();
            let losers: Vec<&str> = answers.iter().filter_map(|a| a.error_code()).collect();
            assert_eq!(
                winners.len(),
                1,
                "round {round}: one winner, got {answers:?}"
            );
            assert_eq!(
                losers,
                vec!["UNAUTHENTICATED"; 5],
                "round {round}: the losers are reuse"
            );
            let after = app.graphql(None, REFRESH, json!({ "t": winners[0] })).await;
            assert_eq!(
                after.error_code(),
                Some("UNAUTHENTICATED"),
                "round {round}: the reuse revoked the winner's new token"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        refresh_codes
    };
    let (refresh_codes, first, second) =
        futures_util::future::join3(refreshes, writer(0), writer(1)).await;
    for codes in [first, second] {
        assert!(codes.is_empty(), "the writers were refused: {codes:?}");
    }
    assert!(
        refresh_codes.is_empty(),
        "plain rotations failed: {refresh_codes:?}"
    );
}

/// The `extensions.code` of each error of an answer, in order.
fn error_codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["extensions"]["code"].as_str())
        .collect()
}

/// One request signs in once: aliased `login` fields, a fragment and a
/// batch each run one password check, and the others answer BAD_USER_INPUT.
async fn a_request_signs_in_at_most_once(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.graphql.max_batch_size = 5).await;
    let aliased = (0..3)
        .map(|i| {
            format!(
                "g{i}: login(email: \"admin@demo.local\", password: \"guess{i}\") {{ accessToken }}"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let answer = app
        .graphql(None, &format!("mutation {{ {aliased} right: login(email: \"admin@demo.local\", password: \"demo\") {{ accessToken }} }}"), json!({}))
        .await;
    let codes = error_codes(&answer.body);
    assert_eq!(
        codes,
        [
            "UNAUTHENTICATED",
            "BAD_USER_INPUT",
            "BAD_USER_INPUT",
            "BAD_USER_INPUT"
        ],
        "{:?}",
        answer.body
    );
    assert!(
        answer.body["data"].is_null() || answer.body["data"]["right"].is_null(),
        "the right password in a later field was never checked: {:?}",
        answer.body
    );

    let fragment = app
        .graphql(
            None,
            "mutation { ...Guesses } fragment Guesses on Mutation { a: login(email: \"admin@demo.local\", password: \"x\") { accessToken } b: refreshSession(refreshToken: \"y\") { accessToken } }",
            json!({}),
        )
        .await;
    let codes = error_codes(&fragment.body);
    assert_eq!(
        codes,
        ["UNAUTHENTICATED", "BAD_USER_INPUT"],
        "{:?}",
        fragment.body
    );

    let batch: Vec<Value> = (0..3)
        .map(|i| json!({ "query": LOGIN, "variables": { "e": "admin@demo.local", "p": format!("batch{i}") } }))
        .collect();
    let answers: Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["errors"][0]["extensions"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["UNAUTHENTICATED", "BAD_USER_INPUT", "BAD_USER_INPUT"]
    );
}

/// Attempts are limited per email (known or not, alike) and per client
/// address; once over, even the right password answers RATE_LIMITED with
/// a retry time, and other people are not affected by one email's limit.
async fn sign_in_attempts_are_limited_per_email_and_per_address(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.auth.sign_ins_per_email_per_minute = 3;
        s.auth.sign_ins_per_address_per_minute = 9;
    })
    .await;
    let code = |v: &Value| {
        v["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned)
    };
    for guess in 0..3 {
        let wrong = login(&app, "admin@demo.local", &format!("guess{guess}")).await;
        assert_eq!(code(&wrong).as_deref(), Some("UNAUTHENTICATED"));
        let unknown = login(&app, "nobody@demo.local", &format!("guess{guess}")).await;
        assert_eq!(code(&unknown).as_deref(), Some("UNAUTHENTICATED"));
    }
    let right = login(&app, "admin@demo.local", "demo").await;
    assert_eq!(code(&right).as_deref(), Some("RATE_LIMITED"), "{right}");
    assert!(
        right["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .is_some_and(|s| s >= 1),
        "{right}"
    );
    let unknown = login(&app, "nobody@demo.local", "demo").await;
    assert_eq!(
        right["errors"][0]["message"], unknown["errors"][0]["message"],
        "an unknown email is limited alike"
    );
    // Another email from the same address still works (the 9th attempt) ...
    let other = login(&app, "worker1@demo.local", "demo").await;
    assert!(other["data"]["login"]["accessToken"].is_string(), "{other}");
    // ... until the address itself is over its quota.
    let refreshed = app.graphql(None, REFRESH, json!({ "t": "anything" })).await;
    assert_eq!(
        refreshed.error_code(),
        Some("RATE_LIMITED"),
        "{:?}",
        refreshed.body
    );
}

/// With one password check at a time and no wait for a turn, concurrent
/// logins beyond the first answer RATE_LIMITED instead of queueing
/// argon2 work (and database connections) without bound.
async fn password_checks_are_bounded_and_the_excess_is_rate_limited(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.auth.password_checks_at_once = 1;
        s.auth.password_check_wait_ms = 0;
    })
    .await;
    let emails = [
        "admin@demo.local",
        "worker1@demo.local",
        "worker2@demo.local",
        "worker3@demo.local",
        "worker4@demo.local",
        "client1@demo.local",
    ];
    let answers =
        futures_util::future::join_all(emails.iter().map(|e| login(&app, e, "demo"))).await;
    let codes: Vec<Option<&str>> = answers
        .iter()
        .map(|a| a["errors"][0]["extensions"]["code"].as_str())
        .collect();
    assert!(codes.contains(&None), "some login got through: {codes:?}");
    assert!(
        codes.contains(&Some("RATE_LIMITED")),
        "the excess was limited: {codes:?}"
    );
    assert!(
        codes
            .iter()
            .all(|c| matches!(c, None | Some("RATE_LIMITED"))),
        "nothing else: {codes:?}"
    );
}

crate::on_both_backends!(
    every_bad_token_is_refused_with_unauthenticated_and_no_data,
    deactivated_and_deleted_users_lose_access_at_once,
    identity_provider_tokens_are_accepted_by_kid,
    login_issues_working_tokens_and_failures_look_alike,
    refresh_rotates_and_a_reused_refresh_token_revokes_the_family,
    a_deactivated_user_cannot_log_in_or_refresh,
    refreshes_racing_each_other_and_writers_have_one_winner_and_no_internal,
    a_request_signs_in_at_most_once,
    sign_in_attempts_are_limited_per_email_and_per_address,
    password_checks_are_bounded_and_the_excess_is_rate_limited,
);
