//! The booking logic on the in-memory store: booking, cancelling,
//! deadlines, late surcharge, waiting list and promotions, closures,
//! capacity changes, age groups, and the bounds of one call.

use std::collections::BTreeMap;

use crate::calendar::{Date, Moment, Time};
use crate::config::{Config, Rules};
use crate::engine::*;
use crate::model::{Booking, DayRecord, FamilyEntry, booking_key, day_key, family_key};
use crate::store::{MemoryStore, Store};

fn rules() -> Rules {
    let config: Config =
        serde_json::from_str(crate::demo::VILLENEUVE).unwrap_or_else(|error| panic!("{error}"));
    config.rules().unwrap_or_else(|error| panic!("{error}"))
}

/// Villeneuve, with `places` places a day at the canteen.
fn rules_with_places(places: u32) -> Rules {
    let mut rules = rules();
    for activity in &mut rules.activities {
        if activity.id == "cantine" {
            activity.capacity = places;
        }
    }
    rules
}

fn date(text: &str) -> Date {
    Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
}

fn at(day: &str, clock: &str) -> Moment {
    Moment {
        date: date(day),
        time: Time::parse(clock).unwrap_or_else(|| panic!("bad time {clock}")),
    }
}

/// Wednesday 3 June 2026, 10:00.
fn now() -> Moment {
    at("2026-06-03", "10:00")
}

fn family(number: usize) -> Family {
    Family {
        resident: format!("resident-{number}"),
        name: format!("Famille {number}"),
    }
}

fn lea() -> Child {
    Child {
        id: "m2".to_owned(),
        name: "Léa".to_owned(),
        birth: Some(date("2018-03-14")),
    }
}

fn wanted(activity: &str, days: &[&str], wanted: bool) -> Vec<Change> {
    days.iter()
        .map(|day| Change {
            activity: activity.to_owned(),
            date: date(day),
            wanted,
        })
        .collect()
}

fn prices() -> BTreeMap<String, Option<i64>> {
    BTreeMap::from([
        ("cantine".to_owned(), Some(250)),
        ("soir".to_owned(), Some(150)),
        ("mercredi".to_owned(), Some(150)),
        ("vacances".to_owned(), None),
    ])
}

fn run(
    store: &mut MemoryStore,
    rules: &Rules,
    now: Moment,
    family: &Family,
    changes: &[Change],
) -> Applied {
    store.next_call();
    apply(store, rules, now, family, &lea(), changes, &prices())
        .unwrap_or_else(|error| panic!("{error:?}"))
}

fn day(store: &mut MemoryStore, activity: &str, day: &str) -> DayRecord {
    store
        .get_json(&day_key(activity, date(day)))
        .unwrap_or_else(|error| panic!("{error:?}"))
        .unwrap_or_default()
}

fn sentences(rules: &Rules, applied: &Applied) -> Vec<String> {
    applied
        .lines
        .iter()
        .map(|line| line.sentence(rules))
        .collect()
}

#[test]
fn a_week_is_booked_with_prices_under_sorted_locks_taken_before_any_read() {
    let rules = rules();
    let mut store = MemoryStore::default();
    let week = ["2026-06-12", "2026-06-08", "2026-06-09", "2026-06-11"];
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &week, true),
    );
    assert_eq!(
        sentences(&rules, &applied),
        vec![
            "Lundi 8 juin (Restauration scolaire) : réservé, 2,50 €",
            "Mardi 9 juin (Restauration scolaire) : réservé, 2,50 €",
            "Jeudi 11 juin (Restauration scolaire) : réservé, 2,50 €",
            "Vendredi 12 juin (Restauration scolaire) : réservé, 2,50 €",
        ]
    );
    // The four day keys, sorted, locked before anything is read.
    let locks: Vec<&String> = store.calls.iter().take(4).collect();
    assert_eq!(
        locks,
        vec![
            "lock day:cantine:2026-06-08",
            "lock day:cantine:2026-06-09",
            "lock day:cantine:2026-06-11",
            "lock day:cantine:2026-06-12",
        ]
    );
    assert_eq!(day(&mut store, "cantine", "2026-06-08").booked, 1);
    let booking: Booking = store
        .get_json(&booking_key(
            "cantine",
            date("2026-06-08"),
            "resident-1",
            "m2",
        ))
        .unwrap_or_else(|error| panic!("{error:?}"))
        .unwrap_or_else(|| panic!("no booking"));
    assert_eq!(booking.price_cents, Some(250));
    assert_eq!(booking.child_name, "Léa");
    assert_eq!(booking.booked_at, "2026-06-03T10:00");
    assert!(!booking.late);
    let indexed: Option<FamilyEntry> = store
        .get_json(&family_key(
            "resident-1",
            date("2026-06-08"),
            "cantine",
            "m2",
        ))
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(indexed.is_some());
    // Booking again changes nothing.
    let again = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &week, true),
    );
    assert!(again.lines.is_empty());
    assert_eq!(store.writes, 0);
    assert_eq!(day(&mut store, "cantine", "2026-06-08").booked, 1);
}

