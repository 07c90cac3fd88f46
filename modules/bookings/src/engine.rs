//! Booking, cancelling, the waiting list and its promotions, closures and
//! capacity changes: read-decide-write under the day's lock, on any
//! [`Store`]. What to e-mail is returned as [`Mail`]s, sent by the caller.

use std::collections::{BTreeMap, BTreeSet};

use crate::calendar::{Date, Moment};
use crate::config::{ActivityRules, Rules};
use crate::model::{
    Booking, DayRecord, EntryState, FamilyEntry, StaffClosure, Waiting, booking_key,
    booking_prefix, closure_key, day_key, family_key, waiting_key, waiting_prefix,
};
use crate::planning::{
    Running, age_group, booking_deadline, booking_open, cancel_deadline, cancel_open, horizon,
    running,
};
use crate::pricing::{euros, with_surcharge};
use crate::store::{Store, StoreError};

/// The most days one submission may change: each locks its day, and a
/// call may hold 32 locks and make 100 writes.
pub const MAX_DAYS_PER_SUBMISSION: usize = 30;

/// How many waiting entries a promotion reads at a time.
const PROMOTION_PAGE: u32 = 50;

/// What one cancelled day may promote (or remove, when the list expired):
/// a week of cancellations stays within a call's 100 writes.
const PROMOTIONS_PER_CANCELLATION: usize = 2;

/// The family of the call.
#[derive(Debug, Clone)]
pub struct Family {
    pub resident: String,
    pub name: String,
}

/// A child of the family.
#[derive(Debug, Clone)]
pub struct Child {
    pub id: String,
    pub name: String,
    pub birth: Option<Date>,
}

/// A wanted state for one day of one activity.
#[derive(Debug, Clone)]
pub struct Change {
    pub activity: String,
    pub date: Date,
    pub wanted: bool,
}

/// What happened to one change, said to the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Booked {
        price: Option<i64>,
        late: Option<u32>,
    },
    Waiting {
        position: usize,
    },
    Cancelled,
    LeftWaitingList,
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub activity: String,
    pub date: Date,
    pub result: Effect,
}

impl Line {
    /// "Lundi 8 juin (Restauration scolaire) : réservé, 2,50 €".
    pub fn sentence(&self, rules: &Rules) -> String {
        let label = rules
            .activity(&self.activity)
            .map_or(self.activity.as_str(), |activity| activity.label.as_str());
        let what = match &self.result {
            Effect::Booked { price, late: None } => match price {
                Some(cents) => format!("réservé, {}", euros(*cents)),
                None => "réservé".to_owned(),
            },
            Effect::Booked {
                price,
                late: Some(percent),
            } => match price {
                Some(cents) => format!(
                    "réservé après le délai, {} (majoration de {percent} %)",
                    euros(*cents)
                ),
                None => format!("réservé après le délai (majoration de {percent} %)"),
            },
            Effect::Waiting { position } => {
                format!("complet, inscrit sur liste d'attente (position {position})")
            }
            Effect::Cancelled => "annulé".to_owned(),
            Effect::LeftWaitingList => "retiré de la liste d'attente".to_owned(),
            Effect::Refused(reason) => format!("refusé : {reason}"),
        };
        format!("{} ({label}) : {what}", self.date.long_capitalized())
    }
}

/// An e-mail to send once the call's writes are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// `resident.reference`.
    pub to: String,
    pub subject: String,
    pub paragraphs: Vec<String>,
}

/// What a submission did.
#[derive(Debug, Default)]
pub struct Applied {
    pub lines: Vec<Line>,
    /// Families promoted from a waiting list, told by mail.
    pub mails: Vec<Mail>,
}

impl Applied {
    pub fn count(&self, matches: impl Fn(&Effect) -> bool) -> usize {
        self.lines
            .iter()
            .filter(|line| matches(&line.result))
            .count()
    }
}

/// The places of a day: staff's capacity, else the activity's.
pub fn capacity(activity: &ActivityRules, day: &DayRecord) -> u32 {
    day.capacity.unwrap_or(activity.capacity)
}

