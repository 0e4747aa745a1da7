//! GraphQL over HTTP: bad input gets a clear coded error and leaves the
//! server healthy; content negotiation, GET, GraphiQL, batching, limits,
//! health and readiness.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post_raw(
    app: &TestApp,
    body: impl Into<reqwest::Body>,
    accept: &str,
) -> (u16, String, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, accept)
        .bearer_auth(app.admin())
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no content type: {response:?}"));
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code: {body}"))
}

async fn still_serves(app: &TestApp) {
    assert!(app.healthy().await);
    app.query(&app.admin(), "{ me { id } }").await.ok();
}

async fn bad_requests_get_coded_errors_and_the_server_stays_healthy(backend: Backend) {
    let app = spawn_app(backend).await;

    let (status, _, body) = post_raw(&app, "{\"query\": ", GRAPHQL_RESPONSE).await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "malformed JSON"
    );
    assert!(body.get("data").is_none());

    let (status, _, body) = post_raw(&app, r#"{"variables": {}}"#, "application/json").await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "no query at all"
    );

    let (status, _, body) = post_raw(&app, r#"{"query": 42}"#, GRAPHQL_RESPONSE).await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "query is not a string"
    );

    let wrong_types = json!({ "query": "query($n: Int) { tasks(first: $n) { edges { cursor } } }", "variables": { "n": "ten" } });
    let (_, _, body) = post_raw(&app, wrong_types.to_string(), "application/json").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "wrong variable type: {body}");

    let huge = json!({ "query": format!("{{ me {{ id }} }} #{}", "x".repeat(10 * 1024 * 1024)) })
        .to_string();
    let (status, _, body) = post_raw(&app, huge, GRAPHQL_RESPONSE).await;
    assert_eq!((status, code(&body)), (413, "BAD_USER_INPUT"), "10 MB body");

    let too_deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(12),
        "} ".repeat(12)
    );
    let (status, _, body) = post_raw(
        &app,
        json!({ "query": too_deep }).to_string(),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "depth limit: {body}"
    );

    let aliases: String = (0..1000).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let (status, _, body) = post_raw(
        &app,
        json!({ "query": format!("{{ {aliases} }}") }).to_string(),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "1,000 aliases: {body}"
    );

    let cycle = "query { me { ...A } } fragment A on User { ...B } fragment B on User { ...A }";
    let (status, _, body) = post_raw(
        &app,
        json!({ "query": cycle }).to_string(),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "fragment cycle: {body}"
    );

    let (status, _, body) = post_raw(
        &app,
        json!({ "query": "{ me { " }).to_string(),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (400, "BAD_USER_INPUT"),
        "syntax error"
    );

    let (status, _, body) = post_raw(
        &app,
        json!({ "query": "{ nope }" }).to_string(),
        "application/json",
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (200, "BAD_USER_INPUT"),
        "application/json keeps 200 for GraphQL errors"
    );

    let mutation_over_get = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { logout(refreshToken: \"x\") }")])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(mutation_over_get.status(), 405);
    assert_eq!(mutation_over_get.headers()["allow"], "POST");
    let body: Value = mutation_over_get.json().await.unwrap();
    assert_eq!(code(&body), "BAD_USER_INPUT");

    let bad_id = app
        .query(&app.admin(), "{ task(id: \"not-a-uuid\") { id } }")
        .await;
    assert_eq!(bad_id.error_code(), Some("BAD_USER_INPUT"));

    still_serves(&app).await;
}

async fn responses_follow_the_accept_header(backend: Backend) {
    let app = spawn_app(backend).await;
    let query = json!({ "query": "{ __typename }" }).to_string();
    let (status, content_type, body) = post_raw(&app, query.clone(), "application/json").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/json; charset=utf-8")
    );
    assert_eq!(body["data"]["__typename"], "Query");
    let (_, content_type, _) = post_raw(&app, query.clone(), GRAPHQL_RESPONSE).await;
    assert_eq!(
        content_type,
        "application/graphql-response+json; charset=utf-8"
    );
    let (status, _, _) = post_raw(&app, query.clone(), "text/plain").await;
    assert_eq!(status, 406);
    let form = app
        .client
        .post(format!("{}/graphql", app.address))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("query={__typename}")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    let get = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[
            (
                "query",
                "query($n: Int) { tasks(first: $n) { edges { cursor } } }",
            ),
            ("variables", "{\"n\": 2}"),
        ])
        .bearer_auth(app.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let body: Value = get.json().await.unwrap();
    assert_eq!(body["data"]["tasks"]["edges"].as_array().unwrap().len(), 2);
}

async fn graphiql_is_served_to_browsers_and_can_be_switched_off(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );

    let locked = spawn_app_with(backend, |s| {
        s.graphql.graphiql = false;
        s.graphql.introspection = false;
    })
    .await;
    let page = locked
        .client
        .get(format!("{}/graphql", locked.address))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(page.status(), 200);
    let introspection = locked
        .query(&locked.admin(), "{ __schema { queryType { name } } }")
        .await;
    assert!(
        introspection.body.get("errors").is_some(),
        "introspection still answered: {}",
        introspection.body
    );
    let open = app
        .query(&app.admin(), "{ __schema { queryType { name } } }")
        .await;
    assert_eq!(open.ok()["__schema"]["queryType"]["name"], "Query");
}

async fn batches_are_refused_unless_enabled(backend: Backend) {
    let app = spawn_app(backend.clone()).await;
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ me { id } }" }]).to_string();
    let (status, _, body) = post_raw(&app, batch.clone(), "application/json").await;
    assert_eq!((status, code(&body)), (400, "BAD_USER_INPUT"));

    let batching = spawn_app_with(backend, |s| s.graphql.max_batch_size = 2).await;
    let (status, _, body) = post_raw(&batching, batch, "application/json").await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
    let one = json!([{ "query": "{ __typename }" }]).to_string();
    let (status, _, body) = post_raw(&batching, one, "application/json").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{ "data": { "__typename": "Query" } }]),
        "a batch of one is an array"
    );
    let three = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let (status, _, _) = post_raw(&batching, three, "application/json").await;
    assert_eq!(status, 400);
}

async fn health_and_readiness_report_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

/// Readiness follows the database: 503 while PostgreSQL is stopped (and
/// health, which says only that the process is up, stays 200), ready again
/// once it is back.
#[tokio::test]
async fn readiness_is_503_while_the_database_is_down() {
    let Some((cluster, app)) = crate::cluster::Cluster::with_app().await else {
        return;
    };
    let status = |path: &'static str| {
        let (client, address) = (app.client.clone(), app.address.clone());
        async move {
            client
                .get(format!("{address}{path}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status("/readyz").await, 200);
    cluster.stop().await;
    let down = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), 503);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(status("/healthz").await, 200);
    cluster.resume().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while status("/readyz").await != 200 {
        assert!(tokio::time::Instant::now() < deadline, "never ready again");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

crate::on_both_backends!(
    bad_requests_get_coded_errors_and_the_server_stays_healthy,
    responses_follow_the_accept_header,
    graphiql_is_served_to_browsers_and_can_be_switched_off,
    batches_are_refused_unless_enabled,
    health_and_readiness_report_the_database,
);
