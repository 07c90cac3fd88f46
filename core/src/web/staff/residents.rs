//! Residents' accounts in the back-office: the list (`/admin/usagers`:
//! search, filters, pages, counts), the creation form, a resident's page
//! (contact details, household, requests, last login, refused mail, the
//! account's journal) and the actions, each behind a confirmation page
//! (`/admin/usagers/<identifier>/<action>`). Agents read (`ReadResidents`),
//! gestionnaires act (`ManageResidents`): the guards decide, the handlers
//! call `Accounts`. The CSV import (`/admin/usagers/import`) is another
//! file's.

use chrono::NaiveDate;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{Either, Route, State, get, post, routes};
use serde::Serialize;

use super::{AdminPage, Checked, Csrf, Staff, staff_page};
use crate::accounts::entity::account;
use crate::accounts::{
    Accounts, AdministrationProblem, Civility, DirectoryPage, DirectoryQuery, FieldError,
    JOURNAL_LIMIT, NewAccount, NewAccountError, PageCursor, ResidentState,
};
use crate::audit::{AuditKind, Origin, entity::ActorKind};
use crate::format;
use crate::households::Households;
use crate::requests::Requests;
use crate::staff::{ManageResidents, ReadResidents};
use crate::web::kit::csrf::input_of;
use crate::web::kit::{Button, Page, PageError, refusal_message};

type PageResult = Result<Either<Page, Flash<Redirect>>, PageError>;

/// Latest requests shown on a resident's page.
const REQUESTS_SHOWN: u64 = 10;

pub(super) fn routes() -> Vec<Route> {
    routes![
        list,
        new_form,
        create,
        details,
        action_page,
        action,
        refused_mail_page,
        refused_mail_resend,
        export_data,
    ]
}

// ---------------------------------------------------------------- list --

#[derive(Serialize)]
struct QueryView {
    search: String,
    from: String,
    to: String,
}

#[derive(Serialize)]
struct StateView {
    code: &'static str,
    label: &'static str,
    count: u64,
    current: bool,
}

#[derive(Serialize)]
struct CountsView {
    total: u64,
}

#[derive(Serialize)]
struct RowView {
    identifier: String,
    name: String,
    email: String,
    state: &'static str,
    tone: &'static str,
    created: String,
}

#[derive(Serialize)]
struct ListView {
    query: QueryView,
    states: Vec<StateView>,
    counts: CountsView,
    rows: Vec<RowView>,
    matching: u64,
    filtered: bool,
    pages: bool,
    previous: Option<String>,
    next: Option<String>,
    from_error: Option<String>,
    to_error: Option<String>,
    errors: Vec<FieldError>,
    can_manage: bool,
}

fn tone(state: ResidentState) -> &'static str {
    match state {
        ResidentState::AwaitingActivation => "warning",
        ResidentState::Active => "success",
        ResidentState::Disabled => "error",
        ResidentState::Closed => "info",
    }
}

/// A day typed in a date field (`AAAA-MM-JJ`, what browsers send; also
/// `JJ/MM/AAAA`, what a person types where there is no date picker).
fn parse_day(typed: &str) -> Result<Option<NaiveDate>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(typed, "%d/%m/%Y"))
        .map(Some)
        .map_err(|_| "Saisissez une date, par exemple 31/12/2026.".to_owned())
}

/// The list's address with these parameters (empty ones left out).
fn list_url(pairs: &[(&str, String)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, value)| !value.is_empty()))
        .finish();
    if query.is_empty() {
        "/admin/usagers".to_owned()
    } else {
        format!("/admin/usagers?{query}")
    }
}