/// Whether one more child of `group` fits.
fn has_place(activity: &ActivityRules, day: &DayRecord, group: Option<usize>) -> bool {
    if day.booked >= capacity(activity, day) {
        return false;
    }
    match group.and_then(|index| activity.age_groups.get(index)) {
        None => true,
        Some(group) => day.booked_by_group.get(&group.label).copied().unwrap_or(0) < group.capacity,
    }
}

fn group_label(activity: &ActivityRules, group: Option<usize>) -> Option<String> {
    group
        .and_then(|index| activity.age_groups.get(index))
        .map(|group| group.label.clone())
}

fn count_in(day: &mut DayRecord, group: Option<&str>, delta: i64) {
    let apply = |value: u32| (i64::from(value) + delta).max(0) as u32;
    day.booked = apply(day.booked);
    if let Some(group) = group {
        let entry = day.booked_by_group.entry(group.to_owned()).or_insert(0);
        *entry = apply(*entry);
    }
}

fn stamp(now: Moment) -> String {
    format!("{}T{:02}:{:02}", now.date, now.time.hour, now.time.minute)
}

/// Applies a family's wanted states for one child: books, cancels, joins or
/// leaves waiting lists, under the days' locks (taken sorted, before any
/// read). `unit_prices` gives the price per day of each activity for this
/// family (before any late surcharge).
pub fn apply(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    family: &Family,
    child: &Child,
    changes: &[Change],
    unit_prices: &BTreeMap<String, Option<i64>>,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    let mut changes: Vec<&Change> = changes.iter().collect();
    changes.sort_by(|a, b| (a.date, &a.activity).cmp(&(b.date, &b.activity)));
    changes.dedup_by(|a, b| a.date == b.date && a.activity == b.activity);
    if changes.len() > MAX_DAYS_PER_SUBMISSION {
        return Err(StoreError(format!(
            "{} days in one submission (at most {MAX_DAYS_PER_SUBMISSION})",
            changes.len()
        )));
    }
    // Lock every day first, in key order, so that two submissions never
    // wait for each other in a circle.
    let locks: BTreeSet<String> = changes
        .iter()
        .filter(|change| rules.activity(&change.activity).is_some())
        .map(|change| day_key(&change.activity, change.date))
        .collect();
    for key in &locks {
        store.lock(key)?;
    }
    let last_day = horizon(rules, now.date);
    for change in changes {
        let Some(activity) = rules.activity(&change.activity) else {
            continue;
        };
        let date = change.date;
        let day_key = day_key(&activity.id, date);
        let mut day: DayRecord = store.get_json(&day_key)?.unwrap_or_default();
        let before = day.clone();
        let booking_key = booking_key(&activity.id, date, &family.resident, &child.id);
        let family_key = family_key(&family.resident, date, &activity.id, &child.id);
        let booked: Option<Booking> = store.get_json(&booking_key)?;
        let indexed: Option<FamilyEntry> = store.get_json(&family_key)?;
        let waiting_sequence = indexed
            .as_ref()
            .filter(|entry| entry.state == EntryState::Waiting)
            .and_then(|entry| entry.sequence);
        let result = if change.wanted {
            if booked.is_some() || waiting_sequence.is_some() {
                None
            } else {
                Some(book(
                    store,
                    rules,
                    activity,
                    date,
                    &mut day,
                    now,
                    last_day,
                    family,
                    child,
                    unit_prices.get(&activity.id).copied().flatten(),
                )?)
            }
        } else if let Some(booking) = booked {
            if !cancel_open(rules, activity, date, now) {
                Some(Effect::Refused(
                    match cancel_deadline(rules, activity, date) {
                        Some(deadline) => format!(
                            "l'annulation n'est plus possible depuis le {}",
                            deadline.french()
                        ),
                        None => "ce jour est passé".to_owned(),
                    },
                ))
            } else {
                store.delete(&booking_key)?;
                store.delete(&family_key)?;
                count_in(&mut day, booking.group.as_deref(), -1);
                applied.mails.extend(promote(
                    store,
                    rules,
                    activity,
                    date,
                    &mut day,
                    now,
                    // One place freed: one promotion, or a few expired
                    // entries removed, within the call's write bound.
                    PROMOTIONS_PER_CANCELLATION,
                )?);
                Some(Effect::Cancelled)
            }
        } else if let Some(sequence) = waiting_sequence {
            store.delete(&waiting_key(&activity.id, date, sequence))?;
            store.delete(&family_key)?;
            Some(Effect::LeftWaitingList)
        } else {
            None
        };
        if day != before {
            store.put_json(&day_key, &day)?;
        }
        if let Some(result) = result {
            applied.lines.push(Line {
                activity: activity.id.clone(),
                date,
                result,
            });
        }
    }
    Ok(applied)
}

