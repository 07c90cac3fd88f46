//! The views: the resident's tile, planning and "semaine type", and the
//! staff's day list and closures. Built from plain data and a
//! [`Store`], so they are tested natively.

use std::collections::BTreeMap;

use guichet_module_sdk::{
    Field, FieldGroup, FieldKind, Fields, Form, Link, Tone, Value, View, ViewRequest, param,
};

use crate::calendar::{Date, Moment, WEEKDAYS, Weekday};
use crate::config::{ActivityRules, Rules};
use crate::engine::{
    Change, Child, Family, MAX_DAYS_PER_SUBMISSION, capacity, day_state, waiting_expired,
};
use crate::model::{
    Booking, DayRecord, EntryState, FamilyEntry, StaffClosure, Waiting, booking_prefix, day_key,
    family_prefix, waiting_prefix,
};
use crate::planning::{Running, horizon, running, week_days};
use crate::pricing::UnitPrice;
use crate::store::{Store, StoreError};

pub const TILE: &str = "reservations";
pub const PLANNING: &str = "planning";
pub const WEEKLY: &str = "semaine-type";
pub const STAFF_DAY: &str = "jour";
pub const STAFF_CLOSURES: &str = "fermetures";

/// The most upcoming lines the tile shows.
const TILE_LINES: usize = 5;
/// The most rows of a staff list page.
pub const STAFF_PAGE: usize = 150;

/// "2026-06-03T10:00" as "03/06/2026 à 10h00".
fn stamp_french(stamp: &str) -> String {
    let (date, time) = stamp.split_once('T').unwrap_or((stamp, ""));
    match (Date::parse(date), crate::calendar::Time::parse(time)) {
        (Some(date), Some(time)) => format!(
            "{:02}/{:02}/{} à {}",
            date.day,
            date.month,
            date.year,
            time.french()
        ),
        _ => stamp.to_owned(),
    }
}

fn link(label: &str, view: &str, params: &[(&str, &str)]) -> Link {
    params
        .iter()
        .fold(Link::new(label, view), |link, (name, value)| {
            link.param(name, value)
        })
}

/// A day booked or waited for: the child, the activity, the day in words.
struct Upcoming {
    child: String,
    activity: String,
    day: String,
}

impl Upcoming {
    /// "Léa : Restauration scolaire, lundi 8 juin".
    fn line(&self) -> String {
        format!("{} : {}, {}", self.child, self.activity, self.day)
    }
}

/// What is booked next and what waits, at most `TILE_LINES` each.
fn upcoming(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    family: &Family,
) -> Result<(Vec<Upcoming>, Vec<Upcoming>), StoreError> {
    let prefix = family_prefix(&family.resident);
    let after = format!("{prefix}{}", now.date.add_days(-1));
    let upcoming = store.list_after(&prefix, &after, 100)?;
    let mut booked = Vec::new();
    let mut waiting = Vec::new();
    for (_, text) in upcoming {
        let Ok(entry) = serde_json::from_str::<FamilyEntry>(&text) else {
            continue;
        };
        let (Some(date), Some(activity)) =
            (Date::parse(&entry.date), rules.activity(&entry.activity))
        else {
            continue;
        };
        let line = Upcoming {
            child: entry.child_name.clone(),
            activity: activity.label.clone(),
            day: date.long(),
        };
        match entry.state {
            EntryState::Booked if booked.len() < TILE_LINES => booked.push(line),
            EntryState::Waiting
                if !waiting_expired(rules, activity, date, now) && waiting.len() < TILE_LINES =>
            {
                waiting.push(line)
            }
            _ => {}
        }
    }
    Ok((booked, waiting))
}

/// The tile on "Mon accueil": the next booking, what waits, and the way to
/// the page where everything is booked and cancelled.
pub fn summary(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    family: &Family,
    children: &[Child],
) -> Result<View, StoreError> {
    let view = View::new("Annuler ou réserver…");
    if children.is_empty() {
        return Ok(view.paragraph("Aucun enfant inscrit dans votre foyer."));
    }
    let (booked, waiting) = upcoming(store, rules, now, family)?;
    let mut view = match booked.first() {
        Some(next) => view
            .paragraph(format!("Prochaine réservation : {}", next.day))
            .paragraph(format!("{}, {}", next.child, next.activity)),
        None => view.paragraph("Aucune réservation à venir"),
    };
    if !waiting.is_empty() {
        view = view.paragraph(if waiting.len() == 1 {
            "1 demande en liste d'attente".to_owned()
        } else {
            format!("{} demandes en liste d'attente", waiting.len())
        });
    }
    Ok(view.link(link("Réserver ou annuler", TILE, &[])))
}

