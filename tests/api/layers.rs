//! The module layering of `src/`: each top-level module may use `crate::X`
//! only for a module in a lower layer (or itself), so the code reads one
//! way, from the HTTP surface down to the settings. The same check as the
//! team's `shared/tools/layers`, kept here so CI needs nothing outside the repo.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Top to bottom. Modules on one line are siblings and may not use each
/// other, except on the first line (entry points and tools may share).
const LAYERS: &[&[&str]] = &[
    &["main", "cli", "lib", "demo"], // entry points around the server
    &["http"],                       // the HTTP surface; mounts the socket routes
    &["ws"],                         // GraphQL over WebSocket: protocol, connection, outbox, lanes
    &["graphql"],                    // schema, resolvers, objects, renderings: the API, thin
    &["state"],                      // AppState: the wiring of the parts below
    &["push"],                       // notifier: router, rules, outbox worker, providers
    &["sync", "events"],             // offline batches and delta pull | the live hub and feeds
    &["domain"],                     // the rules: visibility, scoping, writes, merge, conflicts
    &["changelog"],                  // the change log: record, read, cursors, retention
    &["auth"],                       // tokens, principal, sessions
    &["db", "telemetry"],
    &["config", "error"],
];

/// The top-level module a file of `src/` belongs to.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("a file under src");
    let head = rel
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    head.strip_suffix(".rs").map(str::to_owned).unwrap_or(head)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules named after each `crate::` in `body`, with their byte offset:
/// `crate::a::b` names `a`, `crate::{a, b::c}` names `a` and `b`.
fn references(body: &str) -> Vec<(usize, String)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in body.match_indices("crate::") {
        // Skip `fieldsync_crate::`-like identifiers that merely end in "crate".
        if body[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &body[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.push((at, name));
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.push((at, name));
            }
        }
    }
    out
}

#[test]
fn modules_only_use_modules_below_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let level: HashMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row.iter().map(move |m| (*m, i)))
        .collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let me = module_of(&src, file);
        let Some(&mine) = level.get(me.as_str()) else {
            problems.push(format!("module `{me}` is on no layer: add it to LAYERS"));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("readable source");
        // Unit tests at the bottom of a file may reach anywhere.
        let body = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (at, other) in references(body) {
            if other == "self" || other == "super" || other == me {
                continue;
            }
            // An item of lib.rs itself, such as `crate::Application`.
            let other = if level.contains_key(other.as_str()) {
                other
            } else if src.join(format!("{other}.rs")).exists() || src.join(&other).is_dir() {
                problems.push(format!("module `{other}` is on no layer: add it to LAYERS"));
                continue;
            } else {
                "lib".to_owned()
            };
            let theirs = level[other.as_str()];
            if theirs == 0 && mine == 0 {
                continue;
            }
            if theirs <= mine {
                let line = body[..at].matches('\n').count() + 1;
                let kind = if theirs == mine { "sideways" } else { "upward" };
                let rel = file.strip_prefix(root).unwrap_or(file).display();
                problems.push(format!("{rel}:{line}: {me} uses {other} ({kind})"));
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "references that do not reach down:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layer_check_sees_a_reference_that_points_up() {
    let found = references("use crate::{db, events::hub::Hub};\nlet x = crate::ws::routes;");
    let names: Vec<&str> = found.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["db", "events", "ws"]);
}