/// Why a day cannot be booked at all, whatever its places.
fn refusal(
    rules: &Rules,
    activity: &ActivityRules,
    date: Date,
    day: &DayRecord,
    now: Moment,
    last_day: Date,
) -> Option<String> {
    match running(rules, activity, date) {
        Running::No => return Some("l'activité n'a pas lieu ce jour-là".to_owned()),
        Running::Closed(reason) => return Some(format!("fermé ({reason})")),
        Running::Runs => {}
    }
    if let Some(reason) = &day.closed {
        return Some(format!("fermé ({reason})"));
    }
    if date < now.date {
        return Some("ce jour est passé".to_owned());
    }
    if date > last_day {
        return Some(format!(
            "les réservations sont ouvertes jusqu'au {} seulement",
            last_day.long()
        ));
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn book(
    store: &mut impl Store,
    rules: &Rules,
    activity: &ActivityRules,
    date: Date,
    day: &mut DayRecord,
    now: Moment,
    last_day: Date,
    family: &Family,
    child: &Child,
    unit_price: Option<i64>,
) -> Result<Effect, StoreError> {
    if let Some(reason) = refusal(rules, activity, date, day, now, last_day) {
        return Ok(Effect::Refused(reason));
    }
    let late = if booking_open(rules, activity, date, now) {
        None
    } else {
        let deadline = booking_deadline(rules, activity, date)
            .map(|deadline| format!("le délai de réservation était le {}", deadline.french()))
            .unwrap_or_else(|| "ce jour est passé".to_owned());
        match activity.late_surcharge_percent {
            None => return Ok(Effect::Refused(deadline)),
            Some(percent) => Some(percent),
        }
    };
    let Ok(group) = age_group(activity, child.birth, date) else {
        return Ok(Effect::Refused(format!(
            "aucune place n'est prévue pour l'âge de {}",
            child.name
        )));
    };
    let group = group_label(activity, group).map(|label| (group, label));
    let price =
        unit_price.map(|cents| late.map_or(cents, |percent| with_surcharge(cents, percent)));
    if has_place(activity, day, group.as_ref().and_then(|(index, _)| *index)) {
        let booking = Booking {
            activity: activity.id.clone(),
            date: date.to_string(),
            resident: family.resident.clone(),
            family: family.name.clone(),
            child: child.id.clone(),
            child_name: child.name.clone(),
            group: group.as_ref().map(|(_, label)| label.clone()),
            booked_at: stamp(now),
            price_cents: price,
            late: late.is_some(),
            promoted: false,
            attendance: None,
        };
        store.put_json(
            &booking_key(&activity.id, date, &family.resident, &child.id),
            &booking,
        )?;
        store.put_json(
            &family_key(&family.resident, date, &activity.id, &child.id),
            &FamilyEntry {
                activity: activity.id.clone(),
                date: date.to_string(),
                child: child.id.clone(),
                child_name: child.name.clone(),
                state: EntryState::Booked,
                sequence: None,
            },
        )?;
        count_in(day, booking.group.as_deref(), 1);
        return Ok(Effect::Booked { price, late });
    }
    // Full. A waiting entry past the deadline would expire at once.
    if !activity.waiting_list || late.is_some() {
        return Ok(Effect::Refused("complet".to_owned()));
    }
    day.sequence += 1;
    let sequence = day.sequence;
    store.put_json(
        &waiting_key(&activity.id, date, sequence),
        &Waiting {
            activity: activity.id.clone(),
            date: date.to_string(),
            sequence,
            resident: family.resident.clone(),
            family: family.name.clone(),
            child: child.id.clone(),
            child_name: child.name.clone(),
            group: group.map(|(_, label)| label),
            since: stamp(now),
            price_cents: price,
        },
    )?;
    store.put_json(
        &family_key(&family.resident, date, &activity.id, &child.id),
        &FamilyEntry {
            activity: activity.id.clone(),
            date: date.to_string(),
            child: child.id.clone(),
            child_name: child.name.clone(),
            state: EntryState::Waiting,
            sequence: Some(sequence),
        },
    )?;
    // The newest entry is the last (its sequence is the day's highest,
    // given under the lock): its position is the list's length, counted
    // without reading it (a rush of 2,000 families stays linear).
    let position = store.count(&waiting_prefix(&activity.id, date))? as usize;
    Ok(Effect::Waiting { position })
}

/// The position of a waiting entry: 1 for the first.
pub fn waiting_position(
    store: &mut impl Store,
    activity: &str,
    date: Date,
    sequence: u64,
) -> Result<usize, StoreError> {
    let mine = waiting_key(activity, date, sequence);
    let prefix = waiting_prefix(activity, date);
    // Reads the entries before this one only, a page at a time.
    let mut position = 0;
    let mut after = String::new();
    loop {
        let page = store.list_after(&prefix, &after, 500)?;
        let full = page.len() == 500;
        for (key, _) in page {
            if key > mine {
                return Ok(position);
            }
            position += 1;
            after = key;
        }
        if !full {
            return Ok(position);
        }
    }
}

/// Whether a day's waiting list has expired: its booking deadline passed.
pub fn waiting_expired(rules: &Rules, activity: &ActivityRules, date: Date, now: Moment) -> bool {
    !booking_open(rules, activity, date, now)
}

/// Gives free places of a day (already locked by the caller) to waiting
/// entries in arrival order, at most `limit`; an expired list is removed
/// instead, at most `limit` entries. Returns the mails telling the
/// promoted families.
pub fn promote(
    store: &mut impl Store,
    rules: &Rules,
    activity: &ActivityRules,
    date: Date,
    day: &mut DayRecord,
    now: Moment,
    limit: usize,
) -> Result<Vec<Mail>, StoreError> {
    let mut mails = Vec::new();
    if day.closed.is_some() || !matches!(running(rules, activity, date), Running::Runs) {
        return Ok(mails);
    }
    let expired = waiting_expired(rules, activity, date, now);
    if !expired && day.booked >= capacity(activity, day) {
        return Ok(mails);
    }
    // The first entries only, in arrival order: a place or two freed never
    // reads a long list whole. Entries of an age group without a place are
    // passed over, so the head of the list may need a few pages.
    let prefix = waiting_prefix(&activity.id, date);
    let mut removed = 0;
    let mut after = String::new();
    let mut waiting: Vec<(String, Waiting)> = Vec::new();
    let mut exhausted = false;
    loop {
        if waiting.is_empty() {
            if exhausted {
                break;
            }
            waiting = store.first_json(&prefix, &after, PROMOTION_PAGE)?;
            exhausted = waiting.len() < PROMOTION_PAGE as usize;
            waiting.reverse();
            if waiting.is_empty() {
                break;
            }
        }
        let Some((key, entry)) = waiting.pop() else {
            break;
        };
        after.clone_from(&key);
        if expired {
            // Removed lazily, a few per call (a call's writes are
            // bounded): the list is void once the deadline passed, and
            // read as such until then.
            if removed >= limit {
                break;
            }
            removed += 1;
            store.delete(&key)?;
            store.delete(&family_key(
                &entry.resident,
                date,
                &activity.id,
                &entry.child,
            ))?;
            continue;
        }
        if mails.len() >= limit || day.booked >= capacity(activity, day) {
            break;
        }
        let group = entry.group.as_ref().and_then(|label| {
            activity
                .age_groups
                .iter()
                .position(|group| &group.label == label)
        });
        if !has_place(activity, day, group) {
            continue;
        }
        store.delete(&key)?;
        let booking = Booking {
            activity: activity.id.clone(),
            date: date.to_string(),
            resident: entry.resident.clone(),
            family: entry.family.clone(),
            child: entry.child.clone(),
            child_name: entry.child_name.clone(),
            group: entry.group.clone(),
            booked_at: stamp(now),
            price_cents: entry.price_cents,
            late: false,
            promoted: true,
            attendance: None,
        };
        store.put_json(
            &booking_key(&activity.id, date, &entry.resident, &entry.child),
            &booking,
        )?;
        store.put_json(
            &family_key(&entry.resident, date, &activity.id, &entry.child),
            &FamilyEntry {
                activity: activity.id.clone(),
                date: date.to_string(),
                child: entry.child.clone(),
                child_name: entry.child_name.clone(),
                state: EntryState::Booked,
                sequence: None,
            },
        )?;
        count_in(day, entry.group.as_deref(), 1);
        let mut paragraphs = vec![format!(
            "Une place s'est libérée : {} est inscrit(e) à « {} » le {}.",
            entry.child_name,
            activity.label,
            date.long()
        )];
        if let Some(cents) = entry.price_cents {
            paragraphs.push(format!("Tarif de la journée : {}.", euros(cents)));
        }
        if let Some(deadline) = cancel_deadline(rules, activity, date) {
            paragraphs.push(format!(
                "Si vous n'en avez plus besoin, annulez avant le {}.",
                deadline.french()
            ));
        }
        mails.push(Mail {
            to: entry.resident.clone(),
            subject: format!("Place obtenue : {} le {}", activity.label, date.long()),
            paragraphs,
        });
    }
    Ok(mails)
}

/// What a staff closure did, and what remains for the next batch.
#[derive(Debug, Default)]
pub struct ClosureDone {
    pub cancelled: usize,
    pub withdrawn: usize,
    /// Bookings and waiting entries left (the next call goes on).
    pub remaining: usize,
    pub mails: Vec<Mail>,
}

/// The most bookings and waiting entries one closure call cancels: two
/// deletes each, and one mail per family, within a call's 100 writes and
/// 50 mails.
pub const CLOSURE_BATCH: usize = 40;

/// Closes a day for one activity or all (staff): records the closure, then
/// cancels up to [`CLOSURE_BATCH`] of its bookings and waiting entries,
/// without charge, telling each family once.
pub fn close_day(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    date: Date,
    only: Option<&str>,
    reason: &str,
    by: &str,
) -> Result<ClosureDone, StoreError> {
    let activities: Vec<&ActivityRules> = rules
        .activities
        .iter()
        .filter(|activity| only.is_none_or(|id| id == activity.id))
        .collect();
    let keys: BTreeSet<String> = activities
        .iter()
        .map(|activity| day_key(&activity.id, date))
        .collect();
    for key in &keys {
        store.lock(key)?;
    }
    let closure_key = closure_key(date, only);
    if store.get(&closure_key)?.is_none() {
        store.put_json(
            &closure_key,
            &StaffClosure {
                date: date.to_string(),
                activity: only.map(str::to_owned),
                reason: reason.to_owned(),
                by: by.to_owned(),
                at: stamp(now),
            },
        )?;
    }
    let mut done = ClosureDone::default();
    // Children touched, by family: one mail each.
    let mut families: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut budget = CLOSURE_BATCH;
    for activity in activities {
        let day_key = day_key(&activity.id, date);
        let mut day: DayRecord = store.get_json(&day_key)?.unwrap_or_default();
        let before = day.clone();
        if day.closed.is_none() {
            day.closed = Some(reason.to_owned());
        }
        // This batch's share only; what is left is counted, not read.
        let bookings: Vec<(String, Booking)> = if budget > 0 {
            store.first_json(&booking_prefix(&activity.id, date), "", budget as u32)?
        } else {
            Vec::new()
        };
        budget -= bookings.len();
        let waiting: Vec<(String, Waiting)> = if budget > 0 {
            store.first_json(&waiting_prefix(&activity.id, date), "", budget as u32)?
        } else {
            Vec::new()
        };
        budget -= waiting.len();
        for (key, booking) in bookings {
            store.delete(&key)?;
            store.delete(&family_key(
                &booking.resident,
                date,
                &activity.id,
                &booking.child,
            ))?;
            count_in(&mut day, booking.group.as_deref(), -1);
            done.cancelled += 1;
            families.entry(booking.resident).or_default().push(format!(
                "la réservation de {} à « {} » est annulée, sans frais",
                booking.child_name, activity.label
            ));
        }
        for (key, entry) in waiting {
            store.delete(&key)?;
            store.delete(&family_key(
                &entry.resident,
                date,
                &activity.id,
                &entry.child,
            ))?;
            done.withdrawn += 1;
            families.entry(entry.resident).or_default().push(format!(
                "la demande en attente de {} pour « {} » est close",
                entry.child_name, activity.label
            ));
        }
        if day != before {
            store.put_json(&day_key, &day)?;
        }
        done.remaining += store.count(&booking_prefix(&activity.id, date))? as usize
            + store.count(&waiting_prefix(&activity.id, date))? as usize;
    }
    for (resident, what) in families {
        let mut paragraphs = vec![format!(
            "L'accueil est fermé le {} : {reason}.",
            date.long()
        )];
        paragraphs.extend(
            what.into_iter()
                .map(|line| format!("{} : {line}.", crate::calendar::capitalize(&date.long()))),
        );
        done.mails.push(Mail {
            to: resident,
            subject: format!("Fermeture le {}", date.long()),
            paragraphs,
        });
    }
    Ok(done)
}

/// Reopens a day closed by staff, for one activity or all: bookings the
/// closure cancelled stay cancelled (families book again). Returns how many
/// activity-days were closed and are open again.
pub fn reopen_day(
    store: &mut impl Store,
    rules: &Rules,
    date: Date,
    only: Option<&str>,
) -> Result<usize, StoreError> {
    let activities: Vec<&ActivityRules> = rules
        .activities
        .iter()
        .filter(|activity| only.is_none_or(|id| id == activity.id))
        .collect();
    let keys: BTreeSet<String> = activities
        .iter()
        .map(|activity| day_key(&activity.id, date))
        .collect();
    for key in &keys {
        store.lock(key)?;
    }
    let mut reopened = 0;
    for key in &keys {
        let Some(mut day) = store.get_json::<DayRecord>(key)? else {
            continue;
        };
        if day.closed.take().is_some() {
            store.put_json(key, &day)?;
            reopened += 1;
        }
    }
    // The closures entered for what reopens go from the list; one entered
    // for every activity stays when a single activity reopens (it still
    // holds for the others).
    let mut entered = vec![closure_key(date, only)];
    if only.is_none() {
        entered.extend(
            activities
                .iter()
                .map(|activity| closure_key(date, Some(&activity.id))),
        );
    }
    for closure in entered {
        if store.get(&closure)?.is_some() {
            store.delete(&closure)?;
        }
    }
    Ok(reopened)
}

/// Sets a day's places (staff), then gives the freed places to the waiting
/// list, at most `limit` promotions in this call.
pub fn set_capacity(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    activity: &ActivityRules,
    date: Date,
    places: u32,
    limit: usize,
) -> Result<Vec<Mail>, StoreError> {
    let key = day_key(&activity.id, date);
    store.lock(&key)?;
    let mut day: DayRecord = store.get_json(&key)?.unwrap_or_default();
    day.capacity = (places != activity.capacity).then_some(places);
    let mails = promote(store, rules, activity, date, &mut day, now, limit)?;
    store.put_json(&key, &day)?;
    Ok(mails)
}

/// Records attendance (staff): present or absent, by booking key.
pub fn take_attendance(
    store: &mut impl Store,
    activity: &ActivityRules,
    date: Date,
    present: &BTreeSet<String>,
    shown: &[String],
) -> Result<usize, StoreError> {
    let prefix = booking_prefix(&activity.id, date);
    let mut changed = 0;
    for key in shown.iter().filter(|key| key.starts_with(&prefix)) {
        let Some(mut booking) = store.get_json::<Booking>(key)? else {
            continue;
        };
        let state = if present.contains(key) {
            "present"
        } else {
            "absent"
        };
        if booking.attendance.as_deref() != Some(state) {
            booking.attendance = Some(state.to_owned());
            store.put_json(key, &booking)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// A day as the planning shows it to a family, for one child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayState {
    /// Booked or waiting.
    pub checked: bool,
    /// Whether the family may still change it.
    pub editable: bool,
    /// The state and the deadline, in French, shown with the checkbox.
    pub status: String,
}

fn until(deadline: Option<Moment>) -> String {
    match deadline {
        Some(deadline) => format!("modifiable jusqu'au {}", deadline.french()),
        None => "modifiable jusqu'au jour même".to_owned(),
    }
}

/// The state of one day for a child: what the checkbox's hint says.
pub fn day_state(
    store: &mut impl Store,
    rules: &Rules,
    activity: &ActivityRules,
    date: Date,
    now: Moment,
    family: &Family,
    child: &Child,
) -> Result<DayState, StoreError> {
    let day: DayRecord = store
        .get_json(&day_key(&activity.id, date))?
        .unwrap_or_default();
    let mine: Option<FamilyEntry> =
        store.get_json(&family_key(&family.resident, date, &activity.id, &child.id))?;
    let fixed = |checked: bool, status: String| DayState {
        checked,
        editable: false,
        status,
    };
    let closed = match running(rules, activity, date) {
        Running::Closed(reason) => Some(reason),
        _ => day.closed.clone(),
    };
    if let Some(reason) = closed {
        return Ok(fixed(false, format!("Fermé : {reason}")));
    }
    let booked = mine
        .as_ref()
        .is_some_and(|entry| entry.state == EntryState::Booked);
    let waiting = mine
        .as_ref()
        .filter(|entry| entry.state == EntryState::Waiting)
        .and_then(|entry| entry.sequence);
    if date < now.date {
        return Ok(fixed(
            booked,
            if booked {
                "Réservé (jour passé)"
            } else {
                "Jour passé"
            }
            .to_owned(),
        ));
    }
    if booked {
        let deadline = cancel_deadline(rules, activity, date);
        return Ok(if cancel_open(rules, activity, date, now) {
            DayState {
                checked: true,
                editable: true,
                status: format!(
                    "Réservé — annulable jusqu'au {}",
                    match deadline {
                        Some(deadline) => deadline.french(),
                        None => "jour même".to_owned(),
                    }
                ),
            }
        } else {
            fixed(
                true,
                match deadline {
                    Some(deadline) => format!(
                        "Réservé — annulation impossible depuis le {}",
                        deadline.french()
                    ),
                    None => "Réservé".to_owned(),
                },
            )
        });
    }
    let open = booking_open(rules, activity, date, now);
    let deadline = booking_deadline(rules, activity, date);
    if let Some(sequence) = waiting {
        return Ok(if open {
            let position = waiting_position(store, &activity.id, date, sequence)?;
            DayState {
                checked: true,
                editable: true,
                status: format!("Liste d'attente, position {position} — {}", until(deadline)),
            }
        } else {
            fixed(
                false,
                "Liste d'attente close : le délai est passé, aucune place ne s'est libérée"
                    .to_owned(),
            )
        });
    }
    let group = age_group(activity, child.birth, date);
    let Ok(group) = group else {
        return Ok(fixed(
            false,
            format!("Pas de place prévue pour l'âge de {}", child.name),
        ));
    };
    let total_left = capacity(activity, &day).saturating_sub(day.booked);
    let left = match group.and_then(|index| activity.age_groups.get(index)) {
        Some(group) => total_left.min(
            group
                .capacity
                .saturating_sub(day.booked_by_group.get(&group.label).copied().unwrap_or(0)),
        ),
        None => total_left,
    };
    if !open {
        let passed = match deadline {
            Some(deadline) => format!("délai passé depuis le {}", deadline.french()),
            None => "jour passé".to_owned(),
        };
        return Ok(match activity.late_surcharge_percent {
            Some(percent) if left > 0 => DayState {
                checked: false,
                editable: true,
                status: format!(
                    "Places disponibles, {passed} : réservation majorée de {percent} %"
                ),
            },
            _ => fixed(false, format!("Réservation impossible, {passed}")),
        });
    }
    let status = if left == 0 {
        if activity.waiting_list {
            format!(
                "Complet — inscription sur liste d'attente possible, {}",
                until(deadline)
            )
        } else {
            return Ok(fixed(false, "Complet".to_owned()));
        }
    } else if left <= rules.few_places {
        let places = if left == 1 {
            "Plus qu'une place".to_owned()
        } else {
            format!("Plus que {left} places")
        };
        format!("{places} — {}", until(deadline))
    } else {
        format!("Places disponibles — {}", until(deadline))
    };
    Ok(DayState {
        checked: false,
        editable: true,
        status,
    })
}