/// The tile's page: what is booked next, what waits, where to book.
pub fn tile(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    family: &Family,
    children: &[Child],
) -> Result<View, StoreError> {
    let (booked, waiting) = upcoming(store, rules, now, family)?;
    let booked: Vec<String> = booked.iter().map(Upcoming::line).collect();
    let waiting: Vec<String> = waiting.iter().map(Upcoming::line).collect();
    let mut view = View::new("Annuler ou réserver…");
    if children.is_empty() {
        return Ok(view.paragraph(
            "Aucun enfant n'est inscrit dans votre foyer : la mairie l'ajoute à votre dossier.",
        ));
    }
    view = if booked.is_empty() {
        view.paragraph("Aucune réservation à venir.")
    } else {
        view.heading("Prochaines réservations").items(booked)
    };
    if !waiting.is_empty() {
        view = view.heading("En liste d'attente").items(waiting);
    }
    for child in children.iter().take(4) {
        view = view.link(link(
            &format!("Réserver ou annuler pour {}", child.name),
            PLANNING,
            &[("enfant", &child.id)],
        ));
    }
    Ok(view.link(link("Appliquer une semaine type", WEEKLY, &[])))
}

/// The planning of a child for an activity, week by week; without a child
/// or an activity, the choice of both.
#[allow(clippy::too_many_arguments)]
pub fn planning(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    family: &Family,
    children: &[Child],
    request: &ViewRequest,
    prices: &BTreeMap<String, UnitPrice>,
) -> Result<View, StoreError> {
    let child =
        param(request, "enfant").and_then(|id| children.iter().find(|child| child.id == id));
    let activity = param(request, "activite").and_then(|id| rules.activity(id));
    let (Some(child), Some(activity)) = (child, activity) else {
        return Ok(chooser(rules, children, child));
    };
    let this_week = now.date.monday();
    let monday = param(request, "semaine")
        .and_then(Date::parse)
        .map(Date::monday)
        .unwrap_or(this_week);
    let last = horizon(rules, now.date).monday();
    let monday = monday.clamp(this_week, last);
    let sunday = monday.add_days(6);
    let mut view = View::new(&format!("{} — {}", activity.label, child.name));
    if let Some(price) = prices.get(&activity.id) {
        if let Some(cents) = price.cents {
            let mut pairs = vec![("Tarif par jour", Value::Amount(cents))];
            if let Some(bracket) = &price.bracket {
                pairs.push(("Tranche", Value::text(bracket.clone())));
            }
            view = view.key_values(pairs);
        }
        if let Some(note) = &price.note {
            view = view.notice(Tone::Info, note.clone());
        }
    }
    let week_link = |label: &str, week: Date| {
        link(
            label,
            PLANNING,
            &[
                ("enfant", &child.id),
                ("activite", &activity.id),
                ("semaine", &week.to_string()),
            ],
        )
    };
    if monday > this_week {
        view = view.link(week_link("Semaine précédente", monday.add_days(-7)));
    }
    if monday < last {
        view = view.link(week_link("Semaine suivante", monday.add_days(7)));
    }
    let days = week_days(rules, activity, monday);
    let legend = format!("Semaine du {} au {}", monday.long(), sunday.long());
    if days.is_empty() {
        view = view
            .heading(legend)
            .paragraph("L'activité n'a pas lieu cette semaine.");
        // Holidays-only activities are weeks away: straight to the next
        // week that has days.
        let mut week = monday.add_days(7);
        while week <= last {
            if !week_days(rules, activity, week).is_empty() {
                return Ok(view.link(week_link(
                    &format!("Prochaine semaine d'accueil : du {}", week.long()),
                    week,
                )));
            }
            week = week.add_days(7);
        }
        return Ok(view);
    }
    let mut group = FieldGroup::new(&legend)
        .hint("Cochez les jours voulus, décochez ceux à annuler, puis enregistrez.");
    let mut editable = Vec::new();
    for date in &days {
        let state = day_state(store, rules, activity, *date, now, family, child)?;
        let mut field = Field::checkbox(
            &format!("jour-{date}"),
            &date.long_capitalized(),
            state.checked,
        )
        .hint(&state.status);
        if state.editable {
            editable.push(date.to_string());
        } else {
            field = field.disabled();
        }
        group = group.field(field);
    }
    if editable.is_empty() {
        return Ok(view
            .heading(legend)
            .items(
                days.iter()
                    .map(|date| {
                        day_state(store, rules, activity, *date, now, family, child)
                            .map(|state| format!("{} : {}", date.long_capitalized(), state.status))
                    })
                    .collect::<Result<_, _>>()?,
            )
            .paragraph("Plus aucun jour de cette semaine n'est modifiable."));
    }
    let form = Form::new(PLANNING, "Enregistrer la semaine")
        .field(Field::hidden("enfant", &child.id))
        .field(Field::hidden("activite", &activity.id))
        .field(Field::hidden("semaine", &monday.to_string()))
        .field(Field::hidden("jours", &editable.join(",")))
        .group(group);
    Ok(view.form_with(form).link(link(
        "Appliquer une semaine type",
        WEEKLY,
        &[("enfant", &child.id)],
    )))
}