#[test]
fn a_cancellation_frees_the_place() {
    let rules = rules();
    let mut store = MemoryStore::default();
    run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], false),
    );
    assert_eq!(
        sentences(&rules, &applied),
        vec!["Lundi 8 juin (Restauration scolaire) : annulé"]
    );
    assert_eq!(day(&mut store, "cantine", "2026-06-08").booked, 0);
    assert!(store.entries.keys().all(|key| key.starts_with("day:")));
}

#[test]
fn past_its_deadline_a_day_is_refused_with_the_deadline_stated() {
    let rules = rules();
    let mut store = MemoryStore::default();
    // The evening club closes on Tuesday 23:59 for the next week: on
    // Wednesday 3 June the week of 8 June is closed, no late booking.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("soir", &["2026-06-08"], true),
    );
    assert_eq!(
        sentences(&rules, &applied),
        vec![
            "Lundi 8 juin (Accueil du soir) : refusé : le délai de réservation était le mardi 02/06 à 23h59"
        ]
    );
    assert_eq!(store.writes, 0);
    // The week after is open.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("soir", &["2026-06-15"], true),
    );
    assert_eq!(
        applied.count(|effect| matches!(effect, Effect::Booked { late: None, .. })),
        1
    );
}

#[test]
fn a_late_booking_pays_the_surcharge() {
    let rules = rules();
    let mut store = MemoryStore::default();
    // The canteen on Thursday 4 June closed on Tuesday 2 June 9:00 (the
    // working day before, Wednesdays not counted). Late bookings are +50 %.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-04"], true),
    );
    assert_eq!(
        sentences(&rules, &applied),
        vec![
            "Jeudi 4 juin (Restauration scolaire) : réservé après le délai, 3,75 € (majoration de 50 %)"
        ]
    );
    let booking: Booking = store
        .get_json(&booking_key(
            "cantine",
            date("2026-06-04"),
            "resident-1",
            "m2",
        ))
        .unwrap_or_else(|error| panic!("{error:?}"))
        .unwrap_or_else(|| panic!("no booking"));
    assert!(booking.late);
    assert_eq!(booking.price_cents, Some(375));
    // A past day is refused even with the surcharge.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-02"], true),
    );
    assert_eq!(
        applied.count(|effect| matches!(effect, Effect::Refused(_))),
        1
    );
}

#[test]
fn a_cancellation_past_its_deadline_is_refused() {
    let rules = rules();
    let mut store = MemoryStore::default();
    run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    // Monday 8 June's deadline: Friday 5 June 9:00.
    let applied = run(
        &mut store,
        &rules,
        at("2026-06-05", "09:01"),
        &family(1),
        &wanted("cantine", &["2026-06-08"], false),
    );
    assert_eq!(
        sentences(&rules, &applied),
        vec![
            "Lundi 8 juin (Restauration scolaire) : refusé : l'annulation n'est plus possible depuis le vendredi 05/06 à 9h00"
        ]
    );
    assert_eq!(day(&mut store, "cantine", "2026-06-08").booked, 1);
    // At 9:00 sharp it was still possible.
    let applied = run(
        &mut store,
        &rules,
        at("2026-06-05", "09:00"),
        &family(1),
        &wanted("cantine", &["2026-06-08"], false),
    );
    assert_eq!(
        applied.count(|effect| matches!(effect, Effect::Cancelled)),
        1
    );
}

