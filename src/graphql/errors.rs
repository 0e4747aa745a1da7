//! Turning errors into GraphQL errors that always carry `extensions.code`.
//! Internal failures are logged here, once, with their detail; the client
//! sees only `INTERNAL`.

use async_graphql::{ErrorExtensionValues, Response, Value};

use crate::error::Error;

/// The code of errors async-graphql raises itself (parse, validation,
/// variable coercion): all are problems with what the client sent.
pub const CODE_BAD_USER_INPUT: &str = "BAD_USER_INPUT";

impl From<Error> for async_graphql::Error {
    fn from(error: Error) -> Self {
        if error.is_internal() {
            tracing::error!(error = %error, "request failed");
        }
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", error.code());
        if let Some(secs) = error.retry_after_secs() {
            extensions.set("retryAfterSeconds", secs);
        }
        async_graphql::Error {
            message: error.public_message(),
            source: None,
            extensions: Some(extensions),
        }
    }
}

/// A GraphQL error with a code, for failures outside a resolver.
pub fn coded_error(message: impl Into<String>, code: &str) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// The errors of a failure the client cannot fix, as a JSON array.
pub fn internal_errors() -> serde_json::Value {
    serde_json::json!([coded_error("internal error", "INTERNAL")])
}

/// A result with no data and one `INTERNAL` error.
fn internal_value() -> serde_json::Value {
    serde_json::json!({ "data": null, "errors": internal_errors() })
}

/// [`internal_value`] as text: what a client gets for a result that could
/// not be rendered or serialised.
pub fn internal_response() -> String {
    internal_value().to_string()
}

/// A response as JSON. One that cannot be serialised is logged, once, and
/// answered as `INTERNAL`: never as an empty body the client cannot read.
pub fn response_json(response: &Response) -> serde_json::Value {
    serde_json::to_value(response).unwrap_or_else(|error| {
        tracing::error!(%error, "serialising a response failed");
        internal_value()
    })
}

/// Gives every error in a response a code, so clients can always switch on one.
pub fn ensure_codes(response: &mut Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", Value::from(CODE_BAD_USER_INPUT));
        }
    }
}

/// True when a response failed before execution (parse or validation):
/// such errors carry no path and leave no data.
pub fn is_request_error(response: &Response) -> bool {
    !response.errors.is_empty()
        && response.data == Value::Null
        && response.errors.iter().all(|e| e.path.is_empty())
}
