//! `/admin/cgu`: the town's terms of use, for administrators — the current
//! version, acceptance figures per version, the acceptances as CSV, and a
//! new version published after its preview and its diff against the
//! current one. Publishing goes through the same service as `guichet terms
//! publish` (`Terms::publish_in`): a major version gates every resident
//! until they accept it, a minor one shows them a notice.

use rocket::Either;
use rocket::form::FromForm;
use rocket::http::{Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Responder, Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, CsrfForm, FieldError, Staff, staff_page};
use crate::audit::Origin;
use crate::staff::ManageTown;
use crate::terms::{Change, DiffLine, PublishOutcome, Terms, TermsKind, diff_lines};
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Page, PageError, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![terms_page, terms_preview, terms_publish, terms_export]
}

const PATH: &str = "/admin/cgu";

fn kind_label(kind: &str) -> &'static str {
    if kind == crate::terms::entity::terms_version::MAJOR {
        "Majeure (acceptation obligatoire)"
    } else {
        "Mineure (simple information)"
    }
}

fn parse_kind(value: &str) -> Option<TermsKind> {
    match value {
        "majeure" => Some(TermsKind::Major),
        "mineure" => Some(TermsKind::Minor),
        _ => None,
    }
}

#[derive(Serialize)]
struct VersionRow {
    number: i32,
    kind: &'static str,
    published: String,
    accepted: u64,
    share: String,
}

#[derive(Serialize)]
struct CurrentView {
    number: i32,
    kind: &'static str,
    published: String,
    html: String,
}

#[derive(Serialize)]
struct KindChoice {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

fn kind_choices(selected: &str) -> Vec<KindChoice> {
    [
        (
            "majeure",
            "Majeure : chaque usager doit l'accepter avant de continuer",
        ),
        (
            "mineure",
            "Mineure : les usagers en sont informés par un bandeau",
        ),
    ]
    .into_iter()
    .map(|(value, label)| KindChoice {
        value,
        label,
        checked: value == selected,
    })
    .collect()
}

#[derive(Serialize)]
struct DiffView {
    lines: Vec<DiffLineView>,
    added: usize,
    removed: usize,
}

#[derive(Serialize)]
struct DiffLineView {
    /// `same`, `added`, `removed`, or `skipped` (unchanged lines folded).
    change: &'static str,
    text: String,
}

#[derive(Serialize)]
struct PreviewView {
    html: String,
    diff: Option<DiffView>,
    kind_label: &'static str,
}

#[derive(Serialize)]
struct TermsView {
    csrf: String,
    current: Option<CurrentView>,
    versions: Vec<VersionRow>,
    active_residents: u64,
    text: String,
    kinds: Vec<KindChoice>,
    kind: String,
    /// A refused form (its token stale or foreign): shown above it.
    error: Option<String>,
    errors: Vec<FieldError>,
    text_error: Option<String>,
    kind_error: Option<String>,
    preview: Option<PreviewView>,
}

/// Unchanged runs longer than this are folded, with their line count.
const CONTEXT: usize = 3;

fn diff_view(lines: Vec<DiffLine>) -> DiffView {
    let added = lines.iter().filter(|l| l.change == Change::Added).count();
    let removed = lines.iter().filter(|l| l.change == Change::Removed).count();
    let mut view = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if lines[index].change != Change::Same {
            view.push(DiffLineView {
                change: if lines[index].change == Change::Added {
                    "added"
                } else {
                    "removed"
                },
                text: lines[index].text.clone(),
            });
            index += 1;
            continue;
        }
        let end = lines[index..]
            .iter()
            .position(|l| l.change != Change::Same)
            .map_or(lines.len(), |offset| index + offset);
        let run = &lines[index..end];
        let head = if index == 0 { 0 } else { CONTEXT };
        let tail = if end == lines.len() { 0 } else { CONTEXT };
        if run.len() > head + tail + 1 {
            view.extend(run[..head].iter().map(|l| DiffLineView {
                change: "same",
                text: l.text.clone(),
            }));
            view.push(DiffLineView {
                change: "skipped",
                text: format!("{} lignes inchangées", run.len() - head - tail),
            });
            view.extend(run[run.len() - tail..].iter().map(|l| DiffLineView {
                change: "same",
                text: l.text.clone(),
            }));
        } else {
            view.extend(run.iter().map(|l| DiffLineView {
                change: "same",
                text: l.text.clone(),
            }));
        }
        index = end;
    }
    DiffView {
        lines: view,
        added,
        removed,
    }
}

