//! "Attestation de présence": the document a family asks for one of its
//! children and a period of days past. The module answers structured
//! blocks; the host lays them out (letterhead, the resident's name and
//! address, title, number, date of issue, signatory, verification code)
//! and renders the PDF.
//!
//! The days are the child's **booked** days of the family's index
//! (`family:<resident>:<date>:<activity>:<child>`, read as a key range, a
//! page at a time), waiting entries left out; a day the staff's attendance
//! (`booking:…`, `"attendance": "absent"`) marks absent is an absence, any
//! other is attended (present, or attendance not taken).

use std::collections::BTreeMap;

use guichet_module_sdk::{Block, Choice, Document, Field, FieldKind, Fields, Notice, Tone, Value};
use serde::Deserialize;

use crate::calendar::{Date, capitalize};
use crate::config::Rules;
use crate::model::{EntryState, FamilyEntry, booking_key, family_prefix, part};
use crate::store::{Store, StoreError, decode};

/// The document's id, in the manifest and in `document` calls.
pub const ATTESTATION: &str = "attestation-presence";
pub const TITLE: &str = "Attestation de présence";
pub const DESCRIPTION: &str = "Atteste les jours où votre enfant a fréquenté la cantine, le périscolaire ou l'accueil de loisirs sur la période choisie.";

/// The longest period one attestation covers, in days (both ends included).
pub const MAX_DAYS: i64 = 366;

/// The most day-by-day rows: past them, the table gives one row per month
/// and activity (the host allows 1,000 rows in all, key-values included).
pub const DETAIL_ROWS: usize = 900;

/// What the key-values and the table may weigh once rendered, estimated
/// the way the host does (markup per element, text escaped at worst six
/// bytes a character): the host refuses past 512 KiB.
const RENDERED_BUDGET: usize = 400 * 1024;

/// A child of the household, as the document names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildIdentity {
    /// The household member's id (the select's value, as in the module's
    /// other forms).
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub birth: Option<Date>,
}

impl ChildIdentity {
    /// "Léa ARPEGE".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

/// The first and last day of the month before `today`'s.
pub fn previous_month(today: Date) -> (Date, Date) {
    let last = today.first_of_month().add_days(-1);
    (last.first_of_month(), last)
}

/// The document's parameters: the child (a select of the household's
/// children, by member id and first name, as the planning names them), and
/// the period, by default the previous month of `today`. The manifest
/// declares them with no child and no date (it is built without a
/// household or a date).
pub fn params(children: &[ChildIdentity], today: Option<Date>) -> Vec<Field> {
    let (from, to) = today.map_or((String::new(), String::new()), |today| {
        let (from, to) = previous_month(today);
        (from.to_string(), to.to_string())
    });
    vec![
        Field::new(
            "enfant",
            "Enfant",
            FieldKind::Select(
                children
                    .iter()
                    .map(|child| Choice {
                        value: child.id.clone(),
                        label: child.first_name.clone(),
                    })
                    .collect(),
            ),
        )
        .required(),
        Field::new("du", "Du", FieldKind::Date)
            .required()
            .value(&from)
            .hint("Le premier jour de la période attestée."),
        Field::new("au", "Au (inclus)", FieldKind::Date)
            .required()
            .value(&to)
            .hint("Au plus tard hier : seuls les jours passés sont attestés, sur un an au plus."),
    ]
}

/// Why no document was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationError {
    /// No such document.
    Unknown(String),
    /// Refused, with one French sentence for the resident (the host shows
    /// it at the form): a parameter, or nothing to attest.
    Refused(String),
    /// Storage failed; for the logs.
    Store(StoreError),
}

impl From<StoreError> for AttestationError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

fn refused(message: impl Into<String>) -> AttestationError {
    AttestationError::Refused(message.into())
}

/// The child and the period asked for, checked: a child of the household,
/// dates in order, the last one yesterday at the latest, a year at most.
pub fn checked<'a>(
    children: &'a [ChildIdentity],
    params: &Fields,
    today: Date,
) -> Result<(&'a ChildIdentity, Date, Date), AttestationError> {
    let child = children
        .iter()
        .find(|child| child.id == params.get("enfant"))
        .ok_or_else(|| refused("Choisissez un enfant de votre foyer."))?;
    let from = Date::parse(params.get("du")).ok_or_else(|| {
        refused("Indiquez la date de début au format AAAA-MM-JJ, par exemple 2026-05-01.")
    })?;
    let to = Date::parse(params.get("au")).ok_or_else(|| {
        refused("Indiquez la date de fin au format AAAA-MM-JJ, par exemple 2026-05-31.")
    })?;
    if to < from {
        return Err(refused("La date de fin doit suivre la date de début."));
    }
    let yesterday = today.add_days(-1);
    if to > yesterday {
        return Err(refused(format!(
            "L'attestation ne porte que sur des jours passés : la date de fin est au plus tard le {}.",
            yesterday.numeric()
        )));
    }
    if to.days() - from.days() + 1 > MAX_DAYS {
        return Err(refused("L'attestation couvre au plus une année."));
    }
    Ok((child, from, to))
}

