//! Schema migrations of fieldsync, written with sea-query's portable builders
//! so that the same migrations run on SQLite and PostgreSQL.
//!
//! Enum columns are plain strings (see `entity::enums`); foreign keys are
//! declared in `CREATE TABLE` because SQLite cannot add them later.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_organizations_users;
mod m20261128_000002_buildings_tasks;
mod m20261128_000003_workers;
mod m20261128_000004_compliance;
mod m20261128_000005_push;
mod m20261128_000006_sync_and_auth;
mod m20261128_000007_push_routing;
mod m20261128_000008_push_delivery;
mod m20261202_000009_change_priorities;
mod m20261202_000010_change_queues;
mod m20261202_000011_close_deleted_conflicts;
mod m20261202_000012_conflict_versions;
mod m20261202_000013_device_platforms;

/// Runs fieldsync's migrations, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_organizations_users::Migration),
            Box::new(m20261128_000002_buildings_tasks::Migration),
            Box::new(m20261128_000003_workers::Migration),
            Box::new(m20261128_000004_compliance::Migration),
            Box::new(m20261128_000005_push::Migration),
            Box::new(m20261128_000006_sync_and_auth::Migration),
            Box::new(m20261128_000007_push_routing::Migration),
            Box::new(m20261128_000008_push_delivery::Migration),
            Box::new(m20261202_000009_change_priorities::Migration),
            Box::new(m20261202_000010_change_queues::Migration),
            Box::new(m20261202_000011_close_deleted_conflicts::Migration),
            Box::new(m20261202_000012_conflict_versions::Migration),
            Box::new(m20261202_000013_device_platforms::Migration),
        ]
    }
}

/// A foreign key from `table.column` to `parent.parent_col`; by convention
/// `name` is `fk_<table>_<column>`.
fn fk(
    name: &str,
    table: impl IntoIden,
    column: impl IntoIden,
    parent: impl IntoIden,
    parent_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(parent, parent_col)
        .on_delete(on_delete)
        .take()
}

/// An index on `table` over `cols`, in order; by convention `name` is
/// `idx_<table>_<cols>`.
fn index<T: IntoIden, C: IntoIden>(
    name: &str,
    table: T,
    cols: impl IntoIterator<Item = C>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col);
    }
    index
}
