//! The "Attestation de présence" on the in-memory store: booked days
//! attended or absent, waiting entries, days outside the period and other
//! children left out, the checks of the parameters, the grouping past the
//! row bound.

use std::collections::{BTreeMap, BTreeSet};

use guichet_module_sdk::{Block, Document, Fields, Notice, Tone, Value};

use crate::attestation::*;
use crate::calendar::{Date, Moment, Time};
use crate::config::{Config, Rules};
use crate::engine::{Change, Child, Family, apply, set_capacity, take_attendance};
use crate::model::{Booking, EntryState, FamilyEntry, booking_key, booking_prefix, family_key};
use crate::store::{MemoryStore, Store};

fn rules() -> Rules {
    let config: Config =
        serde_json::from_str(crate::demo::VILLENEUVE).unwrap_or_else(|error| panic!("{error}"));
    config.rules().unwrap_or_else(|error| panic!("{error}"))
}

fn date(text: &str) -> Date {
    Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
}

fn at(day: &str) -> Moment {
    Moment {
        date: date(day),
        time: Time {
            hour: 10,
            minute: 0,
        },
    }
}

fn family(number: usize) -> Family {
    Family {
        resident: format!("resident-{number}"),
        name: format!("Famille {number}"),
    }
}

fn lea() -> ChildIdentity {
    ChildIdentity {
        id: "m2".to_owned(),
        first_name: "Léa".to_owned(),
        last_name: "ARPEGE".to_owned(),
        birth: Some(date("2018-03-14")),
    }
}

fn tom() -> ChildIdentity {
    ChildIdentity {
        id: "m3".to_owned(),
        first_name: "Tom".to_owned(),
        last_name: "ARPEGE".to_owned(),
        birth: None,
    }
}

fn booking_child(child: &ChildIdentity) -> Child {
    Child {
        id: child.id.clone(),
        name: child.first_name.clone(),
        birth: child.birth,
    }
}

fn book(
    store: &mut MemoryStore,
    now: Moment,
    family: &Family,
    child: &ChildIdentity,
    days: &[(&str, &str)],
) {
    let changes: Vec<Change> = days
        .iter()
        .map(|(activity, day)| Change {
            activity: (*activity).to_owned(),
            date: date(day),
            wanted: true,
        })
        .collect();
    store.next_call();
    apply(
        store,
        &rules(),
        now,
        family,
        &booking_child(child),
        &changes,
        &BTreeMap::new(),
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
}

/// What an integration test (or the billing software) writes through the
/// data API: a booked day in the family's index and its booking.
fn put_booked(
    store: &mut MemoryStore,
    resident: &str,
    child: &ChildIdentity,
    activity: &str,
    day: &str,
    attendance: Option<&str>,
) {
    let when = date(day);
    store
        .put_json(
            &family_key(resident, when, activity, &child.id),
            &FamilyEntry {
                activity: activity.to_owned(),
                date: day.to_owned(),
                child: child.id.clone(),
                child_name: child.first_name.clone(),
                state: EntryState::Booked,
                sequence: None,
            },
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
    store
        .put_json(
            &booking_key(activity, when, resident, &child.id),
            &Booking {
                activity: activity.to_owned(),
                date: day.to_owned(),
                resident: resident.to_owned(),
                family: "Monsieur ARPEGE".to_owned(),
                child: child.id.clone(),
                child_name: child.first_name.clone(),
                group: None,
                booked_at: format!("{day}T08:00"),
                price_cents: Some(250),
                late: false,
                promoted: false,
                attendance: attendance.map(str::to_owned),
            },
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
}

fn params(child: &str, from: &str, to: &str) -> Fields {
    Fields(vec![
        ("enfant".to_owned(), child.to_owned()),
        ("du".to_owned(), from.to_owned()),
        ("au".to_owned(), to.to_owned()),
    ])
}

fn produce(
    store: &mut MemoryStore,
    rules: &Rules,
    params: &Fields,
    today: &str,
) -> Result<Document, AttestationError> {
    store.next_call();
    document(
        store,
        rules,
        ATTESTATION,
        "Villeneuve",
        "resident-1",
        &[lea(), tom()],
        params,
        date(today),
    )
}

fn refusal(result: Result<Document, AttestationError>) -> String {
    match result {
        Err(AttestationError::Refused(message)) => message,
        other => panic!("not refused: {other:?}"),
    }
}

fn tables(document: &Document) -> Vec<&guichet_module_sdk::Table> {
    document
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Table(table) => Some(table),
            _ => None,
        })
        .collect()
}

fn pairs(document: &Document) -> Vec<(String, Value)> {
    document
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::KeyValues(pairs) => Some(pairs),
            _ => None,
        })
        .flatten()
        .map(|pair| (pair.key.clone(), pair.value.clone()))
        .collect()
}

