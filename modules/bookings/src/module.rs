//! The module's exports and its use of the host: the manifest, the
//! household, the family's quotient, the tariff grid, town storage behind
//! [`Store`], notifications.

use std::collections::{BTreeMap, BTreeSet};

use guichet_module_sdk::config as read_config;
use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;
use guichet_tariff_grid::Grid;

use crate::attestation::{self, AttestationError, ChildIdentity};
use crate::calendar::{Date, Moment};
use crate::config::{self, Rules};
use crate::engine::{self, Child, Effect, Family, Mail};
use crate::pricing::{self, UnitPrice};
use crate::store::{Store, StoreError};
use crate::views::{self, ClosureErrors, PLANNING, STAFF_CLOSURES, STAFF_DAY, TILE, WEEKLY};

/// The town storage of the call.
struct HostStore;

fn storage_error(error: storage::StorageError) -> StoreError {
    StoreError(format!("{error:?}"))
}

impl Store for HostStore {
    fn get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        storage::get(Scope::Town, key).map_err(storage_error)
    }
    fn put(&mut self, key: &str, value: String) -> Result<(), StoreError> {
        storage::put(Scope::Town, key, &value).map_err(storage_error)
    }
    fn delete(&mut self, key: &str) -> Result<(), StoreError> {
        storage::delete(Scope::Town, key).map_err(storage_error)
    }
    fn list_after(
        &mut self,
        prefix: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        storage::list_after(Scope::Town, prefix, after, limit)
            .map(|entries| {
                entries
                    .into_iter()
                    .map(|entry| (entry.key, entry.value))
                    .collect()
            })
            .map_err(storage_error)
    }
    fn count(&mut self, prefix: &str) -> Result<u32, StoreError> {
        storage::count(Scope::Town, prefix).map_err(storage_error)
    }
    fn lock(&mut self, key: &str) -> Result<(), StoreError> {
        storage::lock(Scope::Town, key).map_err(storage_error)
    }
}

fn failed(error: StoreError) -> ModuleError {
    ModuleError::Failed(error.0)
}

fn rules(context: &Context) -> Result<Rules, ModuleError> {
    let config: config::Config = read_config(context)?;
    config.rules().map_err(ModuleError::InvalidConfig)
}

fn now_of(context: &Context) -> Result<Moment, ModuleError> {
    Moment::parse(&context.now.date, &context.now.time)
        .ok_or_else(|| ModuleError::Failed(format!("unreadable now: {:?}", context.now)))
}

fn family(context: &Context) -> Result<Family, ModuleError> {
    let resident = context
        .resident
        .as_ref()
        .ok_or_else(|| ModuleError::Failed("a resident's call without a resident".to_owned()))?;
    Ok(Family {
        resident: resident.reference.clone(),
        name: resident.display_name.clone(),
    })
}

/// The children of the household ("enfant").
fn children() -> Result<Vec<Child>, ModuleError> {
    Ok(household()?
        .into_iter()
        .filter(|member| member.relation == "enfant")
        .map(|member| Child {
            id: member.id,
            name: member.first_name,
            birth: member.birth_date.as_deref().and_then(Date::parse),
        })
        .collect())
}

/// The children of the household, named in full for a document.
fn child_identities() -> Result<Vec<ChildIdentity>, ModuleError> {
    Ok(household()?
        .into_iter()
        .filter(|member| member.relation == "enfant")
        .map(|member| ChildIdentity {
            id: member.id,
            first_name: member.first_name,
            last_name: member.last_name,
            birth: member.birth_date.as_deref().and_then(Date::parse),
        })
        .collect())
}

/// The family's price per day of each activity, from the `tariffs` grid and
/// the quotient the town's software pushed.
fn prices(rules: &Rules) -> Result<BTreeMap<String, UnitPrice>, ModuleError> {
    // A grid that cannot be read leaves the prices unstated rather than
    // the bookings unavailable.
    let grid: Option<Grid> = module_config("tariffs").unwrap_or_else(|error| {
        log(
            Level::Warn,
            &format!("the tariff grid cannot be read: {error:?}"),
        );
        None
    });
    let quotient = storage::get(Scope::Resident, "quotient")?
        .as_deref()
        .and_then(pricing::parse_quotient);
    Ok(rules
        .activities
        .iter()
        .map(|activity| {
            (
                activity.id.clone(),
                pricing::unit_price(grid.as_ref(), activity.tariff.as_deref(), quotient),
            )
        })
        .collect())
}

fn send(mails: Vec<Mail>) -> Result<(), ModuleError> {
    for mail in mails {
        let mut notification = Notification::new(mail.subject);
        notification.paragraphs = mail.paragraphs;
        notification = notification.link(Link::new("Voir mes réservations", PLANNING));
        match notify::resident(&mail.to, &notification) {
            // A family whose account is gone keeps its booking; the
            // change must not fail for a mail nobody can receive.
            Err(HostError::Invalid(reason)) => log(
                Level::Warn,
                &format!("no mail to a family no longer in the town: {reason}"),
            ),
            other => other?,
        }
    }
    Ok(())
}

