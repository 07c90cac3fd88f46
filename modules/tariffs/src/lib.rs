//! Simulation des tarifs: the town's price grid (activities × quotient
//! familial brackets) and a simulation: from a quotient familial, or from
//! the yearly revenue and the number of parts, the price per unit and a
//! monthly estimate for a number of days, with the bracket used.

use guichet_module_sdk::*;
use guichet_tariff_grid::{Activity, Bracket};
use serde::Deserialize;

const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "activities": {
      "type": "array", "minItems": 1,
      "title": "Activités",
      "description": "Les activités dont le prix dépend du quotient familial.",
      "items": {
        "type": "object",
        "properties": {
          "id": { "type": "string", "pattern": "^[a-z0-9-]+$", "title": "Identifiant", "description": "Lettres minuscules, chiffres et tirets, par exemple « cantine » : il nomme l'activité dans les prix des tranches." },
          "label": { "type": "string", "minLength": 1, "title": "Nom affiché" },
          "unit": { "type": "string", "minLength": 1, "title": "Unité", "description": "Ce que paie un prix, par exemple « repas » ou « heure »." }
        },
        "required": ["id", "label", "unit"],
        "additionalProperties": false
      }
    },
    "brackets": {
      "type": "array", "minItems": 1,
      "title": "Tranches de quotient familial",
      "description": "Dans l'ordre croissant ; la dernière, sans plafond, vaut pour tous les quotients au-delà.",
      "items": {
        "type": "object",
        "properties": {
          "up_to": { "type": "integer", "minimum": 0, "title": "Quotient maximal (en euros)", "description": "Laissez vide pour la dernière tranche." },
          "prices": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 0, "title": "Prix (en centimes)" }, "title": "Prix par activité", "description": "Le nom est l'identifiant de l'activité ; le prix est en centimes d'euro (250 pour 2,50 €)." }
        },
        "required": ["prices"],
        "additionalProperties": false
      }
    },
    "default_days": { "type": "integer", "minimum": 1, "maximum": 31, "title": "Jours par mois proposés", "description": "Le nombre de jours par mois que propose la simulation, de 1 à 31." }
  },
  "required": ["activities", "brackets"],
  "additionalProperties": false
}"#;

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub activities: Vec<Activity>,
    /// In increasing order of `up_to`; the last one may have no bound.
    pub brackets: Vec<Bracket>,
    #[serde(default = "default_days")]
    pub default_days: u32,
}

fn default_days() -> u32 {
    16
}

/// The bracket of a quotient familial, with its label (the grid's logic,
/// shared with the bookings module).
pub fn bracket_of(config: &Config, quotient: u32) -> Option<(&Bracket, String)> {
    guichet_tariff_grid::bracket_of(&config.brackets, quotient)
}

/// Quotient familial: monthly revenue divided by the number of parts.
pub fn quotient_from(revenue_per_year: f64, parts: f64) -> Option<u32> {
    (revenue_per_year >= 0.0 && parts > 0.0)
        .then(|| (revenue_per_year / 12.0 / parts).round() as u32)
}

fn number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect::<String>()
        .replace(',', ".");
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
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

struct Tariffs;

impl Module for Tariffs {
    fn describe() -> Manifest {
        Manifest::new(
            "tariffs",
            "Simulation des tarifs",
            env!("CARGO_PKG_VERSION"),
        )
        .description("Estimer le prix des activités selon votre quotient familial.")
        .tile("simulation", "Simulation des tarifs", Slot::Family)
        .action("simuler", "Simuler un tarif", "simulation")
        .config_schema(CONFIG_SCHEMA)
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        if request.view != "simulation" {
            return Err(ModuleError::NotFound(request.view));
        }
        if is_tile(&request) {
            return Ok(View::new("Simulation des tarifs")
                .paragraph("Le tarif selon votre quotient familial.")
                .link(Link::new("Faire une simulation", "simulation")));
        }
        let config: Config = config(&context)?;
        let typed = Fields::from(request.params.clone());
        let mut view = page(&config, &typed, &Errors::default());
        // A simulation to show: the form's answer, by its query.
        if let Ok(simulation) = simulate(&config, &typed) {
            view = result(view, &simulation);
        }
        Ok(view)
    }