/// Only the blocks a document may hold, within the host's view bounds.
fn check_bounds(document: &Document) {
    let mut rows = 0;
    let mut cells = 0;
    let mut text = document.title.len();
    for block in &document.blocks {
        match block {
            Block::Heading(line) | Block::Paragraph(line) => text += line.len(),
            Block::KeyValues(pairs) => {
                rows += pairs.len();
                for pair in pairs {
                    text += pair.key.len();
                    if let Value::Text(value) = &pair.value {
                        text += value.len();
                    }
                }
            }
            Block::Table(table) => {
                rows += table.rows.len();
                cells += table.headers.len() + table.rows.iter().map(Vec::len).sum::<usize>();
                for value in table.rows.iter().flatten() {
                    text += match value {
                        Value::Text(value) | Value::Date(value) => value.len(),
                        Value::Status(notice) => notice.text.len(),
                        _ => 8,
                    };
                }
            }
            Block::Notice(_) | Block::Items(_) => {}
            Block::Link(_) | Block::Form(_) | Block::Payable(_) => {
                panic!("a document holds no link, form or payable: {block:?}")
            }
        }
    }
    assert!(
        document.blocks.len() <= 200,
        "{} blocks",
        document.blocks.len()
    );
    assert!(rows <= 1_000, "{rows} rows");
    assert!(cells <= 10_000, "{cells} cells");
    assert!(text <= 256 * 1024, "{text} bytes of text");
}