fn chooser(rules: &Rules, children: &[Child], child: Option<&Child>) -> View {
    let mut view = View::new("Annuler ou réserver…");
    if children.is_empty() {
        return view.paragraph(
            "Aucun enfant n'est inscrit dans votre foyer : la mairie l'ajoute à votre dossier.",
        );
    }
    let chosen: Vec<&Child> = match child {
        Some(child) => vec![child],
        None => children.iter().collect(),
    };
    for child in chosen {
        view = view.heading(format!("Pour {}", child.name));
        for activity in &rules.activities {
            view = view.link(link(
                &format!("{} — {}", activity.label, child.name),
                PLANNING,
                &[("enfant", &child.id), ("activite", &activity.id)],
            ));
        }
    }
    view
}

/// The changes a planning form asks for: each editable day shown, checked
/// (wanted) or not.
pub fn planning_changes(rules: &Rules, fields: &Fields) -> Option<(String, Vec<Change>)> {
    let activity = rules.activity(fields.get("activite"))?;
    let days: Vec<Date> = fields
        .get("jours")
        .split(',')
        .filter_map(Date::parse)
        .take(7)
        .collect();
    let changes = days
        .into_iter()
        .map(|date| Change {
            activity: activity.id.clone(),
            date,
            wanted: fields.checked(&format!("jour-{date}")),
        })
        .collect();
    Some((fields.get("enfant").to_owned(), changes))
}

/// Why a "semaine type" was refused, by field.
#[derive(Debug, Default)]
pub struct WeeklyErrors {
    pub child: Option<String>,
    pub pattern: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The "semaine type" form: a child, weekdays per activity, a date range,
/// every week or one in two.
pub fn weekly(rules: &Rules, children: &[Child], typed: &Fields, errors: &WeeklyErrors) -> View {
    let mut view = View::new("Semaine type")
        .paragraph(format!(
            "Réservez les mêmes jours chaque semaine (ou une semaine sur deux) sur une période : au plus {MAX_DAYS_PER_SUBMISSION} jours par envoi, appliquez-la mois par mois au besoin. Les jours déjà réservés restent réservés ; rien n'est annulé."
        ));
    if children.is_empty() {
        return view.paragraph(
            "Aucun enfant n'est inscrit dans votre foyer : la mairie l'ajoute à votre dossier.",
        );
    }
    let mut form = Form::new(WEEKLY, "Appliquer la semaine type")
        .field(
            Field::new(
                "enfant",
                "Enfant",
                FieldKind::Select(
                    children
                        .iter()
                        .map(|child| guichet_module_sdk::Choice {
                            value: child.id.clone(),
                            label: child.name.clone(),
                        })
                        .collect(),
                ),
            )
            .required()
            .value(typed.get("enfant"))
            .error(errors.child.clone()),
        )
        .field(
            Field::new("du", "Du", FieldKind::Date)
                .required()
                .value(typed.get("du"))
                .error(errors.from.clone()),
        )
        .field(
            Field::new("au", "Au (inclus)", FieldKind::Date)
                .required()
                .value(typed.get("au"))
                .error(errors.to.clone()),
        )
        .field(
            Field::new(
                "rythme",
                "Rythme",
                FieldKind::Select(vec![
                    guichet_module_sdk::Choice {
                        value: "1".to_owned(),
                        label: "Chaque semaine".to_owned(),
                    },
                    guichet_module_sdk::Choice {
                        value: "2".to_owned(),
                        label: "Une semaine sur deux".to_owned(),
                    },
                ]),
            )
            .value(typed.get("rythme")),
        );
    for (index, activity) in rules.activities.iter().enumerate() {
        let mut group = FieldGroup::new(&activity.label);
        if index == 0
            && let Some(error) = &errors.pattern
        {
            group = group.hint(error);
        }
        for weekday in WEEKDAYS
            .iter()
            .filter(|day| activity.weekdays.contains(day))
        {
            let name = format!("{}-{}", activity.id, weekday.name());
            group = group.field(Field::checkbox(
                &name,
                &crate::calendar::capitalize(weekday.name()),
                typed.checked(&name),
            ));
        }
        form = form.group(group);
    }
    if let Some(error) = &errors.pattern {
        view = view.notice(Tone::Error, error.clone());
    }
    view.form_with(form)
}

/// The days a "semaine type" books, or why it is refused.
pub fn weekly_changes(
    rules: &Rules,
    children: &[Child],
    fields: &Fields,
    now: Moment,
) -> Result<(String, Vec<Change>), WeeklyErrors> {
    let mut errors = WeeklyErrors::default();
    let child = children
        .iter()
        .find(|child| child.id == fields.get("enfant"));
    if child.is_none() {
        errors.child = Some("Choisissez un enfant.".to_owned());
    }
    let from = Date::parse(fields.get("du"));
    let to = Date::parse(fields.get("au"));
    if from.is_none() {
        errors.from = Some("Indiquez la date de début, par exemple 2026-09-07.".to_owned());
    }
    if to.is_none() {
        errors.to = Some("Indiquez la date de fin, par exemple 2026-10-16.".to_owned());
    }
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            errors.to = Some("La date de fin suit la date de début.".to_owned());
        } else if from < now.date {
            errors.from = Some("La date de début ne peut pas être passée.".to_owned());
        } else if to > horizon(rules, now.date) {
            errors.to = Some(format!(
                "Les réservations sont ouvertes jusqu'au {} seulement.",
                horizon(rules, now.date).long()
            ));
        }
    }
    let every = if fields.get("rythme") == "2" { 2 } else { 1 };
    let pattern: Vec<(&ActivityRules, Weekday)> = rules
        .activities
        .iter()
        .flat_map(|activity| {
            WEEKDAYS
                .iter()
                .filter(|day| fields.checked(&format!("{}-{}", activity.id, day.name())))
                .map(move |day| (activity, *day))
        })
        .collect();
    if pattern.is_empty() {
        errors.pattern = Some("Cochez au moins un jour d'une activité.".to_owned());
    }
    let (Some(child), Some(from), Some(to), None, None, None, None) = (
        child,
        from,
        to,
        &errors.child,
        &errors.from,
        &errors.to,
        &errors.pattern,
    ) else {
        return Err(errors);
    };
    let first_week = from.monday();
    let mut changes = Vec::new();
    let mut date = from;
    while date <= to {
        let week = (date.monday().days() - first_week.days()) / 7;
        if week % every == 0 {
            for (activity, weekday) in &pattern {
                if date.weekday() == *weekday && running(rules, activity, date) == Running::Runs {
                    changes.push(Change {
                        activity: activity.id.clone(),
                        date,
                        wanted: true,
                    });
                }
            }
        }
        date = date.add_days(1);
    }
    if changes.is_empty() {
        errors.pattern = Some("Aucun jour d'accueil ne correspond sur cette période.".to_owned());
        return Err(errors);
    }
    if changes.len() > MAX_DAYS_PER_SUBMISSION {
        errors.to = Some(format!(
            "Cette période compte {} jours : au plus {MAX_DAYS_PER_SUBMISSION} par envoi. Raccourcissez-la.",
            changes.len()
        ));
        return Err(errors);
    }
    Ok((child.id.clone(), changes))
}

