//! Issuing a document: the parameters checked against the module's
//! declaration, the module's content, the number, the PDF, the record.

use std::sync::Arc;

use chrono::{Datelike as _, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict, Query};
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DbErr};
use sha2::{Digest as _, Sha256};

use super::entity::{IssuedByKind, document_counter, issued_document};
use super::pdf::{self, Letterhead, Recipient, RenderError, Sheet, Signature, Verification};
use super::{Documents, code};
use crate::accounts::{Civility, entity::account};
use crate::audit::{Actor, AuditKind, Event, Origin};
use crate::modules::{CallFailure, Field, FieldKind};
use crate::staff::StaffMember;
use crate::tenancy::{Tenant, TenantScope};

/// Longest text a parameter may hold.
const MAX_PARAM_CHARS: usize = 500;
/// Longest title of a module's document printed on its PDF.
const MAX_TITLE_CHARS: usize = 200;
/// Documents a resident may ask for in an hour: far above any real need
/// (a few a year), it bounds what one account makes the server render and
/// keep (each document is numbered and stored).
pub const MAX_PER_HOUR: u64 = 30;

/// Who asks for the document.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// The resident, for themselves.
    Resident,
    /// A member of the staff, for the resident.
    Staff(&'a StaffMember),
}

/// A document just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub id: i32,
    pub number: String,
    pub title: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The town's modules offer no such document.
    #[error("no such document")]
    Unknown,
    /// Some parameters are missing or wrong: the declaration's fields with
    /// the values given and a French message at each wrong one.
    #[error("the parameters are not valid")]
    Invalid(Vec<Field>),
    /// The module has nothing to certify; its sentence, for the resident.
    #[error("the module refused: {0}")]
    Refused(String),
    /// The module failed ("indisponible"), logged and counted by the host.
    #[error(transparent)]
    Call(CallFailure),
    /// The module's content is not a document (a link, a form…) or cannot
    /// be laid out (more than 50 pages, a table too wide): "indisponible".
    #[error("the module's document cannot be laid out: {0}")]
    Content(RenderError),
    #[error("cannot render the document: {0}")]
    Render(RenderError),
    /// The resident asked for [`MAX_PER_HOUR`] documents in the last hour.
    #[error("too many documents asked for in an hour")]
    TooMany,
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// The declared parameters with the values given: the values to pass to
/// the module (declared names only), or the fields with their messages.
pub fn check_params(
    declared: &[Field],
    submitted: &[(String, String)],
) -> Result<Vec<(String, String)>, Vec<Field>> {
    let mut fields = Vec::with_capacity(declared.len());
    let mut values = Vec::with_capacity(declared.len());
    let mut wrong = false;
    for field in declared {
        let given = submitted
            .iter()
            .find(|(name, _)| *name == field.name)
            .map(|(_, value)| value.trim().to_owned());
        let mut field = field.clone();
        let (value, error) = match &field.kind {
            // Not the resident's to change.
            FieldKind::Hidden => (field.value.clone(), None),
            _ if field.disabled => (field.value.clone(), None),
            FieldKind::Checkbox => (
                if given.is_some_and(|value| !value.is_empty()) {
                    "on".to_owned()
                } else {
                    String::new()
                },
                None,
            ),
            kind => {
                let value = given.unwrap_or_default();
                let error = if value.is_empty() {
                    field
                        .required
                        .then(|| "Ce champ est obligatoire.".to_owned())
                } else if value.chars().count() > MAX_PARAM_CHARS
                    || !crate::db::is_storable_text(&value)
                {
                    Some(format!("Saisissez au plus {MAX_PARAM_CHARS} caractères."))
                } else {
                    match kind {
                        FieldKind::Select(choices)
                            if !choices.iter().any(|choice| choice.value == value) =>
                        {
                            Some("Choisissez une valeur de la liste.".to_owned())
                        }
                        FieldKind::Date => match parse_date(&value) {
                            Some(_) => None,
                            None => Some(
                                "Saisissez une date valide, par exemple 31/12/2025.".to_owned(),
                            ),
                        },
                        FieldKind::Number if value.replace(',', ".").parse::<f64>().is_err() => {
                            Some("Saisissez un nombre.".to_owned())
                        }
                        _ => None,
                    }
                };
                // A date goes to the module as ISO, however it was typed.
                let value = match kind {
                    FieldKind::Date => parse_date(&value).map_or(value, |date| date.to_string()),
                    _ => value,
                };
                (value, error)
            }
        };
        wrong |= error.is_some();
        field.value = value.clone();
        field.error = error;
        values.push((field.name.clone(), value));
        fields.push(field);
    }
    if wrong { Err(fields) } else { Ok(values) }
}

