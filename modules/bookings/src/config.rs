//! The town's configuration of the module: its activities, their days,
//! capacities, deadlines and late-booking rule, the school holidays and
//! closures. The JSON Schema (French titles and descriptions: the
//! back-office builds its form from them) and the types it decodes to.

use serde::Deserialize;

use crate::calendar::{Date, Time, Weekday};
use crate::deadlines::{Counting, Rule};

/// The shape of a deadline rule, shared by booking and cancellation.
const DEADLINE_PROPERTIES: &str = r#"
  "rule": { "type": "string", "enum": ["aucun", "jours_avant", "jour_precedent", "semaine_precedente"], "title": "Règle",
            "description": "aucun : modifiable jusqu'au jour même ; jours_avant : J-N à l'heure dite ; jour_precedent : le jour de la semaine choisi qui précède (par exemple le vendredi précédent pour les lundis) ; semaine_precedente : le jour choisi de la semaine d'avant (par exemple mardi 23h59 pour toute la semaine suivante)." },
  "days": { "type": "integer", "minimum": 0, "maximum": 365, "title": "Nombre de jours (N)", "description": "Pour « jours_avant » : 0 pour le jour même, 1 pour la veille…" },
  "counting": { "type": "string", "enum": ["calendaires", "ouvres"], "title": "Jours comptés", "description": "Pour « jours_avant » : calendaires, ou ouvrés (sans les week-ends, les jours fériés et les jours de la semaine exclus ci-dessous)." },
  "skip_weekdays": { "type": "array", "items": { "type": "string", "enum": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"], "title": "Jour" }, "title": "Jours de la semaine non comptés", "description": "Pour les jours ouvrés : par exemple le mercredi, sans école." },
  "weekday": { "type": "string", "enum": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"], "title": "Jour de la semaine", "description": "Pour « jour_precedent » et « semaine_precedente »." },
  "time": { "type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "title": "Heure limite", "description": "Au format HH:MM, par exemple 09:00." }
"#;

/// What each deadline rule needs besides its name: a time, and a weekday
/// for the two weekday rules.
const DEADLINE_NEEDS: &str = r#"[
  { "if": { "properties": { "rule": { "const": "jours_avant" } } }, "then": { "required": ["days", "time"] } },
  { "if": { "properties": { "rule": { "const": "jour_precedent" } } }, "then": { "required": ["weekday", "time"] } },
  { "if": { "properties": { "rule": { "const": "semaine_precedente" } } }, "then": { "required": ["weekday", "time"] } }
]"#;

/// The configuration's JSON Schema, built once from its parts.
pub fn schema() -> String {
    let weekdays = r#"{ "type": "array", "items": { "type": "string", "enum": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"], "title": "Jour" }"#;
    let period = r#"{ "type": "object", "properties": {
          "from": { "type": "string", "format": "date", "title": "Du", "description": "Date au format AAAA-MM-JJ." },
          "to": { "type": "string", "format": "date", "title": "Au (inclus)", "description": "Date au format AAAA-MM-JJ." },
          "label": { "type": "string", "title": "Nom", "description": "Par exemple « Vacances de la Toussaint » ou « Grève »." }"#;
    format!(
        r#"{{
  "type": "object",
  "properties": {{
    "activities": {{
      "type": "array", "minItems": 1, "title": "Activités",
      "description": "Les activités que les familles réservent.",
      "items": {{
        "type": "object",
        "properties": {{
          "id": {{ "type": "string", "pattern": "^[a-z0-9-]+$", "maxLength": 30, "title": "Identifiant", "description": "Lettres minuscules, chiffres et tirets, par exemple « cantine ». Il nomme l'activité dans les données ; ne le changez plus une fois des réservations faites." }},
          "label": {{ "type": "string", "minLength": 1, "title": "Nom affiché", "description": "Par exemple « Restauration scolaire »." }},
          "tariff": {{ "type": "string", "title": "Activité de la grille tarifaire", "description": "L'identifiant de l'activité dans la grille de « Simulation des tarifs », d'où vient le prix d'une réservation selon le quotient familial. Vide : pas de prix affiché." }},
          "runs_on": {{ "type": "string", "enum": ["jours_scolaires", "vacances", "tous"], "title": "Période", "description": "jours_scolaires : hors vacances scolaires ; vacances : pendant les vacances scolaires seulement ; tous : toute l'année (hors jours fériés)." }},
          "weekdays": {weekdays}, "minItems": 1, "title": "Jours de la semaine", "description": "Les jours où l'activité a lieu, par exemple lundi, mardi, jeudi, vendredi." }},
          "capacity": {{ "type": "integer", "minimum": 0, "maximum": 10000, "title": "Places par jour" }},
          "age_groups": {{
            "type": "array", "title": "Places par tranche d'âge",
            "description": "Facultatif : des places réservées à chaque tranche d'âge, dans la limite des places du jour. Un enfant d'aucune tranche ne peut pas réserver.",
            "items": {{ "type": "object", "properties": {{
              "label": {{ "type": "string", "minLength": 1, "title": "Nom", "description": "Par exemple « Moins de 6 ans »." }},
              "min_age": {{ "type": "integer", "minimum": 0, "maximum": 25, "title": "Âge minimal (inclus)" }},
              "max_age": {{ "type": "integer", "minimum": 0, "maximum": 25, "title": "Âge maximal (inclus)" }},
              "capacity": {{ "type": "integer", "minimum": 0, "maximum": 10000, "title": "Places" }}
            }}, "required": ["label", "capacity"], "additionalProperties": false }}
          }},
          "booking_deadline": {{ "type": "object", "title": "Délai de réservation", "properties": {{ {DEADLINE_PROPERTIES} }}, "required": ["rule"], "allOf": {DEADLINE_NEEDS}, "additionalProperties": false }},
          "cancel_deadline": {{ "type": "object", "title": "Délai d'annulation", "description": "Règle « identique » : le délai de réservation.",
            "properties": {{ {CANCEL_PROPERTIES} }}, "required": ["rule"], "allOf": {DEADLINE_NEEDS}, "additionalProperties": false }},
          "late_surcharge_percent": {{ "type": "integer", "minimum": 0, "maximum": 500, "title": "Majoration d'une réservation tardive (%)", "description": "Vide : une réservation après le délai est refusée. Un nombre, par exemple 50 : elle est acceptée jusqu'au jour même, majorée d'autant." }},
          "waiting_list": {{ "type": "boolean", "title": "Liste d'attente", "description": "Quand le jour est complet, la demande attend une place, dans l'ordre d'arrivée ; la famille est prévenue par courriel." }}
        }},
        "required": ["id", "label", "runs_on", "weekdays", "capacity", "booking_deadline"],
        "additionalProperties": false
      }}
    }},
    "school_holidays": {{
      "type": "array", "title": "Vacances scolaires",
      "description": "Les périodes de vacances de la zone de la commune, dates incluses.",
      "items": {period} }}, "required": ["from", "to"], "additionalProperties": false }}
    }},
    "closures": {{
      "type": "array", "title": "Fermetures prévues",
      "description": "Les jours sans accueil connus d'avance (pont, journée pédagogique). Les fermetures imprévues se saisissent dans l'espace agents.",
      "items": {period},
          "activity": {{ "type": "string", "title": "Activité", "description": "L'identifiant d'une activité ; vide : toutes." }} }},
        "required": ["from", "to", "label"], "additionalProperties": false }}
    }},
    "alsace_moselle": {{ "type": "boolean", "title": "Jours fériés d'Alsace-Moselle", "description": "Le Vendredi saint et le 26 décembre sont fériés (ils ne comptent pas comme jours ouvrés)." }},
    "few_places": {{ "type": "integer", "minimum": 0, "maximum": 100, "title": "Peu de places", "description": "En dessous de ce nombre de places libres, le planning les indique (5 par défaut)." }},
    "weeks_ahead": {{ "type": "integer", "minimum": 1, "maximum": 52, "title": "Semaines réservables à l'avance", "description": "Jusqu'où les familles peuvent réserver (12 semaines par défaut)." }}
  }},
  "required": ["activities"],
  "additionalProperties": false
}}"#,
        CANCEL_PROPERTIES = DEADLINE_PROPERTIES.replacen(
            r#""enum": ["aucun", "jours_avant""#,
            r#""enum": ["identique", "aucun", "jours_avant""#,
            1
        ),
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub activities: Vec<Activity>,
    #[serde(default)]
    pub school_holidays: Vec<Period>,
    #[serde(default)]
    pub closures: Vec<Closure>,
    #[serde(default)]
    pub alsace_moselle: bool,
    #[serde(default = "few_places")]
    pub few_places: u32,
    #[serde(default = "weeks_ahead")]
    pub weeks_ahead: u32,
}

