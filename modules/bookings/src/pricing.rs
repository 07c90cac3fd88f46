//! Prices: the unit price from the town's tariff grid (the `tariffs`
//! module's configuration) by the family's quotient familial, and the late
//! booking surcharge.

use guichet_tariff_grid::Grid;

/// The price of one day of an activity for a family, as shown and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPrice {
    /// In cents; `None` when the town prices the activity nowhere.
    pub cents: Option<i64>,
    /// "QF de 501 à 900 €", the bracket used.
    pub bracket: Option<String>,
    /// Said to the family when its quotient is not known.
    pub note: Option<String>,
}

/// The family's quotient familial, as the town's software pushes it
/// (`PUT …/residents/<identifier>/data/quotient`): a number, a number in a
/// string, or `{"quotient": 650}`.
pub fn parse_quotient(text: &str) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let number = match &value {
        serde_json::Value::Object(object) => object.get("quotient")?.clone(),
        other => other.clone(),
    };
    match number {
        serde_json::Value::Number(number) => number
            .as_f64()
            .filter(|value| (0.0..=1_000_000.0).contains(value))
            .map(|value| value.round() as u32),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

pub fn unit_price(grid: Option<&Grid>, tariff: Option<&str>, quotient: Option<u32>) -> UnitPrice {
    let (Some(grid), Some(tariff)) = (grid, tariff) else {
        return UnitPrice {
            cents: None,
            bracket: None,
            note: None,
        };
    };
    match grid.price(tariff, quotient) {
        None => UnitPrice {
            cents: None,
            bracket: None,
            note: None,
        },
        Some(price) => UnitPrice {
            cents: Some(price.unit_cents),
            note: quotient.is_none().then(|| {
                "Votre quotient familial ne nous est pas connu : le tarif de la tranche la plus haute s'applique. Transmettez votre attestation à la mairie pour un tarif adapté.".to_owned()
            }),
            bracket: Some(price.bracket),
        },
    }
}

/// A unit price raised by a late booking's surcharge, rounded to the cent.
pub fn with_surcharge(cents: i64, percent: u32) -> i64 {
    (cents * (100 + i64::from(percent)) + 50) / 100
}

/// "2,50 €", "1 234,00 €" (a narrow no-break space groups thousands).
pub fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let units = (cents / 100).to_string();
    let mut grouped = String::new();
    for (index, digit) in units.chars().enumerate() {
        if index > 0 && (units.len() - index).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped},{:02} €", cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        serde_json::from_str(
            r#"{"default_days": 16,
                "activities": [{"id": "cantine", "label": "Restauration scolaire", "unit": "repas"},
                               {"id": "periscolaire", "label": "Accueil périscolaire", "unit": "séance"}],
                "brackets": [{"up_to": 500, "prices": {"cantine": 120, "periscolaire": 80}},
                             {"up_to": 900, "prices": {"cantine": 250, "periscolaire": 150}},
                             {"up_to": 1400, "prices": {"cantine": 380, "periscolaire": 210}},
                             {"prices": {"cantine": 460, "periscolaire": 260}}]}"#,
        )
        .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn the_price_comes_from_the_shared_grid_by_quotient() {
        let grid = grid();
        let price = unit_price(Some(&grid), Some("cantine"), Some(650));
        assert_eq!(price.cents, Some(250));
        assert_eq!(price.bracket.as_deref(), Some("QF de 501 à 900 €"));
        assert_eq!(price.note, None);
        assert_eq!(
            unit_price(Some(&grid), Some("cantine"), Some(500)).cents,
            Some(120)
        );
        assert_eq!(
            unit_price(Some(&grid), Some("periscolaire"), Some(901)).cents,
            Some(210)
        );
    }

    #[test]
    fn an_unknown_quotient_pays_the_highest_bracket_and_is_told() {
        let grid = grid();
        let price = unit_price(Some(&grid), Some("cantine"), None);
        assert_eq!(price.cents, Some(460));
        assert!(
            price
                .note
                .is_some_and(|note| note.contains("tranche la plus haute"))
        );
    }

    #[test]
    fn no_grid_or_no_tariff_means_no_price() {
        assert_eq!(unit_price(None, Some("cantine"), Some(650)).cents, None);
        assert_eq!(unit_price(Some(&grid()), None, Some(650)).cents, None);
        assert_eq!(
            unit_price(Some(&grid()), Some("piscine"), Some(650)).cents,
            None
        );
    }

    #[test]
    fn late_surcharge_and_amounts() {
        assert_eq!(with_surcharge(250, 50), 375);
        assert_eq!(with_surcharge(333, 50), 500);
        assert_eq!(with_surcharge(250, 0), 250);
        assert_eq!(euros(375), "3,75 €");
        assert_eq!(euros(123_456), "1\u{202f}234,56 €");
    }

    #[test]
    fn quotients_as_the_town_software_pushes_them() {
        assert_eq!(parse_quotient("650"), Some(650));
        assert_eq!(parse_quotient("\"650\""), Some(650));
        assert_eq!(parse_quotient("{\"quotient\": 649.6}"), Some(650));
        assert_eq!(parse_quotient("\"beaucoup\""), None);
        assert_eq!(parse_quotient("-3"), None);
    }
}
