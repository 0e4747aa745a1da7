//! What every versioned write answers. Outcomes are data, not errors: a
//! stale write that could not be merged is a `CONFLICT` result, while errors
//! are kept for what no retry fixes.

use async_graphql::Enum;
use entity::enums::EntityType;
use entity::ids::SyncConflictId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::merge::FieldConflict;

/// How a write went.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Written as asked (or nothing needed writing).
    Applied,
    /// Written after merging with changes the client had not seen.
    Merged,
    /// Not written: the server changed the same fields differently.
    Conflict,
}

/// What to do when `expectedVersion` is older than the server's.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictStrategy {
    /// Write nothing and answer `CONFLICT` with the current entity.
    Reject,
    /// Three-way merge against the version the client saw (the default).
    #[default]
    Merge,
    /// Apply as given over whatever the server has.
    LastWriteWins,
}

/// The fields that could not be merged, and where they were recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictReport {
    /// The `sync_conflicts` row to resolve later (`None` under `REJECT`, or
    /// when an atomic `syncPush` rolled back).
    pub id: Option<SyncConflictId>,
    /// The fields in dispute with base, server and client values.
    pub fields: Vec<FieldConflict>,
}

/// The answer to a versioned write; also what a replay returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Written {
    /// How it went.
    pub outcome: Outcome,
    /// Kind of entity written.
    pub entity_type: EntityType,
    /// Its id.
    pub entity_id: Uuid,
    /// Its version as it now stands.
    pub version: i32,
    /// The entity as it now stands on the server (its model's serde form).
    pub snapshot: Value,
    /// Fields both sides changed that a merge rule settled.
    pub merged_fields: Vec<String>,
    /// Fields the client sent whose value did not survive (a merge rule
    /// kept the server's, or the task's status machine set another).
    #[serde(default)]
    pub overridden_fields: Vec<String>,
    /// Present when the outcome is `CONFLICT`.
    pub conflict: Option<ConflictReport>,
}

/// How the user settles a recorded conflict.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictResolution {
    /// Keep the server's version; drop the client's edit.
    KeepServer,
    /// Apply the client's edit over the server's version.
    TakeMine,
    /// Apply a hand-merged patch.
    Merged,
}

/// The fields of `sent` (a client's patch, stored names) whose value is not
/// what `snapshot` (the entity as written) holds.
pub fn overridden(sent: &serde_json::Map<String, Value>, snapshot: &Value) -> Vec<String> {
    sent.iter()
        .filter(|(field, value)| snapshot.get(field.as_str()) != Some(*value))
        .map(|(field, _)| field.clone())
        .collect()
}
