//! `/admin/demandes`: the requests' inbox and a request's page, for agents
//! and up. Taking a request, changing its status with a message to the
//! resident and writing internal notes need `HandleRequests` (agents);
//! assigning it to someone else needs `AssignRequests` (gestionnaires).
//! The work is the desk's (crate::requests); these handlers read the query
//! and the forms, and show the refusals next to their field.

use chrono::NaiveDate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Choice, Csrf, CsrfForm, FieldError, Staff, staff_page};
use crate::audit::Origin;
use crate::modules::Modules;
use crate::requests::entity::request;
use crate::requests::entity::request_event::EventAuthor;
use crate::requests::{
    self, Assignee, DeskError, InboxFilter, KindFilter, RequestDesk, RequestStatus, StatusFilter,
};
use crate::staff::{AssignRequests, HandleRequests, Permission};
use crate::tenancy::Tenant;
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, refusal_message};

pub(super) fn routes() -> Vec<Route> {
    routes![inbox, case, take, assign, change_status, add_note]
}

/// What each request type and module is called, by the value of the
/// inbox's type filter ("type:attestation", "module:absences").
async fn kind_labels(
    tenant: &Tenant,
    modules: &Modules,
) -> Result<Vec<(String, String)>, PageError> {
    let mut labels: Vec<(String, String)> = requests::request_types(tenant)
        .iter()
        .map(|declared| (format!("type:{}", declared.id), declared.label.clone()))
        .collect();
    for module in modules.enabled(tenant).await? {
        labels.push((
            format!("module:{}", module.module_id),
            format!("{} (module)", module.manifest.name),
        ));
    }
    Ok(labels)
}

fn kind_key(request: &request::Model) -> String {
    match &request.module_id {
        Some(module) => format!("module:{module}"),
        None => format!("type:{}", request.kind),
    }
}

fn kind_label(labels: &[(String, String)], request: &request::Model) -> String {
    let key = kind_key(request);
    labels.iter().find(|(value, _)| *value == key).map_or_else(
        || match &request.module_id {
            Some(module) => format!("{module} (module)"),
            None => request.kind.clone(),
        },
        |(_, label)| label.clone(),
    )
}

// ---------------------------------------------------------------- inbox --

#[derive(Serialize)]
struct RowView {
    reference: String,
    href: String,
    title: String,
    kind: String,
    resident: String,
    status: &'static str,
    tone: &'static str,
    date: String,
    assignee: Option<String>,
}

#[derive(Serialize)]
struct CountView {
    label: &'static str,
    count: u64,
    href: String,
}

