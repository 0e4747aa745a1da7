//! The rules: who may see what, and how entities change. Reads and writes
//! take the caller's [`Principal`](crate::auth::Principal) and a
//! `&impl ConnectionTrait`, so the caller owns the transaction (for writes,
//! the [`operations::Writer`]), and reads go through [`scope`], so nothing
//! escapes the caller's organisation.
//!
//! - Who sees what: [`scope`] and the read modules (SQL), [`visibility`] (in
//!   memory, for change-log rows), both reading snapshots through [`facts`].
//! - How entities change: [`operations`] (every write, and the `Writer`
//!   that commits it), the write modules (`*_writes`, [`revert`]) on the
//!   shared [`versioned`] toolkit, [`merge`] and [`conflicts`],
//!   [`idempotency`].

pub mod admin_writes;
pub mod buildings;
pub mod compliance;
pub mod compliance_writes;
pub mod conflicts;
pub mod devices;
pub mod facts;
pub mod history;
pub mod idempotency;
pub mod lookup;
pub mod merge;
pub mod notifications;
pub mod operations;
pub mod orders;
pub mod organizations;
pub mod pagination;
pub mod performance;
pub mod preferences;
pub mod revert;
pub mod scope;
pub mod task_rules;
pub mod task_writes;
pub mod tasks;
pub mod users;
pub mod versioned;
pub mod visibility;
pub mod worker_writes;
pub mod workers;
pub mod writes;