/// Staff: a day of an activity — the children booked, the waiting list,
/// the places, attendance and closure.
pub fn staff_day(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
    request: &ViewRequest,
    places_refused: Option<(&str, &str)>,
) -> Result<View, StoreError> {
    let Some(activity) = param(request, "activite")
        .and_then(|id| rules.activity(id))
        .or_else(|| rules.activities.first())
    else {
        return Ok(View::new("Réservations du jour").paragraph("Aucune activité n'est configurée."));
    };
    let date = param(request, "date")
        .and_then(Date::parse)
        .unwrap_or(now.date);
    let after = param(request, "apres").unwrap_or("");
    let day: DayRecord = store
        .get_json(&day_key(&activity.id, date))?
        .unwrap_or_default();
    let mut view = View::new(&format!("{} — {}", activity.label, date.long_capitalized()));
    let nav = |label: &str, activity: &str, date: Date| {
        link(
            label,
            STAFF_DAY,
            &[("activite", activity), ("date", &date.to_string())],
        )
    };
    view = view
        .link(nav("Jour précédent", &activity.id, date.add_days(-1)))
        .link(nav("Jour suivant", &activity.id, date.add_days(1)));
    for other in rules
        .activities
        .iter()
        .filter(|other| other.id != activity.id)
        .take(6)
    {
        view = view.link(nav(&other.label, &other.id, date));
    }
    view = view.form_with(day_form(
        rules,
        "afficher",
        "Afficher",
        None,
        Some(&activity.id),
        Some(date),
        &ClosureErrors::default(),
    ));
    let places = capacity(activity, &day);
    let mut facts = vec![
        ("Réservés", Value::Number(i64::from(day.booked))),
        ("Places", Value::Number(i64::from(places))),
    ];
    for group in &activity.age_groups {
        facts.push((
            group.label.as_str(),
            Value::text(format!(
                "{} sur {}",
                day.booked_by_group.get(&group.label).copied().unwrap_or(0),
                group.capacity
            )),
        ));
    }
    view = view.key_values(facts);
    match (running(rules, activity, date), day.closed.clone()) {
        (Running::No, _) => view = view.notice(Tone::Info, "L'activité n'a pas lieu ce jour-là."),
        (Running::Closed(reason), _) | (_, Some(reason)) => {
            view = view.notice(Tone::Warning, format!("Fermé : {reason}"));
        }
        _ => {}
    }
    let bookings = store.list_after(
        &booking_prefix(&activity.id, date),
        after,
        STAFF_PAGE as u32,
    )?;
    let shown: Vec<(String, Booking)> = bookings
        .into_iter()
        .filter_map(|(key, text)| {
            serde_json::from_str(&text)
                .ok()
                .map(|booking| (key, booking))
        })
        .collect();
    let mut rows = Vec::new();
    for (_, booking) in &shown {
        rows.push(vec![
            Value::text(booking.child_name.clone()),
            Value::text(booking.family.clone()),
            Value::text(booking.group.clone().unwrap_or_default()),
            Value::text(stamp_french(&booking.booked_at)),
            booking.price_cents.map_or(Value::text(""), Value::Amount),
            Value::text(match booking.attendance.as_deref() {
                Some("present") => "Présent",
                Some("absent") => "Absent",
                _ => "",
            }),
        ]);
    }
    if rows.is_empty() {
        view = view.paragraph("Aucun enfant n'est réservé ce jour-là.");
    } else {
        view = view.table(
            &format!("Enfants réservés le {}", date.long()),
            &[
                "Enfant",
                "Famille",
                "Groupe",
                "Réservé le",
                "Tarif",
                "Présence",
            ],
            rows,
        );
        if shown.len() == STAFF_PAGE
            && let Some((last, _)) = shown.last()
        {
            view = view.link(link(
                "Suite de la liste",
                STAFF_DAY,
                &[
                    ("activite", &activity.id),
                    ("date", &date.to_string()),
                    ("apres", last),
                ],
            ));
        }
        // Attendance for the children shown.
        let mut group = FieldGroup::new("Présents")
            .hint("Cochez les enfants présents ; les autres sont notés absents.");
        for (index, (_, booking)) in shown.iter().enumerate() {
            group = group.field(Field::checkbox(
                &format!("present-{index}"),
                &format!("{} ({})", booking.child_name, booking.family),
                booking.attendance.as_deref() == Some("present"),
            ));
        }
        let keys: Vec<&str> = shown
            .iter()
            .take(STAFF_PAGE)
            .map(|(key, _)| key.as_str())
            .collect();
        view = view.form_with(
            Form::new("pointage", "Enregistrer les présences")
                .field(Field::hidden("activite", &activity.id))
                .field(Field::hidden("date", &date.to_string()))
                .field(Field::hidden("reservations", &keys.join("|")))
                .group(group),
        );
    }
    let waiting: Vec<(String, String)> =
        store.list_after(&waiting_prefix(&activity.id, date), "", 100)?;
    if !waiting.is_empty() {
        let expired = waiting_expired(rules, activity, date, now);
        let rows = waiting
            .iter()
            .enumerate()
            .filter_map(|(index, (_, text))| {
                serde_json::from_str::<Waiting>(text).ok().map(|entry| {
                    vec![
                        Value::Number(index as i64 + 1),
                        Value::text(entry.child_name),
                        Value::text(entry.family),
                        Value::text(stamp_french(&entry.since)),
                    ]
                })
            })
            .collect();
        view = view.table(
            if expired {
                "Liste d'attente (expirée : le délai est passé)"
            } else {
                "Liste d'attente"
            },
            &["Position", "Enfant", "Famille", "Depuis"],
            rows,
        );
    }
    view = view.form(
        "capacite",
        "Enregistrer les places",
        vec![
            Field::hidden("activite", &activity.id),
            Field::hidden("date", &date.to_string()),
            Field::new("places", "Places ce jour-là", FieldKind::Number)
                .required()
                .value(&places_refused.map_or_else(|| places.to_string(), |(typed, _)| typed.to_owned()))
                .error(places_refused.map(|(_, error)| error.to_owned()))
                .hint("Augmenter les places les attribue aussitôt à la liste d'attente, dans l'ordre d'arrivée."),
        ],
    );
    Ok(view.form_with(closure_form(
        rules,
        Some(activity),
        Some(date),
        "",
        &ClosureErrors::default(),
    )))
}

