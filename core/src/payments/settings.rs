//! `[payments]` in `tenant.toml`: the town's contract with its payment
//! provider. The back-office may change it (`/admin/paiements/reglages`):
//! what it saves belongs to the database from then on
//! (`payment_settings`), as for the documents' signatory.
//!
//! ```toml
//! [payments]
//! enabled = true
//! provider = "payfip"
//! numcli = "123456"
//! saisie = "T"        # T test, X activation, W production
//! ```

use serde::{Deserialize, Serialize};

use super::entity::{ProviderKind, Saisie};
use crate::tenancy::{Section, Tenant};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentSection {
    pub enabled: bool,
    /// Only "payfip" for now.
    pub provider: Option<String>,
    pub numcli: Option<String>,
    /// "T", "X" or "W".
    pub saisie: Option<String>,
}

impl Section for PaymentSection {
    const KEY: &'static str = "payments";

    fn validate_section(&self) -> Result<(), String> {
        if let Some(provider) = &self.provider
            && provider != "payfip"
        {
            return Err(format!(
                "payments: provider `{provider}` is not known (only \"payfip\")"
            ));
        }
        if let Some(numcli) = &self.numcli
            && !super::payfip::is_numcli(numcli)
        {
            return Err("payments: numcli must be 6 digits".to_owned());
        }
        if let Some(saisie) = &self.saisie
            && Saisie::parse(saisie).is_none()
        {
            return Err(
                "payments: saisie must be \"T\" (test), \"X\" (activation) or \"W\" (production)"
                    .to_owned(),
            );
        }
        if self.enabled && self.numcli.is_none() {
            return Err(
                "payments: enabled needs numcli (the town's PayFiP client number)".to_owned(),
            );
        }
        Ok(())
    }
}

/// A town's payment settings as they apply now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    pub enabled: bool,
    pub provider: ProviderKind,
    /// Empty when none was ever set.
    pub numcli: String,
    pub saisie: Saisie,
    /// Where they come from: the back-office (its author) or tenant.toml.
    pub updated_by: Option<String>,
    pub from_back_office: bool,
}

impl PaymentSettings {
    /// Whether residents may pay online.
    pub fn is_active(&self) -> bool {
        self.enabled && super::payfip::is_numcli(&self.numcli)
    }

    pub fn contract(&self) -> super::Contract {
        super::Contract {
            numcli: self.numcli.clone(),
            saisie: self.saisie,
        }
    }
}

/// The town's `[payments]` as declared.
pub fn declared(tenant: &Tenant) -> PaymentSettings {
    let section = tenant.section::<PaymentSection>();
    PaymentSettings {
        enabled: section.enabled,
        provider: ProviderKind::PayFiP,
        numcli: section.numcli.clone().unwrap_or_default(),
        saisie: section
            .saisie
            .as_deref()
            .and_then(Saisie::parse)
            .unwrap_or_default(),
        updated_by: None,
        from_back_office: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_checked() {
        let good = PaymentSection {
            enabled: true,
            provider: Some("payfip".to_owned()),
            numcli: Some("123456".to_owned()),
            saisie: Some("W".to_owned()),
        };
        assert_eq!(good.validate_section(), Ok(()));
        for (bad, message) in [
            (
                PaymentSection {
                    numcli: Some("12345a".to_owned()),
                    ..good.clone()
                },
                "payments: numcli must be 6 digits",
            ),
            (
                PaymentSection {
                    saisie: Some("P".to_owned()),
                    ..good.clone()
                },
                "payments: saisie must be \"T\" (test), \"X\" (activation) or \"W\" (production)",
            ),
            (
                PaymentSection {
                    numcli: None,
                    ..good.clone()
                },
                "payments: enabled needs numcli (the town's PayFiP client number)",
            ),
            (
                PaymentSection {
                    provider: Some("stripe".to_owned()),
                    ..good.clone()
                },
                "payments: provider `stripe` is not known (only \"payfip\")",
            ),
        ] {
            assert_eq!(bad.validate_section(), Err(message.to_owned()));
        }
    }
}
