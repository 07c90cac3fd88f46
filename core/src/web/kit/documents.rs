//! The documents a town offers, as both faces show them: the resident's
//! "Edition de documents" and the resident's page in the back-office. Each
//! offer is its parameters' form (built from the module's fields, posted
//! to the face's address); the documents issued are listed with their
//! download link.

use std::sync::Arc;

use rocket::http::Status;
use serde::Serialize;

use super::module_view::{ViewFace, ViewHtml, with_value};
use super::{PageError, refusal_message};
use crate::accounts::entity::account;
use crate::audit::Origin;
use crate::documents::{Documents, IssueError, Issued, IssuedByKind, IssuedSummary, Requester};
use crate::modules::{Block, Field, Form, View};
use crate::tenancy::Tenant;

/// One document a resident may ask for.
#[derive(Debug, Serialize)]
pub struct OfferView {
    pub title: String,
    pub description: String,
    /// Its anchor on the page.
    pub anchor: String,
    pub form: ViewHtml,
    /// Why the last request gave no document (the module's sentence, or
    /// the service being unavailable).
    pub problem: Option<String>,
}

/// A document already issued.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedRow {
    pub title: String,
    pub number: String,
    pub issued_on: String,
    /// "En ligne" (the resident) or "Par la mairie" (an agent).
    pub by: &'static str,
    pub href: String,
}

/// The form of the last request, shown again: which document, the fields
/// with their values (and messages), and a sentence for the form.
#[derive(Debug, Clone)]
pub struct Retry {
    pub module_id: String,
    pub document_id: String,
    pub fields: Vec<Field>,
    pub problem: Option<String>,
}

/// Every document the town's modules offer, as forms for `face`.
pub async fn offers(
    documents: &Documents,
    tenant: &Arc<Tenant>,
    resident: &account::Model,
    csrf: &str,
    face: ViewFace<'_>,
    retry: Option<&Retry>,
) -> Result<Vec<OfferView>, sea_orm::DbErr> {
    let offers = documents.offers(tenant).await?;
    let fields = rocket::futures::future::join_all(offers.iter().map(|offer| async move {
        let again = retry.filter(|retry| {
            retry.module_id == offer.module.module_id && retry.document_id == offer.declaration.id
        });
        match again {
            Some(retry) => (retry.fields.clone(), retry.problem.clone()),
            None => match documents
                .parameters(tenant, &offer.module, &offer.declaration, resident)
                .await
            {
                Ok(fields) => (fields, None),
                // The module failed: the form as declared, and why it may
                // not work now.
                Err(_) => (
                    offer.declaration.params.clone(),
                    Some(UNAVAILABLE.to_owned()),
                ),
            },
        }
    }))
    .await;
    Ok(offers
        .iter()
        .zip(fields)
        .map(|(offer, (fields, problem))| {
            let view = View {
                title: offer.declaration.title.clone(),
                blocks: vec![Block::Form(Form {
                    action: offer.declaration.id.clone(),
                    submit_label: format!("Obtenir « {} » (PDF)", offer.declaration.title),
                    fields,
                    groups: Vec::new(),
                })],
            };
            OfferView {
                title: offer.declaration.title.clone(),
                description: offer.declaration.description.clone(),
                anchor: format!("{}-{}", offer.module.module_id, offer.declaration.id),
                form: ViewHtml::of(&view, &offer.module.module_id, csrf, false, face),
                problem,
            }
        })
        .collect())
}

/// The documents issued, with their links (`href(id)`), and the one
/// just issued (`ready`) for the notice above them.
pub fn issued_rows(
    tenant: &Tenant,
    issued: Vec<IssuedSummary>,
    ready: Option<i32>,
    href: impl Fn(i32) -> String,
) -> (Vec<IssuedRow>, Option<IssuedRow>) {
    let mut just_issued = None;
    let rows = issued
        .into_iter()
        .map(|document| {
            let row = IssuedRow {
                href: href(document.id),
                title: document.title,
                number: document.number,
                issued_on: crate::format::date_time(
                    &document.issued_at.with_timezone(&tenant.timezone),
                ),
                by: match document.issued_by {
                    IssuedByKind::Resident => "En ligne",
                    IssuedByKind::Staff => "Par la mairie",
                },
            };
            if ready == Some(document.id) {
                just_issued = Some(row.clone());
            }
            row
        })
        .collect();
    (rows, just_issued)
}

