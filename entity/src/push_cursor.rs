//! The `push_cursors` table: how far each push job has read the change log,
//! so nothing is missed (or routed twice) across restarts.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One job's position in the change log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "push_cursors")]
pub struct Model {
    /// The job's name (e.g. "router").
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The last change-log seq the job has fully handled.
    pub seq: i64,
}

/// A cursor relates to nothing.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