#[derive(Serialize)]
struct OptionView {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct StatView {
    label: String,
    count: u64,
}

#[derive(Serialize)]
struct InboxView {
    rows: Vec<RowView>,
    total: u64,
    /// Not `page`: the layout's `page.title` would be hidden.
    current_page: u64,
    pages: u64,
    previous: Option<String>,
    next: Option<String>,
    counts: Vec<CountView>,
    statuses: Vec<OptionView>,
    kinds: Vec<OptionView>,
    agents: Vec<OptionView>,
    from: String,
    to: String,
    search: String,
    resident: Option<i32>,
    errors: Vec<FieldError>,
    from_error: Option<String>,
    to_error: Option<String>,
    caption: String,
    open_per_type: Vec<StatView>,
    closed_last_30_days: u64,
    median: Option<String>,
}

/// "2 j 4 h", "3 h 10 min": a duration as the statistics show it.
fn duration_label(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    if days > 0 {
        format!("{days} j {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    }
}

fn parse_day(text: Option<&str>, label: &str) -> Result<Option<NaiveDate>, String> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{label} : saisissez une date au format AAAA-MM-JJ.")),
    }
}

/// The inbox's query, as the links and the filter form carry it.
#[derive(Debug, Default, Clone, FromForm)]
struct InboxQuery {
    statut: Option<String>,
    demarche: Option<String>,
    du: Option<String>,
    au: Option<String>,
    agent: Option<String>,
    usager: Option<i32>,
    q: Option<String>,
    page: Option<u64>,
}

impl InboxQuery {
    /// The query string for page `page` (or for another status).
    fn href(&self, page: u64, statut: Option<&str>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let pairs = [
            (
                "statut",
                statut.map(str::to_owned).or_else(|| self.statut.clone()),
            ),
            ("demarche", self.demarche.clone()),
            ("du", self.du.clone()),
            ("au", self.au.clone()),
            ("agent", self.agent.clone()),
            ("usager", self.usager.map(|id| id.to_string())),
            ("q", self.q.clone()),
        ];
        for (key, value) in pairs {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                query.append_pair(key, &value);
            }
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        format!("/admin/demandes?{}", query.finish())
    }
}

#[get("/demandes?<query..>")]
async fn inbox(
    page: AdminPage,
    staff: Staff<HandleRequests>,
    desk: &State<RequestDesk>,
    modules: &State<Modules>,
    csrf: Csrf,
    query: InboxQuery,
    flash: Option<FlashMessage<'_>>,
) -> Result<Page, PageError> {
    let tenant = &staff.tenant;
    let me = staff.member.id;
    let status = match query.statut.as_deref() {
        None | Some("" | "a-traiter") => StatusFilter::Waiting,
        Some("toutes") => StatusFilter::All,
        Some(other) => RequestStatus::parse(other).map_or(StatusFilter::Waiting, StatusFilter::Is),
    };
    let kind = query.demarche.as_deref().and_then(|value| {
        if let Some(id) = value.strip_prefix("type:") {
            Some(KindFilter::Type(id.to_owned()))
        } else {
            value
                .strip_prefix("module:")
                .map(|id| KindFilter::Module(id.to_owned()))
        }
    });
    let assignee = match query.agent.as_deref() {
        Some("moi") => Some(Assignee::Member(me)),
        Some("personne") => Some(Assignee::Nobody),
        Some(id) => id.parse().ok().map(Assignee::Member),
        None => None,
    };
    let mut errors = Vec::new();
    let from = parse_day(query.du.as_deref(), "Déposée à partir du").unwrap_or_else(|error| {
        errors.push(FieldError {
            field: "du",
            message: error,
        });
        None
    });
    let to = parse_day(query.au.as_deref(), "Déposée jusqu'au").unwrap_or_else(|error| {
        errors.push(FieldError {
            field: "au",
            message: error,
        });
        None
    });
    let filter = InboxFilter {
        status,
        kind: kind.clone(),
        from,
        to,
        assignee,
        resident: query.usager,
        search: query.q.clone(),
        page: query.page.unwrap_or(1),
    };
    let found = desk.inbox(tenant, me, &filter).await?;
    let labels = kind_labels(tenant, modules).await?;
    let stats = desk.stats(tenant).await?;
    let members = desk.member_names(tenant).await?;
    let timezone = tenant.timezone;

    let rows = found
        .rows
        .iter()
        .map(|row| RowView {
            reference: row.request.reference.clone(),
            href: format!("/admin/demandes/{}", row.request.reference),
            title: row.request.title.clone(),
            kind: kind_label(&labels, &row.request),
            resident: row.resident.clone(),
            status: row.request.status.label(),
            tone: row.request.status.tone(),
            date: crate::format::date_time(&row.request.created_at.with_timezone(&timezone)),
            assignee: row.assignee.clone(),
        })
        .collect();
    let selected_status = query
        .statut
        .clone()
        .unwrap_or_else(|| "a-traiter".to_owned());
    let mut statuses = vec![
        OptionView {
            value: "a-traiter".to_owned(),
            label: "À traiter (déposées, et en cours pour moi ou personne)".to_owned(),
            selected: status == StatusFilter::Waiting,
        },
        OptionView {
            value: "toutes".to_owned(),
            label: "Toutes".to_owned(),
            selected: selected_status == "toutes",
        },
    ];
    statuses.extend(RequestStatus::ALL.into_iter().map(|status| OptionView {
        value: status.as_str().to_owned(),
        label: status.label().to_owned(),
        selected: selected_status == status.as_str(),
    }));
    let mut kinds = vec![OptionView {
        value: String::new(),
        label: "Toutes les démarches".to_owned(),
        selected: kind.is_none(),
    }];
    kinds.extend(labels.iter().map(|(value, label)| OptionView {
        value: value.clone(),
        label: label.clone(),
        selected: query.demarche.as_deref() == Some(value.as_str()),
    }));
    let agent = query.agent.clone().unwrap_or_default();
    let mut agents = vec![
        OptionView {
            value: String::new(),
            label: "Tous".to_owned(),
            selected: agent.is_empty(),
        },
        OptionView {
            value: "moi".to_owned(),
            label: "Moi".to_owned(),
            selected: agent == "moi",
        },
        OptionView {
            value: "personne".to_owned(),
            label: "Personne".to_owned(),
            selected: agent == "personne",
        },
    ];
    let mut team: Vec<(&i32, &String)> = members.iter().collect();
    team.sort_by(|a, b| a.1.cmp(b.1));
    agents.extend(team.into_iter().map(|(id, name)| OptionView {
        value: id.to_string(),
        label: name.clone(),
        selected: agent == id.to_string(),
    }));
    let counts = found
        .counts
        .iter()
        .map(|(status, count)| CountView {
            label: status.label(),
            count: *count,
            href: query.href(1, Some(status.as_str())),
        })
        .collect();
    let open_per_type = stats
        .open_per_type
        .iter()
        .map(|(kind, module, count)| {
            let key = match module {
                Some(module) => format!("module:{module}"),
                None => format!("type:{kind}"),
            };
            StatView {
                label: labels
                    .iter()
                    .find(|(value, _)| *value == key)
                    .map_or_else(|| kind.clone(), |(_, label)| label.clone()),
                count: *count,
            }
        })
        .collect();
    let view = InboxView {
        caption: format!(
            "Demandes ({} au total, page {} sur {})",
            found.total, found.page, found.pages
        ),
        rows,
        total: found.total,
        current_page: found.page,
        pages: found.pages,
        previous: (found.page > 1).then(|| query.href(found.page - 1, None)),
        next: (found.page < found.pages).then(|| query.href(found.page + 1, None)),
        counts,
        statuses,
        kinds,
        agents,
        from: query.du.clone().unwrap_or_default(),
        to: query.au.clone().unwrap_or_default(),
        search: query.q.clone().unwrap_or_default(),
        resident: query.usager,
        from_error: errors
            .iter()
            .find(|e| e.field == "du")
            .map(|e| e.message.clone()),
        to_error: errors
            .iter()
            .find(|e| e.field == "au")
            .map(|e| e.message.clone()),
        errors,
        open_per_type,
        closed_last_30_days: stats.closed_last_30_days,
        median: stats.median_time_to_close.map(duration_label),
    };
    staff_page(page.with_flash(flash), &staff, &csrf).ok("admin/requests", "Demandes", view)
}

// ----------------------------------------------------------------- case --

#[derive(Serialize)]
struct EventView {
    at: String,
    status: &'static str,
    author: &'static str,
    note: Option<String>,
}

#[derive(Serialize)]
struct NoteView {
    at: String,
    author: String,
    body: String,
}

/// What the forms of the page hold after a refusal.
#[derive(Default, Serialize)]
struct CaseInput {
    status: String,
    message: String,
    note: String,
    message_error: Option<String>,
    status_error: Option<String>,
    note_error: Option<String>,
    agent_error: Option<String>,
}

#[derive(Serialize)]
struct CaseView {
    csrf: String,
    reference: String,
    title: String,
    kind: String,
    status: &'static str,
    tone: &'static str,
    filed: String,
    resident: String,
    resident_email: String,
    resident_href: String,
    details: Vec<(String, String)>,
    history: Vec<EventView>,
    notes: Vec<NoteView>,
    assignee: Option<String>,
    mine: bool,
    may_assign: bool,
    next: Vec<Choice>,
    team: Vec<OptionView>,
    input: CaseInput,
    errors: Vec<FieldError>,
}

#[allow(clippy::too_many_arguments)]
async fn render_case<P: Permission>(
    page: AdminPage,
    staff: &Staff<P>,
    desk: &RequestDesk,
    modules: &Modules,
    csrf: &Csrf,
    reference: &str,
    status: Status,
    input: CaseInput,
) -> Result<Option<Page>, PageError> {
    let tenant = &staff.tenant;
    let case = match desk.case(tenant, reference).await {
        Ok(case) => case,
        Err(DeskError::NotFound) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let labels = kind_labels(tenant, modules).await?;
    let timezone = tenant.timezone;
    let errors: Vec<FieldError> = [
        ("statut", &input.status_error),
        ("message", &input.message_error),
        ("note", &input.note_error),
        ("agent", &input.agent_error),
    ]
    .into_iter()
    .filter_map(|(field, error)| {
        error.as_ref().map(|message| FieldError {
            field,
            message: message.clone(),
        })
    })
    .collect();
    let request = &case.request;
    let view = CaseView {
        csrf: csrf.token().to_owned(),
        reference: request.reference.clone(),
        title: request.title.clone(),
        kind: kind_label(&labels, request),
        status: request.status.label(),
        tone: request.status.tone(),
        filed: crate::format::date_time(&request.created_at.with_timezone(&timezone)),
        resident: crate::format::full_name(&case.resident.first_name, &case.resident.last_name),
        resident_email: case.resident.email.clone(),
        resident_href: format!("/admin/demandes?statut=toutes&usager={}", case.resident.id),
        details: requests::details(request)
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .collect(),
        history: case
            .events
            .iter()
            .map(|event| EventView {
                at: crate::format::date_time(&event.at.with_timezone(&timezone)),
                status: event.status.label(),
                author: match event.author {
                    Some(EventAuthor::Staff) => "la mairie",
                    Some(EventAuthor::Resident) => "l'usager",
                    None => "",
                },
                note: event.note.clone(),
            })
            .collect(),
        notes: case
            .notes
            .iter()
            .map(|note| NoteView {
                at: crate::format::date_time(&note.at.with_timezone(&timezone)),
                author: note.staff_label.clone(),
                body: note.body.clone(),
            })
            .collect(),
        assignee: case
            .assignee
            .as_ref()
            .map(crate::staff::StaffMember::display_name),
        mine: case
            .assignee
            .as_ref()
            .is_some_and(|member| member.id == staff.member.id),
        may_assign: staff.member.role.may::<AssignRequests>(),
        next: case
            .next
            .iter()
            .map(|next| Choice {
                value: next.as_str(),
                label: next.label(),
                selected: input.status == next.as_str(),
            })
            .collect(),
        team: case
            .team
            .iter()
            .map(|member| OptionView {
                value: member.id.to_string(),
                label: format!("{} — {}", member.display_name(), member.role.label()),
                selected: case
                    .assignee
                    .as_ref()
                    .is_some_and(|assignee| assignee.id == member.id),
            })
            .collect(),
        input,
        errors,
    };
    // A refused form is shown at its action's address: its own title, which
    // says so (RGAA 8.6), not the page's.
    let title = if status == Status::Ok {
        format!("Demande {}", request.reference)
    } else {
        format!("Erreur – Demande {}", request.reference)
    };
    staff_page(page, staff, csrf)
        .render(status, "admin/request", &title, view)
        .map(Some)
}

#[get("/demandes/<reference>")]
async fn case(
    page: AdminPage,
    staff: Staff<HandleRequests>,
    desk: &State<RequestDesk>,
    modules: &State<Modules>,
    csrf: Csrf,
    reference: &str,
    flash: Option<FlashMessage<'_>>,
) -> Result<Option<Page>, PageError> {
    render_case(
        page.with_flash(flash),
        &staff,
        desk,
        modules,
        &csrf,
        reference,
        Status::Ok,
        CaseInput::default(),
    )
    .await
}

/// After an action: back to the request's page with `done`, or the page
/// again with the refusal next to its field.
#[allow(clippy::too_many_arguments)]
async fn after<P: Permission>(
    page: AdminPage,
    staff: &Staff<P>,
    desk: &RequestDesk,
    modules: &Modules,
    csrf: &Csrf,
    reference: &str,
    outcome: Result<(), DeskError>,
    mut input: CaseInput,
    done: &str,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    match outcome {
        Ok(()) => Ok(Some(Either::Right(Flash::success(
            Redirect::to(format!("/admin/demandes/{reference}")),
            done.to_owned(),
        )))),
        Err(DeskError::NotFound) => Ok(None),
        Err(DeskError::Refused(refusal)) => {
            let message = Some(refusal.message());
            match refusal.field() {
                "statut" => input.status_error = message,
                "agent" => input.agent_error = message,
                "note" => input.note_error = message,
                _ => input.message_error = message,
            }
            let page = render_case(
                page,
                staff,
                desk,
                modules,
                csrf,
                reference,
                Status::UnprocessableEntity,
                input,
            )
            .await?;
            Ok(page.map(Either::Left))
        }
        Err(error) => Err(error.into()),
    }
}

#[post("/demandes/<reference>/prendre", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn take(
    page: AdminPage,
    staff: Staff<HandleRequests>,
    desk: &State<RequestDesk>,
    modules: &State<Modules>,
    csrf: Csrf,
    origin: Origin,
    reference: &str,
    form: CsrfForm<Button>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let _ = form;
    let outcome = desk
        .assign(
            &staff.tenant,
            &staff.member,
            reference,
            staff.member.id,
            &origin,
        )
        .await;
    let input = CaseInput::default();
    after(
        page,
        &staff,
        desk,
        modules,
        &csrf,
        reference,
        outcome,
        input,
        "Vous suivez cette demande.",
    )
    .await
}

#[derive(Debug, FromForm)]
struct AssignForm<'r> {
    agent: &'r str,
}

