//! Change-log retention: a background job prunes change rows that were
//! superseded by a newer change of the same entity before the retention
//! period began. The newest row of every entity stays, so a pull from the
//! start still yields every entity as it stands; a row superseded within the
//! period stays too, because a client with a cursor inside the period may
//! hold that version (a merge base, a tombstone decision). Cursors older
//! than retention are refused (`CURSOR_EXPIRED`).

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use tokio_util::sync::CancellationToken;

use crate::error::Result;

/// How often the pruner runs.
const INTERVAL: Duration = Duration::from_secs(3600);

/// Deletes changes superseded before `retention_days` ago; returns how many.
pub async fn prune(db: &impl ConnectionTrait, retention_days: u32) -> Result<u64> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(retention_days));
    let backend = db.get_database_backend();
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "DELETE FROM changes WHERE EXISTS (\
         SELECT 1 FROM changes newer WHERE newer.entity_type = changes.entity_type \
         AND newer.entity_id = changes.entity_id AND newer.seq > changes.seq \
         AND newer.created_at < {placeholder})"
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