#[test]
fn the_last_place_then_the_waiting_list_in_arrival_order() {
    let rules = rules_with_places(2);
    let mut store = MemoryStore::default();
    let monday = ["2026-06-08"];
    for number in 1..=2 {
        let applied = run(
            &mut store,
            &rules,
            now(),
            &family(number),
            &wanted("cantine", &monday, true),
        );
        assert_eq!(
            applied.count(|effect| matches!(effect, Effect::Booked { .. })),
            1
        );
    }
    for number in 3..=5 {
        let applied = run(
            &mut store,
            &rules,
            now(),
            &family(number),
            &wanted("cantine", &monday, true),
        );
        assert_eq!(
            applied.lines[0].result,
            Effect::Waiting {
                position: number - 2
            }
        );
    }
    let record = day(&mut store, "cantine", "2026-06-08");
    assert_eq!((record.booked, record.sequence), (2, 3));
    // Family 4 leaves the list: family 5 becomes second.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(4),
        &wanted("cantine", &monday, false),
    );
    assert_eq!(applied.lines[0].result, Effect::LeftWaitingList);
    assert_eq!(
        waiting_position(&mut store, "cantine", date("2026-06-08"), 3).ok(),
        Some(2)
    );
    // Family 1 cancels: family 3, first to arrive, gets the place and a mail.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &monday, false),
    );
    assert_eq!(applied.lines[0].result, Effect::Cancelled);
    assert_eq!(applied.mails.len(), 1);
    assert_eq!(applied.mails[0].to, "resident-3");
    assert_eq!(
        applied.mails[0].subject,
        "Place obtenue : Restauration scolaire le lundi 8 juin"
    );
    assert!(applied.mails[0].paragraphs[0].contains("Léa"));
    let promoted: Booking = store
        .get_json(&booking_key(
            "cantine",
            date("2026-06-08"),
            "resident-3",
            "m2",
        ))
        .unwrap_or_else(|error| panic!("{error:?}"))
        .unwrap_or_else(|| panic!("not promoted"));
    assert!(promoted.promoted);
    assert_eq!(promoted.price_cents, Some(250));
    let indexed: Option<FamilyEntry> = store
        .get_json(&family_key(
            "resident-3",
            date("2026-06-08"),
            "cantine",
            "m2",
        ))
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        indexed.map(|entry| entry.state),
        Some(crate::model::EntryState::Booked)
    );
    assert_eq!(day(&mut store, "cantine", "2026-06-08").booked, 2);
    assert_eq!(
        waiting_position(&mut store, "cantine", date("2026-06-08"), 5).ok(),
        Some(1)
    );
}

#[test]
fn without_a_waiting_list_a_full_day_is_refused() {
    let mut rules = rules_with_places(1);
    for activity in &mut rules.activities {
        activity.waiting_list = false;
    }
    let mut store = MemoryStore::default();
    run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(2),
        &wanted("cantine", &["2026-06-08"], true),
    );
    assert_eq!(
        applied.lines[0].result,
        Effect::Refused("complet".to_owned())
    );
}

