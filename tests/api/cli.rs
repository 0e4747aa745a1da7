//! The `fieldsync` binary: every command reads the same configuration, and
//! a bad setting stops it with a message that names the setting.

use std::process::{Command, Output};

use serde_json::json;

use crate::helpers::{Backend, spawn_app};

/// Runs the binary in `dir` (where no config file exists) with `env` set.
fn fieldsync(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldsync"))
        .args(args)
        .current_dir(dir)
        .env("FIELDSYNC_CONFIG", dir.join("none.toml"))
        .envs(env.iter().copied())
        .output()
        .expect("binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[test]
fn schema_command_prints_the_sdl() {
    let dir = tempfile::tempdir().unwrap();
    let output = fieldsync(dir.path(), &[], &["schema"]);
    assert_eq!(stdout(&output), fieldsync::graphql::sdl());
}

#[test]
fn a_bad_setting_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = fieldsync(
        dir.path(),
        &[("FIELDSYNC_DATABASE_MAX_CONNECTIONS", "0")],
        &["migrate"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.max_connections"), "{stderr}");

    std::fs::write(
        dir.path().join("fieldsync.toml"),
        "[server]\nbind = \"not an address\"\n",
    )
    .unwrap();
    let config = dir.path().join("fieldsync.toml");
    let output = fieldsync(
        dir.path(),
        &[("FIELDSYNC_CONFIG", config.to_str().unwrap())],
        &["migrate"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bind"), "{stderr}");
}

async fn seed_token_and_create_user_commands_work_against_the_server_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    // The same database as the running server (for PostgreSQL, its schema).
    let url = app.state.settings.database.url.clone();
    let schema = app
        .state
        .settings
        .database
        .schema
        .clone()
        .unwrap_or_default();
    let mut env = vec![
        ("FIELDSYNC_DATABASE_URL", url.as_str()),
        ("FIELDSYNC_AUTH_JWT_SECRET", crate::helpers::TEST_SECRET),
    ];
    if !schema.is_empty() {
        env.push(("FIELDSYNC_DATABASE_SCHEMA", schema.as_str()));
    }
    let run = |args: &[&str]| fieldsync(dir.path(), &env, args);

    let seeded = stdout(&run(&["seed", "--demo-org", "Third Org"]));
    assert!(seeded.contains("admin@third-org.local"), "{seeded}");

    let token = stdout(&run(&[
        "token",
        "--email",
        "worker2@third-org.local",
        "--ttl",
        "120",
    ]));
    let token = token.trim_end_matches('\n');
    assert!(
        !token.contains(char::is_whitespace),
        "the token alone on stdout"
    );
    let me = app
        .query(token, "{ me { email role } organization { slug } }")
        .await;
    assert_eq!(me.ok()["me"]["role"], "WORKER");
    assert_eq!(me.ok()["organization"]["slug"], "third-org");

    let created = stdout(&run(&[
        "create-user",
        "--org",
        "demo",
        "--email",
        "New.Admin@Demo.local",
        "--name",
        "New Admin",
        "--role",
        "admin",
        "--password",
        "s3cret-pass",
    ]));
    assert!(uuid::Uuid::parse_str(created.trim()).is_ok(), "{created}");
    let login = app
        .graphql(
            None,
            "mutation { login(email: \"new.admin@demo.local\", password: \"s3cret-pass\") { user { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(login.ok()["login"]["user"]["role"], "ADMIN");
    let duplicate = run(&[
        "create-user",
        "--org",
        "demo",
        "--email",
        "new.admin@demo.local",
        "--name",
        "X",
        "--role",
        "worker",
    ]);
    assert!(!duplicate.status.success());
    let unknown = run(&["token", "--email", "nobody@nowhere.local"]);
    assert!(!unknown.status.success());
}

crate::on_both_backends!(seed_token_and_create_user_commands_work_against_the_server_database);