fn few_places() -> u32 {
    5
}

fn weeks_ahead() -> u32 {
    12
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RunsOn {
    #[serde(rename = "jours_scolaires")]
    SchoolDays,
    #[serde(rename = "vacances")]
    Holidays,
    #[serde(rename = "tous")]
    All,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Activity {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub tariff: Option<String>,
    pub runs_on: RunsOn,
    pub weekdays: Vec<String>,
    pub capacity: u32,
    #[serde(default)]
    pub age_groups: Vec<AgeGroup>,
    pub booking_deadline: DeadlineConfig,
    #[serde(default)]
    pub cancel_deadline: Option<DeadlineConfig>,
    #[serde(default)]
    pub late_surcharge_percent: Option<u32>,
    #[serde(default)]
    pub waiting_list: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AgeGroup {
    pub label: String,
    #[serde(default)]
    pub min_age: Option<u32>,
    #[serde(default)]
    pub max_age: Option<u32>,
    pub capacity: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeadlineConfig {
    pub rule: String,
    #[serde(default)]
    pub days: Option<u32>,
    #[serde(default)]
    pub counting: Option<String>,
    #[serde(default)]
    pub skip_weekdays: Vec<String>,
    #[serde(default)]
    pub weekday: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Period {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Closure {
    pub from: String,
    pub to: String,
    pub label: String,
    #[serde(default)]
    pub activity: Option<String>,
}

/// An activity ready to use: its rules decoded and checked.
#[derive(Debug, Clone)]
pub struct ActivityRules {
    pub id: String,
    pub label: String,
    pub tariff: Option<String>,
    pub runs_on: RunsOn,
    pub weekdays: Vec<Weekday>,
    pub capacity: u32,
    pub age_groups: Vec<AgeGroup>,
    pub booking: Rule,
    pub cancel: Rule,
    pub late_surcharge_percent: Option<u32>,
    pub waiting_list: bool,
}

/// The town's calendar and activities, decoded and checked.
#[derive(Debug, Clone)]
pub struct Rules {
    pub activities: Vec<ActivityRules>,
    pub holidays: Vec<(Date, Date)>,
    pub closures: Vec<(Date, Date, String, Option<String>)>,
    pub alsace_moselle: bool,
    pub few_places: u32,
    pub weeks_ahead: u32,
}

impl Rules {
    pub fn activity(&self, id: &str) -> Option<&ActivityRules> {
        self.activities.iter().find(|activity| activity.id == id)
    }
}

fn weekday(name: &str) -> Result<Weekday, String> {
    Weekday::from_name(name).ok_or_else(|| format!("unknown weekday `{name}`"))
}

fn date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("invalid date `{text}`"))
}

fn rule(config: &DeadlineConfig) -> Result<Rule, String> {
    let time = || {
        config
            .time
            .as_deref()
            .and_then(Time::parse)
            .ok_or_else(|| format!("the rule `{}` needs a time HH:MM", config.rule))
    };
    let weekday_named = || {
        config
            .weekday
            .as_deref()
            .ok_or_else(|| format!("the rule `{}` needs a weekday", config.rule))
            .and_then(weekday)
    };
    Ok(match config.rule.as_str() {
        "aucun" => Rule::None,
        "jours_avant" => Rule::DaysBefore {
            days: config.days.unwrap_or(0),
            counting: match config.counting.as_deref() {
                None | Some("calendaires") => Counting::Calendar,
                Some("ouvres") => Counting::Working,
                Some(other) => return Err(format!("unknown counting `{other}`")),
            },
            skipped: config
                .skip_weekdays
                .iter()
                .map(|name| weekday(name))
                .collect::<Result<_, _>>()?,
            time: time()?,
        },
        "jour_precedent" => Rule::PreviousWeekday {
            weekday: weekday_named()?,
            time: time()?,
        },
        "semaine_precedente" => Rule::WeekdayOfPreviousWeek {
            weekday: weekday_named()?,
            time: time()?,
        },
        other => return Err(format!("unknown deadline rule `{other}`")),
    })
}

impl Config {
    /// The rules, or what makes the configuration unusable (for the logs).
    pub fn rules(&self) -> Result<Rules, String> {
        let activities = self
            .activities
            .iter()
            .map(|activity| {
                let booking = rule(&activity.booking_deadline)?;
                let cancel = match &activity.cancel_deadline {
                    None => booking.clone(),
                    Some(config) if config.rule == "identique" => booking.clone(),
                    Some(config) => rule(config)?,
                };
                Ok(ActivityRules {
                    id: activity.id.clone(),
                    label: activity.label.clone(),
                    tariff: activity.tariff.clone().filter(|tariff| !tariff.is_empty()),
                    runs_on: activity.runs_on,
                    weekdays: activity
                        .weekdays
                        .iter()
                        .map(|name| weekday(name))
                        .collect::<Result<_, _>>()?,
                    capacity: activity.capacity,
                    age_groups: activity.age_groups.clone(),
                    booking,
                    cancel,
                    late_surcharge_percent: activity.late_surcharge_percent,
                    waiting_list: activity.waiting_list,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Rules {
            activities,
            holidays: self
                .school_holidays
                .iter()
                .map(|period| Ok((date(&period.from)?, date(&period.to)?)))
                .collect::<Result<_, String>>()?,
            closures: self
                .closures
                .iter()
                .map(|closure| {
                    Ok((
                        date(&closure.from)?,
                        date(&closure.to)?,
                        closure.label.clone(),
                        closure.activity.clone().filter(|id| !id.is_empty()),
                    ))
                })
                .collect::<Result<_, String>>()?,
            alsace_moselle: self.alsace_moselle,
            few_places: self.few_places,
            weeks_ahead: self.weeks_ahead,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_json_with_french_titles() {
        let schema: serde_json::Value =
            serde_json::from_str(&schema()).unwrap_or_else(|error| panic!("{error}"));
        let activity = &schema["properties"]["activities"]["items"]["properties"];
        assert_eq!(
            activity["booking_deadline"]["title"],
            "Délai de réservation"
        );
        assert_eq!(
            activity["cancel_deadline"]["properties"]["rule"]["enum"][0],
            "identique"
        );
        assert_eq!(
            activity["booking_deadline"]["properties"]["rule"]["enum"][0],
            "aucun"
        );
        // Every property has a French title.
        fn titled(value: &serde_json::Value, path: &str) {
            if let Some(properties) = value.get("properties").and_then(|p| p.as_object()) {
                for (name, property) in properties {
                    assert!(
                        property.get("title").is_some(),
                        "{path}.{name} has no title"
                    );
                    titled(property, &format!("{path}.{name}"));
                    if let Some(items) = property.get("items") {
                        titled(items, &format!("{path}.{name}[]"));
                    }
                }
            }
        }
        titled(&schema, "");
    }

    #[test]
    fn the_demo_configurations_decode() {
        for text in [crate::demo::VILLENEUVE, crate::demo::SAINT_MARTIN] {
            let config: Config =
                serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}"));
            let rules = config.rules().unwrap_or_else(|error| panic!("{error}"));
            assert!(!rules.activities.is_empty());
        }
    }
}
