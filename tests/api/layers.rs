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
    &["ws"],             // GraphQL over WebSocket: protocol, connection, send queues, lanes
    &["graphql"],        // schema, resolvers, objects, renderings: the API, thin
    &["state"],          // AppState: the wiring of the parts below
    &["push"],           // notifier: router, rules, the notifications outbox, providers
    &["sync", "events"], // offline batches and delta pull | the live hub and feeds
    &["domain"],         // the rules: visibility, scoping, writes, merge, conflicts
    &["changelog"],      // the change log: record, read, cursors, retention
    &["auth"],           // tokens, principal, sessions
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

/// The top-level modules named by the paths in `body` of a file whose
/// module is `depth` deep (`src/a.rs` is 1, `src/a/b.rs` is 2), with their
/// byte offset: `crate::a::b` names `a`, `crate::{a, b::{c}, d}` names `a`,
/// `b` and `d`, and `super::` chains that climb to the crate root name what
/// follows them. `crate as …` is reported as the name `crate`, so a renamed
/// root cannot hide a reference.
fn references(body: &str, depth: usize) -> Vec<(usize, String)> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ident = |s: &str| -> String { s.chars().take_while(|c| is_ident(*c)).collect() };
    let mut out = Vec::new();
    let push_path = |at: usize, rest: &str, out: &mut Vec<(usize, String)>| {
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, skipping nested braces.
            let mut level = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => level += 1,
                    '}' if level == 0 => break,
                    '}' => level -= 1,
                    ',' if level == 0 => {
                        out.push((at, ident(item.trim())));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if level == 0 {
                    item.push(c);
                }
            }
            out.push((at, ident(item.trim())));
        } else {
            out.push((at, ident(rest)));
        }
    };
    for (at, _) in body.match_indices("crate") {
        let before = body[..at].chars().next_back();
        if before.is_some_and(is_ident) || before == Some(':') {
            continue;
        }
        let rest = &body[at + "crate".len()..];
        if let Some(path) = rest.strip_prefix("::") {
            push_path(at, path, &mut out);
        } else if rest.trim_start().starts_with("as ") {
            out.push((at, "crate".to_owned()));
        }
    }
    for (at, _) in body.match_indices("super::") {
        if body[..at]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == ':')
        {
            continue;
        }
        let mut rest = &body[at..];
        let mut climbs = 0;
        while let Some(next) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = next;
        }
        if climbs >= depth {
            push_path(at, rest, &mut out);
        }
    }
    out.retain(|(_, name)| !name.is_empty());
    out
}

/// The source before the file's unit tests (`#[cfg(test)]` on a `mod`).
fn without_unit_tests(text: &str) -> &str {
    let mut from = 0;
    while let Some(found) = text[from..].find("#[cfg(test)]") {
        let at = from + found;
        let after = text[at + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod ") {
            return &text[..at];
        }
        from = at + 1;
    }
    text
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
        let body = without_unit_tests(&text);
        let rel = file.strip_prefix(&src).expect("a file under src");
        let depth = match rel.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs" | "main.rs") if rel.parent() == Some(Path::new("")) => 0,
            _ => rel.components().count(),
        };
        for (at, other) in references(body, depth) {
            if other == "self" || other == "super" || other == me {
                continue;
            }
            if other == "crate" {
                let line = body[..at].matches('\n').count() + 1;
                problems.push(format!(
                    "{}:{line}: `crate as` hides what it names",
                    rel.display()
                ));
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
fn the_layer_check_sees_every_way_of_naming_a_module() {
    let names = |body: &str, depth: usize| -> Vec<String> {
        references(body, depth)
            .into_iter()
            .map(|(_, n)| n)
            .collect()
    };
    assert_eq!(
        names(
            "use crate::{db, events::{hub::Hub, feed}, ws};\nlet x = crate::http::router;",
            1
        ),
        ["db", "events", "ws", "http"]
    );
    assert_eq!(names("use super::ws::routes;", 1), ["ws"], "from src/a.rs");
    assert_eq!(
        names("use super::lanes;", 2),
        Vec::<String>::new(),
        "a sibling file"
    );
    assert_eq!(
        names("use super::super::http;", 2),
        ["http"],
        "from src/a/b.rs"
    );
    assert_eq!(names("use crate as root;", 1), ["crate"]);
    let text = "use crate::db;\n#[cfg(test)]\nfn helper() {}\nuse crate::ws;\n#[cfg(test)]\nmod tests { use crate::http; }";
    assert_eq!(names(without_unit_tests(text), 1), ["db", "ws"]);
}
