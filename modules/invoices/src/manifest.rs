//! The module's manifest, built natively so that its tests run with the
//! others (`module::describe` returns it).

use guichet_module_sdk::{Capability, Manifest, Slot};

use crate::attestations::{self, PAYMENT, TAX};
use crate::model::CONFIG_SCHEMA;
use crate::views::LIST;

/// What `describe` answers. The documents' `annee` is declared without a
/// resident or a date (a manifest is built once, at publication): a select
/// with no choice; [`attestations::params`] builds it for a resident.
pub fn manifest() -> Manifest {
    Manifest::new("invoices", "Mes factures", env!("CARGO_PKG_VERSION"))
        .description("Les factures de votre foyer, leur détail et le total à régler.")
        .tile(LIST, "Mes factures", Slot::Dashboard)
        .document(
            PAYMENT,
            attestations::PAYMENT_TITLE,
            "Les sommes réglées à la régie au cours d'une année, règlement par règlement.",
            attestations::params(PAYMENT, &[], None),
        )
        .document(
            TAX,
            attestations::TAX_TITLE,
            "Pour votre déclaration de revenus : les frais de garde réglés dans l'année pour vos enfants de moins de six ans au 1er janvier, hors repas et pénalités.",
            attestations::params(TAX, &[], None),
        )
        .config_schema(CONFIG_SCHEMA)
        .capability(Capability::ResidentStorage)
        .capability(Capability::Household)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_declares_the_tile_and_the_two_documents() -> Result<(), serde_json::Error> {
        let manifest = manifest();
        assert_eq!(
            (manifest.id.as_str(), manifest.version.as_str()),
            ("invoices", "0.1.5")
        );
        assert_eq!(manifest.tiles[0].id, "factures");
        let documents: Vec<(&str, &str)> = manifest
            .documents
            .iter()
            .map(|document| (document.id.as_str(), document.title.as_str()))
            .collect();
        assert_eq!(
            documents,
            [
                ("attestation-paiement", "Attestation de paiement"),
                (
                    "attestation-fiscale",
                    "Attestation fiscale — frais de garde des jeunes enfants"
                ),
            ]
        );
        assert!(
            manifest
                .documents
                .iter()
                .all(|document| document.params.len() == 1
                    && document.params[0].name == "annee"
                    && document.description.ends_with('.'))
        );
        assert_eq!(
            manifest.capabilities,
            [Capability::ResidentStorage, Capability::Household]
        );
        let schema: serde_json::Value = serde_json::from_str(&manifest.config_schema)?;
        let keys: Vec<&String> = schema["properties"]
            .as_object()
            .map(|properties| properties.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert_eq!(schema["properties"]["regie"]["minLength"], 1);
        assert_eq!(schema["required"], serde_json::json!(["payment_info"]));
        Ok(())
    }
}