#[derive(Debug, Default)]
pub struct ClosureErrors {
    pub date: Option<String>,
    pub activity: Option<String>,
    pub reason: Option<String>,
}

pub fn closure_form(
    rules: &Rules,
    activity: Option<&ActivityRules>,
    date: Option<Date>,
    reason: &str,
    errors: &ClosureErrors,
) -> Form {
    let mut choices = vec![guichet_module_sdk::Choice {
        value: "*".to_owned(),
        label: "Toutes les activités".to_owned(),
    }];
    choices.extend(
        rules
            .activities
            .iter()
            .map(|activity| guichet_module_sdk::Choice {
                value: activity.id.clone(),
                label: activity.label.clone(),
            }),
    );
    Form::new("fermeture", "Fermer et prévenir les familles")
        .group(
            FieldGroup::new("Fermer un jour")
                .hint("Les réservations du jour sont annulées sans frais et les familles prévenues par courriel.")
                .field(
                    Field::new("date", "Date", FieldKind::Date)
                        .required()
                        .value(&date.map(|date| date.to_string()).unwrap_or_default())
                        .error(errors.date.clone()),
                )
                .field(
                    Field::new("activite", "Activité", FieldKind::Select(choices))
                        .required()
                        .value(activity.map_or("*", |activity| activity.id.as_str()))
                        .error(errors.activity.clone()),
                )
                .field(
                    Field::new("motif", "Motif", FieldKind::Text)
                        .required()
                        .hint("Dit aux familles, par exemple « grève » ou « sortie scolaire ».")
                        .value(reason)
                        .error(errors.reason.clone()),
                ),
        )
}

