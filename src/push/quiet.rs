//! Quiet hours: a window of the day, in the user's own time zone, during
//! which normal notifications wait. The window may span midnight
//! (22:00–07:00); a notification held by it is sent when it ends.

use chrono::{DateTime, Days, LocalResult, NaiveDateTime, NaiveTime, TimeZone as _, Timelike, Utc};
use chrono_tz::Tz;

/// When a notification due `now` may go out for a user in `zone` with quiet
/// hours `(start, end)` (minutes after local midnight): `None` when `now` is
/// outside the window, else the window's end. An unknown zone counts as UTC.
pub fn hold_until(
    zone: &str,
    (start, end): (i32, i32),
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
    let local = now.with_timezone(&tz);
    let minute = (local.hour() * 60 + local.minute()) as i32;
    let quiet = if start < end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    };
    if !quiet {
        return None;
    }
    let end_time = NaiveTime::from_hms_opt((end / 60) as u32, (end % 60) as u32, 0)?;
    let mut day = local.date_naive();
    if minute >= end {
        day = day.checked_add_days(Days::new(1))?;
    }
    Some(to_utc(&tz, day.and_time(end_time)))
}

/// A local wall-clock time as UTC; a time skipped by a daylight-saving jump
/// becomes the first valid time after it.
fn to_utc(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    loop {
        match tz.from_local_datetime(&candidate) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            LocalResult::None => candidate += chrono::Duration::minutes(15),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_window_across_midnight_holds_until_the_morning() {
        // 23:30 in Paris (UTC+1 in winter): held until 07:00 Paris.
        let held = hold_until(
            "Europe/Paris",
            (22 * 60, 7 * 60),
            at("2026-11-28T22:30:00Z"),
        );
        assert_eq!(held, Some(at("2026-11-29T06:00:00Z")));
        // 02:00 Paris: still quiet, same morning.
        let held = hold_until(
            "Europe/Paris",
            (22 * 60, 7 * 60),
            at("2026-11-29T01:00:00Z"),
        );
        assert_eq!(held, Some(at("2026-11-29T06:00:00Z")));
        // 12:00 Paris: not quiet.
        assert_eq!(
            hold_until(
                "Europe/Paris",
                (22 * 60, 7 * 60),
                at("2026-11-29T11:00:00Z")
            ),
            None
        );
    }

    #[test]
    fn a_window_within_the_day_and_unknown_zones() {
        let lunch = (12 * 60, 13 * 60);
        assert_eq!(
            hold_until("Nowhere/Atlantis", lunch, at("2026-11-28T12:10:00Z")),
            Some(at("2026-11-28T13:00:00Z")),
            "an unknown zone is UTC"
        );
        assert_eq!(hold_until("UTC", lunch, at("2026-11-28T13:00:00Z")), None);
    }

    #[test]
    fn an_end_skipped_by_daylight_saving_moves_to_the_next_valid_time() {
        // New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist.
        let held = hold_until("America/New_York", (60, 150), at("2026-03-08T06:30:00Z"));
        assert_eq!(held, Some(at("2026-03-08T07:00:00Z")), "03:00 EDT");
    }
}
