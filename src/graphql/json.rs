//! Snapshots and patches cross the API with GraphQL's camelCase field names;
//! inside they use the models' snake_case names.

use serde_json::{Map, Value};

/// `assignee_id` → `assigneeId`.
pub fn to_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `assigneeId` → `assignee_id`.
pub fn to_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The GraphQL fields of an entity's type that stored fields show up in,
/// each once, in order: a reference (`building_id`) is its object field
/// (`building`), a location's parts are `location` (or a time entry's
/// `clockInLocation` / `clockOutLocation`); the organisation and the soft
/// deletion (a tombstone says it) are not fields of any type.
pub fn graphql_fields(stored: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(stored.len());
    for name in stored {
        let field = match name.as_str() {
            "org_id" | "deleted_at" => continue,
            "latitude" | "longitude" | "accuracy_m" | "location_at" => "location".to_owned(),
            "clock_in_latitude" | "clock_in_longitude" => "clockInLocation".to_owned(),
            "clock_out_latitude" | "clock_out_longitude" => "clockOutLocation".to_owned(),
            "entity_id" => "entityId".to_owned(),
            other => to_camel(other.strip_suffix("_id").unwrap_or(other)),
        };
        if !out.contains(&field) {
            out.push(field);
        }
    }
    out
}

/// A snapshot with camelCase top-level keys.
pub fn camel_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (to_camel(&k), v)).collect())
        }
        other => other,
    }
}

/// A client patch with snake_case top-level keys.
pub fn snake_keys(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter().map(|(k, v)| (to_snake(&k), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_convert_both_ways() {
        assert_eq!(to_camel("assignee_id"), "assigneeId");
        assert_eq!(to_snake("assigneeId"), "assignee_id");
        assert_eq!(to_snake(&to_camel("due_at")), "due_at");
    }
}
