//! The contract files: `schema.graphql` matches the code, and the
//! migrations apply from empty (and roll back) on every backend.

use migration::{Migrator, MigratorTrait};

use crate::helpers::{Backend, test_settings};

#[test]
fn schema_file_matches_the_served_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == fieldsync::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

async fn migrations_apply_from_empty_and_roll_back(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let settings = test_settings(&backend, dir.path());
    let db = fieldsync::db::connect(&settings.database).await.unwrap();
    let all = Migrator::migrations().len();
    assert_eq!(
        Migrator::get_pending_migrations(&db).await.unwrap().len(),
        all
    );
    assert!(
        fieldsync::db::check_ready(&db).await.is_err(),
        "not ready before migrating"
    );
    assert_eq!(fieldsync::db::migrate(&db).await.unwrap(), all);
    fieldsync::db::check_ready(&db).await.unwrap();
    assert_eq!(
        fieldsync::db::migrate(&db).await.unwrap(),
        0,
        "a second run is a no-op"
    );
    Migrator::down(&db, None).await.unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(&db).await.unwrap().len(),
        all
    );
    assert_eq!(fieldsync::db::migrate(&db).await.unwrap(), all);
}

crate::on_both_backends!(migrations_apply_from_empty_and_roll_back);