/// "2025-12-31" or "31/12/2025".
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .ok()
}

/// "A-2026-000042".
fn number(year: i32, value: i64) -> String {
    format!("A-{year}-{value:06}")
}

/// Takes the town's next document number of `year`: one upsert (as the
/// requests' counter), in its own transaction so that rendering the PDF
/// never holds a write lock.
async fn next_number(
    connection: &impl ConnectionTrait,
    scope: TenantScope,
    year: i32,
) -> Result<i64, DbErr> {
    use document_counter::{Column, Entity};
    let statement = Query::insert()
        .into_table(Entity)
        .columns([Column::TenantId, Column::Year, Column::LastValue])
        .values([scope.tenant_id().get().into(), year.into(), 1_i64.into()])
        .map_err(|error| DbErr::Custom(format!("document counter: {error}")))?
        .on_conflict(
            OnConflict::columns([Column::TenantId, Column::Year])
                .value(
                    Column::LastValue,
                    Expr::col((Entity, Column::LastValue)).add(1),
                )
                .to_owned(),
        )
        .returning_col(Column::LastValue)
        .to_owned();
    let row = connection
        .query_one(&statement)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("document counter: no row returned".to_owned()))?;
    row.try_get("", "last_value")
}

/// An address on one line ("1 place de la Mairie, 00100 Villeneuve") as
/// the lines of a letter.
fn address_lines(address: Option<&str>) -> Vec<String> {
    address
        .map(|address| {
            address
                .split([',', '\n'])
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn letterhead(tenant: &Tenant) -> Letterhead {
    let contact = &tenant.definition.contact;
    let parts: Vec<String> = [
        contact.phone.as_ref().map(|phone| format!("Tél. {phone}")),
        contact.email.clone(),
        contact.website.as_ref().map(|website| {
            website
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    Letterhead {
        town: tenant.display_name.clone(),
        address: address_lines(contact.address.as_deref()),
        contact: (!parts.is_empty()).then(|| parts.join(" — ")),
    }
}

fn recipient(account: &account::Model) -> Recipient {
    let name = match account.civility {
        Some(civility) => format!(
            "{} {}",
            Civility::title(civility),
            crate::format::full_name(&account.first_name, &account.last_name)
        ),
        None => crate::format::full_name(&account.first_name, &account.last_name),
    };
    Recipient {
        name,
        address: address_lines(account.address.as_deref()),
    }
}

impl Documents {
    /// Refuses a resident's document past [`MAX_PER_HOUR`] in the last
    /// hour (the staff's are not counted: they issue at the counter).
    async fn check_pace(&self, scope: TenantScope, account_id: i32) -> Result<(), IssueError> {
        use sea_orm::{ColumnTrait as _, PaginatorTrait as _, QueryFilter as _};
        let since = Utc::now() - chrono::Duration::hours(1);
        let recent = scope
            .select::<issued_document::Entity>()
            .filter(issued_document::Column::AccountId.eq(account_id))
            .filter(issued_document::Column::IssuedByKind.eq(IssuedByKind::Resident))
            .filter(issued_document::Column::IssuedAt.gt(since))
            .count(&self.db)
            .await?;
        if recent >= MAX_PER_HOUR {
            return Err(IssueError::TooMany);
        }
        Ok(())
    }

    /// Issues one of the town's documents for `resident`: checked, written
    /// by the module, numbered, rendered, recorded with its journal event.
    #[allow(clippy::too_many_arguments)]
    pub async fn issue(
        &self,
        tenant: &Arc<Tenant>,
        resident: &account::Model,
        module_id: &str,
        document_id: &str,
        submitted: &[(String, String)],
        requester: Requester<'_>,
        origin: &Origin,
    ) -> Result<Issued, IssueError> {
        let super::Offer {
            module,
            declaration,
        } = self
            .offer(tenant, module_id, document_id)
            .await?
            .ok_or(IssueError::Unknown)?;
        // Before any module runs: a resident past the pace costs nothing.
        if let Requester::Resident = requester {
            self.check_pace(tenant.scope(), resident.id).await?;
        }
        let declared = self
            .parameters(tenant, &module, &declaration, resident)
            .await
            .map_err(IssueError::Call)?;
        let params = check_params(&declared, submitted).map_err(IssueError::Invalid)?;
        let content = match self
            .modules
            .document(tenant, &module, resident, document_id, &params)
            .await
        {
            Ok(content) => content,
            Err(CallFailure::NotFound(what)) if what == document_id => {
                return Err(IssueError::Unknown);
            }
            Err(CallFailure::NotFound(sentence)) => return Err(IssueError::Refused(sentence)),
            Err(failure) => return Err(IssueError::Call(failure)),
        };
        pdf::check_blocks(&content.blocks).map_err(|error| {
            tracing::warn!(
                town = %tenant.slug,
                module = %module_id,
                document = %document_id,
                "a module's document cannot be laid out: {error}"
            );
            IssueError::Content(error)
        })?;

        let scope = tenant.scope();
        let issued_at = Utc::now();
        let local = issued_at.with_timezone(&tenant.timezone);
        let transaction = crate::db::begin_write(&self.db).await?;
        let value = next_number(&transaction, scope, local.year()).await?;
        transaction.commit().await?;
        let number = number(local.year(), value);
        let code = code::new_code();
        let signatory = self.signatory(tenant).await?;
        let issued_on = crate::format::long_date(local);
        let look = self.look(&tenant.theme).ok_or_else(|| {
            IssueError::Render(RenderError::Pdf("no documents layout".to_owned()))
        })?;
        let letterhead = letterhead(tenant);
        let recipient = recipient(resident);
        let signature = Signature {
            place_and_date: format!("Fait à {}, le {issued_on}.", signatory.place),
            title: signatory.title,
            name: signatory.signatory,
        };
        let verification = Verification {
            url: self
                .links
                .town_url(tenant, &format!("/documents/verifier/{code}")),
            code: code.clone(),
        };
        // What the town's lists, the journal and the public verification
        // page say is the manifest's title, checked at publication; the
        // module's own title (which may name the child) is the PDF's only.
        let title = declaration.title.clone();
        let content_title: String = content
            .title
            .chars()
            .filter(|character| !character.is_control())
            .take(MAX_TITLE_CHARS)
            .collect();
        let content_title = if content_title.trim().is_empty() {
            title.clone()
        } else {
            content_title
        };
        let rendered = {
            let number = number.clone();
            let permit = self
                .renders
                .clone()
                .acquire_owned()
                .await
                .map_err(|error| {
                    IssueError::Render(RenderError::Pdf(format!("render slots: {error}")))
                })?;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                pdf::render(
                    &Sheet {
                        letterhead: &letterhead,
                        recipient: &recipient,
                        title: &content_title,
                        number: &number,
                        issued_on: &issued_on,
                        blocks: &content.blocks,
                        signature: &signature,
                        verification: &verification,
                        issued_at,
                    },
                    &look,
                )
            })
            .await
            .map_err(|error| IssueError::Render(RenderError::Pdf(error.to_string())))?
        };
        let bytes = rendered.map_err(|error| match error {
            // What the module gave cannot be laid out (too many pages, a
            // table too wide): its failure, the document "indisponible".
            RenderError::Forbidden(_) => {
                tracing::warn!(
                    town = %tenant.slug,
                    module = %module_id,
                    document = %document_id,
                    number = %number,
                    "a module's document cannot be laid out: {error}"
                );
                IssueError::Content(error)
            }
            RenderError::Pdf(_) => {
                tracing::error!(
                    town = %tenant.slug,
                    module = %module_id,
                    document = %document_id,
                    number = %number,
                    "cannot render a document: {error}"
                );
                IssueError::Render(error)
            }
        })?;

        let (kind, actor, by_id, by_label) = match requester {
            Requester::Resident => (
                IssuedByKind::Resident,
                Actor::Resident(resident.id),
                None,
                None,
            ),
            Requester::Staff(member) => (
                IssuedByKind::Staff,
                crate::staff::actor(member),
                Some(member.id),
                Some(crate::staff::actor_label(member)),
            ),
        };
        let transaction = crate::db::begin_write(&self.db).await?;
        let row = issued_document::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            account_id: Set(Some(resident.id)),
            number: Set(number.clone()),
            module_id: Set(module_id.to_owned()),
            document_id: Set(document_id.to_owned()),
            title: Set(title.chars().take(200).collect()),
            params: Set(serde_json::to_string(&params).unwrap_or_default()),
            code_hash: Set(code::hash(&code)),
            sha256: Set(hex::encode(Sha256::digest(&bytes))),
            pdf: Set(bytes),
            issued_by_kind: Set(kind),
            issued_by_id: Set(by_id),
            issued_by_label: Set(by_label),
            issued_at: Set(issued_at),
            ..Default::default()
        }
        .insert(&transaction)
        .await?;
        crate::audit::record_event(
            &transaction,
            scope,
            Event {
                kind: AuditKind::DocumentIssued,
                actor,
                subject: Some(resident.id),
                origin,
                detail: Some(format!("{number} — {title}")),
            },
        )
        .await?;
        transaction.commit().await?;
        Ok(Issued {
            id: row.id,
            number,
            title,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Choice;

    fn field(name: &str, kind: FieldKind, required: bool) -> Field {
        Field {
            name: name.to_owned(),
            label: name.to_owned(),
            kind,
            value: String::new(),
            required,
            disabled: false,
            hint: None,
            error: None,
        }
    }

    #[test]
    fn parameters_are_checked_against_their_declaration() {
        let declared = vec![
            field(
                "annee",
                FieldKind::Select(vec![Choice {
                    value: "2025".to_owned(),
                    label: "2025".to_owned(),
                }]),
                true,
            ),
            field("du", FieldKind::Date, true),
            field("note", FieldKind::Text, false),
        ];
        let given = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect()
        };
        let accepted = check_params(
            &declared,
            &given(&[("annee", "2025"), ("du", "31/12/2025"), ("autre", "x")]),
        )
        .unwrap();
        assert_eq!(
            accepted,
            given(&[("annee", "2025"), ("du", "2025-12-31"), ("note", "")])
        );

        let refused = check_params(
            &declared,
            &given(&[("annee", "2019"), ("du", "31/02/2025")]),
        )
        .unwrap_err();
        assert_eq!(
            refused[0].error.as_deref(),
            Some("Choisissez une valeur de la liste.")
        );
        assert_eq!(refused[0].value, "2019", "what was typed is shown again");
        assert_eq!(
            refused[1].error.as_deref(),
            Some("Saisissez une date valide, par exemple 31/12/2025.")
        );
        assert_eq!(refused[2].error, None);

        let missing = check_params(&declared, &[]).unwrap_err();
        assert_eq!(
            missing[0].error.as_deref(),
            Some("Ce champ est obligatoire.")
        );
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(number(2026, 42), "A-2026-000042");
        assert_eq!(
            address_lines(Some("1 place de la Mairie, 00100 Villeneuve")),
            ["1 place de la Mairie", "00100 Villeneuve"]
        );
        assert!(address_lines(None).is_empty());
    }
}
