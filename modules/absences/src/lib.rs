//! Signaler une absence: a parent reports a child's absence (from the
//! household) for a date range; the town's rule says until when an absence
//! can be reported without being charged. Each report becomes a request
//! ("demande") and is listed with its charging.

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;
use serde::{Deserialize, Serialize};

const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "activity": { "type": "string", "minLength": 1 },
    "deadline_hour": { "type": "integer", "minimum": 0, "maximum": 23 },
    "days_before": { "type": "integer", "minimum": 0, "maximum": 30 },
    "reasons": { "type": "array", "items": { "type": "string", "minLength": 1 }, "minItems": 1 }
  },
  "required": ["activity", "deadline_hour", "days_before", "reasons"],
  "additionalProperties": false
}"#;

const MAX_COMMENT_CHARS: usize = 500;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// What the absence is from, e.g. "la restauration scolaire".
    pub activity: String,
    /// Reported before this hour…
    pub deadline_hour: u32,
    /// …this many days before the first day absent: not charged.
    pub days_before: u32,
    pub reasons: Vec<String>,
}

impl Config {
    fn rule(&self) -> String {
        let hour = self.deadline_hour;
        let when = match self.days_before {
            0 => format!("avant {hour}h00 le jour même"),
            1 => format!("avant {hour}h00 la veille"),
            days => format!("au moins {days} jours à l'avance, avant {hour}h00"),
        };
        format!(
            "Une absence à {} signalée {when} n'est pas facturée.",
            self.activity
        )
    }
}

/// A reported absence, kept in the resident's storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Absence {
    pub member: String,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub comment: String,
    pub reported_on: String,
    pub charged: bool,
}

/// A calendar date, as days since 0000-03-01 (proleptic Gregorian), enough
/// to compare and subtract dates without a date library in the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(i64);

impl Day {
    /// From "YYYY-MM-DD"; None if it is not a real date.
    pub fn parse(iso: &str) -> Option<Day> {
        let mut parts = iso.trim().splitn(3, '-');
        let year: i64 = parts.next()?.parse().ok()?;
        let month: i64 = parts.next()?.parse().ok()?;
        let day: i64 = parts.next()?.parse().ok()?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month[(month - 1) as usize]
            || !(1900..=2999).contains(&year)
        {
            return None;
        }
        // Days from civil (Howard Hinnant's algorithm).
        let (y, m) = if month <= 2 {
            (year - 1, month + 9)
        } else {
            (year, month - 3)
        };
        let era = y.div_euclid(400);
        let year_of_era = y - era * 400;
        let day_of_year = (153 * m + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        Some(Day(era * 146_097 + day_of_era))
    }
}

/// Whether a report made on `today` at `hour` for an absence starting on
/// `first_day` comes too late to avoid charging.
pub fn is_charged(config: &Config, today: Day, hour: u32, first_day: Day) -> bool {
    let days_ahead = first_day.0 - today.0;
    let needed = i64::from(config.days_before);
    days_ahead < needed || (days_ahead == needed && hour >= config.deadline_hour)
}

/// "16/06/2020" from "2020-06-16".
fn french(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(year), Some(month), Some(day)) => format!("{day}/{month}/{year}"),
        _ => iso.to_owned(),
    }
}

/// Whether the host renders the view as a tile on "Mon accueil"
/// (`affichage=tuile`, interface 0.2.0's convention, which the frozen 0.1
/// SDK predates; a 0.1 host never sends it).
fn is_tile(request: &ViewRequest) -> bool {
    request
        .params
        .iter()
        .any(|(name, value)| name == "affichage" && value == "tuile")
}

struct Absences;

