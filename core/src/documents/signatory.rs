//! The back-office's edit of who signs the town's documents
//! (`/admin/documents`): saved in `document_settings`, which the database
//! owns from then on (`tenant apply` leaves it alone), with its journal
//! event.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait as _};

use super::Documents;
use super::entity::document_settings;
use super::settings::{MAX_NAME, MAX_TITLE};
use crate::audit::{AuditKind, Event, Origin};
use crate::staff::StaffMember;
use crate::tenancy::Tenant;

/// What the back-office's form sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatoryInput {
    pub place: String,
    pub signatory: String,
    pub title: String,
}

/// A field of the form and what is wrong with it, in French.
pub type FieldErrors = Vec<(&'static str, String)>;

impl SignatoryInput {
    /// Each field's problem, in French; empty when it can be saved.
    pub fn errors(&self) -> FieldErrors {
        let mut errors = Vec::new();
        for (name, value, max, required) in [
            ("place", &self.place, MAX_NAME, true),
            ("signatory", &self.signatory, MAX_NAME, false),
            ("title", &self.title, MAX_TITLE, false),
        ] {
            let value = value.trim();
            if value.is_empty() && required {
                errors.push((name, "Ce champ est obligatoire.".to_owned()));
            } else if value.chars().count() > max {
                errors.push((name, format!("Saisissez au plus {max} caractères.")));
            } else if value.chars().any(char::is_control) {
                errors.push((
                    name,
                    "Ce texte contient des caractères interdits.".to_owned(),
                ));
            }
        }
        errors
    }
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

impl Documents {
    /// Saves the signatory (the caller checked [`SignatoryInput::errors`]).
    pub async fn save_signatory(
        &self,
        tenant: &Tenant,
        member: &StaffMember,
        input: &SignatoryInput,
        origin: &Origin,
    ) -> Result<(), DbErr> {
        let scope = tenant.scope();
        let transaction = crate::db::begin_write(&self.db).await?;
        let row = document_settings::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            place: Set(optional(&input.place)),
            signatory: Set(optional(&input.signatory)),
            signatory_title: Set(optional(&input.title)),
            updated_by: Set(Some(crate::staff::actor_label(member))),
            updated_at: Set(chrono::Utc::now()),
        };
        document_settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(document_settings::Column::TenantId)
                    .update_columns([
                        document_settings::Column::Place,
                        document_settings::Column::Signatory,
                        document_settings::Column::SignatoryTitle,
                        document_settings::Column::UpdatedBy,
                        document_settings::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&transaction)
            .await?;
        crate::audit::record_event(
            &transaction,
            scope,
            Event {
                kind: AuditKind::DocumentSignatoryChanged,
                actor: crate::staff::actor(member),
                subject: None,
                origin,
                detail: Some(format!(
                    "{} — {} — {}",
                    input.place.trim(),
                    input.title.trim(),
                    input.signatory.trim()
                )),
            },
        )
        .await?;
        transaction.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_checked_field_by_field() {
        let input = SignatoryInput {
            place: " ".to_owned(),
            signatory: "x".repeat(MAX_NAME + 1),
            title: "Le maire".to_owned(),
        };
        let errors = input.errors();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0], ("place", "Ce champ est obligatoire.".to_owned()));
        assert_eq!(errors[1].0, "signatory");
        assert!(
            SignatoryInput {
                place: "Villeneuve".to_owned(),
                ..SignatoryInput::default()
            }
            .errors()
            .is_empty()
        );
    }
}
