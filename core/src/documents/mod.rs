//! Documents the town issues — "Edition de documents": attestations whose
//! content a module gives (WIT 0.2.0 `document`: blocks, never PDF bytes
//! or HTML) and Guichet lays out as an accessible, verifiable PDF.
//!
//! - [`Documents::offers`]: what the town's modules offer, with the
//!   parameters a resident picks (a form built from their declaration);
//! - [`Documents::issue`] (issue.rs): the parameters checked against the
//!   declaration, the module called, the PDF rendered (pdf.rs, krilla,
//!   PDF/UA-1 validated; layout.rs: the theme's layout, logo and fonts)
//!   with the town's letterhead, number ("A-2026-000042", per town and
//!   year), date, signatory (settings.rs) and a verification code with its
//!   address and QR code (code.rs); the PDF kept as delivered, with its
//!   SHA-256 and the code's hash; a journal event; for a resident from
//!   "Edition de documents", or by the staff from the resident's page;
//! - [`Documents::issued_for`], [`Documents::file`]: the documents already
//!   issued, downloaded again byte for byte;
//! - [`Documents::verify`] (verify.rs): what `/documents/verifier/<code>`
//!   tells anyone holding the paper (type, number, date, town, the
//!   SHA-256) and whether a PDF file is the one issued.
//!
//! Error policy: [`IssueError`] separates what the resident fixes
//! (parameters, shown at their fields; the module's sentence when it has
//! nothing to certify) from the module's failure (the document
//! "indisponible", logged and counted like any call) and the server's
//! (a render or database error, logged, 500/503). A document whose PDF
//! cannot be written is not issued: its number may then be skipped (taken
//! in its own short transaction, so the rendering never holds a write
//! lock). Reading answers `DbErr`.

mod code;
pub mod entity;
mod issue;
pub mod layout;
pub mod pdf;
pub mod personal_data;
pub mod settings;
mod signatory;
mod text;
mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{
    ColumnTrait as _, DatabaseConnection, DbErr, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

pub use code::normalize as normalize_code;
pub use entity::IssuedByKind;
pub use issue::{IssueError, Issued, MAX_PER_HOUR, Requester, check_params};
pub use layout::DocumentTheme;
pub use settings::DocumentSettings;
pub use signatory::{FieldErrors, SignatoryInput};
pub use verify::{CopyCheck, Verified};

use crate::mail::PublicLinks;
use crate::modules::{
    Block, CallFailure, DocumentDeclaration, EnabledModule, Field, Modules, ViewRequest,
};
use crate::tenancy::{Tenant, TenantScope};
use crate::theme::ThemeSet;
use entity::{document_settings, issued_document};

/// Documents listed on a resident's page, at most (newest first).
pub const MAX_LISTED: u64 = 100;

/// The documents service.
#[derive(Debug, Clone)]
pub struct Documents {
    db: DatabaseConnection,
    modules: Modules,
    links: PublicLinks,
    /// Each theme's layout, logo and fonts, read at startup.
    looks: Arc<HashMap<String, Arc<DocumentTheme>>>,
    /// PDFs rendered at once: as many as there are cores (a render is a
    /// few milliseconds to a tenth of a second of CPU, off the async
    /// runtime); further ones wait their turn.
    renders: Arc<tokio::sync::Semaphore>,
}

/// A document a module offers.
#[derive(Debug, Clone)]
pub struct Offer {
    pub module: EnabledModule,
    pub declaration: DocumentDeclaration,
}

/// A document already issued, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSummary {
    pub id: i32,
    pub number: String,
    pub title: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub issued_by: IssuedByKind,
}

/// An issued document's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFile {
    /// "attestation-fiscale-A-2026-000042.pdf".
    pub file_name: String,
    pub pdf: Vec<u8>,
}

/// The letterhead's signatory, title and place, as they apply now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatory {
    pub place: String,
    pub signatory: Option<String>,
    pub title: Option<String>,
    /// Saved in the back-office (the database owns them), else from
    /// `tenant.toml`.
    pub from_back_office: bool,
}

