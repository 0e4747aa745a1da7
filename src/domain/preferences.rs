//! Notification preferences: per category on or off, with quiet hours in
//! the user's time zone. A category without a stored row is at its default
//! (on, except clock events, which admins opt in to), without quiet hours.

use std::collections::HashMap;

use chrono::Utc;
use entity::enums::NotificationCategory;
use entity::ids::{NotificationPreferenceId, UserId};
use entity::notification_preference as preference;
use sea_orm::Iterable;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};

use crate::auth::Principal;
use crate::error::{Error, Result};

/// Minutes in a day; quiet-hour bounds are minutes after local midnight.
const DAY: i32 = 24 * 60;

/// One category's setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preference {
    /// The category.
    pub category: NotificationCategory,
    /// Whether pushes of this category are sent at all.
    pub enabled: bool,
    /// Quiet hours as (start, end) minutes after local midnight; the span
    /// may cross midnight (22:00–07:00).
    pub quiet_hours: Option<(i32, i32)>,
}

impl Preference {
    /// A category's setting until the user changes it: on, except clock
    /// events, without quiet hours.
    fn default_for(category: NotificationCategory) -> Self {
        Self {
            category,
            enabled: category != NotificationCategory::ClockEvent,
            quiet_hours: None,
        }
    }

    fn stored(row: &preference::Model) -> Self {
        Self {
            category: row.category,
            enabled: row.enabled,
            quiet_hours: row.quiet_start_minute.zip(row.quiet_end_minute),
        }
    }
}

/// Every category's setting for the caller, in a stable order.
pub async fn list(db: &impl ConnectionTrait, principal: &Principal) -> Result<Vec<Preference>> {
    let stored = preference::Entity::find()
        .filter(preference::Column::UserId.eq(principal.user_id))
        .all(db)
        .await?;
    Ok(NotificationCategory::iter()
        .map(
            |category| match stored.iter().find(|p| p.category == category) {
                Some(row) => Preference::stored(row),
                None => Preference::default_for(category),
            },
        )
        .collect())
}

/// Each of `users`' setting for one category, in one query.
pub async fn of_users(
    db: &impl ConnectionTrait,
    users: &[UserId],
    category: NotificationCategory,
) -> Result<HashMap<UserId, Preference>> {
    let stored = preference::Entity::find()
        .filter(preference::Column::UserId.is_in(users.to_vec()))
        .filter(preference::Column::Category.eq(category))
        .all(db)
        .await?;
    Ok(users
        .iter()
        .map(|user| {
            let preference = match stored.iter().find(|p| p.user_id == *user) {
                Some(row) => Preference::stored(row),
                None => Preference::default_for(category),
            };
            (*user, preference)
        })
        .collect())
}

/// Stores the given categories' settings; the others stay as they are.
pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    changes: Vec<Preference>,
) -> Result<Vec<Preference>> {
    for change in &changes {
        if let Some((start, end)) = change.quiet_hours
            && (!(0..DAY).contains(&start) || !(0..DAY).contains(&end) || start == end)
        {
            return Err(Error::bad_input(
                "quiet hours need a distinct start and end within the day",
            ));
        }
    }
    for change in changes {
        let existing = preference::Entity::find()
            .filter(preference::Column::UserId.eq(principal.user_id))
            .filter(preference::Column::Category.eq(change.category))
            .one(db)
            .await?;
        let row = preference::Model {
            id: existing
                .as_ref()
                .map_or_else(NotificationPreferenceId::new, |e| e.id),
            org_id: principal.org_id,
            user_id: principal.user_id,
            category: change.category,
            enabled: change.enabled,
            quiet_start_minute: change.quiet_hours.map(|q| q.0),
            quiet_end_minute: change.quiet_hours.map(|q| q.1),
            updated_at: Utc::now(),
        };
        let active = row.into_active_model().reset_all();
        if existing.is_some() {
            active.update(db).await?;
        } else {
            active.insert(db).await?;
        }
    }
    list(db, principal).await
}

/// Parses `HH:MM` into minutes after midnight.
pub fn parse_clock(value: &str) -> Result<i32> {
    let invalid = || Error::bad_input(format!("`{value}` is not a time of day like 22:30"));
    let (h, m) = value.split_once(':').ok_or_else(invalid)?;
    let (h, m): (i32, i32) = (
        h.parse().map_err(|_| invalid())?,
        m.parse().map_err(|_| invalid())?,
    );
    if !(0..24).contains(&h) || !(0..60).contains(&m) || value.len() != 5 {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

/// Formats minutes after midnight as `HH:MM`.
pub fn format_clock(minutes: i32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_round_trip_and_nonsense_is_refused() {
        assert_eq!(parse_clock("22:30").unwrap(), 1350);
        assert_eq!(format_clock(parse_clock("07:05").unwrap()), "07:05");
        assert!(parse_clock("24:00").is_err());
        assert!(parse_clock("7:5").is_err());
    }
}