fn planning_request(child: &str, activity: &str, week: &str) -> ViewRequest {
    ViewRequest::new(PLANNING)
        .param("enfant", child)
        .param("activite", activity)
        .param("semaine", week)
}

struct Bookings;

impl Module for Bookings {
    fn describe() -> Manifest {
        crate::manifest::manifest()
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        let rules = rules(&context)?;
        let now = now_of(&context)?;
        let family = family(&context)?;
        let children = children()?;
        let store = &mut HostStore;
        match request.view.as_str() {
            TILE if is_tile(&request) => {
                views::summary(store, &rules, now, &family, &children).map_err(failed)
            }
            TILE => views::tile(store, &rules, now, &family, &children).map_err(failed),
            PLANNING => {
                let prices = prices(&rules)?;
                views::planning(store, &rules, now, &family, &children, &request, &prices)
                    .map_err(failed)
            }
            WEEKLY => {
                let mut typed = Fields::from(request.params.clone());
                if typed.get("rythme").is_empty() {
                    typed.0.push(("rythme".to_owned(), "1".to_owned()));
                }
                Ok(views::weekly(
                    &rules,
                    &children,
                    &typed,
                    &views::WeeklyErrors::default(),
                ))
            }
            // The attestation's parameters as this resident fills them (the
            // host's convention: the view named after a document gives its
            // form): the household's children, last month by default.
            attestation::ATTESTATION => Ok(View::new(attestation::TITLE).form(
                attestation::ATTESTATION,
                "Obtenir l'attestation",
                attestation::params(&child_identities()?, Some(now.date)),
            )),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        let rules = rules(&context)?;
        let now = now_of(&context)?;
        let family = family(&context)?;
        let children = children()?;
        let fields = Fields::from(fields);
        let (child_id, changes, back) = match action.as_str() {
            PLANNING => {
                let Some((child, changes)) = views::planning_changes(&rules, &fields) else {
                    return Ok(Outcome::Invalid(
                        views::planning(
                            &mut HostStore,
                            &rules,
                            now,
                            &family,
                            &children,
                            &ViewRequest::new(PLANNING),
                            &BTreeMap::new(),
                        )
                        .map_err(failed)?
                        .notice(Tone::Error, "Choisissez un enfant et une activité."),
                    ));
                };
                let back = planning_request(&child, fields.get("activite"), fields.get("semaine"));
                (child, changes, back)
            }
            WEEKLY => match views::weekly_changes(&rules, &children, &fields, now) {
                Err(errors) => {
                    return Ok(Outcome::Invalid(views::weekly(
                        &rules, &children, &fields, &errors,
                    )));
                }
                Ok((child, changes)) => {
                    let first = changes
                        .first()
                        .map(|change| (change.activity.clone(), change.date));
                    let back = match first {
                        Some((activity, date)) => {
                            planning_request(&child, &activity, &date.monday().to_string())
                        }
                        None => ViewRequest::new(PLANNING),
                    };
                    (child, changes, back)
                }
            },
            other => return Err(ModuleError::NotFound(other.to_owned())),
        };
        let Some(child) = children.iter().find(|child| child.id == child_id) else {
            return Err(ModuleError::NotFound(format!("enfant {child_id}")));
        };
        let prices: BTreeMap<String, Option<i64>> = prices(&rules)?
            .into_iter()
            .map(|(activity, price)| (activity, price.cents))
            .collect();
        let applied = engine::apply(
            &mut HostStore,
            &rules,
            now,
            &family,
            child,
            &changes,
            &prices,
        )
        .map_err(failed)?;
        send(applied.mails.clone())?;
        let details: Vec<String> = applied
            .lines
            .iter()
            .map(|line| line.sentence(&rules))
            .collect();
        if details.is_empty() {
            return Ok(Outcome::Done(Done::new(
                Tone::Info,
                "Aucun changement.",
                back,
            )));
        }
        let booked = applied.count(|effect| matches!(effect, Effect::Booked { .. }));
        let waiting = applied.count(|effect| matches!(effect, Effect::Waiting { .. }));
        let cancelled =
            applied.count(|effect| matches!(effect, Effect::Cancelled | Effect::LeftWaitingList));
        let refused = applied.count(|effect| matches!(effect, Effect::Refused(_)));
        let summary = summary(booked, waiting, cancelled, refused);
        if booked + waiting + cancelled > 0 {
            let mut notification =
                Notification::new(format!("Vos réservations pour {}", child.name));
            // A mail holds at most 20 paragraphs: a long semaine type is
            // summed up past the 18th day.
            notification.paragraphs = std::iter::once(format!("{summary} Le détail :"))
                .chain(details.iter().take(18).cloned())
                .chain((details.len() > 18).then(|| {
                    format!(
                        "Et {} autre(s) jour(s) : voyez votre planning.",
                        details.len() - 18
                    )
                }))
                .collect();
            notify::resident_of_call(
                &notification.link(Link::new("Voir mes réservations", PLANNING)),
            )?;
        }
        let tone = if refused > 0 || waiting > 0 {
            Tone::Warning
        } else {
            Tone::Success
        };
        Ok(Outcome::Done(
            Done::new(tone, summary, back).details(details),
        ))
    }

    fn render_staff(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        let rules = rules(&context)?;
        let now = now_of(&context)?;
        match request.view.as_str() {
            STAFF_DAY => {
                views::staff_day(&mut HostStore, &rules, now, &request, None).map_err(failed)
            }
            STAFF_CLOSURES => views::staff_closures(&mut HostStore, &rules, now).map_err(failed),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act_staff(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        let rules = rules(&context)?;
        let now = now_of(&context)?;
        let fields = Fields::from(fields);
        let staff = context
            .staff
            .as_ref()
            .map_or_else(String::new, |staff| staff.display_name.clone());
        let day_view = |activity: &str, date: Date| {
            ViewRequest::new(STAFF_DAY)
                .param("activite", activity)
                .param("date", &date.to_string())
        };
        match action.as_str() {
            "fermeture" => {
                let date = Date::parse(fields.get("date"));
                let only = match fields.get("activite") {
                    "*" | "" => None,
                    id => Some(id),
                };
                let mut errors = ClosureErrors::default();
                if date.is_none() {
                    errors.date = Some("Indiquez la date, par exemple 2026-06-08.".to_owned());
                } else if date.is_some_and(|date| date < now.date) {
                    errors.date = Some("Ce jour est passé.".to_owned());
                }
                if only.is_some_and(|id| rules.activity(id).is_none()) {
                    errors.activity = Some("Choisissez une activité de la liste.".to_owned());
                }
                let reason = fields.get("motif");
                if reason.is_empty() {
                    errors.reason = Some("Indiquez le motif, dit aux familles.".to_owned());
                } else if reason.chars().count() > 200 {
                    errors.reason = Some("Le motif dépasse 200 caractères.".to_owned());
                }
                let (Some(date), None, None, None) =
                    (date, &errors.date, &errors.activity, &errors.reason)
                else {
                    let view = View::new("Fermetures").form_with(views::closure_form(
                        &rules,
                        only.and_then(|id| rules.activity(id)),
                        date,
                        reason,
                        &errors,
                    ));
                    return Ok(Outcome::Invalid(view));
                };
                let done =
                    engine::close_day(&mut HostStore, &rules, now, date, only, reason, &staff)
                        .map_err(failed)?;
                send(done.mails)?;
                let mut message = format!(
                    "Le {} est fermé : {} réservation(s) annulée(s) sans frais, {} demande(s) en attente close(s), familles prévenues.",
                    date.long(),
                    done.cancelled,
                    done.withdrawn
                );
                if done.remaining > 0 {
                    message.push_str(&format!(
                        " Il en reste {} : enregistrez la même fermeture à nouveau pour continuer.",
                        done.remaining
                    ));
                }
                let tone = if done.remaining > 0 {
                    Tone::Warning
                } else {
                    Tone::Success
                };
                let activity = only
                    .or_else(|| {
                        rules
                            .activities
                            .first()
                            .map(|activity| activity.id.as_str())
                    })
                    .unwrap_or("");
                Ok(Outcome::Done(Done::new(
                    tone,
                    message,
                    day_view(activity, date),
                )))
            }
            "afficher" | "reouverture" => {
                let date = Date::parse(fields.get("date"));
                let only = match fields.get("activite") {
                    "*" if action == "reouverture" => None,
                    id => Some(id),
                };
                let mut errors = ClosureErrors::default();
                if date.is_none() {
                    errors.date = Some("Indiquez la date, par exemple 2026-06-08.".to_owned());
                }
                if only.is_some_and(|id| rules.activity(id).is_none()) {
                    errors.activity = Some("Choisissez une activité de la liste.".to_owned());
                }
                let (Some(date), None, None) = (date, &errors.date, &errors.activity) else {
                    let (title, submit) = if action == "afficher" {
                        ("Réservations du jour", "Afficher")
                    } else {
                        ("Fermetures", "Rouvrir")
                    };
                    return Ok(Outcome::Invalid(View::new(title).form_with(
                        views::day_form(&rules, &action, submit, None, only, date, &errors),
                    )));
                };
                let shown = only
                    .or_else(|| {
                        rules
                            .activities
                            .first()
                            .map(|activity| activity.id.as_str())
                    })
                    .unwrap_or("");
                if action == "afficher" {
                    return Ok(Outcome::Done(Done::new(
                        Tone::Info,
                        format!("Le {}.", date.long()),
                        day_view(shown, date),
                    )));
                }
                let reopened =
                    engine::reopen_day(&mut HostStore, &rules, date, only).map_err(failed)?;
                let message = if reopened > 0 {
                    format!(
                        "Le {} est rouvert : les familles peuvent réserver à nouveau.",
                        date.long()
                    )
                } else {
                    format!("Le {} n'était pas fermé.", date.long())
                };
                Ok(Outcome::Done(Done::new(
                    Tone::Success,
                    message,
                    day_view(shown, date),
                )))
            }
            "capacite" => {
                let (Some(activity), Some(date)) = (
                    rules.activity(fields.get("activite")),
                    Date::parse(fields.get("date")),
                ) else {
                    return Err(ModuleError::NotFound("jour".to_owned()));
                };
                let places = fields
                    .get("places")
                    .parse::<u32>()
                    .ok()
                    .filter(|places| *places <= 10_000);
                let Some(places) = places else {
                    let view = views::staff_day(
                        &mut HostStore,
                        &rules,
                        now,
                        &day_view(&activity.id, date),
                        Some((
                            fields.get("places"),
                            "Le nombre de places est un nombre entier de 0 à 10 000, par exemple 40.",
                        )),
                    )
                    .map_err(failed)?;
                    return Ok(Outcome::Invalid(view));
                };
                let mails =
                    engine::set_capacity(&mut HostStore, &rules, now, activity, date, places, 25)
                        .map_err(failed)?;
                let promoted = mails.len();
                send(mails)?;
                let message = if promoted > 0 {
                    format!(
                        "{places} places le {} ; {promoted} enfant(s) de la liste d'attente inscrit(s), familles prévenues.",
                        date.long()
                    )
                } else {
                    format!("{places} places le {}.", date.long())
                };
                Ok(Outcome::Done(Done::new(
                    Tone::Success,
                    message,
                    day_view(&activity.id, date),
                )))
            }
            "pointage" => {
                let (Some(activity), Some(date)) = (
                    rules.activity(fields.get("activite")),
                    Date::parse(fields.get("date")),
                ) else {
                    return Err(ModuleError::NotFound("jour".to_owned()));
                };
                let shown: Vec<String> = fields
                    .get("reservations")
                    .split('|')
                    .filter(|key| !key.is_empty())
                    .take(views::STAFF_PAGE)
                    .map(str::to_owned)
                    .collect();
                let present: BTreeSet<String> = shown
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| fields.checked(&format!("present-{index}")))
                    .map(|(_, key)| key.clone())
                    .collect();
                let changed =
                    engine::take_attendance(&mut HostStore, activity, date, &present, &shown)
                        .map_err(failed)?;
                Ok(Outcome::Done(Done::new(
                    Tone::Success,
                    format!(
                        "Présences enregistrées ({changed} changement(s)), {} présent(s).",
                        present.len()
                    ),
                    day_view(&activity.id, date),
                )))
            }
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn document(
        context: Context,
        id: String,
        params: Vec<(String, String)>,
    ) -> Result<Document, ModuleError> {
        if id != attestation::ATTESTATION {
            return Err(ModuleError::NotFound(id));
        }
        let rules = rules(&context)?;
        let now = now_of(&context)?;
        let family = family(&context)?;
        let children = child_identities()?;
        attestation::document(
            &mut HostStore,
            &rules,
            &id,
            &context.town.name,
            &family.resident,
            &children,
            &Fields::from(params),
            now.date,
        )
        .map_err(|error| match error {
            AttestationError::Unknown(id) => ModuleError::NotFound(id),
            AttestationError::Refused(message) => ModuleError::NotFound(message),
            AttestationError::Store(error) => failed(error),
        })
    }
}

/// "2 jours réservés, 1 en liste d'attente, 1 refusé."
pub fn summary(booked: usize, waiting: usize, cancelled: usize, refused: usize) -> String {
    let plural = |count: usize, one: &str, many: &str| {
        if count == 1 {
            format!("1 {one}")
        } else {
            format!("{count} {many}")
        }
    };
    let mut parts = Vec::new();
    if booked > 0 {
        parts.push(plural(booked, "jour réservé", "jours réservés"));
    }
    if waiting > 0 {
        parts.push(plural(
            waiting,
            "jour en liste d'attente",
            "jours en liste d'attente",
        ));
    }
    if cancelled > 0 {
        parts.push(plural(cancelled, "jour annulé", "jours annulés"));
    }
    if refused > 0 {
        parts.push(plural(refused, "demande refusée", "demandes refusées"));
    }
    format!("{}.", crate::calendar::capitalize(&parts.join(", ")))
}

export!(Bookings);