#[allow(clippy::too_many_arguments)]
#[get("/usagers?<q>&<etat>&<du>&<au>&<apres>&<avant>")]
async fn list(
    page: AdminPage,
    staff: Staff<ReadResidents>,
    csrf: Csrf,
    accounts: &State<Accounts>,
    q: Option<&str>,
    etat: Option<&str>,
    du: Option<&str>,
    au: Option<&str>,
    apres: Option<&str>,
    avant: Option<&str>,
) -> Result<Page, PageError> {
    let tenant = &staff.tenant;
    let search = q.unwrap_or("").trim().to_owned();
    let state = etat.and_then(ResidentState::from_code);
    let (from_text, to_text) = (du.unwrap_or("").trim(), au.unwrap_or("").trim());
    let from = parse_day(from_text);
    let to = parse_day(to_text);
    let cursor = match (
        apres.and_then(|id| id.parse().ok()),
        avant.and_then(|id| id.parse().ok()),
    ) {
        (Some(id), _) => PageCursor::After(id),
        (None, Some(id)) => PageCursor::Before(id),
        (None, None) => PageCursor::First,
    };
    let query = DirectoryQuery {
        search: search.clone(),
        state,
        created_from: from.clone().ok().flatten(),
        created_to: to.clone().ok().flatten(),
        page: cursor,
    };
    let found: DirectoryPage = accounts.directory(tenant, &query).await?;
    let counts = accounts.state_counts(tenant).await?;

    let kept = |extra: Option<(&'static str, String)>| {
        let mut pairs = vec![
            ("q", search.clone()),
            (
                "etat",
                state.map(|s| s.code().to_owned()).unwrap_or_default(),
            ),
            ("du", from_text.to_owned()),
            ("au", to_text.to_owned()),
        ];
        pairs.extend(extra);
        list_url(&pairs)
    };
    let previous = found
        .previous
        .map(|id| kept(Some(("avant", id.to_string()))));
    let next = found.next.map(|id| kept(Some(("apres", id.to_string()))));
    let rows = found
        .rows
        .iter()
        .map(|row| {
            let state = ResidentState::of(row);
            RowView {
                identifier: row.identifier.clone(),
                name: format::full_name(&row.first_name, &row.last_name),
                email: row.email.clone(),
                state: state.label(),
                tone: tone(state),
                created: format::date(row.created_at.with_timezone(&tenant.timezone).date_naive()),
            }
        })
        .collect();
    let from_error = from.err();
    let to_error = to.err();
    let errors = [("du", &from_error), ("au", &to_error)]
        .into_iter()
        .filter_map(|(field, error)| error.clone().map(|message| FieldError { field, message }))
        .collect::<Vec<_>>();
    let status = if errors.is_empty() {
        Status::Ok
    } else {
        Status::UnprocessableEntity
    };
    let view = ListView {
        query: QueryView {
            search: search.clone(),
            from: from_text.to_owned(),
            to: to_text.to_owned(),
        },
        states: ResidentState::ALL
            .into_iter()
            .map(|each| StateView {
                code: each.code(),
                label: each.label(),
                count: counts.of(each),
                current: state == Some(each),
            })
            .collect(),
        counts: CountsView {
            total: counts.total(),
        },
        rows,
        matching: found.matching,
        filtered: !search.is_empty()
            || state.is_some()
            || query.created_from.is_some()
            || query.created_to.is_some(),
        pages: previous.is_some() || next.is_some(),
        previous,
        next,
        from_error,
        to_error,
        errors,
        can_manage: staff.member.role.may::<ManageResidents>(),
    };
    staff_page(page, &staff, &csrf).render(status, "admin/residents", "Usagers", view)
}

// -------------------------------------------------------------- create --

