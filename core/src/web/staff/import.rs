//! `/admin/usagers/import`: a gestionnaire imports residents' accounts from
//! a CSV file. The upload runs a simulation (nothing written but the kept
//! file) and leads to its report (`/admin/usagers/import/<id>`); the
//! execution takes the simulation's id and the file's SHA-256, so that what
//! is executed is exactly what was simulated; executed imports are listed
//! with their reports, downloadable as CSV. The service does the work
//! (accounts/import/); this file reads the upload and shows the outcome.

use rocket::form::FromForm;
use rocket::fs::TempFile;
use rocket::http::{ContentType, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::tokio::io::AsyncReadExt as _;
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, CsrfForm, FieldError, Staff, staff_page};
use crate::accounts::Accounts;
use crate::accounts::import::{
    ExecuteProblem, FileRefusal, ImportReport, ImportStatus, ImportUpload, KeptImport, LineOutcome,
    MAX_FILE_BYTES, MAX_LINES, thousands,
};
use crate::audit::Origin;
use crate::staff::ImportResidents;
use crate::web::kit::{Page, PageError, Refused, refusal_message};

/// The routes under `/usagers/import/<id>` have an explicit rank: the
/// residents' pages (`/usagers/<identifier>/…`) would otherwise collide
/// with them at launch (a static segment meets a dynamic one each way).
pub(super) fn routes() -> Vec<Route> {
    routes![home, upload, report, report_csv, execute]
}

const PATH: &str = "/admin/usagers/import";
/// Executed imports listed on the page.
const LISTED: u64 = 50;
/// Lines of a report shown in its page (all of them are in the CSV).
const SHOWN_LINES: usize = 200;
const SHOWN_ERRORS: usize = 500;

#[derive(Serialize)]
struct Limits {
    megabytes: usize,
    lines: String,
}

fn limits() -> Limits {
    Limits {
        megabytes: MAX_FILE_BYTES / (1024 * 1024),
        lines: thousands(MAX_LINES),
    }
}

#[derive(Serialize)]
struct KeptRow {
    id: i32,
    executed_at: String,
    file_name: String,
    staff: String,
    created: usize,
    updated: usize,
    unchanged: usize,
}

#[derive(Serialize)]
struct HomeView {
    csrf: String,
    limits: Limits,
    update_known: bool,
    file_error: Option<String>,
    errors: Vec<FieldError>,
    imports: Vec<KeptRow>,
    how_to_save: &'static str,
}

async fn render_home(
    page: AdminPage,
    staff: &Staff<ImportResidents>,
    accounts: &Accounts,
    csrf: &Csrf,
    status: Status,
    update_known: bool,
    file_error: Option<String>,
) -> Result<Page, PageError> {
    let timezone = staff.tenant.timezone;
    let imports = accounts
        .executed_imports(&staff.tenant, LISTED)
        .await?
        .into_iter()
        .map(|kept| KeptRow {
            id: kept.id,
            executed_at: kept
                .executed_at
                .map(|at| crate::format::date_time(&at.with_timezone(&timezone)))
                .unwrap_or_default(),
            file_name: kept.file_name,
            staff: kept.staff_label.unwrap_or_default(),
            created: kept.counts.to_create,
            updated: kept.counts.to_update,
            unchanged: kept.counts.unchanged,
        })
        .collect();
    let errors = file_error
        .iter()
        .map(|message| FieldError {
            field: "fichier",
            message: message.clone(),
        })
        .collect();
    let view = HomeView {
        csrf: csrf.token().to_owned(),
        limits: limits(),
        update_known,
        file_error,
        errors,
        imports,
        how_to_save: crate::accounts::import::HOW_TO_SAVE_AS_UTF8,
    };
    staff_page(page, staff, csrf).render(status, "admin/import", "Import d'usagers", view)
}

#[get("/usagers/import")]
async fn home(
    page: AdminPage,
    staff: Staff<ImportResidents>,
    accounts: &State<Accounts>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    render_home(
        page.with_flash(flash),
        &staff,
        accounts,
        &csrf,
        Status::Ok,
        false,
        None,
    )
    .await
}

#[derive(Debug, FromForm)]
struct UploadForm<'r> {
    fichier: Option<TempFile<'r>>,
    mettre_a_jour: bool,
}

/// The uploaded file's bytes and name.
async fn read_upload(file: &TempFile<'_>) -> std::io::Result<(Vec<u8>, String)> {
    let mut bytes = Vec::new();
    file.open().await?.read_to_end(&mut bytes).await?;
    let name = file
        .raw_name()
        .map(|name| name.dangerous_unsafe_unsanitized_raw().as_str().to_owned())
        .unwrap_or_default();
    Ok((bytes, name))
}