/// Staff: the closures entered, and the form to add one.
pub fn staff_closures(
    store: &mut impl Store,
    rules: &Rules,
    now: Moment,
) -> Result<View, StoreError> {
    let after = format!("closure:{}", now.date.add_days(-31));
    let closures = store.list_after("closure:", &after, 200)?;
    let rows: Vec<Vec<Value>> = closures
        .into_iter()
        .filter_map(|(_, text)| serde_json::from_str::<StaffClosure>(&text).ok())
        .map(|closure| {
            let activity = closure
                .activity
                .as_deref()
                .and_then(|id| rules.activity(id))
                .map_or("Toutes".to_owned(), |activity| activity.label.clone());
            vec![
                Value::Date(closure.date.clone()),
                Value::text(activity),
                Value::text(closure.reason),
                Value::text(closure.by),
            ]
        })
        .collect();
    let mut view = View::new("Fermetures");
    view = if rows.is_empty() {
        view.paragraph("Aucune fermeture saisie depuis un mois.")
    } else {
        view.table(
            "Fermetures saisies",
            &["Date", "Activité", "Motif", "Saisie par"],
            rows,
        )
    };
    Ok(view
        .form_with(closure_form(
            rules,
            None,
            None,
            "",
            &ClosureErrors::default(),
        ))
        .form_with(day_form(
            rules,
            "reouverture",
            "Rouvrir",
            Some("Rouvrir un jour fermé : les réservations annulées ne reviennent pas, les familles réservent à nouveau."),
            None,
            None,
            &ClosureErrors::default(),
        )))
}

