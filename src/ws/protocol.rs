//! The messages of both subprotocols: parsing what a client sends into one
//! [`ClientMessage`], and spelling what the server sends in the client's dialect.
//!
//! `graphql-transport-ws` is the protocol of the `graphql-ws` library (Apollo
//! `GraphQLWsLink`); `graphql-ws` is the legacy subscriptions-transport-ws
//! protocol (Apollo `WebSocketLink`). Both carry the same operations under
//! different names (`subscribe`/`start`, `next`/`data`, `complete`/`stop`).

use async_graphql::{Request, Variables};
use serde_json::{Map, Value, json};

/// The largest close reason a close frame can carry (125 bytes minus the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// The subprotocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws` (graphql-ws).
    TransportWs,
    /// `graphql-ws` (legacy subscriptions-transport-ws).
    Legacy,
}

impl Protocol {
    /// Subprotocol names in order of preference, for `Sec-WebSocket-Protocol`.
    pub const NAMES: [&'static str; 2] = ["graphql-transport-ws", "graphql-ws"];

    /// The protocol of a `Sec-WebSocket-Protocol` name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "graphql-transport-ws" => Some(Self::TransportWs),
            "graphql-ws" => Some(Self::Legacy),
            _ => None,
        }
    }
}

/// A message from the client, whichever protocol spelled it.
#[derive(Debug)]
pub enum ClientMessage {
    /// `connection_init`, with its payload (where the token is).
    ConnectionInit {
        /// The payload object, if any.
        payload: Option<Map<String, Value>>,
    },
    /// `ping` (graphql-transport-ws only): answered with `pong`.
    Ping {
        /// Echoed back in the `pong`.
        payload: Option<Value>,
    },
    /// `pong` (graphql-transport-ws only): proof of life, nothing to do.
    Pong,
    /// `subscribe` / `start`: run an operation.
    Subscribe {
        /// The client's operation id.
        id: String,
        /// The GraphQL request.
        request: Box<Request>,
    },
    /// `complete` / `stop`: cancel an operation.
    Complete {
        /// The client's operation id.
        id: String,
    },
    /// `connection_terminate` (legacy only): close the socket.
    Terminate,
}

/// Why a message could not be understood; the reason is safe to show.
#[derive(Debug)]
pub struct Invalid {
    /// The operation id, when the message had a readable one.
    pub id: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl Invalid {
    fn new(id: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            id: id.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

/// Parses one text frame in the given protocol.
pub fn parse(protocol: Protocol, text: &str) -> Result<ClientMessage, Invalid> {
    let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
        return Err(Invalid::new(None, "Invalid message received"));
    };
    let id = match message.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(Invalid::new(None, "Invalid message received: bad id")),
    };
    let Some(Value::String(kind)) = message.get("type") else {
        return Err(Invalid::new(
            id.as_deref(),
            "Invalid message received: no type",
        ));
    };
    let kind = kind.clone();
    let payload = message.remove("payload").filter(|p| !p.is_null());
    let require_id = || match &id {
        Some(id) if !id.is_empty() => Ok(id.clone()),
        _ => Err(Invalid::new(
            None,
            format!("Invalid message received: `{kind}` needs an id"),
        )),
    };
    match (protocol, kind.as_str()) {
        (_, "connection_init") => match payload {
            None => Ok(ClientMessage::ConnectionInit { payload: None }),
            Some(Value::Object(payload)) => Ok(ClientMessage::ConnectionInit {
                payload: Some(payload),
            }),
            Some(_) => Err(Invalid::new(
                None,
                "Invalid message received: connection_init payload must be an object",
            )),
        },
        (Protocol::TransportWs, "ping") => Ok(ClientMessage::Ping { payload }),
        (Protocol::TransportWs, "pong") => Ok(ClientMessage::Pong),
        (Protocol::TransportWs, "subscribe") | (Protocol::Legacy, "start") => {
            let id = require_id()?;
            let request = parse_request(payload).map_err(|r| Invalid::new(Some(&id), r))?;
            Ok(ClientMessage::Subscribe {
                id,
                request: Box::new(request),
            })
        }
        (Protocol::TransportWs, "complete") | (Protocol::Legacy, "stop") => {
            Ok(ClientMessage::Complete { id: require_id()? })
        }
        (Protocol::Legacy, "connection_terminate") => Ok(ClientMessage::Terminate),
        (_, other) => Err(Invalid::new(
            id.as_deref(),
            format!("Unexpected message of type {other} received"),
        )),
    }
}

/// Reads a `subscribe`/`start` payload: `query`, `operationName`, `variables`.
fn parse_request(payload: Option<Value>) -> Result<Request, String> {
    let Some(Value::Object(mut payload)) = payload else {
        return Err("Invalid message received: the payload must be an object".into());
    };
    let Some(Value::String(query)) = payload.remove("query") else {
        return Err("Invalid message received: the payload needs a `query` string".into());
    };
    let mut request = Request::new(query);
    match payload.remove("operationName") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => request = request.operation_name(name),
        Some(_) => return Err("Invalid message received: `operationName` must be a string".into()),
    }
    match payload.remove("variables") {
        None | Some(Value::Null) => {}
        Some(variables @ Value::Object(_)) => {
            request = request.variables(Variables::from_json(variables));
        }
        Some(_) => return Err("Invalid message received: `variables` must be an object".into()),
    }
    Ok(request)
}