/// A booked day of one activity, and whether the staff marked it absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttendedDay {
    pub date: Date,
    pub activity: String,
    pub absent: bool,
    /// The staff recorded the child present (else: attendance not taken).
    pub recorded: bool,
}

/// Only the attendance of a booking is read (the billing software may
/// push records with more fields).
#[derive(Deserialize)]
struct Attendance {
    #[serde(default)]
    attendance: Option<String>,
}

/// The child's booked days from `from` to `to`, in key order (date, then
/// activity id): the family's index read as a key range, a page at a time,
/// from the day before `from` to the first key past `to`; each booked day's
/// `booking:` record read for its attendance.
pub fn booked_days(
    store: &mut impl Store,
    resident: &str,
    child: &str,
    from: Date,
    to: Date,
) -> Result<Vec<AttendedDay>, StoreError> {
    let prefix = family_prefix(resident);
    let child_part = part(child);
    // Every key of the day before `from` ("…:<date>:…") sorts before
    // "…:<date>;" (':' < ';'), every later day after it.
    let mut after = format!("{prefix}{};", from.add_days(-1));
    let mut days = Vec::new();
    loop {
        let page = store.list_after(&prefix, &after, 500)?;
        let last_page = page.len() < 500;
        for (key, value) in &page {
            let Some((date, rest)) = key
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.split_once(':'))
            else {
                continue;
            };
            let Some(date) = Date::parse(date) else {
                continue;
            };
            if date > to {
                return Ok(days);
            }
            let Some((activity, member)) = rest.split_once(':') else {
                continue;
            };
            if date < from || member != child_part {
                continue;
            }
            let entry: FamilyEntry = decode(key, value)?;
            if entry.state != EntryState::Booked {
                continue;
            }
            let booking = booking_key(activity, date, resident, child);
            let attendance = match store.get(&booking)? {
                Some(text) => decode::<Attendance>(&booking, &text)?.attendance,
                None => None,
            };
            days.push(AttendedDay {
                date,
                activity: activity.to_owned(),
                absent: attendance.as_deref() == Some("absent"),
                recorded: attendance.as_deref() == Some("present"),
            });
        }
        match page.last() {
            Some((key, _)) if !last_page => after.clone_from(key),
            _ => return Ok(days),
        }
    }
}

/// Produces document `id` for the resident of the call: its parameters
/// checked, then its content from storage.
#[allow(clippy::too_many_arguments)]
pub fn document(
    store: &mut impl Store,
    rules: &Rules,
    id: &str,
    town: &str,
    resident: &str,
    children: &[ChildIdentity],
    params: &Fields,
    today: Date,
) -> Result<Document, AttestationError> {
    if id != ATTESTATION {
        return Err(AttestationError::Unknown(id.to_owned()));
    }
    let (child, from, to) = checked(children, params, today)?;
    attestation(store, rules, town, resident, child, from, to)
}

/// "12 jours de présence, 2 absences".
fn tally(present: usize, absent: usize) -> String {
    let mut text = match present {
        0 => "Aucun jour de présence".to_owned(),
        1 => "1 jour de présence".to_owned(),
        count => format!("{count} jours de présence"),
    };
    match absent {
        0 => {}
        1 => text.push_str(", 1 absence"),
        count => text.push_str(&format!(", {count} absences")),
    }
    text
}

/// The host's estimate of a string once escaped, at worst.
fn weight(text: &str) -> usize {
    6 * text.len()
}

