//! Dates without a library: the civil calendar, weekdays, French public
//! holidays (Easter-based ones computed) and dates written the French way.

use std::fmt;

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

/// Monday first, as French calendars are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

pub const WEEKDAYS: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

impl Weekday {
    /// 0 for Monday … 6 for Sunday.
    pub fn index(self) -> i64 {
        self as i64
    }

    /// "lundi", as the configuration and the pages write it.
    pub fn name(self) -> &'static str {
        match self {
            Weekday::Monday => "lundi",
            Weekday::Tuesday => "mardi",
            Weekday::Wednesday => "mercredi",
            Weekday::Thursday => "jeudi",
            Weekday::Friday => "vendredi",
            Weekday::Saturday => "samedi",
            Weekday::Sunday => "dimanche",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        WEEKDAYS.into_iter().find(|day| day.name() == name)
    }

    pub fn is_weekend(self) -> bool {
        matches!(self, Weekday::Saturday | Weekday::Sunday)
    }
}

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

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let date = Self { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(date)
    }

    /// From ISO 8601 "2026-06-08".
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Self::new(year, month, day)
    }

    /// Days since 1970-01-01 (Howard Hinnant's algorithm).
    pub fn days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    pub fn from_days(days: i64) -> Self {
        let days = days + 719_468;
        let era = days.div_euclid(146_097);
        let day_of_era = days - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_index = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_index + 2) / 5 + 1;
        let month = if month_index < 10 {
            month_index + 3
        } else {
            month_index - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self {
            year: year as i32,
            month: month as u32,
            day: day as u32,
        }
    }

    pub fn add_days(self, days: i64) -> Self {
        Self::from_days(self.days() + days)
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday.
        WEEKDAYS[(self.days() + 3).rem_euclid(7) as usize]
    }

    /// The Monday of the date's week.
    pub fn monday(self) -> Self {
        self.add_days(-self.weekday().index())
    }

    /// "lundi 8 juin".
    pub fn long(self) -> String {
        format!(
            "{} {} {}",
            self.weekday().name(),
            if self.day == 1 {
                "1er".to_owned()
            } else {
                self.day.to_string()
            },
            MONTHS[(self.month - 1) as usize]
        )
    }

    /// "Lundi 8 juin", to start a sentence or a label.
    pub fn long_capitalized(self) -> String {
        capitalize(&self.long())
    }

    /// "14/03/2018", as French documents write a date in full.
    pub fn numeric(self) -> String {
        format!("{:02}/{:02}/{}", self.day, self.month, self.year)
    }

    /// "mai 2026".
    pub fn month_year(self) -> String {
        format!("{} {}", MONTHS[(self.month - 1) as usize], self.year)
    }

    /// The first day of the date's month.
    pub fn first_of_month(self) -> Self {
        Self { day: 1, ..self }
    }

    /// "vendredi 12/06".
    pub fn short(self) -> String {
        format!(
            "{} {:02}/{:02}",
            self.weekday().name(),
            self.day,
            self.month
        )
    }
}

impl fmt::Display for Date {
    /// ISO 8601, as stored and as the host's `date` values are.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:04}-{:02}-{:02}",
            self.year, self.month, self.day
        )
    }
}

pub fn capitalize(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Easter Sunday (anonymous Gregorian algorithm, "Meeus/Jones/Butcher").
pub fn easter(year: i32) -> Date {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date {
        year,
        month: month as u32,
        day: day as u32,
    }
}

/// The French public holidays ("jours fériés") of a year, with their names,
/// in date order; Alsace-Moselle adds Vendredi saint and 26 décembre.
pub fn public_holidays(year: i32, alsace_moselle: bool) -> Vec<(Date, &'static str)> {
    let fixed = |month, day| Date { year, month, day };
    let easter = easter(year);
    let mut holidays = vec![
        (fixed(1, 1), "Jour de l'an"),
        (easter.add_days(1), "Lundi de Pâques"),
        (fixed(5, 1), "Fête du travail"),
        (fixed(5, 8), "Victoire 1945"),
        (easter.add_days(39), "Ascension"),
        (easter.add_days(50), "Lundi de Pentecôte"),
        (fixed(7, 14), "Fête nationale"),
        (fixed(8, 15), "Assomption"),
        (fixed(11, 1), "Toussaint"),
        (fixed(11, 11), "Armistice 1918"),
        (fixed(12, 25), "Noël"),
    ];
    if alsace_moselle {
        holidays.push((easter.add_days(-2), "Vendredi saint"));
        holidays.push((fixed(12, 26), "Saint-Étienne"));
    }
    holidays.sort();
    holidays
}

pub fn is_public_holiday(date: Date, alsace_moselle: bool) -> bool {
    public_holidays(date.year, alsace_moselle)
        .iter()
        .any(|(holiday, _)| *holiday == date)
}

/// A wall-clock time, "HH:MM".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time {
    pub hour: u32,
    pub minute: u32,
}