impl Module for Absences {
    fn describe() -> Manifest {
        Manifest::new(
            "absences",
            "Signaler une absence",
            env!("CARGO_PKG_VERSION"),
        )
        .description("Signaler l'absence d'un enfant et suivre les absences signalées.")
        .tile("absences", "Signaler une absence", Slot::Family)
        .action("signaler", "Signaler une absence", "absences")
        .config_schema(CONFIG_SCHEMA)
        .capability(Capability::Household)
        .capability(Capability::Requests)
        .capability(Capability::ResidentStorage)
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        match request.view.as_str() {
            "absences" if is_tile(&request) => tile(),
            "absences" => page(&context, &Fields::default(), &Errors::default()),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        if action != "signaler" {
            return Err(ModuleError::NotFound(action));
        }
        let config: Config = config(&context)?;
        let fields = Fields::from(fields);
        let children = children()?;
        let today = Day::parse(&context.now.date)
            .ok_or_else(|| ModuleError::Failed("the host's date is not a date".to_owned()))?;

        let mut errors = Errors::default();
        let child = children
            .iter()
            .find(|member| member.id == fields.get("enfant"));
        if child.is_none() {
            errors.child = Some("Choisissez l'enfant absent.".to_owned());
        }
        let from = Day::parse(fields.get("du"));
        let to = Day::parse(fields.get("au"));
        match from {
            None => {
                errors.from =
                    Some("Indiquez le premier jour d'absence, au format JJ/MM/AAAA.".to_owned())
            }
            Some(from) if from < today => {
                errors.from = Some("Le premier jour d'absence ne peut pas être passé.".to_owned())
            }
            Some(_) => {}
        }
        match (from, to) {
            (_, None) => {
                errors.to =
                    Some("Indiquez le dernier jour d'absence, au format JJ/MM/AAAA.".to_owned())
            }
            (Some(from), Some(to)) if to < from => {
                errors.to = Some("Le dernier jour ne peut pas précéder le premier.".to_owned())
            }
            _ => {}
        }
        if !config
            .reasons
            .iter()
            .any(|reason| reason == fields.get("motif"))
        {
            errors.reason = Some("Choisissez le motif de l'absence.".to_owned());
        }
        if fields.get("commentaire").chars().count() > MAX_COMMENT_CHARS {
            errors.comment = Some(format!(
                "Le commentaire dépasse {MAX_COMMENT_CHARS} caractères."
            ));
        }
        let (Some(child), Some(from), Some(_), true) = (child, from, to, errors.is_empty()) else {
            return page(&context, &fields, &errors).map(Outcome::Invalid);
        };

        let hour: u32 = context
            .now
            .time
            .split(':')
            .next()
            .and_then(|hour| hour.parse().ok())
            .unwrap_or(0);
        let charged = is_charged(&config, today, hour, from);
        let absence = Absence {
            member: format!("{} {}", child.first_name, child.last_name),
            from: fields.get("du").to_owned(),
            to: fields.get("au").to_owned(),
            reason: fields.get("motif").to_owned(),
            comment: fields.get("commentaire").to_owned(),
            reported_on: context.now.date.clone(),
            charged,
        };
        let count = storage::list(Scope::Resident, "absence:")?.len();
        storage::put_json(
            Scope::Resident,
            &format!("absence:{}:{count:04}", absence.from),
            &absence,
        )?;
        let title = format!(
            "Absence de {} du {} au {}",
            child.first_name,
            french(&absence.from),
            french(&absence.to)
        );
        requests::create(
            "absence",
            &title,
            &[
                ("Enfant", &absence.member),
                ("Du", &french(&absence.from)),
                ("Au", &french(&absence.to)),
                ("Motif", &absence.reason),
                ("Commentaire", &absence.comment),
            ],
        )?;
        let message = if charged {
            "Absence enregistrée. Signalée après l'heure limite, elle pourra être facturée."
        } else {
            "Absence enregistrée. Elle ne sera pas facturée."
        };
        Ok(Outcome::done(message, "absences"))
    }
}

#[derive(Debug, Default)]
struct Errors {
    child: Option<String>,
    from: Option<String>,
    to: Option<String>,
    reason: Option<String>,
    comment: Option<String>,
}

impl Errors {
    fn is_empty(&self) -> bool {
        self.child.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.reason.is_none()
            && self.comment.is_none()
    }
}

fn children() -> Result<Vec<Member>, ModuleError> {
    Ok(household()?
        .into_iter()
        .filter(|member| member.relation == "enfant")
        .collect())
}

/// The tile on "Mon accueil": the form is on the page it leads to.
fn tile() -> Result<View, ModuleError> {
    let children = children()?;
    let view = View::new("Signaler une absence");
    Ok(if children.is_empty() {
        view.paragraph("Aucun enfant inscrit dans votre foyer.")
    } else {
        view.paragraph("Un enfant absent ?")
            .link(Link::new("Prévenir la mairie", "absences"))
    })
}

fn page(context: &Context, typed: &Fields, errors: &Errors) -> Result<View, ModuleError> {
    let config: Config = config(context)?;
    let children = children()?;
    let mut view = View::new("Signaler une absence").notice(Tone::Info, config.rule());
    if children.is_empty() {
        view = view.paragraph(
            "Aucun enfant n'est inscrit dans votre foyer : adressez-vous à votre mairie pour le mettre à jour.",
        );
    } else {
        let choices = children
            .iter()
            .map(|child| Choice {
                value: child.id.clone(),
                label: format!("{} {}", child.first_name, child.last_name),
            })
            .collect();
        let reasons = config
            .reasons
            .iter()
            .map(|reason| Choice {
                value: reason.clone(),
                label: reason.clone(),
            })
            .collect();
        view = view.form(
            "signaler",
            "Signaler l'absence",
            vec![
                Field::new("enfant", "Enfant absent", FieldKind::Select(choices))
                    .required()
                    .value(typed.get("enfant"))
                    .error(errors.child.clone()),
                Field::new("du", "Premier jour d'absence", FieldKind::Date)
                    .required()
                    .value(typed.get("du"))
                    .error(errors.from.clone()),
                Field::new("au", "Dernier jour d'absence", FieldKind::Date)
                    .required()
                    .hint("Le même jour pour une seule journée.")
                    .value(typed.get("au"))
                    .error(errors.to.clone()),
                Field::new("motif", "Motif", FieldKind::Select(reasons))
                    .required()
                    .value(typed.get("motif"))
                    .error(errors.reason.clone()),
                Field::new("commentaire", "Commentaire", FieldKind::LongText)
                    .hint(&format!(
                        "Facultatif, {MAX_COMMENT_CHARS} caractères au plus."
                    ))
                    .value(typed.get("commentaire"))
                    .error(errors.comment.clone()),
            ],
        );
    }
    let mut reported: Vec<Absence> = storage::list_json::<Absence>(Scope::Resident, "absence:")?
        .into_iter()
        .map(|(_, absence)| absence)
        .collect();
    reported.sort_by(|a, b| b.from.cmp(&a.from));
    if reported.is_empty() {
        return Ok(view.paragraph("Aucune absence signalée pour le moment."));
    }
    let rows = reported
        .into_iter()
        .map(|absence| {
            vec![
                Value::text(absence.member),
                Value::Date(absence.from),
                Value::Date(absence.to),
                Value::text(absence.reason),
                Value::Status(if absence.charged {
                    Notice::new(Tone::Warning, "Facturable")
                } else {
                    Notice::new(Tone::Success, "Non facturée")
                }),
            ]
        })
        .collect();
    Ok(view.table(
        "Absences signalées",
        &["Enfant", "Du", "Au", "Motif", "Facturation"],
        rows,
    ))
}

export!(Absences);

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            activity: "la cantine".to_owned(),
            deadline_hour: 9,
            days_before: 1,
            reasons: vec!["Maladie".to_owned()],
        }
    }

    fn day(iso: &str) -> Day {
        Day::parse(iso).unwrap()
    }

    #[test]
    fn dates_are_checked_and_counted() {
        assert_eq!(
            day("2020-03-01").0 - day("2020-02-28").0,
            2,
            "2020 is a leap year"
        );
        assert_eq!(day("2021-01-01").0 - day("2020-12-31").0, 1);
        assert_eq!(Day::parse("2021-02-29"), None);
        assert_eq!(Day::parse("16/06/2020"), None);
    }

    #[test]
    fn the_town_rule_decides_charging() {
        let config = config();
        let today = day("2020-06-15");
        assert!(
            !is_charged(&config, today, 8, day("2020-06-16")),
            "the day before, before 9:00"
        );
        assert!(
            is_charged(&config, today, 9, day("2020-06-16")),
            "the day before, at 9:00"
        );
        assert!(
            !is_charged(&config, today, 18, day("2020-06-17")),
            "two days before"
        );
        assert!(
            is_charged(&config, today, 7, day("2020-06-15")),
            "the same day"
        );
    }
}