#[derive(Serialize)]
struct InputView {
    id: &'static str,
    name: &'static str,
    label: &'static str,
    r#type: &'static str,
    autocomplete: &'static str,
    required: bool,
    value: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct NewView {
    csrf: String,
    civility: String,
    fields: Vec<InputView>,
    errors: Vec<FieldError>,
}

/// The creation form's fields: (id, form name, label, type, autocomplete,
/// required).
const NEW_FIELDS: [(&str, &str, &str, &str, &str, bool); 5] = [
    ("prenom", "first_name", "Prénom", "text", "off", true),
    ("nom", "last_name", "Nom", "text", "off", true),
    (
        "courriel",
        "email",
        "Adresse électronique",
        "email",
        "off",
        true,
    ),
    (
        "adresse",
        "address",
        "Adresse postale",
        "text",
        "off",
        false,
    ),
    ("telephone", "phone", "Téléphone", "tel", "off", false),
];

#[derive(Debug, Default, FromForm)]
struct NewForm<'r> {
    civility: &'r str,
    first_name: &'r str,
    last_name: &'r str,
    email: &'r str,
    address: &'r str,
    phone: &'r str,
}

fn new_view(csrf: &Csrf, form: &NewForm<'_>, problems: &[FieldError]) -> NewView {
    let value = |name: &str| match name {
        "first_name" => form.first_name,
        "last_name" => form.last_name,
        "email" => form.email,
        "address" => form.address,
        _ => form.phone,
    };
    let fields: Vec<InputView> = NEW_FIELDS
        .iter()
        .map(
            |&(id, name, label, kind, autocomplete, required)| InputView {
                id,
                name,
                label,
                r#type: kind,
                autocomplete,
                required,
                value: value(name).trim().to_owned(),
                error: problems
                    .iter()
                    .find(|problem| problem.field == name)
                    .map(|problem| problem.message.clone()),
            },
        )
        .collect();
    // The summary links to the fields' ids, in the form's order.
    let errors = fields
        .iter()
        .filter_map(|field| {
            field.error.clone().map(|message| FieldError {
                field: field.id,
                message,
            })
        })
        .collect();
    NewView {
        csrf: csrf.token().to_owned(),
        civility: form.civility.trim().to_owned(),
        fields,
        errors,
    }
}

const NEW_TITLE: &str = "Créer le compte d'un usager";

#[get("/usagers/nouveau")]
fn new_form(page: AdminPage, staff: Staff<ManageResidents>, csrf: Csrf) -> Result<Page, PageError> {
    let view = new_view(&csrf, &<NewForm<'_> as Default>::default(), &[]);
    staff_page(page, &staff, &csrf).ok("admin/resident_new", NEW_TITLE, view)
}

#[post("/usagers/nouveau", data = "<form>")]
async fn create<'r>(
    page: AdminPage,
    staff: Staff<ManageResidents>,
    csrf: Csrf,
    origin: Origin,
    accounts: &State<Accounts>,
    form: Checked<'r, NewForm<'r>>,
) -> PageResult {
    let (form, stale) = input_of(form)?;
    let refuse = |problems: Vec<FieldError>, status: Status| -> PageResult {
        let view = new_view(&csrf, &form, &problems);
        staff_page(page.clone(), &staff, &csrf)
            .render(status, "admin/resident_new", NEW_TITLE, view)
            .map(Either::Left)
    };
    if let Some(status) = stale {
        let problem = FieldError {
            field: "first_name",
            message: refusal_message(status).to_owned(),
        };
        return refuse(vec![problem], status);
    }
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let new = NewAccount {
        email: form.email.trim().to_owned(),
        first_name: form.first_name.trim().to_owned(),
        last_name: form.last_name.trim().to_owned(),
        civility: Civility::parse(form.civility),
        address: optional(form.address),
        phone: optional(form.phone),
    };
    let problems = new.problems();
    if !problems.is_empty() {
        return refuse(problems, Status::UnprocessableEntity);
    }
    match accounts
        .create_as(&staff.tenant, new, staff.actor(), &origin)
        .await?
    {
        Ok(created) => Ok(Either::Right(Flash::success(
            Redirect::to(format!("/admin/usagers/{}", created.identifier)),
            format!(
                "Le compte {} est créé ; le courriel d'activation part à {}.",
                created.identifier,
                form.email.trim()
            ),
        ))),
        Err(NewAccountError::EmailTaken(_)) => {
            let existing = accounts
                .find_by_email(&staff.tenant, form.email)
                .await?
                .map(|owner| owner.identifier)
                .unwrap_or_default();
            let problem = FieldError {
                field: "email",
                message: AdministrationProblem::EmailTaken(existing).message(),
            };
            refuse(vec![problem], Status::Conflict)
        }
        Err(_) => {
            // `problems` checked what creation checks; a refusal here is
            // a race with nothing to add.
            refuse(new_problem_fallback(), Status::UnprocessableEntity)
        }
    }
}