#[test]
fn a_capacity_increase_promotes_in_arrival_order() {
    let rules = rules_with_places(1);
    let mut store = MemoryStore::default();
    for number in 1..=4 {
        run(
            &mut store,
            &rules,
            now(),
            &family(number),
            &wanted("cantine", &["2026-06-08"], true),
        );
    }
    store.next_call();
    let activity = rules
        .activity("cantine")
        .unwrap_or_else(|| panic!("cantine"));
    let mails = set_capacity(
        &mut store,
        &rules,
        now(),
        activity,
        date("2026-06-08"),
        3,
        25,
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    let told: Vec<&str> = mails.iter().map(|mail| mail.to.as_str()).collect();
    assert_eq!(told, vec!["resident-2", "resident-3"]);
    assert_eq!(store.calls[0], "lock day:cantine:2026-06-08");
    let record = day(&mut store, "cantine", "2026-06-08");
    assert_eq!((record.booked, record.capacity), (3, Some(3)));
    assert_eq!(
        waiting_position(&mut store, "cantine", date("2026-06-08"), 3).ok(),
        Some(1)
    );
}

#[test]
fn waiting_entries_expire_with_the_deadline_and_are_removed_lazily() {
    let rules = rules_with_places(1);
    let mut store = MemoryStore::default();
    run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    run(
        &mut store,
        &rules,
        now(),
        &family(2),
        &wanted("cantine", &["2026-06-08"], true),
    );
    // After Friday 5 June 9:00 the list is void: when staff then raise the
    // capacity, nobody is promoted and the expired entry goes.
    let later = at("2026-06-05", "12:00");
    let family_two = family(2);
    let activity = rules
        .activity("cantine")
        .unwrap_or_else(|| panic!("cantine"));
    let state = day_state(
        &mut store,
        &rules,
        activity,
        date("2026-06-08"),
        later,
        &family_two,
        &lea(),
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(!state.editable);
    assert!(state.status.starts_with("Liste d'attente close"));
    store.next_call();
    let mails = set_capacity(
        &mut store,
        &rules,
        later,
        activity,
        date("2026-06-08"),
        2,
        25,
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(mails.is_empty());
    assert!(!store.entries.keys().any(|key| key.starts_with("waiting:")));
    assert!(
        !store
            .entries
            .keys()
            .any(|key| key.starts_with("family:resident-2:"))
    );
}

#[test]
fn a_closure_cancels_the_day_without_charge_and_tells_each_family_once() {
    let rules = rules_with_places(2);
    let mut store = MemoryStore::default();
    for number in 1..=3 {
        run(
            &mut store,
            &rules,
            now(),
            &family(number),
            &wanted("cantine", &["2026-06-08"], true),
        );
    }
    // Family 1 also has the evening club that day (booked the week before).
    run(
        &mut store,
        &rules,
        at("2026-06-01", "08:00"),
        &family(1),
        &wanted("soir", &["2026-06-08"], true),
    );
    store.next_call();
    let done = close_day(
        &mut store,
        &rules,
        now(),
        date("2026-06-08"),
        None,
        "grève",
        "Claire MARTIN",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!((done.cancelled, done.withdrawn, done.remaining), (3, 1, 0));
    let told: Vec<&str> = done.mails.iter().map(|mail| mail.to.as_str()).collect();
    assert_eq!(told, vec!["resident-1", "resident-2", "resident-3"]);
    assert_eq!(done.mails[0].subject, "Fermeture le lundi 8 juin");
    assert_eq!(done.mails[0].paragraphs.len(), 3);
    assert!(done.mails[0].paragraphs[0].contains("grève"));
    assert!(
        !store
            .entries
            .keys()
            .any(|key| key.starts_with("booking:") || key.starts_with("waiting:"))
    );
    assert!(store.entries.contains_key("closure:2026-06-08:*"));
    let record = day(&mut store, "cantine", "2026-06-08");
    assert_eq!(
        (record.booked, record.closed.as_deref()),
        (0, Some("grève"))
    );
    // The closed day can no longer be booked.
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    assert_eq!(
        applied.lines[0].result,
        Effect::Refused("fermé (grève)".to_owned())
    );
}

#[test]
fn a_large_closure_goes_in_batches_within_the_call_bounds() {
    let rules = rules_with_places(200);
    let mut store = MemoryStore::default();
    for number in 0..90 {
        run(
            &mut store,
            &rules,
            now(),
            &family(number),
            &wanted("cantine", &["2026-06-08"], true),
        );
    }
    let mut cancelled = 0;
    for round in 0..3 {
        store.next_call();
        let done = close_day(
            &mut store,
            &rules,
            now(),
            date("2026-06-08"),
            Some("cantine"),
            "sortie scolaire",
            "Claire MARTIN",
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        assert!(
            store.writes <= 100,
            "round {round}: {} writes",
            store.writes
        );
        assert!(done.mails.len() <= 50);
        cancelled += done.cancelled;
        assert_eq!(done.remaining, 90 - cancelled);
    }
    assert_eq!(cancelled, 90);
}

#[test]
fn age_groups_have_their_own_places() {
    let mut rules = rules();
    for activity in &mut rules.activities {
        if activity.id == "mercredi" {
            activity.age_groups[0].capacity = 1;
        }
    }
    let mut store = MemoryStore::default();
    let little = |id: &str| Child {
        id: id.to_owned(),
        name: "Tom".to_owned(),
        birth: Some(date("2022-01-01")),
    };
    let wednesday = wanted("mercredi", &["2026-06-10"], true);
    let first = apply(
        &mut store,
        &rules,
        now(),
        &family(1),
        &little("a"),
        &wednesday,
        &prices(),
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        first.count(|effect| matches!(effect, Effect::Booked { .. })),
        1
    );
    let second = apply(
        &mut store,
        &rules,
        now(),
        &family(2),
        &little("b"),
        &wednesday,
        &prices(),
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(second.lines[0].result, Effect::Waiting { position: 1 });
    // An older child still has places in the other group.
    let third = apply(
        &mut store,
        &rules,
        now(),
        &family(3),
        &lea(),
        &wednesday,
        &prices(),
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        third.count(|effect| matches!(effect, Effect::Booked { .. })),
        1
    );
    // A child of no group is refused.
    let baby = Child {
        id: "c".to_owned(),
        name: "Zoé".to_owned(),
        birth: Some(date("2025-01-01")),
    };
    let fourth = apply(
        &mut store,
        &rules,
        now(),
        &family(4),
        &baby,
        &wednesday,
        &prices(),
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        fourth.lines[0].result,
        Effect::Refused("aucune place n'est prévue pour l'âge de Zoé".to_owned())
    );
    let record = day(&mut store, "mercredi", "2026-06-10");
    assert_eq!(record.booked_by_group.get("3 à 5 ans"), Some(&1));
    assert_eq!(record.booked_by_group.get("6 à 14 ans"), Some(&1));
}

#[test]
fn days_without_the_activity_closures_and_the_horizon_are_refused() {
    let rules = rules();
    let mut store = MemoryStore::default();
    let changes = [
        // A Wednesday has no canteen; 5 June is a pedagogical day; a day
        // beyond 12 weeks.
        wanted("cantine", &["2026-06-10", "2026-06-05", "2026-10-02"], true),
    ]
    .concat();
    let applied = run(&mut store, &rules, now(), &family(1), &changes);
    let reasons: Vec<String> = sentences(&rules, &applied);
    assert_eq!(
        reasons[0],
        "Vendredi 5 juin (Restauration scolaire) : refusé : fermé (Journée pédagogique)"
    );
    assert_eq!(
        reasons[1],
        "Mercredi 10 juin (Restauration scolaire) : refusé : l'activité n'a pas lieu ce jour-là"
    );
    assert!(
        reasons[2].contains("les réservations sont ouvertes jusqu'au dimanche 30 août seulement"),
        "{}",
        reasons[2]
    );
}

#[test]
fn thirty_days_fit_in_one_call_and_more_are_refused() {
    let mut rules = rules_with_places(500);
    // Past the summer holidays.
    rules.weeks_ahead = 52;
    let mut store = MemoryStore::default();
    let mut days = Vec::new();
    let mut date = date("2026-06-08");
    while days.len() < 30 {
        if crate::planning::running(
            &rules,
            rules
                .activity("cantine")
                .unwrap_or_else(|| panic!("cantine")),
            date,
        ) == crate::planning::Running::Runs
        {
            days.push(Change {
                activity: "cantine".to_owned(),
                date,
                wanted: true,
            });
        }
        date = date.add_days(1);
    }
    let applied = run(&mut store, &rules, now(), &family(1), &days);
    assert_eq!(
        applied.count(|effect| matches!(effect, Effect::Booked { .. })),
        30
    );
    assert!(store.locked.len() <= 32);
    assert!(store.writes <= 100, "{} writes", store.writes);
    days.push(Change {
        activity: "cantine".to_owned(),
        date: date.add_days(7),
        wanted: true,
    });
    store.next_call();
    assert!(
        apply(
            &mut store,
            &rules,
            now(),
            &family(2),
            &lea(),
            &days,
            &prices()
        )
        .is_err()
    );
}

#[test]
fn the_planning_states_say_the_deadline_before_acting() {
    let rules = rules_with_places(3);
    let mut store = MemoryStore::default();
    let activity = rules
        .activity("cantine")
        .unwrap_or_else(|| panic!("cantine"));
    let state = |store: &mut MemoryStore, number: usize, day: &str| {
        day_state(
            store,
            &rules,
            activity,
            date(day),
            now(),
            &family(number),
            &lea(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"))
    };
    let free = state(&mut store, 1, "2026-06-12");
    assert_eq!(
        free.status,
        "Plus que 3 places — modifiable jusqu'au jeudi 11/06 à 9h00"
    );
    assert!(free.editable && !free.checked);
    for number in 1..=3 {
        run(
            &mut store,
            &rules,
            now(),
            &family(number),
            &wanted("cantine", &["2026-06-12"], true),
        );
    }
    let booked = state(&mut store, 1, "2026-06-12");
    assert_eq!(
        booked.status,
        "Réservé — annulable jusqu'au jeudi 11/06 à 9h00"
    );
    assert!(booked.checked && booked.editable);
    let full = state(&mut store, 4, "2026-06-12");
    assert_eq!(
        full.status,
        "Complet — inscription sur liste d'attente possible, modifiable jusqu'au jeudi 11/06 à 9h00"
    );
    run(
        &mut store,
        &rules,
        now(),
        &family(4),
        &wanted("cantine", &["2026-06-12"], true),
    );
    let waiting = state(&mut store, 4, "2026-06-12");
    assert_eq!(
        waiting.status,
        "Liste d'attente, position 1 — modifiable jusqu'au jeudi 11/06 à 9h00"
    );
    let late = state(&mut store, 5, "2026-06-04");
    assert_eq!(
        late.status,
        "Places disponibles, délai passé depuis le mardi 02/06 à 9h00 : réservation majorée de 50 %"
    );
    let closed = state(&mut store, 5, "2026-06-05");
    assert_eq!(
        (closed.status.as_str(), closed.editable),
        ("Fermé : Journée pédagogique", false)
    );
    let past = state(&mut store, 5, "2026-06-02");
    assert_eq!((past.status.as_str(), past.editable), ("Jour passé", false));
}

#[test]
fn a_freed_place_goes_to_the_first_waiting_child_it_fits_past_a_page() {
    let mut rules = rules();
    for activity in &mut rules.activities {
        if activity.id == "mercredi" {
            activity.capacity = 2;
            activity.age_groups[0].capacity = 1;
            activity.age_groups[1].capacity = 1;
        }
    }
    let mut store = MemoryStore::default();
    let wednesday = wanted("mercredi", &["2026-06-10"], true);
    let little = |number: usize| Child {
        id: format!("petit-{number}"),
        name: format!("Petit {number}"),
        birth: Some(date("2022-01-01")),
    };
    let book = |store: &mut MemoryStore, number: usize, child: &Child, changes: &[Change]| {
        store.next_call();
        apply(
            store,
            &rules,
            now(),
            &family(number),
            child,
            changes,
            &prices(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"))
    };
    book(&mut store, 0, &little(0), &wednesday);
    book(&mut store, 1, &lea(), &wednesday);
    for number in 2..62 {
        let applied = book(&mut store, number, &little(number), &wednesday);
        assert_eq!(
            applied.lines[0].result,
            Effect::Waiting {
                position: number - 1
            }
        );
    }
    let applied = book(&mut store, 62, &lea(), &wednesday);
    assert_eq!(applied.lines[0].result, Effect::Waiting { position: 61 });
    // Léa of family 1 leaves: the only older child waiting, 61st, gets the
    // older group's place; the 60 little ones before still wait.
    let cancelled = book(
        &mut store,
        1,
        &lea(),
        &wanted("mercredi", &["2026-06-10"], false),
    );
    assert_eq!(cancelled.mails.len(), 1);
    assert_eq!(cancelled.mails[0].to, "resident-62");
    assert!(store.writes <= 100);
    assert_eq!(store.count("waiting:mercredi:2026-06-10:").ok(), Some(60));
    let record = day(&mut store, "mercredi", "2026-06-10");
    assert_eq!(record.booked, 2);
}

#[test]
fn a_closed_day_reopens_without_bringing_bookings_back() {
    let rules = rules();
    let mut store = MemoryStore::default();
    run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    store.next_call();
    close_day(
        &mut store,
        &rules,
        now(),
        date("2026-06-08"),
        None,
        "grève",
        "Claire MARTIN",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    // One activity reopens: the closure for all stays listed.
    store.next_call();
    let reopened = reopen_day(&mut store, &rules, date("2026-06-08"), Some("cantine"))
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(reopened, 1);
    assert_eq!(store.calls[0], "lock day:cantine:2026-06-08");
    assert!(store.entries.contains_key("closure:2026-06-08:*"));
    assert_eq!(day(&mut store, "cantine", "2026-06-08").closed, None);
    assert_eq!(
        day(&mut store, "soir", "2026-06-08").closed.as_deref(),
        Some("grève")
    );
    assert!(!store.entries.keys().any(|key| key.starts_with("booking:")));
    let applied = run(
        &mut store,
        &rules,
        now(),
        &family(1),
        &wanted("cantine", &["2026-06-08"], true),
    );
    assert_eq!(
        applied.count(|effect| matches!(effect, Effect::Booked { .. })),
        1
    );
    // Every activity reopens: the closure leaves the list.
    store.next_call();
    reopen_day(&mut store, &rules, date("2026-06-08"), None)
        .unwrap_or_else(|error| panic!("{error:?}"));
    assert!(!store.entries.keys().any(|key| key.starts_with("closure:")));
    assert_eq!(day(&mut store, "soir", "2026-06-08").closed, None);
}
