//! The `refresh_tokens` table: rotating refresh tokens. Each refresh uses
//! one token and issues the next in the same family; reuse of a used token
//! revokes the whole family.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ids::{OrganizationId, RefreshTokenId, UserId};

/// One refresh token; only its hash is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: RefreshTokenId,
    /// Owning organization.
    pub org_id: OrganizationId,
    /// The user it signs in.
    pub user_id: UserId,
    /// The rotation chain it belongs to (one per sign-in).
    pub family_id: Uuid,
    /// Hash of the token; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// When it stops being accepted.
    pub expires_at: DateTimeUtc,
    /// When it was exchanged for the next token.
    pub used_at: Option<DateTimeUtc>,
    /// When it was revoked (sign-out, reuse detected).
    pub revoked_at: Option<DateTimeUtc>,
    /// When it was issued.
    pub created_at: DateTimeUtc,
}

/// Relations of a refresh token.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning organization.
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrgId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    /// The user.
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
