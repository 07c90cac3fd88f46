//! Booking and cancellation deadlines: until when a day may be booked or
//! cancelled, by the town's rule for the activity. Pure functions of the
//! day, the rule and the town's calendar.

use crate::calendar::{Date, Moment, Time, Weekday, is_public_holiday};

/// How the N days of a "J-N" rule are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    Calendar,
    /// Skipping weekends, public holidays and the rule's skipped weekdays.
    Working,
}

/// A deadline rule, as the town configures it for an activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Until the day itself begins: a day may be changed until it is past.
    None,
    /// Day J minus N days at a time, N counted in calendar or working days.
    DaysBefore {
        days: u32,
        counting: Counting,
        /// Weekdays not counted as working days (e.g. Wednesday).
        skipped: Vec<Weekday>,
        time: Time,
    },
    /// The last `weekday` strictly before the day, at a time (Monday's
    /// meals before the previous Friday 9:00).
    PreviousWeekday { weekday: Weekday, time: Time },
    /// `weekday` of the week (Monday to Sunday) before the day's week, at a
    /// time (Tuesday 23:59 for the next week).
    WeekdayOfPreviousWeek { weekday: Weekday, time: Time },
}

/// The last moment a change is allowed for `day`: a change at a later
/// minute is refused ("modifiable jusqu'au vendredi 12/06 à 9h00"). `None`
/// for the rule without a deadline, where the day itself ends it (see
/// [`is_open`]).
pub fn deadline(day: Date, rule: &Rule, alsace_moselle: bool) -> Option<Moment> {
    match rule {
        Rule::None => None,
        Rule::DaysBefore {
            days,
            counting,
            skipped,
            time,
        } => {
            let date = match counting {
                Counting::Calendar => day.add_days(-i64::from(*days)),
                Counting::Working => {
                    let mut date = day;
                    let mut counted = 0;
                    while counted < *days {
                        date = date.add_days(-1);
                        let weekday = date.weekday();
                        if !weekday.is_weekend()
                            && !skipped.contains(&weekday)
                            && !is_public_holiday(date, alsace_moselle)
                        {
                            counted += 1;
                        }
                    }
                    date
                }
            };
            Some(Moment { date, time: *time })
        }
        Rule::PreviousWeekday { weekday, time } => {
            let back = (day.weekday().index() - weekday.index()).rem_euclid(7);
            let back = if back == 0 { 7 } else { back };
            Some(Moment {
                date: day.add_days(-back),
                time: *time,
            })
        }
        Rule::WeekdayOfPreviousWeek { weekday, time } => Some(Moment {
            date: day.monday().add_days(-7 + weekday.index()),
            time: *time,
        }),
    }
}