/// A message from the server, spelled by [`ServerMessage::to_text`] in the
/// connection's protocol.
#[derive(Debug)]
pub enum ServerMessage<'a> {
    /// `connection_ack`.
    Ack,
    /// A server `ping` (graphql-transport-ws) or `ka` (legacy).
    KeepAlive,
    /// `pong`, echoing the client's payload.
    Pong(Option<&'a Value>),
    /// `next` / `data`: one execution result.
    Next {
        /// Operation id.
        id: &'a str,
        /// The serialised result (`data`, `errors`, `extensions`), as JSON text.
        payload: &'a str,
    },
    /// `error`: the operation failed before execution; nothing else follows.
    /// For graphql-transport-ws the payload is the errors array.
    Error {
        /// Operation id; legacy protocol errors may have none.
        id: Option<&'a str>,
        /// Errors array, or (legacy protocol errors) `{message}`.
        payload: &'a Value,
    },
    /// `complete`: the operation is done.
    Complete {
        /// Operation id.
        id: &'a str,
    },
    /// `connection_error` (legacy only): `connection_init` was refused.
    ConnectionError {
        /// Why, safe to show.
        message: &'a str,
    },
}

impl ServerMessage<'_> {
    /// The JSON text of the message in `protocol`.
    pub fn to_text(&self, protocol: Protocol) -> String {
        let legacy = protocol == Protocol::Legacy;
        let value = match self {
            Self::Next { id, payload } => {
                // The payload is JSON already (often shared by many operations).
                let id = Value::from(*id);
                let kind = if legacy { "data" } else { "next" };
                return format!(r#"{{"id":{id},"type":"{kind}","payload":{payload}}}"#);
            }
            Self::Ack => json!({ "type": "connection_ack" }),
            Self::KeepAlive if legacy => json!({ "type": "ka" }),
            Self::KeepAlive => json!({ "type": "ping" }),
            Self::Pong(Some(payload)) => json!({ "type": "pong", "payload": payload }),
            Self::Pong(None) => json!({ "type": "pong" }),
            Self::Error {
                id: Some(id),
                payload,
            } => json!({ "id": id, "type": "error", "payload": payload }),
            Self::Error { id: None, payload } => json!({ "type": "error", "payload": payload }),
            Self::Complete { id } => json!({ "id": id, "type": "complete" }),
            Self::ConnectionError { message } => {
                json!({ "type": "connection_error", "payload": { "message": message } })
            }
        };
        value.to_string()
    }
}

/// `reason` cut to fit a close frame, at a character boundary.
pub fn close_reason(reason: &str) -> String {
    if reason.len() <= MAX_CLOSE_REASON_BYTES {
        return reason.to_owned();
    }
    let mut end = MAX_CLOSE_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_are_cut_at_a_character_boundary() {
        let long = "é".repeat(100);
        let cut = close_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON_BYTES);
        assert_eq!(cut.len(), 122);
        assert_eq!(close_reason("short"), "short");
    }

    #[test]
    fn both_dialects_name_the_same_operations() {
        let start = r#"{"id":"1","type":"start","payload":{"query":"{ me { id } }"}}"#;
        assert!(matches!(
            parse(Protocol::Legacy, start),
            Ok(ClientMessage::Subscribe { .. })
        ));
        assert!(parse(Protocol::TransportWs, start).is_err());
        let subscribe =
            r#"{"id":"1","type":"subscribe","payload":{"query":"{ me { id } }","variables":null}}"#;
        assert!(matches!(
            parse(Protocol::TransportWs, subscribe),
            Ok(ClientMessage::Subscribe { .. })
        ));
    }

    #[test]
    fn garbage_is_invalid_not_a_panic() {
        for text in [
            "",
            "[]",
            "null",
            "{",
            r#"{"type":5}"#,
            r#"{"type":"subscribe"}"#,
        ] {
            assert!(parse(Protocol::TransportWs, text).is_err(), "{text}");
        }
    }
}