#[post("/usagers/import", data = "<form>")]
async fn upload<'r>(
    page: AdminPage,
    staff: Staff<ImportResidents>,
    accounts: &State<Accounts>,
    csrf: Csrf,
    origin: Origin,
    form: Checked<'r, UploadForm<'r>>,
) -> Result<Either<Page, Redirect>, PageError> {
    let (status, message, update_known) = match simulate(&staff, accounts, &origin, form).await? {
        Ok(import_id) => return Ok(Either::Right(Redirect::to(format!("{PATH}/{import_id}")))),
        Err(refused) => refused,
    };
    render_home(
        page,
        &staff,
        accounts,
        &csrf,
        status,
        update_known,
        Some(message),
    )
    .await
    .map(Either::Left)
}

/// The simulation's id, or why the upload is refused: the status, the
/// message and the box as it was ticked.
async fn simulate<'r>(
    staff: &Staff<ImportResidents>,
    accounts: &Accounts,
    origin: &Origin,
    form: Checked<'r, UploadForm<'r>>,
) -> Result<Result<i32, (Status, String, bool)>, PageError> {
    let unreceived = "Le fichier n'a pas pu être reçu : déposez-le de nouveau.";
    let form = match form {
        Ok(form) => form.into_inner(),
        // Past the form's data limit: the same words as the service's.
        Err(refused) if refused.status() == Status::PayloadTooLarge => {
            return Ok(Err((
                Status::PayloadTooLarge,
                FileRefusal::TooLarge.message(),
                false,
            )));
        }
        Err(Refused::Malformed(errors)) => {
            return Ok(Err((errors.status(), unreceived.to_owned(), false)));
        }
        Err(refused) => {
            let status = refused.status();
            return Ok(Err((status, refusal_message(status).to_owned(), false)));
        }
    };
    let update_known = form.mettre_a_jour;
    let Some(file) = form.fichier.as_ref().filter(|file| file.len() > 0) else {
        return Ok(Err((
            Status::UnprocessableEntity,
            "Choisissez le fichier CSV à importer.".to_owned(),
            update_known,
        )));
    };
    let Ok((bytes, file_name)) = read_upload(file).await else {
        return Ok(Err((
            Status::UnprocessableEntity,
            unreceived.to_owned(),
            update_known,
        )));
    };
    let upload = ImportUpload {
        file_name,
        bytes,
        update_known,
    };
    Ok(
        match accounts
            .simulate_import(&staff.tenant, &staff.actor(), origin, upload)
            .await?
        {
            Ok(simulation) => Ok(simulation.import_id),
            Err(refusal) => {
                let status = if refusal == FileRefusal::TooLarge {
                    Status::PayloadTooLarge
                } else {
                    Status::UnprocessableEntity
                };
                Err((status, refusal.message(), update_known))
            }
        },
    )
}

#[derive(Serialize)]
struct CountsView {
    to_create: usize,
    to_update: usize,
    unchanged: usize,
    differing: usize,
    error_lines: usize,
}

