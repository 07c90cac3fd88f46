//! The module's manifest, built natively so that its tests run with the
//! others (`module::describe` returns it).

use guichet_module_sdk::{Capability, Manifest, Slot, StaffRole};

use crate::attestation::{self, ATTESTATION};
use crate::config;
use crate::views::{PLANNING, STAFF_CLOSURES, STAFF_DAY, TILE, WEEKLY};

/// What `describe` answers. The document's parameters are declared without
/// a household or a date (a manifest is built once, at publication): the
/// select of children has no choice and the dates no default here; see
/// [`attestation::params`] for the form filled for a resident.
pub fn manifest() -> Manifest {
    Manifest::new("bookings", "Réservations", env!("CARGO_PKG_VERSION"))
        .description("Réserver ou annuler la restauration scolaire, le périscolaire et les vacances, semaine par semaine.")
        .tile(TILE, "Annuler ou réserver…", Slot::Family)
        .action(PLANNING, "Réserver ou annuler des jours", PLANNING)
        .action(WEEKLY, "Appliquer une semaine type", WEEKLY)
        .staff_view(STAFF_DAY, "Réservations du jour", StaffRole::Agent)
        .staff_view(STAFF_CLOSURES, "Fermetures", StaffRole::Gestionnaire)
        .staff_action("afficher", "Afficher un jour", StaffRole::Agent)
        .staff_action("pointage", "Enregistrer les présences", StaffRole::Agent)
        .staff_action("capacite", "Changer les places d'un jour", StaffRole::Gestionnaire)
        .staff_action("fermeture", "Fermer un jour", StaffRole::Gestionnaire)
        .staff_action("reouverture", "Rouvrir un jour", StaffRole::Gestionnaire)
        .document(
            ATTESTATION,
            attestation::TITLE,
            attestation::DESCRIPTION,
            attestation::params(&[], None),
        )
        .config_schema(&config::schema())
        .capability(Capability::TownStorage)
        .capability(Capability::ResidentStorage)
        .capability(Capability::Household)
        .capability(Capability::Notifications)
        .capability(Capability::ModuleConfig("tariffs".to_owned()))
}

#[cfg(test)]
mod tests {
    use guichet_module_sdk::{Choice, FieldKind};

    use super::*;
    use crate::attestation::ChildIdentity;
    use crate::calendar::Date;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap_or_else(|| panic!("bad date {text}"))
    }

    #[test]
    fn the_manifest_declares_the_attestation_with_its_params() {
        let manifest = manifest();
        assert_eq!(manifest.version, "0.2.3");
        assert_eq!(manifest.documents.len(), 1);
        let document = &manifest.documents[0];
        assert_eq!(document.id, "attestation-presence");
        assert_eq!(document.title, "Attestation de présence");
        assert!(document.description.ends_with('.'));
        let params: Vec<(&str, &FieldKind, bool)> = document
            .params
            .iter()
            .map(|field| (field.name.as_str(), &field.kind, field.required))
            .collect();
        assert_eq!(
            params,
            vec![
                ("enfant", &FieldKind::Select(Vec::new()), true),
                ("du", &FieldKind::Date, true),
                ("au", &FieldKind::Date, true),
            ]
        );
    }

    #[test]
    fn the_params_for_a_resident_name_the_children_and_the_previous_month() {
        let children = [
            ChildIdentity {
                id: "m2".to_owned(),
                first_name: "Léa".to_owned(),
                last_name: "ARPEGE".to_owned(),
                birth: None,
            },
            ChildIdentity {
                id: "m3".to_owned(),
                first_name: "Tom".to_owned(),
                last_name: "ARPEGE".to_owned(),
                birth: None,
            },
        ];
        let params = attestation::params(&children, Some(date("2026-03-15")));
        assert_eq!(
            params[0].kind,
            FieldKind::Select(vec![
                Choice {
                    value: "m2".to_owned(),
                    label: "Léa".to_owned()
                },
                Choice {
                    value: "m3".to_owned(),
                    label: "Tom".to_owned()
                },
            ])
        );
        assert_eq!(
            (params[1].value.as_str(), params[2].value.as_str()),
            ("2026-02-01", "2026-02-28")
        );
        let january = attestation::params(&children, Some(date("2026-01-01")));
        assert_eq!(
            (january[1].value.as_str(), january[2].value.as_str()),
            ("2025-12-01", "2025-12-31")
        );
    }
}
