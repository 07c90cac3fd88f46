//! Which days an activity runs, and a day's state for a family: the pure
//! part of the planning (what the page shows and what a change may do).

use crate::calendar::{Date, Moment, is_public_holiday};
use crate::config::{ActivityRules, Rules, RunsOn};
use crate::deadlines::{deadline, is_open};

/// Whether an activity takes place on a day, from the town's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    Runs,
    /// Not a day of the activity (weekday, holidays or school days, public
    /// holiday): not shown.
    No,
    /// Closed by the town's configuration, with its reason.
    Closed(String),
}

pub fn is_school_holiday(rules: &Rules, day: Date) -> bool {
    rules
        .holidays
        .iter()
        .any(|(from, to)| *from <= day && day <= *to)
}

pub fn running(rules: &Rules, activity: &ActivityRules, day: Date) -> Running {
    if !activity.weekdays.contains(&day.weekday()) || is_public_holiday(day, rules.alsace_moselle) {
        return Running::No;
    }
    let holiday = is_school_holiday(rules, day);
    let period_fits = match activity.runs_on {
        RunsOn::SchoolDays => !holiday,
        RunsOn::Holidays => holiday,
        RunsOn::All => true,
    };
    if !period_fits {
        return Running::No;
    }
    match rules.closures.iter().find(|(from, to, _, only)| {
        *from <= day && day <= *to && only.as_deref().is_none_or(|id| id == activity.id)
    }) {
        Some((_, _, reason, _)) => Running::Closed(reason.clone()),
        None => Running::Runs,
    }
}

/// The days of the activity in the week of `monday`.
pub fn week_days(rules: &Rules, activity: &ActivityRules, monday: Date) -> Vec<Date> {
    (0..7)
        .map(|offset| monday.add_days(offset))
        .filter(|day| running(rules, activity, *day) != Running::No)
        .collect()
}

/// Until when a day may be booked: "modifiable jusqu'au …" — `None` when
/// only the day itself ends it.
pub fn booking_deadline(rules: &Rules, activity: &ActivityRules, day: Date) -> Option<Moment> {
    deadline(day, &activity.booking, rules.alsace_moselle)
}

pub fn cancel_deadline(rules: &Rules, activity: &ActivityRules, day: Date) -> Option<Moment> {
    deadline(day, &activity.cancel, rules.alsace_moselle)
}

pub fn booking_open(rules: &Rules, activity: &ActivityRules, day: Date, now: Moment) -> bool {
    is_open(day, &activity.booking, rules.alsace_moselle, now)
}

pub fn cancel_open(rules: &Rules, activity: &ActivityRules, day: Date, now: Moment) -> bool {
    is_open(day, &activity.cancel, rules.alsace_moselle, now)
}

/// The last day a family may book: `weeks_ahead` weeks after this week.
pub fn horizon(rules: &Rules, today: Date) -> Date {
    today
        .monday()
        .add_days(7 * i64::from(rules.weeks_ahead) + 6)
}

/// A child's age in whole years on a day.
pub fn age_on(birth: Date, day: Date) -> u32 {
    let mut age = day.year - birth.year;
    if (day.month, day.day) < (birth.month, birth.day) {
        age -= 1;
    }
    age.max(0) as u32
}

/// A child fits none of the activity's age groups (or has no birth date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoAgeGroup;

/// The age group of a child on a day: its index in the activity's groups;
/// `Ok(None)` when the activity has none.
pub fn age_group(
    activity: &ActivityRules,
    birth: Option<Date>,
    day: Date,
) -> Result<Option<usize>, NoAgeGroup> {
    if activity.age_groups.is_empty() {
        return Ok(None);
    }
    let Some(birth) = birth else {
        return Err(NoAgeGroup);
    };
    let age = age_on(birth, day);
    activity
        .age_groups
        .iter()
        .position(|group| {
            group.min_age.is_none_or(|min| age >= min) && group.max_age.is_none_or(|max| age <= max)
        })
        .map(Some)
        .ok_or(NoAgeGroup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn rules() -> Rules {
        let config: Config =
            serde_json::from_str(crate::demo::VILLENEUVE).unwrap_or_else(|error| panic!("{error}"));
        config.rules().unwrap_or_else(|error| panic!("{error}"))
    }

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
    }

    #[test]
    fn school_day_activities_skip_wednesdays_holidays_and_public_holidays() {
        let rules = rules();
        let cantine = rules
            .activity("cantine")
            .unwrap_or_else(|| panic!("cantine"));
        let week = week_days(&rules, cantine, date("2026-05-11"));
        // Thursday 14 May 2026 is Ascension; no Wednesday.
        assert_eq!(
            week,
            vec![date("2026-05-11"), date("2026-05-12"), date("2026-05-15")]
        );
        // The October holidays.
        assert!(week_days(&rules, cantine, date("2026-10-19")).is_empty());
        let vacances = rules
            .activity("vacances")
            .unwrap_or_else(|| panic!("vacances"));
        assert_eq!(week_days(&rules, vacances, date("2026-10-19")).len(), 5);
        assert!(week_days(&rules, vacances, date("2026-06-08")).is_empty());
    }

    #[test]
    fn configured_closures_close_the_day() {
        let rules = rules();
        let cantine = rules
            .activity("cantine")
            .unwrap_or_else(|| panic!("cantine"));
        assert_eq!(
            running(&rules, cantine, date("2026-06-05")),
            Running::Closed("Journée pédagogique".to_owned())
        );
        assert_eq!(running(&rules, cantine, date("2026-06-04")), Running::Runs);
    }

    #[test]
    fn ages_and_age_groups() {
        let rules = rules();
        assert_eq!(age_on(date("2020-06-09"), date("2026-06-08")), 5);
        assert_eq!(age_on(date("2020-06-08"), date("2026-06-08")), 6);
        let mercredi = rules
            .activity("mercredi")
            .unwrap_or_else(|| panic!("mercredi"));
        assert_eq!(
            age_group(mercredi, Some(date("2021-01-01")), date("2026-06-10")),
            Ok(Some(0))
        );
        assert_eq!(
            age_group(mercredi, Some(date("2016-01-01")), date("2026-06-10")),
            Ok(Some(1))
        );
        assert_eq!(
            age_group(mercredi, None, date("2026-06-10")),
            Err(NoAgeGroup)
        );
        let cantine = rules
            .activity("cantine")
            .unwrap_or_else(|| panic!("cantine"));
        assert_eq!(age_group(cantine, None, date("2026-06-10")), Ok(None));
    }
}
