//! Change-log retention: a background job prunes change rows older than the
//! retention period that a newer change of the same entity supersedes. The
//! newest row of every entity stays, so a pull from the start still yields
//! every entity as it stands; cursors older than retention are refused
//! (`CURSOR_EXPIRED`) because the history between may be gone.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio_util::sync::CancellationToken;

use crate::error::Result;

/// How often the pruner runs.
const INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes superseded changes older than `retention_days`; returns how many.
pub async fn prune(db: &impl ConnectionTrait, retention_days: u32) -> Result<u64> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(retention_days));
    let backend = db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "DELETE FROM changes WHERE created_at < {placeholder} AND EXISTS (\
         SELECT 1 FROM changes newer WHERE newer.entity_type = changes.entity_type \
         AND newer.entity_id = changes.entity_id AND newer.seq > changes.seq)"
    );
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [cutoff.into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// Runs [`prune`] every hour until `shutdown` is cancelled.
pub async fn run(db: DatabaseConnection, retention_days: u32, shutdown: CancellationToken) {
    loop {
        match prune(&db, retention_days).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned the change log"),
            Err(error) => tracing::warn!(%error, "change-log pruning failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}
