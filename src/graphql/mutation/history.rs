//! History mutations: reverting an entity to an earlier version.

use async_graphql::{Context, ID, Object};
use entity::enums::EntityType;

use super::execute;
use crate::domain::operations::Operation;
use crate::graphql::objects::write::WriteResult;

/// Working with an entity's version history.
#[derive(Default)]
pub struct HistoryMutation;

#[Object]
impl HistoryMutation {
    /// Restores the data an entity had at `toVersion` as a new version
    /// (administrators; tasks, buildings, violations, inspections, alerts).
    async fn revert_entity(
        &self,
        ctx: &Context<'_>,
        entity_type: EntityType,
        id: ID,
        to_version: i32,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        let operation = uuid::Uuid::parse_str(id.as_str())
            .map_err(|_| {
                crate::error::Error::bad_input(format!("`{}` is not a valid id", id.as_str()))
            })
            .map(|id| Operation::Revert {
                entity_type,
                id,
                to_version,
            });
        execute(ctx, operation, client_mutation_id).await
    }
}
