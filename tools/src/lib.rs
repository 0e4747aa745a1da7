//! Tools around fieldsync, kept out of the server crate so the server does
//! not depend on a WebSocket client: the load generator ([`loadgen`], which
//! only speaks HTTP and WebSocket to a running server) and the offline-sync
//! simulation ([`simulation`], which drives the server's write path and
//! delta pull in-process against a database of its own).

pub mod loadgen;
pub mod simulation;
