//! What the module stores (town scope), and under which keys. The town's
//! billing software reads it through the data API
//! (`GET /api/v1/modules/bookings/data?prefix=…`); the layout is described
//! in the module's README.
//!
//! - `day:<activity>:<date>`: the day's [`DayRecord`] (counts, arrival
//!   sequence, capacity set by staff, closure). Every act touching a day
//!   locks this key first, then reads and decides.
//! - `booking:<activity>:<date>:<resident>~<child>`: a [`Booking`].
//! - `waiting:<activity>:<date>:<sequence>`: a [`Waiting`] entry; the
//!   sequence (ten digits) orders arrivals.
//! - `family:<resident>:<date>:<activity>:<child>`: a [`FamilyEntry`], the
//!   resident's index (their planning, tile and attestation read it).
//! - `closure:<date>:<activity or *>`: a [`StaffClosure`] entered by staff.
//!
//! Key parts that come from outside (resident references, member ids) are
//! escaped by [`part`], so that `:`, `~` and `|` only ever separate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calendar::Date;

/// A key part from outside: `%`, `:`, `~` and control characters escaped.
pub fn part(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '%' | ':' | '~' | '|' => escaped.push_str(&format!("%{:02X}", character as u32)),
            character if character.is_control() => {}
            character => escaped.push(character),
        }
    }
    escaped
}

pub fn day_key(activity: &str, date: Date) -> String {
    format!("day:{activity}:{date}")
}

pub fn booking_prefix(activity: &str, date: Date) -> String {
    format!("booking:{activity}:{date}:")
}

pub fn booking_key(activity: &str, date: Date, resident: &str, child: &str) -> String {
    format!(
        "{}{}~{}",
        booking_prefix(activity, date),
        part(resident),
        part(child)
    )
}

pub fn waiting_prefix(activity: &str, date: Date) -> String {
    format!("waiting:{activity}:{date}:")
}

pub fn waiting_key(activity: &str, date: Date, sequence: u64) -> String {
    format!("{}{sequence:010}", waiting_prefix(activity, date))
}

pub fn family_prefix(resident: &str) -> String {
    format!("family:{}:", part(resident))
}

pub fn family_key(resident: &str, date: Date, activity: &str, child: &str) -> String {
    format!(
        "{}{date}:{activity}:{}",
        family_prefix(resident),
        part(child)
    )
}

pub fn closure_key(date: Date, activity: Option<&str>) -> String {
    format!("closure:{date}:{}", activity.unwrap_or("*"))
}

/// A day of an activity: what is booked, in which age group, the arrival
/// sequence of the waiting list, and what staff changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRecord {
    /// Bookings of the day.
    #[serde(default)]
    pub booked: u32,
    /// Bookings by age group label, when the activity has groups.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub booked_by_group: BTreeMap<String, u32>,
    /// The last waiting sequence given.
    #[serde(default)]
    pub sequence: u64,
    /// Places set by staff for this day, instead of the activity's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// Closed by staff, with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub activity: String,
    pub date: String,
    /// `resident.reference` of the family that booked.
    pub resident: String,
    /// The family's name as greeted, for staff lists.
    pub family: String,
    /// The household member's id, and first name.
    pub child: String,
    pub child_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// "2026-06-08T09:12", in the town's time zone.
    pub booked_at: String,
    /// The price to bill, in cents (the late surcharge included); none when
    /// the town prices the activity nowhere.
    pub price_cents: Option<i64>,
    /// Booked after the deadline, with a surcharge.
    #[serde(default)]
    pub late: bool,
    /// From the waiting list.
    #[serde(default)]
    pub promoted: bool,
    /// Staff's attendance: "present" or "absent"; none until taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendance: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub activity: String,
    pub date: String,
    pub sequence: u64,
    pub resident: String,
    pub family: String,
    pub child: String,
    pub child_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub since: String,
    pub price_cents: Option<i64>,
}

/// A family's index entry: "booked" or "waiting" (with its sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyEntry {
    pub activity: String,
    pub date: String,
    pub child: String,
    pub child_name: String,
    pub state: EntryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    Booked,
    Waiting,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffClosure {
    pub date: String,
    /// The activity's id; none for every activity.
    pub activity: Option<String>,
    pub reason: String,
    /// Who entered it, and when.
    pub by: String,
    pub at: String,
}