/// A date and an activity ("*": all, when `all` is allowed): the form to
/// show a day, or to reopen one.
pub fn day_form(
    rules: &Rules,
    action: &str,
    submit: &str,
    legend_hint: Option<&str>,
    activity: Option<&str>,
    date: Option<Date>,
    errors: &ClosureErrors,
) -> Form {
    let reopening = action == "reouverture";
    let mut choices = Vec::new();
    if reopening {
        choices.push(guichet_module_sdk::Choice {
            value: "*".to_owned(),
            label: "Toutes les activités".to_owned(),
        });
    }
    choices.extend(
        rules
            .activities
            .iter()
            .map(|activity| guichet_module_sdk::Choice {
                value: activity.id.clone(),
                label: activity.label.clone(),
            }),
    );
    let mut group = FieldGroup::new(if reopening {
        "Rouvrir un jour"
    } else {
        "Afficher un jour"
    });
    if let Some(hint) = legend_hint {
        group = group.hint(hint);
    }
    Form::new(action, submit).group(
        group
            .field(
                Field::new("date", "Date", FieldKind::Date)
                    .required()
                    .value(&date.map(|date| date.to_string()).unwrap_or_default())
                    .error(errors.date.clone()),
            )
            .field(
                Field::new("activite", "Activité", FieldKind::Select(choices))
                    .required()
                    .value(activity.unwrap_or(if reopening { "*" } else { "" }))
                    .error(errors.activity.clone()),
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Time;
    use crate::config::Config;
    use crate::engine::apply;
    use crate::store::MemoryStore;
    use guichet_module_sdk::Block;

    fn rules() -> Rules {
        let config: Config =
            serde_json::from_str(crate::demo::VILLENEUVE).unwrap_or_else(|error| panic!("{error}"));
        config.rules().unwrap_or_else(|error| panic!("{error}"))
    }

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
    }

    fn now() -> Moment {
        Moment {
            date: date("2026-06-03"),
            time: Time {
                hour: 10,
                minute: 0,
            },
        }
    }

    fn family() -> Family {
        Family {
            resident: "michel".to_owned(),
            name: "Monsieur ARPEGE".to_owned(),
        }
    }

    fn children() -> Vec<Child> {
        vec![Child {
            id: "m2".to_owned(),
            name: "Léa".to_owned(),
            birth: Some(date("2018-03-14")),
        }]
    }

    fn request(params: &[(&str, &str)]) -> ViewRequest {
        params
            .iter()
            .fold(ViewRequest::new(PLANNING), |request, (name, value)| {
                request.param(name, value)
            })
    }

    fn fields(view: &View) -> Vec<&Field> {
        view.blocks
            .iter()
            .filter_map(|block| match block {
                Block::Form(form) => Some(form),
                _ => None,
            })
            .flat_map(|form| {
                form.fields
                    .iter()
                    .chain(form.groups.iter().flat_map(|group| group.fields.iter()))
            })
            .collect()
    }

    #[test]
    fn the_planning_is_a_week_of_labelled_checkboxes_with_their_deadlines() {
        let rules = rules();
        let mut store = MemoryStore::default();
        let view = planning(
            &mut store,
            &rules,
            now(),
            &family(),
            &children(),
            &request(&[
                ("enfant", "m2"),
                ("activite", "cantine"),
                ("semaine", "2026-06-10"),
            ]),
            &BTreeMap::new(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(view.title, "Restauration scolaire — Léa");
        let form = view
            .blocks
            .iter()
            .find_map(|block| match block {
                Block::Form(form) => Some(form),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no form"));
        assert_eq!(form.groups.len(), 1);
        assert_eq!(
            form.groups[0].legend,
            "Semaine du lundi 8 juin au dimanche 14 juin"
        );
        let days: Vec<(&str, &str)> = form.groups[0]
            .fields
            .iter()
            .map(|field| (field.label.as_str(), field.hint.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            days,
            vec![
                (
                    "Lundi 8 juin",
                    "Places disponibles — modifiable jusqu'au vendredi 05/06 à 9h00"
                ),
                (
                    "Mardi 9 juin",
                    "Places disponibles — modifiable jusqu'au lundi 08/06 à 9h00"
                ),
                (
                    "Jeudi 11 juin",
                    "Places disponibles — modifiable jusqu'au mardi 09/06 à 9h00"
                ),
                (
                    "Vendredi 12 juin",
                    "Places disponibles — modifiable jusqu'au jeudi 11/06 à 9h00"
                ),
            ]
        );
        let hidden: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|field| (field.name.as_str(), field.value.as_str()))
            .collect();
        assert!(hidden.contains(&("jours", "2026-06-08,2026-06-09,2026-06-11,2026-06-12")));
        assert!(fields(&view).len() <= 20);
        // The form's answer, as submitted: Monday and Thursday checked.
        let submitted = Fields(vec![
            ("enfant".to_owned(), "m2".to_owned()),
            ("activite".to_owned(), "cantine".to_owned()),
            ("semaine".to_owned(), "2026-06-08".to_owned()),
            (
                "jours".to_owned(),
                "2026-06-08,2026-06-09,2026-06-11,2026-06-12".to_owned(),
            ),
            ("jour-2026-06-08".to_owned(), "on".to_owned()),
            ("jour-2026-06-11".to_owned(), "on".to_owned()),
        ]);
        let (child, changes) =
            planning_changes(&rules, &submitted).unwrap_or_else(|| panic!("no changes"));
        assert_eq!(child, "m2");
        let wanted: Vec<bool> = changes.iter().map(|change| change.wanted).collect();
        assert_eq!(wanted, vec![true, false, true, false]);
        apply(
            &mut store,
            &rules,
            now(),
            &family(),
            &children()[0],
            &changes,
            &BTreeMap::new(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        let tile = tile(&mut store, &rules, now(), &family(), &children())
            .unwrap_or_else(|error| panic!("{error:?}"));
        assert!(tile.blocks.contains(&Block::Items(vec![
            "Léa : Restauration scolaire, lundi 8 juin".to_owned(),
            "Léa : Restauration scolaire, jeudi 11 juin".to_owned(),
        ])));
        // On "Mon accueil", the next one only, and the way to the page.
        let summary = summary(&mut store, &rules, now(), &family(), &children())
            .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(
            summary.blocks.first(),
            Some(&Block::Paragraph(
                "Prochaine réservation : lundi 8 juin".to_owned()
            ))
        );
        assert!(
            matches!(summary.blocks.last(), Some(Block::Link(link)) if link.view == TILE && link.params.is_empty())
        );
        assert!(
            !summary
                .blocks
                .iter()
                .any(|block| matches!(block, Block::Items(_)))
        );
    }

    #[test]
    fn a_closed_week_says_so_and_the_chooser_lists_activities() {
        let rules = rules();
        let mut store = MemoryStore::default();
        let chooser = planning(
            &mut store,
            &rules,
            now(),
            &family(),
            &children(),
            &request(&[]),
            &BTreeMap::new(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        assert_eq!(chooser.blocks.len(), 1 + rules.activities.len());
        // This week: every day past its deadline or closed, the canteen's
        // late bookings aside — the evening club has none.
        let view = planning(
            &mut store,
            &rules,
            now(),
            &family(),
            &children(),
            &request(&[("enfant", "m2"), ("activite", "soir")]),
            &BTreeMap::new(),
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        assert!(view.blocks.contains(&Block::Paragraph(
            "Plus aucun jour de cette semaine n'est modifiable.".to_owned()
        )));
    }

    #[test]
    fn a_weekly_pattern_every_week_or_one_in_two() {
        let rules = rules();
        let typed = |rhythm: &str, to: &str| {
            Fields(vec![
                ("enfant".to_owned(), "m2".to_owned()),
                ("du".to_owned(), "2026-06-08".to_owned()),
                ("au".to_owned(), to.to_owned()),
                ("rythme".to_owned(), rhythm.to_owned()),
                ("cantine-lundi".to_owned(), "on".to_owned()),
                ("cantine-jeudi".to_owned(), "on".to_owned()),
            ])
        };
        let (_, every) = weekly_changes(&rules, &children(), &typed("1", "2026-06-28"), now())
            .unwrap_or_else(|_| panic!("refused"));
        let days: Vec<String> = every.iter().map(|change| change.date.to_string()).collect();
        assert_eq!(
            days,
            vec![
                "2026-06-08",
                "2026-06-11",
                "2026-06-15",
                "2026-06-18",
                "2026-06-22",
                "2026-06-25"
            ]
        );
        let (_, alternate) = weekly_changes(&rules, &children(), &typed("2", "2026-06-28"), now())
            .unwrap_or_else(|_| panic!("refused"));
        let days: Vec<String> = alternate
            .iter()
            .map(|change| change.date.to_string())
            .collect();
        assert_eq!(
            days,
            vec!["2026-06-08", "2026-06-11", "2026-06-22", "2026-06-25"]
        );
        // Too many days at once.
        let mut many = typed("1", "2026-08-30");
        for day in ["mardi", "vendredi"] {
            many.0.push((format!("cantine-{day}"), "on".to_owned()));
        }
        for day in ["lundi", "mardi", "jeudi", "vendredi"] {
            many.0.push((format!("soir-{day}"), "on".to_owned()));
        }
        let errors = weekly_changes(&rules, &children(), &many, now())
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(
            errors
                .to
                .is_some_and(|error| error.contains("au plus 30 par envoi"))
        );
        // Nothing chosen.
        let errors = weekly_changes(&rules, &children(), &Fields::default(), now())
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(errors.child.is_some() && errors.from.is_some() && errors.pattern.is_some());
        let view = weekly(&rules, &children(), &Fields::default(), &errors);
        assert!(fields(&view).len() <= 40);
    }

    #[test]
    fn the_staff_day_lists_children_and_the_waiting_list() {
        let mut rules = rules();
        rules.activities[0].capacity = 1;
        let mut store = MemoryStore::default();
        for number in 1..=3 {
            let family = Family {
                resident: format!("r{number}"),
                name: format!("Famille {number}"),
            };
            apply(
                &mut store,
                &rules,
                now(),
                &family,
                &children()[0],
                &[Change {
                    activity: "cantine".to_owned(),
                    date: date("2026-06-08"),
                    wanted: true,
                }],
                &BTreeMap::new(),
            )
            .unwrap_or_else(|error| panic!("{error:?}"));
        }
        let view = staff_day(
            &mut store,
            &rules,
            now(),
            &ViewRequest::new(STAFF_DAY)
                .param("activite", "cantine")
                .param("date", "2026-06-08"),
            None,
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        let tables: Vec<(&str, usize)> = view
            .blocks
            .iter()
            .filter_map(|block| match block {
                Block::Table(table) => Some((table.caption.as_str(), table.rows.len())),
                _ => None,
            })
            .collect();
        assert_eq!(
            tables,
            vec![
                ("Enfants réservés le lundi 8 juin", 1),
                ("Liste d'attente", 2)
            ]
        );
        let closures =
            staff_closures(&mut store, &rules, now()).unwrap_or_else(|error| panic!("{error:?}"));
        assert!(closures.blocks.contains(&Block::Paragraph(
            "Aucune fermeture saisie depuis un mois.".to_owned()
        )));
    }

    /// The host's bounds (modules/README.md "What a view may hold"), measured
    /// the way it counts them, on a full day: 200 booked, 300 waiting.
    #[test]
    fn a_full_staff_day_stays_within_the_view_bounds() {
        let mut rules = rules();
        rules.activities[0].capacity = 200;
        let mut store = MemoryStore::default();
        for number in 0..500 {
            let family = Family {
                resident: format!("resident-{number:04}"),
                name: format!("Madame FAMILLE-{number}"),
            };
            store.next_call();
            apply(
                &mut store,
                &rules,
                now(),
                &family,
                &children()[0],
                &[Change {
                    activity: "cantine".to_owned(),
                    date: date("2026-06-08"),
                    wanted: true,
                }],
                &BTreeMap::from([("cantine".to_owned(), Some(250))]),
            )
            .unwrap_or_else(|error| panic!("{error:?}"));
        }
        let view = staff_day(
            &mut store,
            &rules,
            now(),
            &ViewRequest::new(STAFF_DAY)
                .param("activite", "cantine")
                .param("date", "2026-06-08"),
            None,
        )
        .unwrap_or_else(|error| panic!("{error:?}"));
        let mut rows = 0;
        let mut cells = 0;
        let mut text = view.title.len();
        for block in &view.blocks {
            match block {
                Block::Table(table) => {
                    rows += table.rows.len();
                    cells += table.headers.len() + table.rows.iter().map(Vec::len).sum::<usize>();
                    text += table
                        .rows
                        .iter()
                        .flatten()
                        .map(|value| match value {
                            Value::Text(text) => text.len(),
                            _ => 16,
                        })
                        .sum::<usize>();
                }
                Block::KeyValues(pairs) => rows += pairs.len(),
                Block::Form(form) => {
                    text += form
                        .fields
                        .iter()
                        .chain(form.groups.iter().flat_map(|group| group.fields.iter()))
                        .map(|field| field.label.len() + field.value.len() + field.name.len())
                        .sum::<usize>();
                }
                _ => {}
            }
        }
        let fields = fields(&view).len();
        assert!(view.blocks.len() <= 20, "{} blocks", view.blocks.len());
        assert!(rows <= 300, "{rows} rows");
        assert!(cells <= 2_000, "{cells} cells");
        assert!(fields <= 170, "{fields} fields");
        assert!(text <= 64 * 1024, "{text} bytes of text");
        // The first page holds 150 children, with the link to the rest.
        assert!(
            view.blocks.iter().any(
                |block| matches!(block, Block::Link(link) if link.label == "Suite de la liste")
            )
        );
    }
}
