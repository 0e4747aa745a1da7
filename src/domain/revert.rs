//! Reverting an entity to an earlier version: a new version whose data
//! equals the old snapshot from the change log (administrators only). The
//! status machine does not apply: a revert restores, it does not transition.

use chrono::Utc;
use entity::enums::{ChangeOp, EntityType};
use entity::{building, compliance_alert, inspection, task, violation};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, PrimaryKeyTrait,
    QuerySelect,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::writes::{Outcome, Written};
use crate::auth::Principal;
use crate::changelog::{self, NewChange};
use crate::error::{Error, Result};

/// Reverts `id` of `entity_type` to the data it had at `to_version`.
pub async fn revert(
    db: &impl ConnectionTrait,
    principal: &Principal,
    entity_type: EntityType,
    id: Uuid,
    to_version: i32,
    cmid: Option<&str>,
) -> Result<Written> {
    if !principal.is_admin() {
        return Err(Error::forbidden("only administrators may revert entities"));
    }
    let target = Target {
        principal,
        entity_type,
        id,
        to_version,
        cmid,
    };
    match entity_type {
        EntityType::Task => target.run::<task::Entity>(db).await,
        EntityType::Building => target.run::<building::Entity>(db).await,
        EntityType::Violation => target.run::<violation::Entity>(db).await,
        EntityType::Inspection => target.run::<inspection::Entity>(db).await,
        EntityType::ComplianceAlert => target.run::<compliance_alert::Entity>(db).await,
        _ => Err(Error::bad_input(
            "only tasks, buildings, violations, inspections and compliance alerts can be reverted",
        )),
    }
}

/// What to revert.
struct Target<'a> {
    principal: &'a Principal,
    entity_type: EntityType,
    id: Uuid,
    to_version: i32,
    cmid: Option<&'a str>,
}

impl Target<'_> {
    async fn run<E>(&self, db: &impl ConnectionTrait) -> Result<Written>
    where
        E: EntityTrait,
        E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel>,
        E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
        <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
    {
        let mut select =
            E::find_by_id(<E::PrimaryKey as PrimaryKeyTrait>::ValueType::from(self.id));
        if db.get_database_backend() == DbBackend::Postgres {
            select = select.lock_exclusive();
        }
        let current = select.one(db).await?;
        let current = match current {
            Some(model) => changelog::snapshot_of(&model)?,
            None => return Err(Error::NotFound("entity")),
        };
        if current["org_id"].as_str() != Some(self.principal.org_id.to_string().as_str()) {
            return Err(Error::NotFound("entity"));
        }
        let version = current["version"].as_i64().unwrap_or(0) as i32;
        if self.to_version < 1 || self.to_version >= version {
            return Err(Error::bad_input(format!(
                "toVersion must be between 1 and {}",
                version - 1
            )));
        }
        let mut restored = changelog::snapshot_at(
            db,
            self.principal.org_id,
            self.entity_type,
            self.id,
            self.to_version,
        )
        .await?
        .ok_or_else(|| Error::bad_input("that version is no longer in the change log"))?;
        restored["version"] = Value::from(version + 1);
        restored["updated_at"] =
            serde_json::to_value(Utc::now()).map_err(|e| Error::Internal(e.to_string()))?;
        let model: E::Model = serde_json::from_value(restored)
            .map_err(|e| Error::Internal(format!("old snapshot unreadable: {e}")))?;
        let saved = model.into_active_model().reset_all().update(db).await?;
        let snapshot = changelog::snapshot_of(&saved)?;
        let changed = changelog::changed_fields(&current, &snapshot);
        changelog::record(
            db,
            NewChange {
                org_id: self.principal.org_id,
                entity_type: self.entity_type,
                entity_id: self.id,
                version: version + 1,
                op: ChangeOp::Updated,
                snapshot: snapshot.clone(),
                changed_fields: changed,
                actor_id: Some(self.principal.user_id),
                client_mutation_id: self.cmid.map(str::to_owned),
            },
        )
        .await?;
        Ok(Written {
            outcome: Outcome::Applied,
            entity_type: self.entity_type,
            entity_id: self.id,
            version: version + 1,
            snapshot,
            merged_fields: Vec::new(),
            overridden_fields: Vec::new(),
            conflict: None,
        })
    }
}