fn new_problem_fallback() -> Vec<FieldError> {
    vec![FieldError {
        field: "email",
        message: "Vérifiez l'adresse électronique, le prénom et le nom.".to_owned(),
    }]
}

// ------------------------------------------------------------- details --

#[derive(Serialize)]
struct MemberView {
    name: String,
    relation: &'static str,
    birth_date: String,
}

#[derive(Serialize)]
struct RequestView {
    reference: String,
    title: String,
    date: String,
    status: &'static str,
    tone: &'static str,
}

#[derive(Serialize)]
struct EventView {
    at: String,
    label: String,
    actor: String,
    detail: String,
}

#[derive(Serialize)]
struct RefusedView {
    id: i32,
    subject: String,
    queued: String,
    answer: String,
}

#[derive(Serialize)]
struct ActionLink {
    code: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct DetailsView {
    csrf: String,
    /// Closed: a pseudonym, nothing to export.
    closed: bool,
    identifier: String,
    name: String,
    civility: Option<&'static str>,
    state: &'static str,
    tone: &'static str,
    disabled_reason: Option<String>,
    email: String,
    address: Option<String>,
    phone: Option<String>,
    created: String,
    activated: Option<String>,
    last_login: Option<String>,
    household: Vec<MemberView>,
    requests: Vec<RequestView>,
    journal: Vec<EventView>,
    journal_limit: u64,
    refused_mail: Vec<RefusedView>,
    can_manage: bool,
    actions: Vec<ActionLink>,
}

/// The town's resident of this identifier, or 404 (the same for an
/// identifier of another town: nothing tells them apart).
pub(super) async fn resident(
    accounts: &Accounts,
    staff_tenant: &crate::tenancy::Tenant,
    identifier: &str,
) -> Result<account::Model, PageError> {
    accounts
        .find_any_by_identifier(staff_tenant, identifier)
        .await?
        .ok_or_else(PageError::not_found)
}

/// How the staff's pages name an account: a closed one by its pseudonym.
fn display_name(owner: &account::Model) -> String {
    if owner.status == account::AccountStatus::Closed {
        format!("Compte fermé ({})", owner.identifier)
    } else {
        format::full_name(&owner.first_name, &owner.last_name)
    }
}

/// A resident the staff may act on: not a closed account's pseudonym
/// (whose page stays readable, for the journal's sake).
pub(super) async fn open_resident(
    accounts: &Accounts,
    staff_tenant: &crate::tenancy::Tenant,
    identifier: &str,
) -> Result<account::Model, PageError> {
    let owner = resident(accounts, staff_tenant, identifier).await?;
    if owner.status == account::AccountStatus::Closed {
        return Err(PageError::not_found());
    }
    Ok(owner)
}

/// Who did it, as the staff reads it on the resident's page (the staff's
/// journal page names residents by name; here the resident is the page's).
fn actor_label(event: &crate::audit::entity::Model) -> String {
    match event.actor_kind {
        ActorKind::Resident if event.actor_id == event.account_id => "L'usager".to_owned(),
        ActorKind::Resident => "Un autre usager".to_owned(),
        ActorKind::Anonymous => "Personne non connectée".to_owned(),
        ActorKind::Staff => event
            .actor_label
            .clone()
            .unwrap_or_else(|| "Un agent de la mairie".to_owned()),
        ActorKind::ApiKey => format!(
            "Logiciel de la mairie ({})",
            event.actor_label.clone().unwrap_or_default()
        ),
        ActorKind::System => "Guichet".to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
#[get("/usagers/<identifier>", rank = 2)]
async fn details(
    page: AdminPage,
    staff: Staff<ReadResidents>,
    csrf: Csrf,
    flash: Option<FlashMessage<'_>>,
    identifier: &str,
    accounts: &State<Accounts>,
    households: &State<Households>,
    requests: &State<Requests>,
) -> Result<Page, PageError> {
    let tenant = &staff.tenant;
    let owner = resident(accounts, tenant, identifier).await?;
    let zone = tenant.timezone;
    let when = |at: chrono::DateTime<chrono::Utc>| format::date_time(&at.with_timezone(&zone));
    let household = households
        .members(tenant.scope(), owner.id)
        .await?
        .into_iter()
        .map(|member| MemberView {
            name: format::full_name(&member.first_name, &member.last_name),
            relation: member.relation.label(),
            birth_date: member.birth_date.map(format::date).unwrap_or_default(),
        })
        .collect();
    let latest = requests
        .latest(tenant, owner.id, REQUESTS_SHOWN)
        .await?
        .into_iter()
        .map(|request| RequestView {
            date: format::date(request.created_at.with_timezone(&zone).date_naive()),
            status: request.status.label(),
            tone: request.status.tone(),
            reference: request.reference,
            title: request.title,
        })
        .collect();
    let journal = accounts
        .journal(tenant, owner.id)
        .await?
        .into_iter()
        .map(|event| EventView {
            at: when(event.created_at),
            label: AuditKind::parse(&event.kind)
                .map_or_else(|| event.kind.clone(), |kind| kind.label().to_owned()),
            actor: actor_label(&event),
            detail: event.detail.clone().unwrap_or_default(),
        })
        .collect();
    let refused_mail = accounts
        .refused_mail(tenant, &owner)
        .await?
        .into_iter()
        .map(|mail| RefusedView {
            id: mail.id,
            subject: mail.subject,
            queued: when(mail.created_at),
            answer: mail.last_error.unwrap_or_default(),
        })
        .collect();
    let state = ResidentState::of(&owner);
    let actions = ResidentAction::ALL
        .into_iter()
        .filter(|action| action.applies_to(&owner))
        .map(|action| ActionLink {
            code: action.code(),
            label: action.title(),
        })
        .collect();
    let view = DetailsView {
        csrf: csrf.token().to_owned(),
        closed: state == ResidentState::Closed,
        identifier: owner.identifier.clone(),
        name: display_name(&owner),
        civility: owner.civility.map(Civility::title),
        state: state.label(),
        tone: tone(state),
        disabled_reason: owner.disabled_reason.clone(),
        email: owner.email.clone(),
        address: owner.address.clone(),
        phone: owner.phone.clone(),
        created: when(owner.created_at),
        activated: owner.activated_at.map(when),
        last_login: owner.last_login_at.map(when),
        household,
        requests: latest,
        journal,
        journal_limit: JOURNAL_LIMIT,
        refused_mail,
        can_manage: staff.member.role.may::<ManageResidents>(),
        actions,
    };
    let title = format!("Usager : {}", display_name(&owner));
    staff_page(page.with_flash(flash), &staff, &csrf).ok("admin/resident", &title, view)
}

// ------------------------------------------------------------- actions --

/// The actions on an account, each with its confirmation page at
/// `/admin/usagers/<identifier>/<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResidentAction {
    ResendActivation,
    Disable,
    Enable,
    ForcePasswordChange,
    CorrectEmail,
}

/// The one field an action's form may have.
#[derive(Serialize)]
struct ActionField {
    id: &'static str,
    name: &'static str,
    label: &'static str,
    r#type: &'static str,
    multiline: bool,
    value: String,
    error: Option<String>,
}

impl ResidentAction {
    const ALL: [Self; 5] = [
        Self::ResendActivation,
        Self::ForcePasswordChange,
        Self::CorrectEmail,
        Self::Disable,
        Self::Enable,
    ];

    fn code(self) -> &'static str {
        match self {
            Self::ResendActivation => "activation",
            Self::Disable => "desactivation",
            Self::Enable => "reactivation",
            Self::ForcePasswordChange => "mot-de-passe",
            Self::CorrectEmail => "courriel",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.code() == code)
    }

    fn title(self) -> &'static str {
        match self {
            Self::ResendActivation => "Renvoyer le courriel d'activation",
            Self::Disable => "Désactiver le compte",
            Self::Enable => "Réactiver le compte",
            Self::ForcePasswordChange => "Imposer un nouveau mot de passe",
            Self::CorrectEmail => "Corriger l'adresse électronique",
        }
    }

