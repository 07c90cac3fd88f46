//! `/admin/journal`: the town's journal for its staff (agents and up) —
//! filters (actor, event, resident, dates), pages newest first, and the
//! CSV export of the same filter (`/admin/journal/export`), streamed a
//! page of events at a time.
//!
//! The filters are a GET form (reading changes nothing): bad input shows
//! the page again with the input and a message per field, and no events.

use std::sync::Arc;

use chrono::Utc;
use rocket::Either;
use rocket::form::FromForm;
use rocket::http::{ContentType, Header, Status};
use rocket::response::stream::ByteStream;
use rocket::{Route, State, get, routes};
use serde::Serialize;

use super::{
    AdminPage, Csrf, FieldError, Staff, day_range, resident_filter, staff_page, with_query,
};
use crate::audit::{
    ActorFilter, ActorKind, AuditKind, Cursor, ExportError, Journal, JournalFilter,
    JournalSettings, Reader,
};
use crate::staff::{ReadJournal, StaffService};
use crate::tenancy::Tenant;
use crate::web::kit::{Page, PageError};

pub(super) fn routes() -> Vec<Route> {
    routes![journal, export]
}

/// Events per page.
const PAGE: u64 = 50;

/// The filters as the form sends them: text, checked by [`Filters::check`].
#[derive(Debug, Default, FromForm)]
struct Query {
    acteur: Option<String>,
    evenement: Option<String>,
    usager: Option<String>,
    du: Option<String>,
    au: Option<String>,
    apres: Option<String>,
}

/// One `<option>`.
#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The form as typed, and each field's message.
#[derive(Debug, Default, Serialize)]
struct FormView {
    actors: Vec<Choice>,
    kinds: Vec<Choice>,
    usager: String,
    usager_error: Option<String>,
    du: String,
    du_error: Option<String>,
    au: String,
    au_error: Option<String>,
}