    fn act(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        if action != "simuler" {
            return Err(ModuleError::NotFound(action));
        }
        let config: Config = config(&context)?;
        let fields = Fields::from(fields);
        match simulate(&config, &fields) {
            Err(errors) => Ok(Outcome::Invalid(page(&config, &fields, &errors))),
            Ok(simulation) => {
                let mut request = ViewRequest::new("simulation");
                request.params = vec![
                    ("activite".to_owned(), simulation.activity.id.clone()),
                    ("quotient".to_owned(), simulation.quotient.to_string()),
                    ("jours".to_owned(), simulation.days.to_string()),
                ];
                Ok(Outcome::Done((
                    Notice::new(Tone::Success, "Voici votre estimation."),
                    request,
                )))
            }
        }
    }
}

#[derive(Debug, Default)]
struct Errors {
    activity: Option<String>,
    quotient: Option<String>,
    revenue: Option<String>,
    parts: Option<String>,
    days: Option<String>,
}

struct Simulation<'a> {
    activity: &'a Activity,
    quotient: u32,
    days: u32,
    bracket: String,
    unit_cents: i64,
}

fn simulate<'a>(config: &'a Config, fields: &Fields) -> Result<Simulation<'a>, Errors> {
    let mut errors = Errors::default();
    let activity = config
        .activities
        .iter()
        .find(|activity| activity.id == fields.get("activite"));
    if activity.is_none() {
        errors.activity = Some("Choisissez une activité.".to_owned());
    }
    let quotient = if !fields.get("quotient").is_empty() {
        match number(fields.get("quotient")) {
            Some(value) if (0.0..=100_000.0).contains(&value) => Some(value.round() as u32),
            _ => {
                errors.quotient =
                    Some("Le quotient familial est un nombre d'euros, par exemple 650.".to_owned());
                None
            }
        }
    } else {
        let revenue = number(fields.get("revenus")).filter(|value| *value >= 0.0);
        let parts = number(fields.get("parts")).filter(|value| *value > 0.0 && *value <= 20.0);
        if revenue.is_none() {
            errors.revenue = Some(
                "Indiquez votre quotient familial, ou vos revenus annuels et votre nombre de parts."
                    .to_owned(),
            );
        }
        if revenue.is_some() && parts.is_none() {
            errors.parts = Some("Indiquez votre nombre de parts, par exemple 2,5.".to_owned());
        }
        revenue
            .zip(parts)
            .and_then(|(revenue, parts)| quotient_from(revenue, parts))
    };
    let days_text = fields.get("jours");
    let days = if days_text.is_empty() {
        Some(config.default_days)
    } else {
        match days_text.parse::<u32>() {
            Ok(days) if (1..=31).contains(&days) => Some(days),
            _ => {
                errors.days = Some("Le nombre de jours par mois va de 1 à 31.".to_owned());
                None
            }
        }
    };
    match (activity, quotient, days) {
        (Some(activity), Some(quotient), Some(days)) => {
            let (bracket, label) = bracket_of(config, quotient).ok_or_else(Errors::default)?;
            let unit_cents = bracket
                .prices
                .get(&activity.id)
                .copied()
                .ok_or_else(|| Errors {
                    activity: Some("Cette activité n'a pas de tarif pour ce quotient.".to_owned()),
                    ..Errors::default()
                })?;
            Ok(Simulation {
                activity,
                quotient,
                days,
                bracket: label,
                unit_cents,
            })
        }
        _ => Err(errors),
    }
}