    /// Whether the resident's page offers it (the service checks again).
    fn applies_to(self, owner: &account::Model) -> bool {
        let state = ResidentState::of(owner);
        if state == ResidentState::Closed {
            // A pseudonym: nothing left to act on.
            return false;
        }
        match self {
            Self::ResendActivation => state == ResidentState::AwaitingActivation,
            Self::ForcePasswordChange => state == ResidentState::Active,
            Self::CorrectEmail => true,
            Self::Disable => state != ResidentState::Disabled,
            Self::Enable => state == ResidentState::Disabled,
        }
    }

    fn explanation(self, owner: &account::Model) -> String {
        match self {
            Self::ResendActivation => format!(
                "Un nouveau courriel d'activation part à {}, avec un nouveau mot de passe \
                 temporaire et un nouveau lien. L'ancien lien et l'ancien mot de passe cessent \
                 de fonctionner : cela ne peut pas être annulé.",
                owner.email
            ),
            Self::Disable => "L'usager ne pourra plus se connecter, et ses connexions en cours \
                              sont fermées tout de suite. Le compte pourra être réactivé."
                .to_owned(),
            Self::Enable => {
                "L'usager pourra de nouveau se connecter, comme avant la désactivation.".to_owned()
            }
            Self::ForcePasswordChange => "À sa prochaine page, l'usager devra choisir un nouveau \
                                          mot de passe avant toute autre chose. Cela ne peut pas \
                                          être annulé."
                .to_owned(),
            Self::CorrectEmail => format!(
                "L'adresse actuelle est {}. Un courriel prévient l'ancienne et la nouvelle \
                 adresse de la correction, qui ne peut pas être annulée.",
                owner.email
            ),
        }
    }

