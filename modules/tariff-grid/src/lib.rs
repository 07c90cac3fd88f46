//! The town's tariff grid: activities, and brackets of quotient familial
//! each with a price per activity. It is the `tariffs` module's
//! configuration (which adds its own `default_days`); `bookings` reads the
//! same configuration through the host (`module-config("tariffs")`), so
//! the simulation and the bookings price from one grid.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The grid, as the `tariffs` configuration holds it (other keys of that
/// configuration are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct Grid {
    pub activities: Vec<Activity>,
    /// In increasing order of `up_to`; the last one may have no bound.
    pub brackets: Vec<Bracket>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Activity {
    pub id: String,
    pub label: String,
    /// What one price buys, e.g. "repas".
    pub unit: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Bracket {
    /// Highest quotient familial of the bracket, in euros; absent for the
    /// last bracket, which has no bound.
    #[serde(default)]
    pub up_to: Option<u32>,
    /// Price per unit in cents, by activity id.
    pub prices: BTreeMap<String, i64>,
}

impl Bracket {
    /// "QF de 501 à 900 €", given the bound of the bracket before.
    pub fn label(&self, previous: Option<u32>) -> String {
        match (previous, self.up_to) {
            (None, Some(up_to)) => format!("QF jusqu'à {up_to} €"),
            (Some(low), Some(up_to)) => format!("QF de {} à {up_to} €", low + 1),
            (Some(low), None) => format!("QF au-delà de {low} €"),
            (None, None) => "Tous quotients".to_owned(),
        }
    }
}

/// The bracket of a quotient familial, with its label.
pub fn bracket_of(brackets: &[Bracket], quotient: u32) -> Option<(&Bracket, String)> {
    let mut previous = None;
    for bracket in brackets {
        if bracket.up_to.is_none_or(|up_to| quotient <= up_to) {
            return Some((bracket, bracket.label(previous)));
        }
        previous = bracket.up_to;
    }
    None
}

/// The highest bracket (the last one), with its label: what applies when
/// the family's quotient is not known.
pub fn highest_bracket(brackets: &[Bracket]) -> Option<(&Bracket, String)> {
    let last = brackets.last()?;
    let previous = brackets
        .len()
        .checked_sub(2)
        .and_then(|index| brackets[index].up_to);
    Some((last, last.label(previous)))
}

/// A price found in the grid: per unit, in cents, with its bracket's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    pub unit_cents: i64,
    pub bracket: String,
}

impl Grid {
    /// The price of one unit of `activity` for a quotient familial, or for
    /// the highest bracket when the quotient is not known; `None` when the
    /// grid has no price for the activity in that bracket.
    pub fn price(&self, activity: &str, quotient: Option<u32>) -> Option<Price> {
        let (bracket, label) = match quotient {
            Some(quotient) => bracket_of(&self.brackets, quotient)?,
            None => highest_bracket(&self.brackets)?,
        };
        bracket.prices.get(activity).map(|&unit_cents| Price {
            unit_cents,
            bracket: label,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        serde_json::from_str(
            r#"{"activities": [{"id": "cantine", "label": "Cantine", "unit": "repas"}],
                "default_days": 16,
                "brackets": [{"up_to": 500, "prices": {"cantine": 120}},
                             {"up_to": 1000, "prices": {"cantine": 250}},
                             {"prices": {"cantine": 460}}]}"#,
        )
        .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn a_quotient_falls_in_its_bracket() {
        let grid = grid();
        assert_eq!(
            bracket_of(&grid.brackets, 500).map(|b| b.1),
            Some("QF jusqu'à 500 €".to_owned())
        );
        assert_eq!(
            bracket_of(&grid.brackets, 501).map(|b| b.1),
            Some("QF de 501 à 1000 €".to_owned())
        );
        assert_eq!(
            bracket_of(&grid.brackets, 5000).map(|b| b.1),
            Some("QF au-delà de 1000 €".to_owned())
        );
    }

    #[test]
    fn prices_come_from_the_bracket_or_the_highest_one() {
        let grid = grid();
        assert_eq!(
            grid.price("cantine", Some(650)),
            Some(Price {
                unit_cents: 250,
                bracket: "QF de 501 à 1000 €".to_owned()
            })
        );
        assert_eq!(
            grid.price("cantine", None),
            Some(Price {
                unit_cents: 460,
                bracket: "QF au-delà de 1000 €".to_owned()
            })
        );
        assert_eq!(grid.price("piscine", Some(650)), None);
    }
}
