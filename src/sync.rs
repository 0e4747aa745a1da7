//! Offline sync: every write as an [`operations::Operation`] applied with
//! idempotency, batches of them (`syncPush`), the three-way merge, recorded
//! conflicts, the delta pull (`syncPull`) and change-log retention.

pub mod conflicts;
pub mod idempotency;
pub mod merge;
pub mod operations;
pub mod pull;
pub mod push;
pub mod retention;
pub mod simulation;
