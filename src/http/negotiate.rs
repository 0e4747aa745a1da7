//! Content negotiation per the GraphQL-over-HTTP spec: which media type to
//! answer with, and whether a request body is JSON we can read.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};

/// The spec's media type, with meaningful status codes.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// The legacy media type: 200 for every well-formed request.
pub const JSON: &str = "application/json";

/// The media type of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`.
    GraphqlResponseJson,
    /// `application/json`.
    Json,
}

impl ResponseType {
    /// The `Content-Type` header value.
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept`: absent or a wildcard means
/// `application/json`; the highest-`q` supported range wins; `None` when
/// nothing is acceptable.
pub fn response_type(headers: &HeaderMap) -> Option<ResponseType> {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(ResponseType::Json);
    };
    if accept.trim().is_empty() {
        return Some(ResponseType::Json);
    }
    let mut ranges: Vec<(f32, &str)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, media))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges
        .into_iter()
        .find_map(|(_, media)| match media.to_ascii_lowercase().as_str() {
            GRAPHQL_RESPONSE_JSON => Some(ResponseType::GraphqlResponseJson),
            // Wildcards get the type every client understands, as the
            // graphql-http reference server does.
            JSON | "application/*" | "*/*" => Some(ResponseType::Json),
            _ => None,
        })
}

/// True when the client prefers HTML (a browser opening the endpoint).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Why a request body's declared type cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyTypeError {
    /// No `Content-Type` at all.
    Missing,
    /// Not JSON at all.
    Unsupported,
    /// JSON in a charset other than UTF-8.
    Charset,
}

/// Accepts `application/json` (UTF-8 or unspecified charset) and the
/// spec's `application/graphql+json`.
pub fn check_body_type(headers: &HeaderMap) -> Result<(), BodyTypeError> {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return Err(BodyTypeError::Missing);
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != JSON && media != "application/graphql+json" {
        return Err(BodyTypeError::Unsupported);
    }
    for param in parts {
        if let Some(charset) = param.trim().to_ascii_lowercase().strip_prefix("charset=")
            && charset.trim_matches('"') != "utf-8"
        {
            return Err(BodyTypeError::Charset);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn accept_header_picks_the_preferred_supported_type() {
        assert_eq!(response_type(&HeaderMap::new()), Some(ResponseType::Json));
        assert_eq!(
            response_type(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(ResponseType::GraphqlResponseJson)
        );
        assert_eq!(
            response_type(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(ResponseType::Json)
        );
        assert_eq!(response_type(&accept("*/*")), Some(ResponseType::Json));
        assert_eq!(response_type(&accept("text/plain")), None);
    }
}