/// Whether a change to `day` is still allowed at `now`: not after the
/// deadline's minute, and never for a day already past.
pub fn is_open(day: Date, rule: &Rule, alsace_moselle: bool, now: Moment) -> bool {
    if day < now.date {
        return false;
    }
    deadline(day, rule, alsace_moselle).is_none_or(|deadline| now <= deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
    }

    fn time(text: &str) -> Time {
        Time::parse(text).unwrap_or_else(|| panic!("bad time {text}"))
    }

    fn at(day: &str, clock: &str) -> Moment {
        Moment {
            date: date(day),
            time: time(clock),
        }
    }

    fn days_before(days: u32, counting: Counting, skipped: Vec<Weekday>) -> Rule {
        Rule::DaysBefore {
            days,
            counting,
            skipped,
            time: time("09:00"),
        }
    }

    #[test]
    fn no_deadline_keeps_the_day_open_until_it_is_past() {
        let day = date("2026-06-08");
        assert_eq!(deadline(day, &Rule::None, false), None);
        assert!(is_open(day, &Rule::None, false, at("2026-06-08", "23:59")));
        assert!(!is_open(day, &Rule::None, false, at("2026-06-09", "00:00")));
    }

    #[test]
    fn calendar_days_before_count_every_day() {
        let rule = days_before(1, Counting::Calendar, Vec::new());
        // Monday 8 June: Sunday 7 June 9:00.
        assert_eq!(
            deadline(date("2026-06-08"), &rule, false),
            Some(at("2026-06-07", "09:00"))
        );
        let rule = days_before(0, Counting::Calendar, Vec::new());
        assert_eq!(
            deadline(date("2026-06-08"), &rule, false),
            Some(at("2026-06-08", "09:00"))
        );
        let rule = days_before(15, Counting::Calendar, Vec::new());
        assert_eq!(
            deadline(date("2026-07-06"), &rule, false),
            Some(at("2026-06-21", "09:00"))
        );
    }

    #[test]
    fn working_days_skip_weekends() {
        let rule = days_before(1, Counting::Working, Vec::new());
        // Monday 8 June 2026: the working day before is Friday 5 June.
        assert_eq!(
            deadline(date("2026-06-08"), &rule, false),
            Some(at("2026-06-05", "09:00"))
        );
        // Tuesday 9 June: Monday 8 June.
        assert_eq!(
            deadline(date("2026-06-09"), &rule, false),
            Some(at("2026-06-08", "09:00"))
        );
        let rule = days_before(3, Counting::Working, Vec::new());
        // Wednesday 10 June: Mon 8, Fri 5, Thu 4.
        assert_eq!(
            deadline(date("2026-06-10"), &rule, false),
            Some(at("2026-06-05", "09:00"))
        );
    }

    #[test]
    fn working_days_skip_public_holidays() {
        let rule = days_before(1, Counting::Working, Vec::new());
        // Tuesday 26 May 2026: Monday 25 May is Lundi de Pentecôte, so
        // Friday 22 May.
        assert_eq!(
            deadline(date("2026-05-26"), &rule, false),
            Some(at("2026-05-22", "09:00"))
        );
        // Friday 15 May 2026: Thursday 14 May is Ascension, so Wednesday 13.
        assert_eq!(
            deadline(date("2026-05-15"), &rule, false),
            Some(at("2026-05-13", "09:00"))
        );
        // Tuesday 7 April 2026: Lundi de Pâques 6 April, so Friday 3 April;
        // in Alsace-Moselle Vendredi saint (3 April) too, so Thursday 2.
        assert_eq!(
            deadline(date("2026-04-07"), &rule, false),
            Some(at("2026-04-03", "09:00"))
        );
        assert_eq!(
            deadline(date("2026-04-07"), &rule, true),
            Some(at("2026-04-02", "09:00"))
        );
        // Monday 28 December 2026: Friday 25 is Noël, so Thursday 24; the
        // 26th is a Saturday anyway.
        assert_eq!(
            deadline(date("2026-12-28"), &rule, false),
            Some(at("2026-12-24", "09:00"))
        );
        // Monday 27 December 2027: Sunday 26 is Saint-Étienne in
        // Alsace-Moselle but a weekend already; Friday 24.
        assert_eq!(
            deadline(date("2027-12-27"), &rule, true),
            Some(at("2027-12-24", "09:00"))
        );
        // Wednesday 27 December 2028: Tuesday 26 is Saint-Étienne in
        // Alsace-Moselle, Monday 25 Noël: Friday 22.
        assert_eq!(
            deadline(date("2028-12-27"), &rule, true),
            Some(at("2028-12-22", "09:00"))
        );
        assert_eq!(
            deadline(date("2028-12-27"), &rule, false),
            Some(at("2028-12-26", "09:00"))
        );
    }

    #[test]
    fn working_days_skip_given_weekdays() {
        // No school on Wednesdays: Thursday 11 June's working day before is
        // Tuesday 9 June.
        let rule = days_before(1, Counting::Working, vec![Weekday::Wednesday]);
        assert_eq!(
            deadline(date("2026-06-11"), &rule, false),
            Some(at("2026-06-09", "09:00"))
        );
        // Without skipping Wednesday, it is Wednesday 10.
        let rule = days_before(1, Counting::Working, Vec::new());
        assert_eq!(
            deadline(date("2026-06-11"), &rule, false),
            Some(at("2026-06-10", "09:00"))
        );
        // Calendar counting ignores skipped weekdays.
        let rule = days_before(1, Counting::Calendar, vec![Weekday::Wednesday]);
        assert_eq!(
            deadline(date("2026-06-11"), &rule, false),
            Some(at("2026-06-10", "09:00"))
        );
    }

    #[test]
    fn the_previous_weekday() {
        // Monday and Tuesday meals before the previous Friday 9:00.
        let friday = Rule::PreviousWeekday {
            weekday: Weekday::Friday,
            time: time("09:00"),
        };
        assert_eq!(
            deadline(date("2026-06-15"), &friday, false),
            Some(at("2026-06-12", "09:00"))
        );
        assert_eq!(
            deadline(date("2026-06-16"), &friday, false),
            Some(at("2026-06-12", "09:00"))
        );
        // A Friday's previous Friday is a week before.
        assert_eq!(
            deadline(date("2026-06-19"), &friday, false),
            Some(at("2026-06-12", "09:00"))
        );
        // Thursday and Friday meals before the previous Tuesday 9:00.
        let tuesday = Rule::PreviousWeekday {
            weekday: Weekday::Tuesday,
            time: time("09:00"),
        };
        assert_eq!(
            deadline(date("2026-06-18"), &tuesday, false),
            Some(at("2026-06-16", "09:00"))
        );
        assert_eq!(
            deadline(date("2026-06-19"), &tuesday, false),
            Some(at("2026-06-16", "09:00"))
        );
    }

    #[test]
    fn a_weekday_of_the_previous_week() {
        // Tuesday 23:59 for the next week: every day of the week of 15 June
        // closes on Tuesday 9 June at 23:59.
        let rule = Rule::WeekdayOfPreviousWeek {
            weekday: Weekday::Tuesday,
            time: time("23:59"),
        };
        for day in 15..=21 {
            let day = date(&format!("2026-06-{day}"));
            assert_eq!(deadline(day, &rule, false), Some(at("2026-06-09", "23:59")));
        }
        // Across a month and a year.
        assert_eq!(
            deadline(date("2027-01-04"), &rule, false),
            Some(at("2026-12-29", "23:59"))
        );
    }

    #[test]
    fn the_deadline_minute_itself_is_still_open() {
        let rule = days_before(1, Counting::Working, Vec::new());
        let monday = date("2026-06-08");
        assert!(is_open(monday, &rule, false, at("2026-06-05", "09:00")));
        assert!(!is_open(monday, &rule, false, at("2026-06-05", "09:01")));
        assert!(is_open(monday, &rule, false, at("2026-06-04", "18:00")));
    }
}
