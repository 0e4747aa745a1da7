//! `/graphql`: GraphQL over HTTP. Our own handler rather than the stock
//! async-graphql service, because that one accepts batches of any size and
//! mutations over GET, reads bodies without a cap and always answers
//! `application/graphql-response+json`.

use async_graphql::http::{GraphiQLSource, parse_query_string};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{BatchRequest, Request, Response};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse};

use super::HttpState;
use super::negotiate::{self, BodyTypeError, ResponseType};
use crate::auth::{Principal, principal};
use crate::graphql::context::{RequestContext, SignInBudget, client_address};
use crate::graphql::errors::{
    CODE_BAD_USER_INPUT, coded_error, ensure_codes, is_request_error, response_json,
};
use crate::graphql::loaders::Loaders;

/// Root fields that work without (or with a stale) access token.
const PUBLIC_ROOT_FIELDS: [&str; 4] = ["login", "refreshSession", "logout", "__typename"];

/// An early answer: an HTTP status and one coded GraphQL error.
struct Reject {
    status: StatusCode,
    message: String,
    code: &'static str,
}

impl Reject {
    fn new(status: StatusCode, message: impl Into<String>, code: &'static str) -> Self {
        Self {
            status,
            message: message.into(),
            code,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, CODE_BAD_USER_INPUT)
    }
}

/// GET /graphql: GraphiQL for browsers, otherwise a query from the URL.
pub async fn get(
    State(state): State<HttpState>,
    extensions: Extensions,
    headers: HeaderMap,
    uri: Uri,
) -> axum::response::Response {
    let query = uri.query().unwrap_or_default();
    if state.app.settings.graphql.graphiql
        && negotiate::wants_html(&headers)
        && !query.contains("query=")
    {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .finish(),
        )
        .into_response();
    }
    let Some(media) = negotiate::response_type(&headers) else {
        return not_acceptable();
    };
    let request = match parse_query_string(query) {
        Ok(request) => request,
        Err(e) => {
            return reject(
                media,
                Reject::bad_request(format!("invalid query string: {e}")),
            );
        }
    };
    let from = Sender {
        headers: &headers,
        extensions: &extensions,
    };
    execute(&state, from, media, BatchRequest::Single(request), true).await
}

/// POST /graphql: a JSON body with `query`, `variables`, `operationName`.
pub async fn post(
    State(state): State<HttpState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> axum::response::Response {
    let Some(media) = negotiate::response_type(&headers) else {
        return not_acceptable();
    };
    match negotiate::check_body_type(&headers) {
        Ok(()) => {}
        Err(BodyTypeError::Missing | BodyTypeError::Unsupported) => {
            let reject_ = Reject::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be sent as Content-Type: application/json",
                CODE_BAD_USER_INPUT,
            );
            return reject(media, reject_);
        }
        Err(BodyTypeError::Charset) => {
            let reject_ = Reject::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "the body must be encoded as utf-8",
                CODE_BAD_USER_INPUT,
            );
            return reject(media, reject_);
        }
    }
    let limit = state.app.settings.server.body_limit_bytes;
    let too_large = || {
        Reject::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body exceeds {limit} bytes"),
            CODE_BAD_USER_INPUT,
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return reject(media, too_large());
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return reject(media, too_large()),
    };
    let batch: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(batch) => batch,
        Err(e) => {
            return reject(
                media,
                Reject::bad_request(format!("the body is not a GraphQL request: {e}")),
            );
        }
    };
    if let BatchRequest::Batch(requests) = &batch {
        let max = state.app.settings.graphql.max_batch_size;
        if max == 0 {
            return reject(
                media,
                Reject::bad_request("batched requests are not enabled"),
            );
        }
        if requests.is_empty() || requests.len() > max {
            return reject(
                media,
                Reject::bad_request(format!("a batch holds 1 to {max} operations")),
            );
        }
    }
    let from = Sender {
        headers: &headers,
        extensions: &extensions,
    };
    execute(&state, from, media, batch, false).await
}

/// Who sent a request: its headers and the connection's extensions.
struct Sender<'a> {
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

