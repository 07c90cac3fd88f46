//! French formatting of dates, times, amounts and names: the one place.
//!
//! Pages, mails and modules' views all show these the same way: "07/04/2026",
//! "07/04/2026 à 14:05", "26 novembre 2026", "1 234,50 €", "Michel ARPEGE",
//! "Monsieur ARPEGE". Callers convert instants to the town's time zone first
//! (`Tenant::timezone`): this module never guesses a zone.

use chrono::{DateTime, Datelike as _, NaiveDate, TimeZone};

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

/// "07/04/2026".
pub fn date(day: NaiveDate) -> String {
    day.format("%d/%m/%Y").to_string()
}

/// "07/04", as the seed's home page shows news.
pub fn day_month(day: NaiveDate) -> String {
    day.format("%d/%m").to_string()
}

/// "07/04/2026 à 14:05", in the instant's own zone.
pub fn date_time<Tz: TimeZone>(at: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.format("%d/%m/%Y à %H:%M").to_string()
}

/// "07/04/2026" from "2026-04-07"; other text is shown as it is (modules
/// send dates as ISO text).
pub fn iso_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(date)
        .unwrap_or_else(|_| iso.to_owned())
}

/// "26 novembre 2026", as mails write dates.
pub fn long_date<Tz: TimeZone>(at: DateTime<Tz>) -> String {
    let month = MONTHS
        .get(at.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", at.day(), at.year())
}

/// "26 novembre 2026 à 14:05".
pub fn long_date_time<Tz: TimeZone>(at: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!("{} à {}", long_date(at.clone()), at.format("%H:%M"))
}

/// "1 234,50 €": narrow no-break spaces between thousands, a no-break space
/// before the sign, as French typography wants.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{},{:02}\u{a0}€", grouped(cents / 100), cents % 100)
}

/// "1\u{202f}234\u{202f}567": a whole number with French digit grouping
/// (narrow no-break spaces).
pub fn number(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{}", grouped(value.unsigned_abs()))
}

fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    grouped
}

/// "Michel ARPEGE": the last name in capitals, as French administrations
/// write it.
pub fn full_name(first_name: &str, last_name: &str) -> String {
    format!("{first_name} {}", last_name.to_uppercase())
}

/// "Monsieur ARPEGE" with a title ("Monsieur", "Madame"), else
/// "Michel ARPEGE".
pub fn formal_name(title: Option<&str>, first_name: &str, last_name: &str) -> String {
    match title {
        Some(title) => format!("{title} {}", last_name.to_uppercase()),
        None => full_name(first_name, last_name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        let day = NaiveDate::from_ymd_opt(2026, 4, 7).unwrap();
        assert_eq!(date(day), "07/04/2026");
        assert_eq!(day_month(day), "07/04");
        assert_eq!(iso_date("2026-04-07"), "07/04/2026");
        assert_eq!(iso_date("bientôt"), "bientôt");
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 26, 14, 5, 0)
            .unwrap();
        assert_eq!(date_time(&at), "26/11/2026 à 14:05");
        assert_eq!(long_date(at), "26 novembre 2026");
        assert_eq!(long_date_time(at), "26 novembre 2026 à 14:05");
    }

    #[test]
    fn amounts() {
        assert_eq!(amount(0), "0,00\u{a0}€");
        assert_eq!(amount(1250), "12,50\u{a0}€");
        assert_eq!(amount(123_456_789), "1\u{202f}234\u{202f}567,89\u{a0}€");
        assert_eq!(amount(-505), "-5,05\u{a0}€");
        assert_eq!(number(0), "0");
        assert_eq!(number(1234), "1\u{202f}234");
        assert_eq!(number(-1_000_000), "-1\u{202f}000\u{202f}000");
        assert_eq!(
            number(i64::MIN),
            "-9\u{202f}223\u{202f}372\u{202f}036\u{202f}854\u{202f}775\u{202f}808"
        );
    }

    #[test]
    fn names() {
        assert_eq!(full_name("Léa", "Arpège"), "Léa ARPÈGE");
        assert_eq!(
            formal_name(Some("Monsieur"), "Michel", "Arpege"),
            "Monsieur ARPEGE"
        );
        assert_eq!(formal_name(None, "Michel", "Arpege"), "Michel ARPEGE");
    }
}
