//! What the CLI commands do beyond starting the server: demo data with
//! ready tokens, tokens for a user, and creating users.

use anyhow::{Context, bail};
use entity::enums::Role;
use entity::ids::UserId;
use entity::{organization, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::demo::{self, DemoOrg};
use crate::domain::users::{self, NewUser};
use crate::state::AppState;

/// Lifetime of the tokens printed for demo users: long enough to explore.
const DEMO_TOKEN_TTL_SECS: u64 = 24 * 3600;

/// Parses ADMIN, WORKER or CLIENT (any case).
pub fn parse_role(value: &str) -> Result<Role, String> {
    match value.to_ascii_uppercase().as_str() {
        "ADMIN" => Ok(Role::Admin),
        "WORKER" => Ok(Role::Worker),
        "CLIENT" => Ok(Role::Client),
        _ => Err(format!("`{value}` is not ADMIN, WORKER or CLIENT")),
    }
}

/// Loads the demo organisation on an empty database, or when asked, and
/// prints a token per role.
pub async fn ensure_demo(state: &AppState, requested: bool) -> anyhow::Result<()> {
    let empty = demo::is_empty(&state.db).await?;
    if !(empty || requested) {
        return Ok(());
    }
    let demo = match demo::find(&state.db, "demo").await? {
        Some(demo) => demo,
        None => demo::seed(&state.db, "Demo")
            .await
            .context("loading demo data failed")?,
    };
    print_demo(state, &demo)
}

/// Prints the logins and ready access tokens of a demo organisation.
pub fn print_demo(state: &AppState, demo: &DemoOrg) -> anyhow::Result<()> {
    println!(
        "Demo organisation `{}` (password for every login: {}):",
        demo.slug,
        demo::DEMO_PASSWORD
    );
    let people = [
        ("admin", demo.admin, Role::Admin),
        ("client1", demo.clients[0], Role::Client),
        ("worker1", demo.workers[0], Role::Worker),
    ];
    for (local, id, role) in people {
        let token = state
            .tokens
            .issue_with_ttl(id, demo.org_id, role, DEMO_TOKEN_TTL_SECS)?
            .token;
        println!(
            "  {:<7} {}\n          token: {token}",
            format!("{role:?}").to_uppercase(),
            demo.email(local)
        );
    }
    println!("  also: client2, worker2..worker4 @{}.local", demo.slug);
    Ok(())
}

/// An access token for the active user with this email.
pub async fn token_for(state: &AppState, email: &str, ttl: Option<u64>) -> anyhow::Result<String> {
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(&state.db)
        .await?
    else {
        bail!("no user with email {email}");
    };
    if !user.active || user.deleted_at.is_some() {
        bail!("user {email} is deactivated");
    }
    let ttl = ttl.unwrap_or(state.settings.auth.access_token_ttl_secs);
    Ok(state
        .tokens
        .issue_with_ttl(user.id, user.org_id, user.role, ttl)?
        .token)
}

/// Creates a user in the organisation with this slug.
pub async fn create_user(
    state: &AppState,
    org_slug: &str,
    email: String,
    name: String,
    role: Role,
    password: Option<String>,
    time_zone: String,
) -> anyhow::Result<UserId> {
    let Some(org) = organization::Entity::find()
        .filter(organization::Column::Slug.eq(org_slug))
        .one(&state.db)
        .await?
    else {
        bail!("no organisation with slug {org_slug}");
    };
    let new = NewUser {
        email,
        name,
        role,
        password,
        time_zone,
    };
    Ok(users::create(&state.db, org.id, new).await?.id)
}