struct Input {
    text: String,
    kind: String,
    error: Option<String>,
    errors: Vec<FieldError>,
    preview: Option<PreviewView>,
}

async fn render(
    page: AdminPage,
    staff: &Staff<ManageTown>,
    terms: &Terms,
    csrf: &Csrf,
    status: Status,
    input: Option<Input>,
) -> Result<Page, PageError> {
    let timezone = staff.tenant.timezone;
    let figures = terms.figures(&staff.tenant).await?;
    let current = figures.versions.first().map(|(version, _)| CurrentView {
        number: version.number,
        kind: kind_label(&version.kind),
        published: crate::format::date_time(&version.published_at.with_timezone(&timezone)),
        html: version.html.clone(),
    });
    let current_source = figures
        .versions
        .first()
        .map(|(version, _)| version.source.clone())
        .unwrap_or_default();
    let active = figures.active_residents;
    let versions = figures
        .versions
        .iter()
        .map(|(version, accepted)| VersionRow {
            number: version.number,
            kind: kind_label(&version.kind),
            published: crate::format::date_time(&version.published_at.with_timezone(&timezone)),
            accepted: *accepted,
            share: (accepted * 100)
                .checked_div(active)
                .map_or_else(|| "—".to_owned(), |share| format!("{share} %")),
        })
        .collect();
    let input = input.unwrap_or(Input {
        text: current_source,
        kind: "majeure".to_owned(),
        error: None,
        errors: Vec::new(),
        preview: None,
    });
    let error_of = |field: &str| {
        input
            .errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let view = TermsView {
        csrf: csrf.token().to_owned(),
        current,
        versions,
        active_residents: active,
        kinds: kind_choices(&input.kind),
        text_error: error_of("texte"),
        kind_error: error_of("nature"),
        text: input.text,
        kind: input.kind,
        error: input.error,
        errors: input.errors,
        preview: input.preview,
    };
    staff_page(page, staff, csrf).render(status, "admin/terms", "Conditions d'utilisation", view)
}

#[get("/cgu")]
async fn terms_page(
    page: AdminPage,
    staff: Staff<ManageTown>,
    terms: &State<Terms>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    render(
        page.with_flash(flash),
        &staff,
        terms,
        &csrf,
        Status::Ok,
        None,
    )
    .await
}

#[derive(Debug, FromForm)]
struct TermsForm<'r> {
    text: &'r str,
    kind: &'r str,
}

/// The form's text as it will be stored (the hash of a version is that of
/// its trimmed text: a browser's CRLF must not make a "new" version).
fn normalised(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_owned()
}

fn check(form: &TermsForm<'_>) -> (String, Option<TermsKind>, Vec<FieldError>) {
    let text = normalised(form.text);
    let kind = parse_kind(form.kind);
    let mut errors = Vec::new();
    if text.is_empty() {
        errors.push(FieldError {
            field: "texte",
            message: "Saisissez le texte des conditions d'utilisation.".to_owned(),
        });
    }
    if kind.is_none() {
        errors.push(FieldError {
            field: "nature",
            message: "Choisissez la nature de la version : majeure ou mineure.".to_owned(),
        });
    }
    (text, kind, errors)
}