#[derive(Serialize)]
struct ErrorRow {
    line: u64,
    column: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct LineRow {
    line: u64,
    email: String,
    outcome: &'static str,
    identifier: String,
}

#[derive(Serialize)]
struct ReportView {
    csrf: String,
    id: i32,
    file_sha256: String,
    file_name: String,
    executed: bool,
    /// "le 01/12/2026 à 10:00 par Marie Durand (gestionnaire)".
    when: String,
    update_known: bool,
    counts: CountsView,
    line_count: i32,
    errors: Vec<ErrorRow>,
    errors_cut: bool,
    lines: Vec<LineRow>,
    lines_cut: bool,
    can_execute: bool,
    problem: Option<String>,
}

fn report_view(
    staff: &Staff<ImportResidents>,
    csrf: &Csrf,
    kept: &KeptImport,
    report: &ImportReport,
    problem: Option<String>,
) -> ReportView {
    let timezone = staff.tenant.timezone;
    let executed = kept.status == ImportStatus::Executed;
    let at = kept.executed_at.unwrap_or(kept.created_at);
    let by = kept
        .staff_label
        .as_ref()
        .map(|label| format!(" par {label}"))
        .unwrap_or_default();
    let counts = report.counts();
    ReportView {
        csrf: csrf.token().to_owned(),
        id: kept.id,
        file_sha256: kept.file_sha256.clone(),
        file_name: kept.file_name.clone(),
        executed,
        when: format!(
            "le {}{by}",
            crate::format::date_time(&at.with_timezone(&timezone))
        ),
        update_known: kept.update_known,
        counts: CountsView {
            to_create: counts.to_create,
            to_update: counts.to_update,
            unchanged: counts.unchanged,
            differing: report.differing(),
            error_lines: counts.error_lines,
        },
        line_count: kept.line_count,
        errors: report
            .errors
            .iter()
            .take(SHOWN_ERRORS)
            .map(|error| ErrorRow {
                line: error.line,
                column: error.column.map_or("(ligne entière)", |c| c.name()),
                reason: error.reason.clone(),
            })
            .collect(),
        errors_cut: report.errors.len() > SHOWN_ERRORS,
        lines: report
            .lines
            .iter()
            .filter(|line| line.outcome != LineOutcome::Error)
            .take(SHOWN_LINES)
            .map(|line| LineRow {
                line: line.line,
                email: line.email.clone(),
                outcome: line.outcome.label(report.executed),
                identifier: line.identifier.clone().unwrap_or_default(),
            })
            .collect(),
        lines_cut: report
            .lines
            .iter()
            .filter(|line| line.outcome != LineOutcome::Error)
            .count()
            > SHOWN_LINES,
        can_execute: !executed && counts.error_lines == 0,
        problem,
    }
}

fn render_report(
    page: AdminPage,
    staff: &Staff<ImportResidents>,
    csrf: &Csrf,
    status: Status,
    view: ReportView,
) -> Result<Page, PageError> {
    // Each report its own title: the browser's history and a screen
    // reader's tab list tell two imports apart.
    let title = format!(
        "{} n° {} ({})",
        if view.executed {
            "Rapport d'import"
        } else {
            "Simulation de l'import"
        },
        view.id,
        view.file_name
    );
    staff_page(page, staff, csrf).render(status, "admin/import_report", &title, view)
}

#[get("/usagers/import/<id>", rank = 1)]
async fn report(
    page: AdminPage,
    staff: Staff<ImportResidents>,
    accounts: &State<Accounts>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
    id: i32,
) -> Result<Page, PageError> {
    let Some((kept, report)) = accounts.import_report(&staff.tenant, id).await? else {
        return Err(PageError::status(Status::NotFound));
    };
    let view = report_view(&staff, &csrf, &kept, &report, None);
    render_report(page.with_flash(flash), &staff, &csrf, Status::Ok, view)
}

/// A CSV file to save.
#[derive(rocket::Responder)]
struct CsvDownload {
    body: Vec<u8>,
    content_type: ContentType,
    disposition: Header<'static>,
}

#[get("/usagers/import/<id>/rapport.csv", rank = 1)]
async fn report_csv(
    staff: Staff<ImportResidents>,
    accounts: &State<Accounts>,
    id: i32,
) -> Result<CsvDownload, PageError> {
    let Some((kept, report)) = accounts.import_report(&staff.tenant, id).await? else {
        return Err(PageError::status(Status::NotFound));
    };
    let body = report
        .to_csv()
        .map_err(|_| PageError::status(Status::InternalServerError))?;
    let kind = if kept.status == ImportStatus::Executed {
        "rapport"
    } else {
        "simulation"
    };
    Ok(CsvDownload {
        body,
        content_type: ContentType::new("text", "csv").with_params(("charset", "utf-8")),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"import-{}-{kind}.csv\"", kept.id),
        ),
    })
}

#[derive(Debug, FromForm)]
struct ExecuteForm<'r> {
    empreinte: &'r str,
}

#[post("/usagers/import/<id>/executer", data = "<form>", rank = 1)]
async fn execute(
    page: AdminPage,
    staff: Staff<ImportResidents>,
    accounts: &State<Accounts>,
    csrf: Csrf,
    origin: Origin,
    id: i32,
    form: CsrfForm<ExecuteForm<'_>>,
) -> Result<Either<Page, Flash<Redirect>>, PageError> {
    match accounts
        .execute_import(&staff.tenant, id, form.empreinte, &staff.actor(), &origin)
        .await?
    {
        Ok(report) => {
            let counts = report.counts();
            Ok(Either::Right(Flash::success(
                Redirect::to(format!("{PATH}/{id}")),
                format!(
                    "Import exécuté : {} compte(s) créé(s) (un courriel d'activation part pour chacun), {} mis à jour, {} inchangé(s).",
                    counts.to_create, counts.to_update, counts.unchanged
                ),
            )))
        }
        Err(problem) => {
            let Some((kept, stored)) = accounts.import_report(&staff.tenant, id).await? else {
                return Err(PageError::status(Status::NotFound));
            };
            let status = match problem {
                ExecuteProblem::Unknown => return Err(PageError::status(Status::NotFound)),
                ExecuteProblem::AlreadyExecuted | ExecuteProblem::Expired => Status::Conflict,
                ExecuteProblem::HasErrors(_) => Status::UnprocessableEntity,
            };
            let shown = match &problem {
                ExecuteProblem::HasErrors(report) => report,
                _ => &stored,
            };
            let mut view = report_view(
                &staff,
                &csrf,
                &kept,
                shown,
                Some(problem.message().to_owned()),
            );
            view.can_execute = false;
            render_report(page, &staff, &csrf, status, view).map(Either::Left)
        }
    }
}