impl Time {
    pub fn parse(text: &str) -> Option<Self> {
        let (hour, minute) = text.trim().split_once(':')?;
        let time = Self {
            hour: hour.parse().ok()?,
            minute: minute.parse().ok()?,
        };
        (time.hour < 24 && time.minute < 60 && minute.len() == 2).then_some(time)
    }

    /// "9h00", "23h59".
    pub fn french(self) -> String {
        format!("{}h{:02}", self.hour, self.minute)
    }
}

/// A moment in the town's time zone, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Moment {
    pub date: Date,
    pub time: Time,
}

impl Moment {
    pub fn parse(date: &str, time: &str) -> Option<Self> {
        Some(Self {
            date: Date::parse(date)?,
            time: Time::parse(time)?,
        })
    }

    /// "vendredi 12/06 à 9h00".
    pub fn french(self) -> String {
        format!("{} à {}", self.date.short(), self.time.french())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
    }

    #[test]
    fn days_round_trip_and_weekdays() {
        for days in -800_000..800_000_i64 {
            if days % 997 == 0 {
                assert_eq!(Date::from_days(days).days(), days);
            }
        }
        assert_eq!(date("1970-01-01").days(), 0);
        assert_eq!(date("2026-06-08").weekday(), Weekday::Monday);
        assert_eq!(date("2026-12-01").weekday(), Weekday::Tuesday);
        assert_eq!(date("2028-02-29").add_days(1), date("2028-03-01"));
        assert_eq!(date("2026-06-14").monday(), date("2026-06-08"));
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("hier"), None);
    }

    #[test]
    fn dates_are_written_the_french_way() {
        assert_eq!(date("2026-06-08").long(), "lundi 8 juin");
        assert_eq!(date("2026-06-01").long_capitalized(), "Lundi 1er juin");
        assert_eq!(date("2026-06-12").short(), "vendredi 12/06");
        assert_eq!(date("2018-03-04").numeric(), "04/03/2018");
        assert_eq!(date("2026-08-14").month_year(), "août 2026");
        assert_eq!(date("2026-08-14").first_of_month(), date("2026-08-01"));
        let deadline = Moment::parse("2026-06-12", "09:00");
        assert_eq!(
            deadline.map(Moment::french).as_deref(),
            Some("vendredi 12/06 à 9h00")
        );
        assert_eq!(Time::parse("9:5"), None);
        assert_eq!(Time::parse("24:00"), None);
    }

    /// Easter and the Easter-based holidays of 2026–2030, as the official
    /// calendars (service-public.fr) give them.
    #[test]
    fn public_holidays_2026_to_2030() {
        let expected = [
            (
                2026,
                "2026-04-05",
                "2026-04-06",
                "2026-05-14",
                "2026-05-25",
                "2026-04-03",
            ),
            (
                2027,
                "2027-03-28",
                "2027-03-29",
                "2027-05-06",
                "2027-05-17",
                "2027-03-26",
            ),
            (
                2028,
                "2028-04-16",
                "2028-04-17",
                "2028-05-25",
                "2028-06-05",
                "2028-04-14",
            ),
            (
                2029,
                "2029-04-01",
                "2029-04-02",
                "2029-05-10",
                "2029-05-21",
                "2029-03-30",
            ),
            (
                2030,
                "2030-04-21",
                "2030-04-22",
                "2030-05-30",
                "2030-06-10",
                "2030-04-19",
            ),
        ];
        for (year, easter_day, monday, ascension, pentecost, good_friday) in expected {
            assert_eq!(easter(year), date(easter_day), "{year}");
            let holidays = public_holidays(year, false);
            assert_eq!(holidays.len(), 11, "{year}");
            let named = |name: &str| {
                holidays
                    .iter()
                    .find(|(_, holiday)| *holiday == name)
                    .map(|(date, _)| *date)
            };
            assert_eq!(named("Lundi de Pâques"), Some(date(monday)));
            assert_eq!(named("Ascension"), Some(date(ascension)));
            assert_eq!(named("Lundi de Pentecôte"), Some(date(pentecost)));
            for fixed in [
                "01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25",
            ] {
                assert!(is_public_holiday(date(&format!("{year}-{fixed}")), false));
            }
            assert!(!is_public_holiday(date(good_friday), false));
            assert!(!is_public_holiday(date(&format!("{year}-12-26")), false));
            assert!(is_public_holiday(date(good_friday), true));
            assert!(is_public_holiday(date(&format!("{year}-12-26")), true));
            assert_eq!(public_holidays(year, true).len(), 13);
        }
        // An ordinary day is no holiday.
        assert!(!is_public_holiday(date("2026-06-08"), true));
    }
}