#[post("/cgu/apercu", data = "<form>")]
async fn terms_preview<'r>(
    page: AdminPage,
    staff: Staff<ManageTown>,
    terms: &State<Terms>,
    csrf: Csrf,
    form: Checked<'r, TermsForm<'r>>,
) -> Result<Page, PageError> {
    let (form, refused) = input_of(form)?;
    // A stale or foreign token: the text again, nothing previewed.
    if let Some(status) = refused {
        let input = Input {
            text: normalised(form.text),
            kind: form.kind.to_owned(),
            error: Some(refusal_message(status).to_owned()),
            errors: Vec::new(),
            preview: None,
        };
        return render(page, &staff, terms, &csrf, status, Some(input)).await;
    }
    let (text, kind, errors) = check(&form);
    let preview = match kind {
        Some(kind) if errors.is_empty() => {
            let current = terms.current(&staff.tenant).await?;
            Some(PreviewView {
                html: crate::terms::render_markdown(&text),
                diff: current.map(|current| diff_view(diff_lines(&current.source, &text))),
                kind_label: kind_label(match kind {
                    TermsKind::Major => crate::terms::entity::terms_version::MAJOR,
                    TermsKind::Minor => crate::terms::entity::terms_version::MINOR,
                }),
            })
        }
        _ => None,
    };
    let status = if errors.is_empty() {
        Status::Ok
    } else {
        Status::UnprocessableEntity
    };
    let input = Input {
        text,
        kind: form.kind.to_owned(),
        error: None,
        errors,
        preview,
    };
    render(page, &staff, terms, &csrf, status, Some(input)).await
}

#[post("/cgu/publier", data = "<form>")]
async fn terms_publish<'r>(
    page: AdminPage,
    staff: Staff<ManageTown>,
    terms: &State<Terms>,
    csrf: Csrf,
    origin: Origin,
    form: CsrfForm<TermsForm<'r>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    let (text, kind, mut errors) = check(&form);
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        let input = Input {
            text,
            kind: form.kind.to_owned(),
            error: None,
            errors,
            preview: None,
        };
        return render(
            page,
            &staff,
            terms,
            &csrf,
            Status::UnprocessableEntity,
            Some(input),
        )
        .await
        .map(Either::Left);
    };
    match terms
        .publish_as(&staff.tenant, &text, kind, staff.actor(), &origin)
        .await?
    {
        PublishOutcome::Published { number, kind } => {
            let message = match kind {
                TermsKind::Major => format!(
                    "Version {number} publiée (majeure) : chaque usager devra l'accepter à sa prochaine page."
                ),
                TermsKind::Minor => format!(
                    "Version {number} publiée (mineure) : les usagers en seront informés par un bandeau."
                ),
            };
            Ok(Either::Right(Flash::success(Redirect::to(PATH), message)))
        }
        PublishOutcome::Unchanged { number } => {
            errors.push(FieldError {
                field: "texte",
                message: format!(
                    "Ce texte est déjà celui de la version {number} : modifiez-le avant de le publier."
                ),
            });
            let input = Input {
                text,
                kind: form.kind.to_owned(),
                error: None,
                errors,
                preview: None,
            };
            render(page, &staff, terms, &csrf, Status::Conflict, Some(input))
                .await
                .map(Either::Left)
        }
    }
}

#[derive(Responder)]
#[response(content_type = "text/csv")]
struct CsvDownload {
    body: Vec<u8>,
    disposition: Header<'static>,
}

/// The acceptances as CSV (the columns of `guichet terms export`).
#[get("/cgu/acceptations.csv")]
async fn terms_export(
    staff: Staff<ManageTown>,
    terms: &State<Terms>,
    origin: Origin,
) -> Result<CsvDownload, PageError> {
    let mut body = Vec::new();
    terms
        .export_csv_as(&staff.tenant, &mut body, staff.actor(), &origin)
        .await
        .map_err(|error| match error {
            crate::terms::ExportError::Database(error) => PageError::Database(error),
            other => PageError::Database(sea_orm::DbErr::Custom(other.to_string())),
        })?;
    let name = format!("acceptations-cgu-{}.csv", staff.tenant.slug);
    Ok(CsvDownload {
        body,
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ),
    })
}
