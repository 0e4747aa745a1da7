//! Administration mutations (administrators only): users, worker
//! assignments and client links. Each takes an optional `clientMutationId`
//! that makes a retry safe.

use async_graphql::{Context, ID, Object};

use super::execute;
use crate::domain::operations::Operation;
use crate::graphql::objects::write::WriteResult;
use crate::graphql::write_inputs::{
    CreateUserInput, assign_worker_operation, deactivate_user_operation, link_client_operation,
};

/// Running the organisation's people and their buildings.
#[derive(Default)]
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Creates a user in your organisation.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            Ok(Operation::CreateUser(input.into_new_user())),
            client_mutation_id,
        )
        .await
    }

    /// Deactivates a user (not yourself): their tokens stop working at once
    /// and their refresh tokens are revoked.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        id: ID,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(ctx, deactivate_user_operation(id), client_mutation_id).await
    }

    /// Assigns an active worker to a building, or with `assigned: false`
    /// removes the assignment. Repeating either changes nothing.
    async fn assign_worker_to_building(
        &self,
        ctx: &Context<'_>,
        worker_id: ID,
        building_id: ID,
        #[graphql(default = true)] assigned: bool,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            assign_worker_operation(worker_id, building_id, assigned),
            client_mutation_id,
        )
        .await
    }

    /// Links an active client to a building, or with `linked: false`
    /// removes the link. Repeating either changes nothing.
    async fn link_client_to_building(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
        building_id: ID,
        #[graphql(default = true)] linked: bool,
        client_mutation_id: Option<String>,
    ) -> async_graphql::Result<WriteResult> {
        execute(
            ctx,
            link_client_operation(client_id, building_id, linked),
            client_mutation_id,
        )
        .await
    }
}