#[test]
fn booked_days_attended_or_absent_and_nothing_else() {
    let rules = rules();
    let mut store = MemoryStore::default();
    let booked_on = at("2026-06-03");
    // Léa: the canteen from Monday 8 to Monday 15 June, the Wednesday club
    // on the 10th; Friday 12th has one place, taken by another family
    // first: Léa waits.
    let friday = date("2026-06-12");
    let canteen = rules
        .activity("cantine")
        .cloned()
        .unwrap_or_else(|| panic!("cantine"));
    store.next_call();
    set_capacity(&mut store, &rules, booked_on, &canteen, friday, 1, 25)
        .unwrap_or_else(|error| panic!("{error:?}"));
    book(
        &mut store,
        booked_on,
        &family(2),
        &lea(),
        &[("cantine", "2026-06-12")],
    );
    book(
        &mut store,
        booked_on,
        &family(1),
        &lea(),
        &[
            ("cantine", "2026-06-08"),
            ("cantine", "2026-06-09"),
            ("mercredi", "2026-06-10"),
            ("cantine", "2026-06-11"),
            ("cantine", "2026-06-12"),
            ("cantine", "2026-06-15"),
        ],
    );
    let waiting: FamilyEntry = store
        .get_json(&family_key("resident-1", friday, "cantine", "m2"))
        .unwrap_or_else(|error| panic!("{error:?}"))
        .unwrap_or_else(|| panic!("no entry"));
    assert_eq!(waiting.state, EntryState::Waiting);
    // Her brother, on the Monday.
    book(
        &mut store,
        booked_on,
        &family(1),
        &tom(),
        &[("cantine", "2026-06-08")],
    );
    // The staff's attendance: Monday present, Tuesday absent, Thursday not
    // taken.
    for (day, present) in [("2026-06-08", true), ("2026-06-09", false)] {
        let key = booking_key("cantine", date(day), "resident-1", "m2");
        let present: BTreeSet<String> = if present {
            BTreeSet::from([key.clone()])
        } else {
            BTreeSet::new()
        };
        store.next_call();
        take_attendance(&mut store, &canteen, date(day), &present, &[key])
            .unwrap_or_else(|error| panic!("{error:?}"));
    }

    let document = produce(
        &mut store,
        &rules,
        &params("m2", "2026-06-08", "2026-06-12"),
        "2026-07-01",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    check_bounds(&document);
    assert_eq!(document.title, "Attestation de présence");
    assert_eq!(
        document.blocks[0],
        Block::Paragraph(
            "Villeneuve atteste que Léa ARPEGE, né(e) le 14/03/2018, a fréquenté les activités ci-dessous du 08/06/2026 au 12/06/2026."
                .to_owned()
        )
    );
    assert_eq!(
        pairs(&document),
        vec![
            (
                "Restauration scolaire".to_owned(),
                Value::text("2 jours de présence, 1 absence")
            ),
            (
                "Mercredi loisirs".to_owned(),
                Value::text("1 jour de présence")
            ),
        ]
    );
    let table = tables(&document);
    assert_eq!(table.len(), 1);
    assert_eq!(table[0].caption, "Jours de présence");
    assert_eq!(table[0].headers, vec!["Date", "Activité", "Présence"]);
    let present = || Value::Status(Notice::new(Tone::Success, "Présent"));
    let absent = Value::Status(Notice::new(Tone::Warning, "Absent"));
    // Attendance not taken: said so, counted as a day booked and kept.
    let booked = || Value::Status(Notice::new(Tone::Info, "Réservé, présence non relevée"));
    let row = |day: &str, label: &str, presence: Value| {
        vec![Value::Date(day.to_owned()), Value::text(label), presence]
    };
    assert_eq!(
        table[0].rows,
        vec![
            row("2026-06-08", "Restauration scolaire", present()),
            row("2026-06-09", "Restauration scolaire", absent),
            row("2026-06-10", "Mercredi loisirs", booked()),
            row("2026-06-11", "Restauration scolaire", booked()),
        ]
    );
    assert!(
        document.blocks.iter().any(|block| matches!(block, Block::Paragraph(text) if text.starts_with("Les jours réservés dont la présence n'a pas été relevée"))),
        "how unrecorded days are counted is stated"
    );
    // The family's index, as a key range: no other list, no scan.
    let lists: BTreeSet<&String> = store
        .calls
        .iter()
        .filter(|call| call.starts_with("list") || call.starts_with("count"))
        .collect();
    assert_eq!(
        lists,
        BTreeSet::from([&"list family:resident-1:".to_owned()])
    );
    assert!(!store.calls.iter().any(|call| call.starts_with("put")
        || call.starts_with("delete")
        || call.starts_with("lock")));

    // Her brother, without a birth date: his Monday only.
    let document = produce(
        &mut store,
        &rules,
        &params("m3", "2026-06-01", "2026-06-30"),
        "2026-07-01",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        document.blocks[0],
        Block::Paragraph(
            "Villeneuve atteste que Tom ARPEGE a fréquenté les activités ci-dessous du 01/06/2026 au 30/06/2026."
                .to_owned()
        )
    );
    assert_eq!(tables(&document)[0].rows.len(), 1);

    // Only the waiting Friday in the period: nothing to attest.
    assert_eq!(
        refusal(produce(
            &mut store,
            &rules,
            &params("m2", "2026-06-12", "2026-06-14"),
            "2026-07-01",
        )),
        "Léa ARPEGE n'a aucune réservation du 12/06/2026 au 14/06/2026 : il n'y a pas d'attestation à établir."
    );
}

#[test]
fn days_outside_the_period_and_of_other_families_are_left_out() {
    let rules = rules();
    let mut store = MemoryStore::default();
    for day in ["2026-04-30", "2026-05-01", "2026-05-29", "2026-06-01"] {
        put_booked(&mut store, "resident-1", &lea(), "cantine", day, None);
    }
    // The same child id in another family (a reference with a colon,
    // escaped in keys), and a resident whose reference extends ours.
    put_booked(
        &mut store,
        "resident:9",
        &lea(),
        "cantine",
        "2026-05-12",
        None,
    );
    put_booked(
        &mut store,
        "resident-10",
        &lea(),
        "cantine",
        "2026-05-12",
        None,
    );
    // The booking record of a day whose index entry is gone (cancelled).
    store
        .put(
            &format!(
                "{}resident-1~m2",
                booking_prefix("soir", date("2026-05-12"))
            ),
            "{}".to_owned(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
    let document = produce(
        &mut store,
        &rules,
        &params("m2", "2026-05-01", "2026-05-31"),
        "2026-06-02",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    let days: Vec<&Value> = tables(&document)[0]
        .rows
        .iter()
        .map(|row| &row[0])
        .collect();
    assert_eq!(
        days,
        vec![
            &Value::Date("2026-05-01".to_owned()),
            &Value::Date("2026-05-29".to_owned())
        ]
    );
    // One day, both ends the same.
    let document = produce(
        &mut store,
        &rules,
        &params("m2", "2026-06-01", "2026-06-01"),
        "2026-06-02",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        pairs(&document),
        vec![(
            "Restauration scolaire".to_owned(),
            Value::text("1 jour de présence")
        )]
    );
}

#[test]
fn the_parameters_are_checked() {
    let rules = rules();
    let mut store = MemoryStore::default();
    put_booked(
        &mut store,
        "resident-1",
        &lea(),
        "cantine",
        "2026-05-04",
        Some("absent"),
    );
    let today = "2026-06-02";
    let cases = [
        (
            params("m9", "2026-05-01", "2026-05-31"),
            "Choisissez un enfant de votre foyer.",
        ),
        (
            params("", "2026-05-01", "2026-05-31"),
            "Choisissez un enfant de votre foyer.",
        ),
        (
            params("m2", "le 1er mai", "2026-05-31"),
            "Indiquez la date de début au format AAAA-MM-JJ, par exemple 2026-05-01.",
        ),
        (
            params("m2", "2026-05-01", "2026-02-30"),
            "Indiquez la date de fin au format AAAA-MM-JJ, par exemple 2026-05-31.",
        ),
        (
            params("m2", "2026-05-31", "2026-05-01"),
            "La date de fin doit suivre la date de début.",
        ),
        (
            params("m2", "2026-05-01", "2026-06-02"),
            "L'attestation ne porte que sur des jours passés : la date de fin est au plus tard le 01/06/2026.",
        ),
        (
            params("m2", "2026-05-01", "2026-12-31"),
            "L'attestation ne porte que sur des jours passés : la date de fin est au plus tard le 01/06/2026.",
        ),
        (
            params("m2", "2025-05-30", "2026-05-31"),
            "L'attestation couvre au plus une année.",
        ),
    ];
    for (params, message) in cases {
        assert_eq!(
            refusal(produce(&mut store, &rules, &params, today)),
            message
        );
    }
    // Yesterday, and 366 days, are allowed; a day marked absent only.
    let document = produce(
        &mut store,
        &rules,
        &params("m2", "2025-06-01", "2026-06-01"),
        today,
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    assert_eq!(
        pairs(&document),
        vec![(
            "Restauration scolaire".to_owned(),
            Value::text("Aucun jour de présence, 1 absence")
        )]
    );
    // Another document.
    store.next_call();
    assert_eq!(
        document_of("attestation-fiscale", &mut store, &rules),
        Err(AttestationError::Unknown("attestation-fiscale".to_owned()))
    );
}

fn document_of(
    id: &str,
    store: &mut MemoryStore,
    rules: &Rules,
) -> Result<Document, AttestationError> {
    document(
        store,
        rules,
        id,
        "Villeneuve",
        "resident-1",
        &[lea()],
        &params("m2", "2026-05-01", "2026-05-31"),
        date("2026-06-02"),
    )
}

/// A year of three activities every day: 1,098 days, past the 900 rows of
/// the day-by-day table.
#[test]
fn past_the_row_bound_the_days_are_grouped_by_month_and_activity() {
    let rules = rules();
    let mut store = MemoryStore::default();
    let from = date("2025-06-01");
    let mut day = from;
    let mut booked = 0;
    while day <= date("2026-06-01") {
        for activity in ["cantine", "soir", "vacances"] {
            let attendance = (activity == "soir" && day.day == 1).then_some("absent");
            put_booked(
                &mut store,
                "resident-1",
                &lea(),
                activity,
                &day.to_string(),
                attendance,
            );
            booked += 1;
        }
        day = day.add_days(1);
    }
    assert_eq!(booked, 1_098);
    let document = produce(
        &mut store,
        &rules,
        &params("m2", "2025-06-01", "2026-06-01"),
        "2026-06-02",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    check_bounds(&document);
    assert_eq!(
        pairs(&document),
        vec![
            (
                "Restauration scolaire".to_owned(),
                Value::text("366 jours de présence")
            ),
            (
                "Accueil du soir".to_owned(),
                Value::text("353 jours de présence, 13 absences")
            ),
            (
                "Centre de loisirs (vacances)".to_owned(),
                Value::text("366 jours de présence")
            ),
        ]
    );
    assert!(document.blocks.contains(&Block::Paragraph(
        "La période compte 1098 journées réservées : leur détail est regroupé par mois et par activité."
            .to_owned()
    )));
    let grouped = tables(&document);
    assert_eq!(grouped[0].caption, "Jours de présence par mois");
    assert_eq!(
        grouped[0].headers,
        vec!["Mois", "Activité", "Jours de présence", "Absences"]
    );
    // Thirteen months (June 2025 to June 2026), three activities each.
    assert_eq!(grouped[0].rows.len(), 39);
    assert_eq!(
        grouped[0].rows[..3],
        [
            vec![
                Value::text("Juin 2025"),
                Value::text("Restauration scolaire"),
                Value::Number(30),
                Value::Number(0)
            ],
            vec![
                Value::text("Juin 2025"),
                Value::text("Accueil du soir"),
                Value::Number(29),
                Value::Number(1)
            ],
            vec![
                Value::text("Juin 2025"),
                Value::text("Centre de loisirs (vacances)"),
                Value::Number(30),
                Value::Number(0)
            ],
        ]
    );
    assert_eq!(
        grouped[0].rows[38][..3],
        [
            Value::text("Juin 2026"),
            Value::text("Centre de loisirs (vacances)"),
            Value::Number(1),
        ]
    );
    // 900 days exactly: day by day.
    let to = from.add_days(299).to_string();
    let document = produce(
        &mut store,
        &rules,
        &params("m2", "2025-06-01", &to),
        "2026-06-02",
    )
    .unwrap_or_else(|error| panic!("{error:?}"));
    check_bounds(&document);
    let detailed = tables(&document);
    assert_eq!(detailed[0].caption, "Jours de présence");
    assert_eq!(detailed[0].rows.len(), 900);
    assert_eq!(detailed[0].rows[1][1], Value::text("Accueil du soir"));
}

/// Labels so long that the day-by-day table would weigh too much: grouped
/// by month; longer still, the totals only.
#[test]
fn heavy_labels_are_grouped_or_left_to_the_totals() {
    let mut rules = rules();
    let mut store = MemoryStore::default();
    let mut day = date("2026-01-05");
    while day <= date("2026-05-29") {
        put_booked(
            &mut store,
            "resident-1",
            &lea(),
            "cantine",
            &day.to_string(),
            None,
        );
        day = day.add_days(1);
    }
    let ask = |store: &mut MemoryStore, rules: &Rules| {
        produce(
            store,
            rules,
            &params("m2", "2026-01-01", "2026-05-31"),
            "2026-06-02",
        )
        .unwrap_or_else(|error| panic!("{error:?}"))
    };
    rules.activities[0].label = "Restauration scolaire « midi » ".repeat(100);
    let document = ask(&mut store, &rules);
    check_bounds(&document);
    assert_eq!(tables(&document)[0].caption, "Jours de présence par mois");
    assert_eq!(tables(&document)[0].rows.len(), 5);
    rules.activities[0].label = "« Restauration scolaire » ".repeat(2_000);
    let document = ask(&mut store, &rules);
    check_bounds(&document);
    assert!(tables(&document).is_empty());
    assert!(document.blocks.contains(&Block::Paragraph(
        "Le détail des jours est trop long pour figurer sur l'attestation : les totaux par activité sont donnés ci-dessus."
            .to_owned()
    )));
}