    fn confirm_label(self) -> &'static str {
        match self {
            Self::ResendActivation => "Renvoyer le courriel d'activation",
            Self::Disable => "Désactiver le compte",
            Self::Enable => "Réactiver le compte",
            Self::ForcePasswordChange => "Imposer un nouveau mot de passe",
            Self::CorrectEmail => "Corriger l'adresse",
        }
    }

    fn field(self, value: &str, error: Option<String>) -> Option<ActionField> {
        let (id, name, label, kind, multiline) = match self {
            Self::Disable | Self::Enable => ("motif", "reason", "Motif", "text", true),
            Self::CorrectEmail => (
                "nouvelle-adresse",
                "email",
                "Nouvelle adresse électronique",
                "email",
                false,
            ),
            Self::ResendActivation | Self::ForcePasswordChange => return None,
        };
        Some(ActionField {
            id,
            name,
            label,
            r#type: kind,
            multiline,
            value: value.trim().to_owned(),
            error,
        })
    }

    fn done(self) -> &'static str {
        match self {
            Self::ResendActivation => {
                "Le courriel d'activation est reparti, avec un nouveau mot de passe temporaire."
            }
            Self::Disable => "Le compte est désactivé ; ses connexions sont fermées.",
            Self::Enable => "Le compte est réactivé.",
            Self::ForcePasswordChange => "L'usager devra choisir un nouveau mot de passe.",
            Self::CorrectEmail => {
                "L'adresse est corrigée ; l'ancienne et la nouvelle en sont prévenues."
            }
        }
    }
}

