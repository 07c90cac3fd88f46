//! The back-office's settings of online payment
//! (`/admin/paiements/reglages`): enabled or not, the PayFiP client number
//! and its environment, checked with PayFiP before they are saved, in
//! `payment_settings` (which the database owns from then on), with their
//! journal event.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait as _};

use super::Payments;
use super::entity::{Saisie, payment_settings};
use super::provider::{Contract, ContractInfo, PaymentProvider as _, ProviderError};
use crate::audit::{AuditKind, Event, Origin};
use crate::staff::StaffMember;
use crate::tenancy::Tenant;

/// What the form sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsInput {
    pub enabled: bool,
    pub numcli: String,
    pub saisie: String,
}

/// Why the settings were not saved; each names its field in French.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Fields the form must fix: (field, message).
    #[error("the form holds errors")]
    Invalid(Vec<(&'static str, String)>),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

impl SettingsInput {
    /// Each field's problem, in French.
    pub fn errors(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        let numcli = self.numcli.trim();
        if numcli.is_empty() {
            if self.enabled {
                errors.push((
                    "numcli",
                    "Indiquez le numéro de client PayFiP de la commune (6 chiffres).".to_owned(),
                ));
            }
        } else if !super::payfip::is_numcli(numcli) {
            errors.push((
                "numcli",
                "Le numéro de client PayFiP compte 6 chiffres, par exemple 012345.".to_owned(),
            ));
        }
        if Saisie::parse(&self.saisie).is_none() {
            errors.push((
                "saisie",
                "Choisissez un environnement dans la liste.".to_owned(),
            ));
        }
        errors
    }
}

impl Payments {
    /// Checks the contract with PayFiP when payments are enabled, then
    /// saves the settings. A contract PayFiP refuses is not saved (the
    /// field says why); a PayFiP that does not answer does not stop the
    /// save — the answer says so ([`None`] in place of the creditor's
    /// name, with the reason).
    pub async fn save_settings(
        &self,
        tenant: &Tenant,
        member: &StaffMember,
        input: &SettingsInput,
        origin: &Origin,
    ) -> Result<Result<ContractInfo, String>, SettingsError> {
        let errors = input.errors();
        if !errors.is_empty() {
            return Err(SettingsError::Invalid(errors));
        }
        let saisie = Saisie::parse(&input.saisie).unwrap_or_default();
        let contract = Contract {
            numcli: input.numcli.trim().to_owned(),
            saisie,
        };
        let checked = if contract.numcli.is_empty() {
            Err("Aucun numéro de client.".to_owned())
        } else {
            match self.payfip.check_contract(&contract).await {
                Ok(info) => Ok(info),
                Err(ProviderError::Refused { code, label }) => {
                    return Err(SettingsError::Invalid(vec![(
                        "numcli",
                        format!("PayFiP ne reconnaît pas ce numéro de client ({code} : {label})."),
                    )]));
                }
                Err(error) => Err(format!(
                    "PayFiP n'a pas pu vérifier le contrat ({}).",
                    super::start::describe(&error)
                )),
            }
        };
        let scope = tenant.scope();
        let transaction = crate::db::begin_write(&self.db).await?;
        payment_settings::Entity::insert(payment_settings::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            enabled: Set(input.enabled),
            numcli: Set(contract.numcli.clone()),
            saisie: Set(saisie),
            updated_by: Set(Some(crate::staff::actor_label(member))),
            updated_at: Set(chrono::Utc::now()),
        })
        .on_conflict(
            OnConflict::column(payment_settings::Column::TenantId)
                .update_columns([
                    payment_settings::Column::Enabled,
                    payment_settings::Column::Numcli,
                    payment_settings::Column::Saisie,
                    payment_settings::Column::UpdatedBy,
                    payment_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&transaction)
        .await?;
        crate::audit::record_event(
            &transaction,
            scope,
            Event {
                kind: AuditKind::PaymentSettingsChanged,
                actor: crate::staff::actor(member),
                subject: None,
                origin,
                detail: Some(format!(
                    "{} — client {} — {}",
                    if input.enabled {
                        "paiement en ligne activé"
                    } else {
                        "paiement en ligne désactivé"
                    },
                    if contract.numcli.is_empty() {
                        "aucun"
                    } else {
                        contract.numcli.as_str()
                    },
                    saisie.label()
                )),
            },
        )
        .await?;
        transaction.commit().await?;
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_checked() {
        let input = SettingsInput {
            enabled: true,
            numcli: String::new(),
            saisie: "T".to_owned(),
        };
        assert_eq!(input.errors()[0].0, "numcli");
        let input = SettingsInput {
            enabled: false,
            numcli: "12a456".to_owned(),
            saisie: "Q".to_owned(),
        };
        let fields: Vec<_> = input.errors().into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["numcli", "saisie"]);
        assert!(
            SettingsInput {
                enabled: false,
                numcli: String::new(),
                saisie: "W".to_owned()
            }
            .errors()
            .is_empty()
        );
    }
}