/// The attestation of `child`'s booked days from `from` to `to`: a
/// paragraph, the days by activity (key-values), the table of the days
/// (by month and activity past [`DETAIL_ROWS`]).
pub fn attestation(
    store: &mut impl Store,
    rules: &Rules,
    town: &str,
    resident: &str,
    child: &ChildIdentity,
    from: Date,
    to: Date,
) -> Result<Document, AttestationError> {
    let mut days = booked_days(store, resident, &child.id, from, to)?;
    let name = child.full_name();
    if days.is_empty() {
        return Err(refused(format!(
            "{name} n'a aucune réservation du {} au {} : il n'y a pas d'attestation à établir.",
            from.numeric(),
            to.numeric()
        )));
    }
    // Activities in the configuration's order, those no longer configured
    // after them, by id.
    let order = |activity: &str| {
        rules
            .activities
            .iter()
            .position(|configured| configured.id == activity)
            .unwrap_or(rules.activities.len())
    };
    let label = |activity: &str| {
        rules.activity(activity).map_or_else(
            || activity.to_owned(),
            |configured| configured.label.clone(),
        )
    };
    days.sort_by(|a, b| {
        (a.date, order(&a.activity), &a.activity).cmp(&(b.date, order(&b.activity), &b.activity))
    });
    let born = child
        .birth
        .map(|birth| format!(", né(e) le {},", birth.numeric()))
        .unwrap_or_default();
    let mut document = Document::new(TITLE).paragraph(format!(
        "{town} atteste que {name}{born} a fréquenté les activités ci-dessous du {} au {}.",
        from.numeric(),
        to.numeric()
    ));
    // The town certifies what it recorded, and says how it counts the rest.
    if days.iter().any(|day| !day.absent && !day.recorded) {
        document = document.paragraph(
            "Les jours réservés dont la présence n'a pas été relevée sont comptés comme jours de présence : la réservation n'a été ni annulée ni signalée comme absence.",
        );
    }

    // Days present and absent, by activity.
    let mut totals: BTreeMap<(usize, &str), (usize, usize)> = BTreeMap::new();
    for day in &days {
        let total = totals
            .entry((order(&day.activity), day.activity.as_str()))
            .or_default();
        if day.absent {
            total.1 += 1;
        } else {
            total.0 += 1;
        }
    }
    let pairs: Vec<(String, Value)> = totals
        .iter()
        .map(|((_, activity), (present, absent))| {
            (label(activity), Value::text(tally(*present, *absent)))
        })
        .collect();
    let mut spent: usize = pairs
        .iter()
        .map(|(key, value)| {
            80 + weight(key)
                + match value {
                    Value::Text(text) => weight(text),
                    _ => 0,
                }
        })
        .sum();
    document = document.block(Block::KeyValues(
        pairs
            .into_iter()
            .map(|(key, value)| guichet_module_sdk::KeyValue { key, value })
            .collect(),
    ));

    // Day by day, when it fits.
    let detail_weight: usize = days
        .iter()
        .map(|day| 200 + weight(&label(&day.activity)))
        .sum();
    if days.len() <= DETAIL_ROWS && spent + detail_weight <= RENDERED_BUDGET {
        let rows = days
            .iter()
            .map(|day| {
                let (tone, presence) = if day.absent {
                    (Tone::Warning, "Absent")
                } else if day.recorded {
                    (Tone::Success, "Présent")
                } else {
                    (Tone::Info, "Réservé, présence non relevée")
                };
                vec![
                    Value::Date(day.date.to_string()),
                    Value::text(label(&day.activity)),
                    Value::Status(Notice::new(tone, presence)),
                ]
            })
            .collect();
        return Ok(document.table("Jours de présence", &["Date", "Activité", "Présence"], rows));
    }

    // Else by month and activity.
    let mut months: BTreeMap<(Date, usize, &str), (usize, usize)> = BTreeMap::new();
    for day in &days {
        let month = months
            .entry((
                day.date.first_of_month(),
                order(&day.activity),
                day.activity.as_str(),
            ))
            .or_default();
        if day.absent {
            month.1 += 1;
        } else {
            month.0 += 1;
        }
    }
    let month_weight: usize = months
        .keys()
        .map(|(_, _, activity)| 300 + weight(&label(activity)))
        .sum();
    spent += month_weight;
    if months.len() > DETAIL_ROWS || spent > RENDERED_BUDGET {
        return Ok(document.paragraph(
            "Le détail des jours est trop long pour figurer sur l'attestation : les totaux par activité sont donnés ci-dessus.",
        ));
    }
    let rows = months
        .iter()
        .map(|((month, _, activity), (present, absent))| {
            vec![
                Value::text(capitalize(&month.month_year())),
                Value::text(label(activity)),
                Value::Number(*present as i64),
                Value::Number(*absent as i64),
            ]
        })
        .collect();
    Ok(document
        .paragraph(format!(
            "La période compte {} journées réservées : leur détail est regroupé par mois et par activité.",
            days.len()
        ))
        .table(
            "Jours de présence par mois",
            &["Mois", "Activité", "Jours de présence", "Absences"],
            rows,
        ))
}