#[derive(Serialize)]
struct ActionView {
    csrf: String,
    identifier: String,
    name: String,
    title: &'static str,
    explanation: String,
    action: String,
    confirm: &'static str,
    field: Option<ActionField>,
    errors: Vec<FieldError>,
}

fn action_view(
    csrf: &Csrf,
    owner: &account::Model,
    action: ResidentAction,
    value: &str,
    error: Option<String>,
) -> ActionView {
    let field = action.field(value, error.clone());
    let errors = error
        .map(|message| FieldError {
            field: field.as_ref().map_or("contenu", |field| field.id),
            message,
        })
        .into_iter()
        .collect();
    ActionView {
        csrf: csrf.token().to_owned(),
        identifier: owner.identifier.clone(),
        name: format::full_name(&owner.first_name, &owner.last_name),
        title: action.title(),
        explanation: action.explanation(owner),
        action: format!("/admin/usagers/{}/{}", owner.identifier, action.code()),
        confirm: action.confirm_label(),
        field,
        errors,
    }
}

#[get("/usagers/<identifier>/<code>", rank = 3)]
async fn action_page(
    page: AdminPage,
    staff: Staff<ManageResidents>,
    csrf: Csrf,
    identifier: &str,
    code: &str,
    accounts: &State<Accounts>,
) -> Result<Page, PageError> {
    let action = ResidentAction::from_code(code).ok_or_else(PageError::not_found)?;
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    let view = action_view(&csrf, &owner, action, "", None);
    staff_page(page, &staff, &csrf).ok("admin/resident_action", action.title(), view)
}

#[derive(Debug, Default, FromForm)]
struct ActionForm<'r> {
    #[field(default = "")]
    reason: &'r str,
    #[field(default = "")]
    email: &'r str,
}

#[allow(clippy::too_many_arguments)]
#[post("/usagers/<identifier>/<code>", data = "<form>", rank = 3)]
async fn action<'r>(
    page: AdminPage,
    staff: Staff<ManageResidents>,
    csrf: Csrf,
    origin: Origin,
    identifier: &str,
    code: &str,
    accounts: &State<Accounts>,
    form: Checked<'r, ActionForm<'r>>,
) -> PageResult {
    let action = ResidentAction::from_code(code).ok_or_else(PageError::not_found)?;
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    let (form, stale) = input_of(form)?;
    let typed = match action {
        ResidentAction::CorrectEmail => form.email,
        _ => form.reason,
    };
    let refuse = |message: String, status: Status| -> PageResult {
        let view = action_view(&csrf, &owner, action, typed, Some(message));
        staff_page(page.clone(), &staff, &csrf)
            .render(status, "admin/resident_action", action.title(), view)
            .map(Either::Left)
    };
    if let Some(status) = stale {
        return refuse(refusal_message(status).to_owned(), status);
    }
    let (tenant, actor) = (&staff.tenant, staff.actor());
    let done = match action {
        ResidentAction::ResendActivation => {
            accounts
                .reissue_activation(tenant, owner.id, actor, &origin)
                .await?
        }
        ResidentAction::Disable => {
            accounts
                .disable(tenant, owner.id, typed, actor, &origin)
                .await?
        }
        ResidentAction::Enable => {
            accounts
                .enable(tenant, owner.id, typed, actor, &origin)
                .await?
        }
        ResidentAction::ForcePasswordChange => {
            accounts
                .force_password_change(tenant, owner.id, actor, &origin)
                .await?
        }
        ResidentAction::CorrectEmail => {
            accounts
                .correct_email(tenant, owner.id, typed, actor, &origin)
                .await?
        }
    };
    match done {
        Ok(()) => Ok(Either::Right(Flash::success(
            Redirect::to(format!("/admin/usagers/{}", owner.identifier)),
            action.done(),
        ))),
        Err(AdministrationProblem::UnknownAccount) => Err(PageError::not_found()),
        Err(problem) => {
            let status = match problem {
                AdministrationProblem::ReasonMissing
                | AdministrationProblem::ReasonTooLong
                | AdministrationProblem::InvalidEmail
                | AdministrationProblem::SameEmail => Status::UnprocessableEntity,
                _ => Status::Conflict,
            };
            refuse(problem.message(), status)
        }
    }
}

