//! The change log: one row per committed write, read by delta sync, the
//! merge engine (as the history of snapshots) and, later, the real-time
//! dispatcher and the push router.

pub mod feed;
pub mod hub;
