//! The HTTP surface: `/graphql` (GraphQL over HTTP), `/graphql/ws`
//! (GraphQL over WebSocket, in [`crate::ws`]), `/healthz`, `/readyz` and
//! `/metrics` (Prometheus text), with tracing, timeouts and CORS around them.

pub mod graphql;
pub mod negotiate;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::graphql::{AppSchema, build_schema};
use crate::state::AppState;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The application state.
    pub app: AppState,
    /// The executable schema, built once.
    pub schema: AppSchema,
}

/// Builds the router of the whole server.
pub fn router(app: AppState, shutdown: CancellationToken) -> Router {
    let settings = app.settings.clone();
    let state = HttpState {
        schema: build_schema(app.clone()),
        app,
    };
    let websocket = crate::ws::routes(state.app.clone(), state.schema.clone(), shutdown);
    let mut router = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(websocket)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.server.request_timeout_secs),
        ))
        .layer(TraceLayer::new_for_http());
    if !settings.server.cors_origins.is_empty() {
        let origins = &settings.server.cors_origins;
        let allow = if origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        };
        router = router.layer(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods(Any)
                .allow_headers(Any),
        );
    }
    router
}

/// Liveness: the process is up and serving.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// The process's metrics in Prometheus' text format.
async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::telemetry::metrics().render(),
    )
}

/// Readiness: the database answers and every migration is applied.
async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    match crate::db::check_ready(&state.app.db).await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(problem) => {
            tracing::warn!(%problem, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "problem": problem })),
            )
        }
    }
}