// -------------------------------------------------------- refused mail --

#[get("/usagers/<identifier>/courriels-refuses/<mail>")]
async fn refused_mail_page(
    page: AdminPage,
    staff: Staff<ManageResidents>,
    csrf: Csrf,
    identifier: &str,
    mail: i32,
    accounts: &State<Accounts>,
) -> Result<Page, PageError> {
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    let refused = accounts
        .refused_mail(&staff.tenant, &owner)
        .await?
        .into_iter()
        .find(|row| row.id == mail)
        .ok_or_else(PageError::not_found)?;
    let view = ActionView {
        csrf: csrf.token().to_owned(),
        identifier: owner.identifier.clone(),
        name: format::full_name(&owner.first_name, &owner.last_name),
        title: "Renvoyer un courriel refusé",
        explanation: format!(
            "Le courriel « {} » à {} a été refusé par le serveur de messagerie, qui a répondu : \
             « {} ». Renvoyez-le une fois la cause réglée (boîte pleine vidée, filtre levé) ; \
             si l'adresse est fausse, corrigez-la plutôt.",
            refused.subject,
            refused.recipient,
            refused.last_error.unwrap_or_default()
        ),
        action: format!(
            "/admin/usagers/{}/courriels-refuses/{}",
            owner.identifier, refused.id
        ),
        confirm: "Renvoyer le courriel",
        field: None,
        errors: Vec::new(),
    };
    staff_page(page, &staff, &csrf).ok("admin/resident_action", "Renvoyer un courriel refusé", view)
}

#[allow(clippy::too_many_arguments)]
#[post("/usagers/<identifier>/courriels-refuses/<mail>", data = "<_form>")]
async fn refused_mail_resend(
    staff: Staff<ManageResidents>,
    origin: Origin,
    identifier: &str,
    mail: i32,
    accounts: &State<Accounts>,
    // The token alone: the button's form has no field.
    _form: super::CsrfForm<Button>,
) -> Result<Flash<Redirect>, PageError> {
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    let back = Redirect::to(format!("/admin/usagers/{}", owner.identifier));
    match accounts
        .resend_refused_mail(&staff.tenant, owner.id, mail, staff.actor(), &origin)
        .await?
    {
        Ok(()) => Ok(Flash::success(
            back,
            "Le courriel est de nouveau en file d'envoi.",
        )),
        Err(AdministrationProblem::UnknownAccount) => Err(PageError::not_found()),
        Err(problem) => Ok(Flash::error(back, problem.message())),
    }
}

// -------------------------------------------------------- access right --

/// A resident's access request answered from the back-office: the same
/// archive as the resident's own export, made now, recorded in the journal.
#[post("/usagers/<identifier>/export-donnees", data = "<_form>", rank = 2)]
async fn export_data(
    staff: Staff<ManageResidents>,
    origin: Origin,
    identifier: &str,
    accounts: &State<Accounts>,
    privacy: &State<crate::privacy::Privacy>,
    // The token alone: the button's form has no field.
    _form: super::CsrfForm<Button>,
) -> Result<crate::privacy::Download, PageError> {
    let owner = open_resident(accounts, &staff.tenant, identifier).await?;
    privacy
        .staff_export(
            &staff.tenant,
            owner.id,
            staff.actor(),
            &origin,
            chrono::Utc::now(),
        )
        .await?
        .ok_or_else(PageError::not_found)
}