fn page(config: &Config, typed: &Fields, errors: &Errors) -> View {
    let mut headers = vec!["Tranche".to_owned()];
    headers.extend(
        config
            .activities
            .iter()
            .map(|activity| format!("{} (par {})", activity.label, activity.unit)),
    );
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut previous = None;
    let rows = config
        .brackets
        .iter()
        .map(|bracket| {
            let mut row = vec![Value::text(bracket.label(previous))];
            previous = bracket.up_to;
            row.extend(config.activities.iter().map(|activity| {
                bracket
                    .prices
                    .get(&activity.id)
                    .map_or_else(|| Value::text("—"), |cents| Value::Amount(*cents))
            }));
            row
        })
        .collect();
    let activities = config
        .activities
        .iter()
        .map(|activity| Choice {
            value: activity.id.clone(),
            label: activity.label.clone(),
        })
        .collect();
    let days = if typed.get("jours").is_empty() {
        config.default_days.to_string()
    } else {
        typed.get("jours").to_owned()
    };
    View::new("Simulation des tarifs")
        .table("Grille des tarifs", &header_refs, rows)
        .form(
            "simuler",
            "Simuler",
            vec![
                Field::new("activite", "Activité", FieldKind::Select(activities))
                    .required()
                    .value(typed.get("activite"))
                    .error(errors.activity.clone()),
                Field::new("quotient", "Quotient familial (en euros)", FieldKind::Number)
                    .hint("Il figure sur votre attestation de la CAF. Sinon, remplissez les deux champs suivants.")
                    .value(typed.get("quotient"))
                    .error(errors.quotient.clone()),
                Field::new("revenus", "Revenus annuels du foyer (en euros)", FieldKind::Number)
                    .value(typed.get("revenus"))
                    .error(errors.revenue.clone()),
                Field::new("parts", "Nombre de parts", FieldKind::Number)
                    .value(typed.get("parts"))
                    .error(errors.parts.clone()),
                Field::new("jours", "Jours par mois", FieldKind::Number)
                    .required()
                    .value(&days)
                    .error(errors.days.clone()),
            ],
        )
}

fn result(view: View, simulation: &Simulation<'_>) -> View {
    let monthly = simulation.unit_cents * i64::from(simulation.days);
    view.heading("Votre estimation").key_values(vec![
        ("Activité", Value::text(simulation.activity.label.clone())),
        (
            "Quotient familial",
            Value::text(format!("{} €", simulation.quotient)),
        ),
        ("Tranche appliquée", Value::text(simulation.bracket.clone())),
        (
            &format!("Prix par {}", simulation.activity.unit),
            Value::Amount(simulation.unit_cents),
        ),
        (
            &format!("Estimation pour {} jours par mois", simulation.days),
            Value::Amount(monthly),
        ),
    ])
}

export!(Tariffs);

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        serde_json::from_str(
            r#"{"activities": [{"id": "cantine", "label": "Cantine", "unit": "repas"}],
                "brackets": [{"up_to": 500, "prices": {"cantine": 120}},
                             {"up_to": 1000, "prices": {"cantine": 250}},
                             {"prices": {"cantine": 400}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_quotient_falls_in_its_bracket() {
        let config = config();
        assert_eq!(bracket_of(&config, 500).unwrap().1, "QF jusqu'à 500 €");
        assert_eq!(bracket_of(&config, 501).unwrap().1, "QF de 501 à 1000 €");
        assert_eq!(bracket_of(&config, 5000).unwrap().1, "QF au-delà de 1000 €");
        assert_eq!(bracket_of(&config, 650).unwrap().0.prices["cantine"], 250);
    }

    #[test]
    fn the_quotient_comes_from_revenue_and_parts() {
        assert_eq!(quotient_from(30_000.0, 2.5), Some(1000));
        assert_eq!(quotient_from(30_000.0, 0.0), None);
        assert_eq!(number("1 200,50"), Some(1200.5));
    }
}
