//! The cursor handed to clients: a position in the change log (`seq`) and
//! the time it was issued, as an opaque string. One older than the
//! retention period is refused, since the rows it points after may be gone.

use base64::Engine;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// `seq` and issue time as an opaque string.
pub fn encode(seq: i64, issued: DateTime<Utc>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v1:{seq}:{}", issued.timestamp()))
}

/// The `seq` and issue time behind a cursor, or `BAD_USER_INPUT`.
pub fn decode(cursor: &str) -> Result<(i64, DateTime<Utc>)> {
    let invalid = || Error::bad_input("`after` is not a sync cursor returned by this server");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    let (Some("v1"), Some(seq), Some(ts), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let seq = seq.parse::<i64>().map_err(|_| invalid())?;
    let issued = ts
        .parse::<i64>()
        .ok()
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .ok_or_else(invalid)?;
    Ok((seq, issued))
}

/// The `seq` behind a cursor still inside the retention period:
/// `BAD_USER_INPUT` for a malformed one, `CURSOR_EXPIRED` for an old one.
pub fn resume_point(cursor: &str, retention_days: u32) -> Result<i64> {
    let (seq, issued) = decode(cursor)?;
    if issued < Utc::now() - chrono::Duration::days(i64::from(retention_days)) {
        return Err(Error::CursorExpired);
    }
    Ok(seq)
}
