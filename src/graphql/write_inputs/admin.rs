//! Administration inputs: users and building memberships.

use async_graphql::{ID, InputObject};
use entity::enums::Role;

use crate::domain::operations::Operation;
use crate::domain::users::NewUser;
use crate::error::Result;
use crate::graphql::inputs::parse_id;

/// A user to create.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Sign-in address, unique across organisations.
    pub email: String,
    /// Display name (1–200 characters).
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Password for built-in sign-in (4 characters or more); omit for
    /// users who sign in through an identity provider.
    #[graphql(secret)]
    pub password: Option<String>,
    /// IANA time zone, e.g. "Europe/Paris"; UTC when omitted.
    pub time_zone: Option<String>,
}

impl CreateUserInput {
    /// The domain form.
    pub fn into_new_user(self) -> NewUser {
        NewUser {
            email: self.email,
            name: self.name,
            role: self.role,
            password: self.password,
            time_zone: self.time_zone.unwrap_or_else(|| "UTC".to_owned()),
        }
    }
}

/// `deactivateUser` inside a sync batch.
#[derive(InputObject)]
pub struct DeactivateUserOperation {
    /// Which user.
    pub id: ID,
}

/// `assignWorkerToBuilding` inside a sync batch.
#[derive(InputObject)]
pub struct AssignWorkerOperation {
    /// The worker.
    pub worker_id: ID,
    /// The building.
    pub building_id: ID,
    /// Assign (true) or remove the assignment (false).
    #[graphql(default = true)]
    pub assigned: bool,
}

/// `linkClientToBuilding` inside a sync batch.
#[derive(InputObject)]
pub struct LinkClientOperation {
    /// The client.
    pub client_id: ID,
    /// The building.
    pub building_id: ID,
    /// Link (true) or remove the link (false).
    #[graphql(default = true)]
    pub linked: bool,
}

/// The administration operations of a sync batch. Flattened into
/// [`SyncOperationInput`]: its fields are fields of that input.
#[derive(InputObject, Default)]
pub struct AdminSyncOperations {
    /// Create a user.
    pub create_user: Option<CreateUserInput>,
    /// Deactivate a user.
    pub deactivate_user: Option<DeactivateUserOperation>,
    /// Assign a worker to a building, or unassign.
    pub assign_worker_to_building: Option<AssignWorkerOperation>,
    /// Link a client to a building, or unlink.
    pub link_client_to_building: Option<LinkClientOperation>,
}

impl AdminSyncOperations {
    /// How many operation fields are set.
    pub fn count(&self) -> usize {
        [
            self.create_user.is_some(),
            self.deactivate_user.is_some(),
            self.assign_worker_to_building.is_some(),
            self.link_client_to_building.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }

    /// The first operation set, if any.
    pub fn into_operation(self) -> Option<Result<Operation>> {
        Some(if let Some(input) = self.create_user {
            Ok(Operation::CreateUser(input.into_new_user()))
        } else if let Some(op) = self.deactivate_user {
            deactivate_user_operation(op.id)
        } else if let Some(op) = self.assign_worker_to_building {
            assign_worker_operation(op.worker_id, op.building_id, op.assigned)
        } else if let Some(op) = self.link_client_to_building {
            link_client_operation(op.client_id, op.building_id, op.linked)
        } else {
            return None;
        })
    }
}

/// A `DeactivateUser` operation from its parts.
pub fn deactivate_user_operation(id: ID) -> Result<Operation> {
    Ok(Operation::DeactivateUser {
        id: parse_id(&id, "user")?,
    })
}

/// An `AssignWorker` operation from its parts.
pub fn assign_worker_operation(
    worker_id: ID,
    building_id: ID,
    assigned: bool,
) -> Result<Operation> {
    Ok(Operation::AssignWorker {
        worker_id: parse_id(&worker_id, "user")?,
        building_id: parse_id(&building_id, "building")?,
        assigned,
    })
}

/// A `LinkClient` operation from its parts.
pub fn link_client_operation(client_id: ID, building_id: ID, linked: bool) -> Result<Operation> {
    Ok(Operation::LinkClient {
        client_id: parse_id(&client_id, "user")?,
        building_id: parse_id(&building_id, "building")?,
        linked,
    })
}