#[derive(Debug, Serialize)]
struct EntryView {
    date: String,
    iso: String,
    label: String,
    actor: String,
    subject_name: Option<String>,
    subject_identifier: Option<String>,
    /// The page filtered on this event's resident.
    subject_href: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
struct JournalView {
    form: FormView,
    errors: Vec<FieldError>,
    /// None when the filters are refused.
    entries: Option<Vec<EntryView>>,
    /// The next page's address.
    next: Option<String>,
    /// On a page after the first: the first page's address.
    first: Option<String>,
    export: String,
    retention_days: u32,
}

/// The checked filters, with what to show again.
struct Filters {
    filter: JournalFilter,
    form: FormView,
    errors: Vec<FieldError>,
    /// The filters, as a query string (`acteur=…&du=…`), for the links.
    query: String,
}

impl Filters {
    async fn check(
        query: &Query,
        tenant: &Tenant,
        journal: &Journal,
        members: &[crate::staff::StaffMember],
    ) -> Result<Self, PageError> {
        let mut filter = JournalFilter::default();
        let mut form = FormView::default();
        let mut errors = Vec::new();
        let text = |value: &Option<String>| value.as_deref().unwrap_or_default().trim().to_owned();

        let actor = text(&query.acteur);
        filter.actor = parse_actor(&actor);
        form.actors = actor_choices(members, &actor);
        let kind = text(&query.evenement);
        filter.kind = AuditKind::parse(&kind);
        form.kinds = std::iter::once(Choice {
            value: String::new(),
            label: "Tous les événements".to_owned(),
            selected: filter.kind.is_none(),
        })
        .chain(AuditKind::all().map(|each| Choice {
            value: each.as_str().to_owned(),
            label: each.label().to_owned(),
            selected: filter.kind == Some(each),
        }))
        .collect();

        form.usager = text(&query.usager);
        (filter.subject, form.usager_error) =
            resident_filter(journal, tenant, &form.usager).await?;
        form.du = text(&query.du);
        form.au = text(&query.au);
        let range = day_range(tenant, &form.du, &form.au);
        (filter.from, filter.until) = (range.from, range.until);
        (form.du_error, form.au_error) = (range.du_error, range.au_error);
        for (field, error) in [
            ("usager", &form.usager_error),
            ("du", &form.du_error),
            ("au", &form.au_error),
        ] {
            if let Some(message) = error {
                errors.push(FieldError {
                    field,
                    message: message.clone(),
                });
            }
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                [
                    ("acteur", actor.as_str()),
                    ("evenement", filter.kind.map_or("", AuditKind::as_str)),
                    ("usager", form.usager.as_str()),
                    ("du", form.du.as_str()),
                    ("au", form.au.as_str()),
                ]
                .into_iter()
                .filter(|(_, value)| !value.is_empty()),
            )
            .finish();
        Ok(Self {
            filter,
            form,
            errors,
            query,
        })
    }
}

/// `resident`, `staff`, `staff:<id>`, `api_key`, `system`, `anonymous`.
fn parse_actor(text: &str) -> Option<ActorFilter> {
    match text.split_once(':') {
        Some(("staff", id)) => id.parse().ok().map(ActorFilter::Staff),
        Some(_) => None,
        None => ActorKind::parse(text).map(ActorFilter::Kind),
    }
}

fn actor_choices(members: &[crate::staff::StaffMember], selected: &str) -> Vec<Choice> {
    let kind = |kind: ActorKind| (kind.as_str().to_owned(), kind.label().to_owned());
    let mut choices = vec![
        (String::new(), "Tous".to_owned()),
        kind(ActorKind::Resident),
        kind(ActorKind::Staff),
    ];
    choices.extend(members.iter().map(|member| {
        (
            format!("staff:{}", member.id),
            format!("— {}", crate::staff::actor_label(member)),
        )
    }));
    choices.extend([
        kind(ActorKind::ApiKey),
        kind(ActorKind::System),
        kind(ActorKind::Anonymous),
    ]);
    choices
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

#[get("/journal?<query..>")]
async fn journal(
    page: AdminPage,
    staff: Staff<ReadJournal>,
    journal: &State<Journal>,
    service: &State<StaffService>,
    csrf: Csrf,
    query: Query,
) -> Result<Page, PageError> {
    let tenant = &staff.tenant;
    let members = service.members(tenant).await?;
    let filters = Filters::check(&query, tenant, journal, &members).await?;
    let after = query.apres.as_deref().and_then(Cursor::decode);
    let (entries, next, status) = if filters.errors.is_empty() {
        let found = journal.page(tenant, &filters.filter, after, PAGE).await?;
        let entries = found
            .entries
            .iter()
            .map(|entry| {
                let event = &entry.event;
                let at = event.created_at.with_timezone(&tenant.timezone);
                EntryView {
                    date: crate::format::date_time(&at),
                    iso: at.to_rfc3339(),
                    label: entry.label().into_owned(),
                    actor: entry.actor_label(Reader::Staff),
                    subject_name: entry.subject.as_ref().map(|s| s.name.clone()),
                    subject_identifier: entry.subject.as_ref().map(|s| s.identifier.clone()),
                    subject_href: entry.subject.as_ref().map(|s| {
                        let query = url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("usager", &s.identifier)
                            .finish();
                        format!("/admin/journal?{query}")
                    }),
                    ip: event.ip.clone(),
                    detail: event.detail.clone(),
                }
            })
            .collect();
        let next = found
            .next
            .map(|cursor| with_query("/admin/journal", &filters.query, Some(&cursor.encode())));
        (Some(entries), next, Status::Ok)
    } else {
        (None, None, Status::UnprocessableEntity)
    };
    let view = JournalView {
        first: after.map(|_| with_query("/admin/journal", &filters.query, None)),
        export: with_query("/admin/journal/export", &filters.query, None),
        form: filters.form,
        errors: filters.errors,
        entries,
        next,
        retention_days: JournalSettings::of(tenant).retention_days,
    };
    staff_page(page, &staff, &csrf).render(status, "admin/journal", "Journal", view)
}

/// The CSV file: its stream, its type, and the name it is saved under.
#[derive(Debug, rocket::Responder)]
struct CsvDownload<S> {
    body: ByteStream<S>,
    content_type: ContentType,
    disposition: Header<'static>,
}

/// The journal's events of the same filter as CSV (refused filters: the
/// page with its messages). The first page of events is read before the
/// answer starts, so that a database that does not answer gets its 503;
/// a failure further on ends the file short, logged.
#[get("/journal/export?<query..>")]
async fn export(
    page: AdminPage,
    staff: Staff<ReadJournal>,
    journal: &State<Journal>,
    service: &State<StaffService>,
    csrf: Csrf,
    query: Query,
) -> Result<Either<Page, CsvDownload<impl rocket::futures::Stream<Item = Vec<u8>>>>, PageError> {
    let tenant: Arc<Tenant> = staff.tenant.clone();
    let members = service.members(&tenant).await?;
    let filters = Filters::check(&query, &tenant, journal, &members).await?;
    if !filters.errors.is_empty() {
        return journal_page_again(page, staff, journal, service, csrf, query).await;
    }
    // Two rounds in the pipe at most: memory stays bounded whatever the
    // journal's length, and a client that reads slowly slows the reading.
    let (sender, mut chunks) = tokio::sync::mpsc::channel(2);
    let reader = journal.inner().clone();
    let town = tenant.clone();
    let filter = filters.filter;
    tokio::spawn(async move { reader.export_csv(&town, &filter, sender).await });
    let first = match chunks.recv().await {
        Some(Ok(first)) => first,
        Some(Err(ExportError::Database(error))) => return Err(PageError::Database(error)),
        Some(Err(error)) => {
            tracing::error!(town = tenant.slug, %error, "journal export failed");
            return Err(PageError::status(Status::InternalServerError));
        }
        None => return Err(PageError::status(Status::InternalServerError)),
    };
    let slug = tenant.slug.clone();
    let body =
        rocket::futures::stream::unfold((Some(first), chunks), move |(first, mut chunks)| {
            let slug = slug.clone();
            async move {
                if let Some(first) = first {
                    return Some((first, (None, chunks)));
                }
                match chunks.recv().await {
                    Some(Ok(rows)) => Some((rows, (None, chunks))),
                    Some(Err(error)) => {
                        tracing::error!(town = slug, %error, "journal export failed midway");
                        None
                    }
                    None => None,
                }
            }
        });
    let today = Utc::now().with_timezone(&tenant.timezone).date_naive();
    Ok(Either::Right(CsvDownload {
        body: ByteStream(body),
        content_type: ContentType::CSV,
        disposition: Header::new(
            "Content-Disposition",
            format!(
                "attachment; filename=\"journal-{}-{}.csv\"",
                tenant.slug,
                today.format("%Y-%m-%d")
            ),
        ),
    }))
}

/// The journal page with the refused filters' messages (an export asked
/// with filters that do not hold).
async fn journal_page_again<S>(
    page: AdminPage,
    staff: Staff<ReadJournal>,
    journal_state: &State<Journal>,
    service: &State<StaffService>,
    csrf: Csrf,
    query: Query,
) -> Result<Either<Page, CsvDownload<S>>, PageError> {
    journal(page, staff, journal_state, service, csrf, query)
        .await
        .map(Either::Left)
}