#[post("/demandes/<reference>/attribuer", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn assign<'r>(
    page: AdminPage,
    staff: Staff<AssignRequests>,
    desk: &State<RequestDesk>,
    modules: &State<Modules>,
    csrf: Csrf,
    origin: Origin,
    reference: &str,
    form: Checked<'r, AssignForm<'r>>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let (form, stale) = input_of(form)?;
    if let Some(status) = stale {
        let input = CaseInput {
            agent_error: Some(refusal_message(status).to_owned()),
            ..CaseInput::default()
        };
        return Ok(
            render_case(page, &staff, desk, modules, &csrf, reference, status, input)
                .await?
                .map(Either::Left),
        );
    }
    let outcome = match form.agent.trim().parse::<i32>() {
        Ok(to) => {
            desk.assign(&staff.tenant, &staff.member, reference, to, &origin)
                .await
        }
        Err(_) => Err(DeskError::Refused(requests::Refusal::UnknownAgent)),
    };
    after(
        page,
        &staff,
        desk,
        modules,
        &csrf,
        reference,
        outcome,
        CaseInput::default(),
        "Demande attribuée.",
    )
    .await
}

#[derive(Debug, FromForm)]
struct StatusForm<'r> {
    status: &'r str,
    message: &'r str,
}

#[post("/demandes/<reference>/statut", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn change_status<'r>(
    page: AdminPage,
    staff: Staff<HandleRequests>,
    desk: &State<RequestDesk>,
    modules: &State<Modules>,
    csrf: Csrf,
    origin: Origin,
    reference: &str,
    form: Checked<'r, StatusForm<'r>>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let (form, stale) = input_of(form)?;
    let mut input = CaseInput {
        status: form.status.to_owned(),
        message: form.message.to_owned(),
        ..CaseInput::default()
    };
    if let Some(status) = stale {
        input.message_error = Some(refusal_message(status).to_owned());
        return Ok(
            render_case(page, &staff, desk, modules, &csrf, reference, status, input)
                .await?
                .map(Either::Left),
        );
    }
    let Some(to) = RequestStatus::parse(form.status) else {
        input.status_error = Some("Choisissez le nouvel état de la demande.".to_owned());
        let status = Status::UnprocessableEntity;
        return Ok(
            render_case(page, &staff, desk, modules, &csrf, reference, status, input)
                .await?
                .map(Either::Left),
        );
    };
    let outcome = desk
        .change_status(
            &staff.tenant,
            &staff.member,
            reference,
            to,
            form.message,
            &origin,
        )
        .await;
    let done = format!(
        "Demande passée à « {} » ; l'usager est prévenu par courriel.",
        to.label()
    );
    after(
        page, &staff, desk, modules, &csrf, reference, outcome, input, &done,
    )
    .await
}

#[derive(Debug, FromForm)]
struct NoteForm<'r> {
    note: &'r str,
}

#[post("/demandes/<reference>/note", data = "<form>")]
#[allow(clippy::too_many_arguments)]
async fn add_note<'r>(
    page: AdminPage,
    staff: Staff<HandleRequests>,
    desk: &State<RequestDesk>,
    modules: &State<Modules>,
    csrf: Csrf,
    origin: Origin,
    reference: &str,
    form: Checked<'r, NoteForm<'r>>,
) -> Result<Option<Either<Page, Flash<Redirect>>>, PageError> {
    let (form, stale) = input_of(form)?;
    let mut input = CaseInput {
        note: form.note.to_owned(),
        ..CaseInput::default()
    };
    if let Some(status) = stale {
        input.note_error = Some(refusal_message(status).to_owned());
        return Ok(
            render_case(page, &staff, desk, modules, &csrf, reference, status, input)
                .await?
                .map(Either::Left),
        );
    }
    let outcome = desk
        .add_note(&staff.tenant, &staff.member, reference, form.note, &origin)
        .await;
    after(
        page,
        &staff,
        desk,
        modules,
        &csrf,
        reference,
        outcome,
        input,
        "Note interne ajoutée.",
    )
    .await
}