impl Documents {
    /// Reads every theme's documents files: a layout, logo or font that
    /// cannot be used stops startup, the message naming the file.
    pub fn new(
        db: DatabaseConnection,
        modules: Modules,
        links: PublicLinks,
        themes: &ThemeSet,
    ) -> Result<Self, String> {
        let mut looks = HashMap::new();
        for name in themes.names() {
            let look = DocumentTheme::load(&themes.get(name), name)?;
            looks.insert(name.to_owned(), Arc::new(look));
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            db,
            modules,
            links,
            looks: Arc::new(looks),
            renders: Arc::new(tokio::sync::Semaphore::new(cores)),
        })
    }

    /// The layout of a town's theme (the default theme's when unknown).
    fn look(&self, theme: &str) -> Option<Arc<DocumentTheme>> {
        self.looks
            .get(theme)
            .or_else(|| self.looks.get(crate::theme::DEFAULT_THEME))
            .cloned()
    }

    /// What the town's modules offer, in the modules' order.
    pub async fn offers(&self, tenant: &Tenant) -> Result<Vec<Offer>, DbErr> {
        Ok(self
            .modules
            .enabled(tenant)
            .await?
            .into_iter()
            .flat_map(|module| {
                module
                    .manifest
                    .documents
                    .clone()
                    .into_iter()
                    .map(move |declaration| Offer {
                        module: module.clone(),
                        declaration,
                    })
            })
            .collect())
    }

    /// One document the town's modules offer; none when it offers no
    /// such document.
    pub async fn offer(
        &self,
        tenant: &Tenant,
        module_id: &str,
        document_id: &str,
    ) -> Result<Option<Offer>, DbErr> {
        let Some(module) = self.modules.enabled_module(tenant, module_id).await? else {
            return Ok(None);
        };
        Ok(module
            .document(document_id)
            .cloned()
            .map(|declaration| Offer {
                module,
                declaration,
            }))
    }

    /// The parameters of a document as a resident fills them: the
    /// declaration's fields, or — when they depend on the resident (their
    /// children, the years they paid in) — the fields of the form the
    /// module renders in its view named after the document (a 0.2.0
    /// convention, modules/README.md): choices and default values the
    /// manifest, read once at publication, cannot know.
    pub async fn parameters(
        &self,
        tenant: &Arc<Tenant>,
        module: &EnabledModule,
        declaration: &DocumentDeclaration,
        resident: &crate::accounts::entity::account::Model,
    ) -> Result<Vec<Field>, CallFailure> {
        let request = ViewRequest {
            view: declaration.id.clone(),
            params: Vec::new(),
        };
        let view = match self
            .modules
            .render(tenant, module, Some(resident), &request)
            .await
        {
            Ok(view) => view,
            // No such view: the declared parameters are the form.
            Err(CallFailure::NotFound(_)) => return Ok(declaration.params.clone()),
            // The module failed: its choices are unknown, so is the form.
            Err(failure) => return Err(failure),
        };
        Ok(view
            .blocks
            .into_iter()
            .find_map(|block| match block {
                Block::Form(form) => Some(
                    form.fields
                        .into_iter()
                        .chain(form.groups.into_iter().flat_map(|group| group.fields))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_else(|| declaration.params.clone()))
    }

    /// The documents issued for a resident, newest first.
    pub async fn issued_for(
        &self,
        scope: TenantScope,
        account_id: i32,
    ) -> Result<Vec<IssuedSummary>, DbErr> {
        use issued_document::Column;
        let rows: Vec<(
            i32,
            String,
            String,
            chrono::DateTime<chrono::Utc>,
            IssuedByKind,
        )> = scope
            .select::<issued_document::Entity>()
            .filter(Column::AccountId.eq(account_id))
            .order_by_desc(Column::IssuedAt)
            .order_by_desc(Column::Id)
            .limit(MAX_LISTED)
            .select_only()
            .columns([
                Column::Id,
                Column::Number,
                Column::Title,
                Column::IssuedAt,
                Column::IssuedByKind,
            ])
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, number, title, issued_at, issued_by)| IssuedSummary {
                id,
                number,
                title,
                issued_at,
                issued_by,
            })
            .collect())
    }

    /// An issued document's PDF, if it was issued for this resident of
    /// this town.
    pub async fn file(
        &self,
        scope: TenantScope,
        account_id: i32,
        id: i32,
    ) -> Result<Option<IssuedFile>, DbErr> {
        let row = scope
            .select::<issued_document::Entity>()
            .filter(issued_document::Column::Id.eq(id))
            .filter(issued_document::Column::AccountId.eq(account_id))
            .one(&self.db)
            .await?;
        Ok(row.map(|row| {
            // Only what needs no quoting in a Content-Disposition header.
            let file_name: String = format!("{}-{}", row.document_id, row.number)
                .chars()
                .map(|character| {
                    if character.is_ascii_alphanumeric() || character == '-' {
                        character
                    } else {
                        '-'
                    }
                })
                .collect();
            IssuedFile {
                file_name: format!("{file_name}.pdf"),
                pdf: row.pdf,
            }
        }))
    }

    /// The signatory, title and place documents carry now.
    pub async fn signatory(&self, tenant: &Tenant) -> Result<Signatory, DbErr> {
        let saved = tenant
            .scope()
            .select::<document_settings::Entity>()
            .one(&self.db)
            .await?;
        Ok(match saved {
            Some(saved) => Signatory {
                place: saved
                    .place
                    .unwrap_or_else(|| settings::default_place(&tenant.display_name)),
                signatory: saved.signatory,
                title: saved.signatory_title,
                from_back_office: true,
            },
            None => {
                let declared = settings::declared(tenant);
                Signatory {
                    place: declared
                        .place
                        .clone()
                        .unwrap_or_else(|| settings::default_place(&tenant.display_name)),
                    signatory: declared.signatory.clone(),
                    title: declared.signatory_title.clone(),
                    from_back_office: false,
                }
            }
        })
    }
}
