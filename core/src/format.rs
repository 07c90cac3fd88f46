//! French formatting of dates, times, amounts and names: the one place.

use chrono::DateTime;

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "26 novembre 2026".
pub fn french_date<Tz: chrono::TimeZone>(at: DateTime<Tz>) -> String {
    use chrono::Datelike as _;
    let month = MONTHS
        .get(at.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", at.day(), at.year())
}

/// "26 novembre 2026 à 14:05".
pub fn french_date_time<Tz: chrono::TimeZone>(at: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!("{} à {}", french_date(at.clone()), at.format("%H:%M"))
}