/// What a face's form for a document led to.
#[derive(Debug)]
pub enum Answer {
    Issued(Issued),
    /// The form again, with this status.
    Again(Status, Retry),
}

/// Issues the document a face's form asked for, or gives the form to show
/// again — with the fields' messages, the module's sentence, or why the
/// form was refused (`stale`: its token; then nothing is asked) — what was
/// typed kept. A document the town does not offer is a 404 (a refused
/// form is said so first, whatever it was for).
#[allow(clippy::too_many_arguments)]
pub async fn issue_or_again(
    documents: &Documents,
    tenant: &Arc<Tenant>,
    resident: &account::Model,
    module_id: &str,
    document_id: &str,
    typed: &[(String, String)],
    stale: Option<Status>,
    requester: Requester<'_>,
    origin: &Origin,
) -> Result<Answer, PageError> {
    let (status, checked, problem) = match stale {
        Some(status) => (status, None, Some(refusal_message(status).to_owned())),
        None => match documents
            .issue(
                tenant,
                resident,
                module_id,
                document_id,
                typed,
                requester,
                origin,
            )
            .await
        {
            Ok(issued) => return Ok(Answer::Issued(issued)),
            Err(IssueError::Unknown) => return Err(PageError::not_found()),
            Err(IssueError::Invalid(fields)) => (Status::UnprocessableEntity, Some(fields), None),
            Err(IssueError::Refused(sentence)) => {
                (Status::UnprocessableEntity, None, Some(sentence))
            }
            Err(IssueError::TooMany) => (Status::TooManyRequests, None, Some(TOO_MANY.to_owned())),
            Err(IssueError::Call(_) | IssueError::Content(_)) => (
                Status::ServiceUnavailable,
                None,
                Some(UNAVAILABLE.to_owned()),
            ),
            Err(IssueError::Database(error)) => return Err(error.into()),
            Err(IssueError::Render(error)) => return Err(PageError::internal(error)),
        },
    };
    let fields = match checked {
        Some(fields) => fields,
        None => {
            let Some(offer) = documents.offer(tenant, module_id, document_id).await? else {
                return Err(stale.map_or_else(PageError::not_found, PageError::stale_form));
            };
            let mut fields = documents
                .parameters(tenant, &offer.module, &offer.declaration, resident)
                .await
                .unwrap_or(offer.declaration.params);
            for field in &mut fields {
                with_value(field, typed);
            }
            fields
        }
    };
    Ok(Answer::Again(
        status,
        Retry {
            module_id: module_id.to_owned(),
            document_id: document_id.to_owned(),
            fields,
            problem,
        },
    ))
}

/// The sentence shown when a resident asked for too many documents.
pub const TOO_MANY: &str = "Vous avez demandé beaucoup de documents en peu de temps : réessayez dans une heure. Vos documents déjà établis restent téléchargeables ci-dessous.";

/// The sentence shown when the module could not produce the document.
pub const UNAVAILABLE: &str = "Ce document ne peut pas être établi pour le moment : le service est indisponible. Réessayez dans quelques instants ; si cela dure, contactez votre mairie.";

/// A document's PDF, downloaded.
#[derive(Debug)]
pub struct PdfDownload(pub crate::documents::IssuedFile);

impl<'r> rocket::response::Responder<'r, 'static> for PdfDownload {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        // The name is the module's document id and the town's number:
        // letters, digits and hyphens, nothing to escape.
        let disposition = format!("attachment; filename=\"{}\"", self.0.file_name);
        rocket::Response::build()
            .header(rocket::http::ContentType::PDF)
            .raw_header("Content-Disposition", disposition)
            .sized_body(self.0.pdf.len(), std::io::Cursor::new(self.0.pdf))
            .ok()
    }
}

/// A resident's data export (privacy/exports.rs), downloaded.
impl<'r> rocket::response::Responder<'r, 'static> for crate::privacy::Download {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        // The town's slug, an identifier and a date: letters, digits,
        // dots and hyphens, nothing to escape.
        let disposition = format!("attachment; filename=\"{}\"", self.file_name);
        rocket::Response::build()
            .header(rocket::http::ContentType::ZIP)
            .raw_header("Content-Disposition", disposition)
            .sized_body(self.bytes.len(), std::io::Cursor::new(self.bytes))
            .ok()
    }
}