/// Authenticates, checks the operations and runs them.
async fn execute(
    state: &HttpState,
    from: Sender<'_>,
    media: ResponseType,
    batch: BatchRequest,
    is_get: bool,
) -> axum::response::Response {
    // A batch of one is still answered with an array.
    let single = matches!(batch, BatchRequest::Single(_));
    let requests = match batch {
        BatchRequest::Single(request) => vec![request],
        BatchRequest::Batch(requests) => requests,
    };
    let mut public_only = true;
    for request in &requests {
        if request.query.trim().is_empty() {
            return reject(media, Reject::bad_request("the request has no `query`"));
        }
        let Some(info) = inspect(request) else {
            public_only = false;
            continue;
        };
        if is_get && info.ty != OperationType::Query {
            let mut response = reject(
                media,
                Reject::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "only queries may be sent with GET; use POST",
                    CODE_BAD_USER_INPUT,
                ),
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        // async-graphql would answer `null` silently; say why instead.
        if info.introspects && !state.app.settings.graphql.introspection {
            return reject(
                media,
                Reject::bad_request("introspection is disabled on this server"),
            );
        }
        public_only &= info.public_only;
    }
    let principal = match authenticate(state, from.headers).await {
        Ok(principal) => principal,
        // A stale token must not block the refresh that replaces it.
        Err(_) if public_only => None,
        Err(reject_) => {
            let mut response = reject(media, reject_);
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return response;
        }
    };
    let context = RequestContext {
        principal,
        address: client_address(
            from.extensions,
            from.headers,
            state.app.settings.server.trust_forwarded_for,
        ),
        // One budget for the whole batch.
        sign_ins: SignInBudget::default(),
    };
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        let mut request = request.data(context.clone());
        if let Some(p) = &principal {
            request = request.data(Loaders::new(state.app.db.clone(), p.org_id));
        }
        let mut response = state.schema.execute(request).await;
        ensure_codes(&mut response);
        responses.push(response);
    }
    let status =
        if media == ResponseType::GraphqlResponseJson && responses.iter().all(is_request_error) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
    // Errors raised before execution leave no `data` entry at all.
    let mut bodies: Vec<serde_json::Value> = responses
        .into_iter()
        .map(|r| {
            if is_request_error(&r) {
                without_data(r)
            } else {
                response_json(&r)
            }
        })
        .collect();
    let body = if single {
        bodies.remove(0)
    } else {
        serde_json::Value::Array(bodies)
    };
    json_response(media, status, &body)
}

/// What the handler needs to know about an operation before running it.
struct OperationInfo {
    /// Query, mutation or subscription.
    ty: OperationType,
    /// Every root field works without a valid token.
    public_only: bool,
    /// A root field is `__schema` or `__type`.
    introspects: bool,
}

/// Looks at the selected operation's root fields; `None` when the document
/// does not parse or the operation is not found (execution then reports
/// that properly).
fn inspect(request: &Request) -> Option<OperationInfo> {
    let document: ExecutableDocument = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match &request.operation_name {
        Some(name) => {
            document
                .operations
                .iter()
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?
                .1
        }
        None => {
            let mut operations = document.operations.iter();
            let (_, only) = operations.next()?;
            if operations.next().is_some() {
                return None;
            }
            only
        }
    };
    let root_fields: Vec<Option<&str>> = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.as_str()),
            _ => None,
        })
        .collect();
    Some(OperationInfo {
        ty: operation.node.ty,
        public_only: root_fields
            .iter()
            .all(|f| f.is_some_and(|f| PUBLIC_ROOT_FIELDS.contains(&f))),
        introspects: root_fields
            .iter()
            .any(|f| matches!(f, Some("__schema" | "__type"))),
    })
}

/// The principal of the bearer token, `None` without one.
async fn authenticate(state: &HttpState, headers: &HeaderMap) -> Result<Option<Principal>, Reject> {
    let unauthenticated =
        |message: String| Reject::new(StatusCode::UNAUTHORIZED, message, "UNAUTHENTICATED");
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| unauthenticated("malformed Authorization header".into()))?;
    let token = match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(unauthenticated(
                "Authorization must be `Bearer <token>`".into(),
            ));
        }
    };
    match principal::authenticate(&state.app.db, &state.app.tokens, token).await {
        Ok(principal) => Ok(Some(principal)),
        Err(crate::error::Error::Unauthenticated(message)) => Err(unauthenticated(message)),
        Err(other) => {
            tracing::error!(error = %other, "authentication failed");
            Err(Reject::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                other.public_message(),
                other.code(),
            ))
        }
    }
}

/// A response holding one coded error and no data.
fn reject(media: ResponseType, reject: Reject) -> axum::response::Response {
    let response = Response::from_errors(vec![coded_error(reject.message, reject.code)]);
    json_response(media, reject.status, &without_data(response))
}

/// Drops the `data` key, which the spec says must be absent for request errors.
fn without_data(response: Response) -> serde_json::Value {
    let mut value = response_json(&response);
    if let Some(object) = value.as_object_mut() {
        object.remove("data");
    }
    value
}

/// 406 for an `Accept` header that allows nothing we speak.
fn not_acceptable() -> axum::response::Response {
    let body = without_data(Response::from_errors(vec![coded_error(
        "acceptable media types are application/graphql-response+json and application/json",
        CODE_BAD_USER_INPUT,
    )]));
    json_response(ResponseType::Json, StatusCode::NOT_ACCEPTABLE, &body)
}

/// Serialises a body with the negotiated content type.
fn json_response(
    media: ResponseType,
    status: StatusCode,
    body: &impl serde::Serialize,
) -> axum::response::Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(CONTENT_TYPE, media.content_type())], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "response serialisation failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
