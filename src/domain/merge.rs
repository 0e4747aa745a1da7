//! The three-way field merge behind `onConflict: MERGE`.
//!
//! The base is the entity as the client last saw it (the change-log snapshot
//! at `expectedVersion`), the server side is the entity now, the client side
//! is the patch. A field the server has not touched since the base takes the
//! client's value; a field both sides changed to the same value agrees; a
//! field both changed differently goes through its [`Rule`], and what no rule
//! settles is a conflict. Pure functions: no database, easy to test.

use serde_json::{Map, Value};

/// How to settle a field that both sides changed differently.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// No automatic answer (free text, reassignment): a conflict.
    Conflict,
    /// The larger number wins (task progress only moves forward).
    Max,
    /// The value ranked higher wins; equal ranks conflict.
    Ranked(fn(&str) -> Option<u8>),
}

/// A field that could not be merged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldConflict {
    /// Field name (snake_case, as stored).
    pub field: String,
    /// The value at the client's base version (`null` if unknown).
    pub base: Value,
    /// The value on the server now.
    pub server: Value,
    /// The value the client wants.
    pub client: Value,
}

/// The outcome of merging a patch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merge {
    /// Fields to write, with their final values.
    pub patch: Map<String, Value>,
    /// Fields both sides changed that a rule settled.
    pub merged_fields: Vec<String>,
    /// Fields no rule settled; when non-empty nothing may be written.
    pub conflicts: Vec<FieldConflict>,
}

/// Merges `client` (a patch) onto `server`, relative to `base`. Without a
/// base (pruned from the log), every field where server and client differ
/// counts as changed on both sides.
pub fn merge(
    base: Option<&Map<String, Value>>,
    server: &Map<String, Value>,
    client: &Map<String, Value>,
    rule_for: impl Fn(&str) -> Rule,
) -> Merge {
    let mut out = Merge::default();
    for (field, wanted) in client {
        let current = server.get(field).unwrap_or(&Value::Null);
        if wanted == current {
            continue;
        }
        let base_value = base.and_then(|b| b.get(field));
        let server_changed = base_value.is_none_or(|b| b != current);
        if !server_changed {
            out.patch.insert(field.clone(), wanted.clone());
            continue;
        }
        let settled = match rule_for(field) {
            Rule::Conflict => None,
            Rule::Max => match (current.as_f64(), wanted.as_f64()) {
                (Some(s), Some(c)) => Some(if c > s { wanted } else { current }),
                _ => None,
            },
            Rule::Ranked(rank) => {
                let rank_of = |v: &Value| v.as_str().and_then(rank);
                match (rank_of(current), rank_of(wanted)) {
                    (Some(s), Some(c)) if c > s => Some(wanted),
                    (Some(s), Some(c)) if c < s => Some(current),
                    _ => None,
                }
            }
        };
        match settled {
            Some(value) => {
                out.merged_fields.push(field.clone());
                if value != current {
                    out.patch.insert(field.clone(), value.clone());
                }
            }
            None => out.conflicts.push(FieldConflict {
                field: field.clone(),
                base: base_value.cloned().unwrap_or(Value::Null),
                server: current.clone(),
                client: wanted.clone(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn rank(v: &str) -> Option<u8> {
        ["LOW", "HIGH"]
            .iter()
            .position(|x| *x == v)
            .map(|p| p as u8)
    }

    fn rules(field: &str) -> Rule {
        match field {
            "progress" => Rule::Max,
            "priority" => Rule::Ranked(rank),
            _ => Rule::Conflict,
        }
    }

    #[test]
    fn fields_the_server_left_alone_take_the_clients_value() {
        let base = map(json!({ "title": "a", "progress": 10 }));
        let server = map(json!({ "title": "a", "progress": 50 }));
        let out = merge(Some(&base), &server, &map(json!({ "title": "b" })), rules);
        assert_eq!(out.patch, map(json!({ "title": "b" })));
        assert!(out.conflicts.is_empty() && out.merged_fields.is_empty());
    }

    #[test]
    fn rules_settle_fields_both_sides_changed() {
        let base = map(json!({ "progress": 10, "priority": "LOW" }));
        let server = map(json!({ "progress": 60, "priority": "LOW" }));
        let out = merge(Some(&base), &server, &map(json!({ "progress": 40 })), rules);
        assert_eq!(out.merged_fields, vec!["progress"]);
        assert!(out.patch.is_empty(), "the server's larger progress stands");
        let server = map(json!({ "progress": 60, "priority": "HIGH" }));
        let out = merge(
            Some(&base),
            &server,
            &map(json!({ "progress": 90, "priority": "HIGH" })),
            rules,
        );
        assert_eq!(
            out.patch,
            map(json!({ "progress": 90 })),
            "equal values agree"
        );
    }

    #[test]
    fn two_different_text_edits_conflict() {
        let base = map(json!({ "title": "a" }));
        let server = map(json!({ "title": "b" }));
        let out = merge(Some(&base), &server, &map(json!({ "title": "c" })), rules);
        assert!(out.patch.is_empty());
        assert_eq!(
            out.conflicts,
            vec![FieldConflict {
                field: "title".into(),
                base: json!("a"),
                server: json!("b"),
                client: json!("c")
            }]
        );
    }

    #[test]
    fn without_a_base_every_difference_counts_as_concurrent() {
        let server = map(json!({ "title": "b", "progress": 5 }));
        let out = merge(
            None,
            &server,
            &map(json!({ "title": "c", "progress": 7 })),
            rules,
        );
        assert_eq!(out.conflicts.len(), 1);
        assert_eq!(out.merged_fields, vec!["progress"]);
    }
}
