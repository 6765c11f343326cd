//! Tableau's timestamps: RFC 3339 in UTC with second precision (`2020-03-05T22:05:32Z`).

use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// `2020-03-05T22:05:32Z`: Tableau's timestamps have second precision.
pub fn timestamp(at: OffsetDateTime) -> String {
    let at = at
        .checked_to_offset(time::UtcOffset::UTC)
        .unwrap_or(at)
        .replace_nanosecond(0)
        .unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}
