//! The data API for the towns' back-office systems (billing, school
//! software…): they push the data modules show, into a module's storage for
//! the town or for one resident. `/api/v1`, on the town's own host,
//! authenticated by the town's API keys; described by an OpenAPI 3.1
//! document at `/api/v1/openapi.json`.
//!
//! Error policy: every failure is an [`ApiError`], answered as
//! `{"error": {"code": "...", "message": "..."}}` with a fitting status; the
//! code is stable and meant for programs, the message is French and meant
//! for people. Internal details go to the log, never into the answer. The
//! client's input is checked before the database sees it (no NUL in any
//! text of the URL or the body, keys and values within their limits); a
//! database error is classified (`db::classify`): 503 `unavailable` with
//! `Retry-After` only when the database cannot be reached, 422
//! `invalid_input` for a value it refused, 500 `internal` (logged) for
//! anything else. A method a route does not declare gets 405 with `Allow`.

mod accounts;
pub mod entity;
mod keys;
mod payments;
pub mod personal_data;

use std::sync::Arc;

use rocket::data::{Data, ToByteUnit as _};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::{Catcher, Route, State, catch, catchers, delete, get, put, routes};
use serde::Serialize;

pub use keys::{ApiKeys, CreatedKey, KEY_PREFIX};

use crate::accounts::{Accounts, FieldError};
use crate::db::{self, DbFailure};
use crate::households::{
    EARLIEST_BIRTH_YEAR, HouseholdError, Households, MAX_EXTERNAL_REF_CHARS, MAX_MEMBERS,
    MAX_NAME_CHARS, MemberField, MemberInput, Relation, entity::household_member,
};
use crate::modules::storage::{self, DataError, DataScope, StorageError};
use crate::modules::{ModuleData, Modules};
use crate::tenancy::{Tenant, TenantResolution, database_silent};

pub const BASE: &str = "/api/v1";
/// The OpenAPI document, written by hand next to the routes it describes
/// (a test checks that every route is in it).
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn routes() -> Vec<Route> {
    routes![
        openapi,
        list_town,
        get_town,
        put_town,
        delete_town,
        list_resident,
        get_resident,
        put_resident,
        delete_resident,
        get_household,
        put_household,
        accounts::create_account,
        accounts::find_accounts,
        accounts::resend_activation,
        payments::list_payments,
    ]
}

/// For each path of [`routes`], a route per method it does not declare,
/// answering 405 with the methods it does (`Allow`): a client that uses a
/// wrong method is told so, rather than that the address does not exist.
/// Mounted at [`BASE`] beside [`routes`], from which it is derived.
pub fn undeclared_method_routes() -> Vec<Route> {
    use rocket::http::Method;
    let mut declared: std::collections::BTreeMap<String, Vec<Method>> =
        std::collections::BTreeMap::new();
    for route in routes() {
        declared
            .entry(route.uri.path().to_string())
            .or_default()
            .push(route.method);
    }
    let mut fallbacks = Vec::new();
    for (path, methods) in declared {
        let mut allowed: Vec<&str> = methods.iter().map(|method| method.as_str()).collect();
        // Rocket answers HEAD with the GET route.
        if methods.contains(&Method::Get) {
            allowed.push("HEAD");
        }
        let allow = allowed.join(", ");
        for method in [
            Method::Get,
            Method::Put,
            Method::Post,
            Method::Delete,
            Method::Patch,
            Method::Options,
            Method::Trace,
        ] {
            if !methods.contains(&method) {
                fallbacks.push(Route::new(
                    method,
                    &path,
                    MethodNotAllowed {
                        allow: allow.clone(),
                    },
                ));
            }
        }
    }
    fallbacks
}

/// The handler of [`undeclared_method_routes`].
#[derive(Debug, Clone)]
struct MethodNotAllowed {
    /// The methods the path declares, as the `Allow` header lists them.
    allow: String,
}

#[rocket::async_trait]
impl rocket::route::Handler for MethodNotAllowed {
    async fn handle<'r>(
        &self,
        request: &'r Request<'_>,
        _: Data<'r>,
    ) -> rocket::route::Outcome<'r> {
        let answer = json_error(
            Status::MethodNotAllowed,
            "method_not_allowed",
            format!(
                "la méthode {} n'est pas acceptée à cette adresse ; méthodes acceptées : {}",
                request.method(),
                self.allow
            ),
        );
        match answer {
            Ok(mut response) => {
                response.set_header(Header::new("Allow", self.allow.clone()));
                rocket::route::Outcome::Success(response)
            }
            Err(status) => rocket::route::Outcome::Error(status),
        }
    }
}

pub fn catchers() -> Vec<Catcher> {
    catchers![not_found, unprocessable, too_large, any_status]
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("clé d'API absente, invalide ou révoquée")]
    Unauthenticated,
    #[error("aucune commune n'est servie à cette adresse")]
    UnknownTown,
    #[error("le module « {0} » n'est pas activé pour cette commune")]
    ModuleNotEnabled(String),
    #[error("aucun résident n'a l'identifiant « {0} » dans cette commune")]
    UnknownResident(String),
    #[error("aucune valeur sous la clé « {0} »")]
    NoSuchKey(String),
    #[error("le corps de la requête n'est pas du JSON valide : {0}")]
    InvalidJson(String),
    #[error("{0}")]
    Data(DataError),
    #[error("le corps de la requête dépasse {0} octets")]
    BodyTooLarge(usize),
    #[error("{0}")]
    InvalidMember(String),
    /// A NUL character in a text of the URL or of the body.
    #[error(
        "{0} contient un caractère NUL (U+0000), refusé dans tout texte (clés, valeurs, noms, paramètres)"
    )]
    InvalidText(&'static str),
    /// A value the database refused (out of range, too long) although it
    /// passed the API's own checks.
    #[error("une valeur envoyée ne peut pas être enregistrée (hors des limites acceptées)")]
    InvalidInput,
    #[error("le service est momentanément indisponible ; réessayez dans quelques secondes")]
    Unavailable,
    #[error("une erreur interne est survenue ; elle a été enregistrée")]
    Internal,
    /// Another account of the town has this e-mail address.
    #[error(
        "un compte de cette commune utilise déjà cette adresse électronique (identifiant « {identifier} »)"
    )]
    EmailTaken { identifier: String },
    /// An account the town's software sent, refused field by field.
    #[error("le compte envoyé est refusé : {}", summary(.0))]
    InvalidAccount(Vec<FieldError>),
    #[error("le paramètre « {0} » est requis")]
    MissingParameter(&'static str),
    /// A parameter that does not read: its name and what it should be.
    #[error("le paramètre « {0} » est invalide : {1}")]
    InvalidParameter(&'static str, &'static str),
    /// An action the account's state does not allow.
    #[error("{message}")]
    AccountState { code: &'static str, message: String },
}

/// "email : …; first_name : …".
fn summary(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|error| format!("{} : {}", error.field, error.message))
        .collect::<Vec<_>>()
        .join(" ; ")
}

impl ApiError {
    fn status(&self) -> Status {
        match self {
            Self::Unauthenticated => Status::Unauthorized,
            Self::UnknownTown
            | Self::ModuleNotEnabled(_)
            | Self::UnknownResident(_)
            | Self::NoSuchKey(_) => Status::NotFound,
            Self::InvalidJson(_) => Status::BadRequest,
            Self::InvalidMember(_)
            | Self::InvalidText(_)
            | Self::InvalidInput
            | Self::InvalidAccount(_)
            | Self::MissingParameter(_)
            | Self::InvalidParameter(..) => Status::UnprocessableEntity,
            Self::EmailTaken { .. } | Self::AccountState { .. } => Status::Conflict,
            Self::Data(DataError::ScopeFull) => Status::Conflict,
            Self::Data(_) => Status::UnprocessableEntity,
            Self::BodyTooLarge(_) => Status::PayloadTooLarge,
            Self::Unavailable => Status::ServiceUnavailable,
            Self::Internal => Status::InternalServerError,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::UnknownTown => "unknown_town",
            Self::ModuleNotEnabled(_) => "module_not_enabled",
            Self::UnknownResident(_) => "unknown_resident",
            Self::NoSuchKey(_) => "no_such_key",
            Self::InvalidJson(_) => "invalid_json",
            Self::Data(DataError::InvalidKey) => "invalid_key",
            Self::Data(DataError::ValueTooLarge) => "value_too_large",
            Self::Data(DataError::ScopeFull) => "scope_full",
            Self::BodyTooLarge(_) => "body_too_large",
            Self::InvalidMember(_) => "invalid_member",
            Self::InvalidText(_) => "invalid_text",
            Self::InvalidInput => "invalid_input",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::EmailTaken { .. } => "email_taken",
            Self::InvalidAccount(_) => "invalid_account",
            Self::MissingParameter(_) => "missing_parameter",
            Self::InvalidParameter(..) => "invalid_parameter",
            Self::AccountState { code, .. } => code,
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        match db::classify(&error) {
            DbFailure::Unavailable => {
                tracing::warn!(%error, "data API: the database is unavailable");
                Self::Unavailable
            }
            DbFailure::RefusedInput => {
                tracing::warn!(%error, "data API: the database refused a value");
                Self::InvalidInput
            }
            DbFailure::Internal => {
                tracing::error!(%error, "data API: database error");
                Self::Internal
            }
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Data(error) => Self::Data(error),
            StorageError::Database(error) => error.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    /// The existing account's identifier (`email_taken`).
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<String>,
    /// What is wrong with each field (`invalid_account`).
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<FieldError>>,
}

fn json_error(status: Status, code: &str, message: String) -> response::Result<'static> {
    json_error_with(status, code, message, None, None)
}

fn json_error_with(
    status: Status,
    code: &str,
    message: String,
    identifier: Option<String>,
    fields: Option<Vec<FieldError>>,
) -> response::Result<'static> {
    let body = serde_json::to_string(&ErrorBody {
        error: ErrorDetail {
            code,
            message,
            identifier,
            fields,
        },
    })
    .map_err(|_| Status::InternalServerError)?;
    let mut response = Response::build();
    response
        .status(status)
        .header(ContentType::JSON)
        .sized_body(body.len(), std::io::Cursor::new(body));
    if status == Status::Unauthorized {
        response.header(Header::new("WWW-Authenticate", "Bearer"));
    }
    if status == Status::ServiceUnavailable {
        response.header(Header::new(
            "Retry-After",
            db::RETRY_AFTER_SECONDS.to_string(),
        ));
    }
    response.ok()
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let (status, code, message) = (self.status(), self.code(), self.to_string());
        match self {
            Self::EmailTaken { identifier } => {
                json_error_with(status, code, message, Some(identifier), None)
            }
            Self::InvalidAccount(fields) => {
                json_error_with(status, code, message, None, Some(fields))
            }
            _ => json_error(status, code, message),
        }
    }
}

/// A back-office system of the request's town, authenticated by its key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub tenant: Arc<Tenant>,
    /// The key's name, as the journal names the actor.
    pub key_name: String,
}

impl ApiClient {
    /// The journal's actor for what this client does.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::ApiKey {
            name: self.key_name.clone(),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiClient {
    type Error = ApiError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ApiError> {
        // Every route takes this guard first: the URL's texts (path
        // segments, query) are checked here, once, before any query.
        if !url_texts_are_storable(request) {
            return Outcome::Error((
                Status::UnprocessableEntity,
                ApiError::InvalidText("l'adresse (chemin ou paramètres)"),
            ));
        }
        let tenant = match TenantResolution::of(request).await {
            TenantResolution::Found(tenant) => tenant.clone(),
            TenantResolution::UnknownHost => {
                return Outcome::Error((Status::NotFound, ApiError::UnknownTown));
            }
            TenantResolution::Unavailable => {
                return Outcome::Error((Status::ServiceUnavailable, ApiError::Unavailable));
            }
        };
        let secret = request
            .headers()
            .get_one("Authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let (Some(secret), Some(keys)) = (secret, request.rocket().state::<ApiKeys>()) else {
            return Outcome::Error((Status::Unauthorized, ApiError::Unauthenticated));
        };
        // The town came from memory after a whole acquire timeout: the key
        // would wait as long again (a request waits for the database once).
        if database_silent(request) {
            return Outcome::Error((Status::ServiceUnavailable, ApiError::Unavailable));
        }
        match keys.authenticate(&tenant, secret).await {
            Ok(Some(key)) => Outcome::Success(ApiClient {
                tenant,
                key_name: key.name,
            }),
            Ok(None) => Outcome::Error((Status::Unauthorized, ApiError::Unauthenticated)),
            Err(error) => Outcome::Error((Status::ServiceUnavailable, error.into())),
        }
    }
}

type Client = Result<ApiClient, ApiError>;

/// Whether every decoded segment of the request's path and query is a text
/// the database can store.
fn url_texts_are_storable(request: &Request<'_>) -> bool {
    let uri = request.uri();
    uri.path().segments().all(db::is_storable_text)
        && uri.query().is_none_or(|query| {
            query
                .segments()
                .all(|(name, value)| db::is_storable_text(name) && db::is_storable_text(value))
        })
}

/// Whether every string of a JSON value, object keys included, is a text
/// the database can store.
fn json_texts_are_storable(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => db::is_storable_text(text),
        serde_json::Value::Array(items) => items.iter().all(json_texts_are_storable),
        serde_json::Value::Object(fields) => fields
            .iter()
            .all(|(key, value)| db::is_storable_text(key) && json_texts_are_storable(value)),
        _ => true,
    }
}

#[derive(Debug, Serialize)]
pub struct EntryBody {
    key: String,
    value: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct EntriesBody {
    entries: Vec<EntryBody>,
}

/// A stored value as JSON: what the API wrote is JSON already; a module may
/// have written plain text, answered as a JSON string.
fn entry(key: String, value: String) -> EntryBody {
    let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::String(value));
    EntryBody { key, value }
}

async fn town_scope(
    client: &ApiClient,
    modules: &Modules,
    module: &str,
) -> Result<DataScope, ApiError> {
    modules
        .enabled_module(&client.tenant, module)
        .await?
        .ok_or_else(|| ApiError::ModuleNotEnabled(module.to_owned()))?;
    Ok(DataScope::town(&client.tenant, module))
}

async fn resident_scope(
    client: &ApiClient,
    modules: &Modules,
    accounts: &Accounts,
    module: &str,
    identifier: &str,
) -> Result<DataScope, ApiError> {
    town_scope(client, modules, module).await?;
    let account = resident_account(client, accounts, identifier).await?;
    Ok(DataScope::resident(&client.tenant, module, account.id))
}

async fn read_json(data: Data<'_>) -> Result<String, ApiError> {
    // Room for the largest value plus its JSON quoting.
    let limit = storage::MAX_VALUE_BYTES * 2;
    let body = data
        .open(limit.bytes())
        .into_string()
        .await
        .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    if !body.is_complete() {
        return Err(ApiError::BodyTooLarge(limit));
    }
    let value: serde_json::Value = serde_json::from_str(&body.into_inner())
        .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    // JSON can carry a NUL ("\u0000"): refused in every body, whatever
    // becomes of the text (a household name, a value a module reads).
    if !json_texts_are_storable(&value) {
        return Err(ApiError::InvalidText("le corps de la requête"));
    }
    // Stored compact: what counts against the size cap is the value itself.
    Ok(value.to_string())
}

/// A page of entries: those after `after` (the last key of the previous
/// page), so that a scope of any size can be read (e.g. a month of
/// bookings).
async fn list(
    data: &ModuleData,
    scope: &DataScope,
    prefix: Option<&str>,
    after: Option<&str>,
) -> Result<Json<EntriesBody>, ApiError> {
    let entries = data
        .list_after(scope, prefix.unwrap_or(""), after.unwrap_or(""))
        .await?
        .into_iter()
        .map(|(key, value)| entry(key, value))
        .collect();
    Ok(Json(EntriesBody { entries }))
}

async fn get_one(
    data: &ModuleData,
    scope: &DataScope,
    key: &str,
) -> Result<Json<EntryBody>, ApiError> {
    let value = data
        .get(scope, key)
        .await?
        .ok_or_else(|| ApiError::NoSuchKey(key.to_owned()))?;
    Ok(Json(entry(key.to_owned(), value)))
}

async fn put_one(
    data: &ModuleData,
    scope: &DataScope,
    key: &str,
    body: Data<'_>,
) -> Result<Json<EntryBody>, ApiError> {
    // A bad key is answered before the body is read.
    storage::check_key(key).map_err(ApiError::Data)?;
    let value = read_json(body).await?;
    data.put(scope, key, &value).await?;
    Ok(Json(entry(key.to_owned(), value)))
}

async fn delete_one(data: &ModuleData, scope: &DataScope, key: &str) -> Result<Status, ApiError> {
    if data.delete(scope, key).await? {
        Ok(Status::NoContent)
    } else {
        Err(ApiError::NoSuchKey(key.to_owned()))
    }
}

/// A household member as the town's software sends it.
#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberBody {
    first_name: String,
    last_name: String,
    #[serde(default)]
    birth_date: Option<chrono::NaiveDate>,
    relation: String,
    #[serde(default)]
    external_ref: Option<String>,
}

#[derive(Debug, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HouseholdBody {
    members: Vec<MemberBody>,
}

async fn resident_account(
    client: &ApiClient,
    accounts: &Accounts,
    identifier: &str,
) -> Result<crate::accounts::entity::account::Model, ApiError> {
    accounts
        .find_by_identifier(&client.tenant, identifier)
        .await?
        .ok_or_else(|| ApiError::UnknownResident(identifier.to_owned()))
}

fn household_body(members: Vec<household_member::Model>) -> HouseholdBody {
    let members = members
        .into_iter()
        .map(|member| MemberBody {
            first_name: member.first_name,
            last_name: member.last_name,
            birth_date: member.birth_date,
            relation: member.relation.code().to_owned(),
            external_ref: member.external_ref,
        })
        .collect();
    HouseholdBody { members }
}

/// The API's words for a refused household: one message, for the first
/// refused member and its first refused field.
fn invalid_household(error: HouseholdError, members: &[MemberInput]) -> ApiError {
    let (index, errors) = match error {
        HouseholdError::TooMany => {
            return ApiError::InvalidMember(format!(
                "un foyer compte {MAX_MEMBERS} membres au plus"
            ));
        }
        HouseholdError::Member { index, errors } => (index, errors),
        HouseholdError::Database(error) => return error.into(),
    };
    let detail =
        if errors.contains(MemberField::FirstName) || errors.contains(MemberField::LastName) {
            format!("prénom et nom sont requis ({MAX_NAME_CHARS} caractères au plus)")
        } else if errors.contains(MemberField::Relation) {
            let known: Vec<&str> = Relation::ALL
                .iter()
                .map(|relation| relation.code())
                .collect();
            format!(
                "le lien « {} » n'est pas l'un de : {}",
                members
                    .get(index)
                    .map_or("", |member| member.relation.as_str()),
                known.join(", ")
            )
        } else if errors.contains(MemberField::ExternalRef) {
            format!("external_ref fait {MAX_EXTERNAL_REF_CHARS} caractères au plus")
        } else if members.get(index).is_some_and(|member| {
            chrono::NaiveDate::parse_from_str(&member.birth_date, "%Y-%m-%d")
                .is_ok_and(|date| chrono::Datelike::year(&date) < EARLIEST_BIRTH_YEAR)
        }) {
            format!("birth_date ne peut pas être avant {EARLIEST_BIRTH_YEAR}")
        } else {
            "birth_date ne peut pas être après aujourd'hui".to_owned()
        };
    ApiError::InvalidMember(format!("membre {index} : {detail}"))
}

#[get("/residents/<identifier>/household")]
async fn get_household(
    client: Client,
    identifier: &str,
    accounts: &State<Accounts>,
    households: &State<Households>,
) -> Result<Json<HouseholdBody>, ApiError> {
    let client = client?;
    let account = resident_account(&client, accounts, identifier).await?;
    let members = households
        .members(client.tenant.scope(), account.id)
        .await?;
    Ok(Json(household_body(members)))
}

/// Replaces the resident's household with the town software's list.
#[put("/residents/<identifier>/household", data = "<data>")]
async fn put_household(
    client: Client,
    identifier: &str,
    data: Data<'_>,
    accounts: &State<Accounts>,
    households: &State<Households>,
) -> Result<Json<HouseholdBody>, ApiError> {
    let client = client?;
    let account = resident_account(&client, accounts, identifier).await?;
    let body: HouseholdBody = serde_json::from_str(&read_json(data).await?)
        .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    let members: Vec<MemberInput> = body
        .members
        .into_iter()
        .map(|member| MemberInput {
            first_name: member.first_name,
            last_name: member.last_name,
            birth_date: member
                .birth_date
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            relation: member.relation,
            external_ref: member.external_ref,
        })
        .collect();
    let stored = households
        .replace(&client.tenant, account.id, &members)
        .await
        .map_err(|error| invalid_household(error, &members))?;
    Ok(Json(household_body(stored)))
}

#[get("/openapi.json")]
fn openapi() -> (ContentType, &'static str) {
    (ContentType::JSON, OPENAPI)
}

#[get("/modules/<module>/data?<prefix>&<after>")]
async fn list_town(
    client: Client,
    module: &str,
    prefix: Option<&str>,
    after: Option<&str>,
    modules: &State<Modules>,
    data: &State<ModuleData>,
) -> Result<Json<EntriesBody>, ApiError> {
    let scope = town_scope(&client?, modules, module).await?;
    list(data, &scope, prefix, after).await
}

#[get("/modules/<module>/data/<key>")]
async fn get_town(
    client: Client,
    module: &str,
    key: &str,
    modules: &State<Modules>,
    data: &State<ModuleData>,
) -> Result<Json<EntryBody>, ApiError> {
    let scope = town_scope(&client?, modules, module).await?;
    get_one(data, &scope, key).await
}

#[put("/modules/<module>/data/<key>", data = "<body>")]
async fn put_town(
    client: Client,
    module: &str,
    key: &str,
    body: Data<'_>,
    modules: &State<Modules>,
    data: &State<ModuleData>,
) -> Result<Json<EntryBody>, ApiError> {
    let scope = town_scope(&client?, modules, module).await?;
    put_one(data, &scope, key, body).await
}

#[delete("/modules/<module>/data/<key>")]
async fn delete_town(
    client: Client,
    module: &str,
    key: &str,
    modules: &State<Modules>,
    data: &State<ModuleData>,
) -> Result<Status, ApiError> {
    let scope = town_scope(&client?, modules, module).await?;
    delete_one(data, &scope, key).await
}

#[get("/modules/<module>/residents/<identifier>/data?<prefix>&<after>")]
#[allow(clippy::too_many_arguments)]
async fn list_resident(
    client: Client,
    module: &str,
    identifier: &str,
    prefix: Option<&str>,
    after: Option<&str>,
    modules: &State<Modules>,
    accounts: &State<Accounts>,
    data: &State<ModuleData>,
) -> Result<Json<EntriesBody>, ApiError> {
    let scope = resident_scope(&client?, modules, accounts, module, identifier).await?;
    list(data, &scope, prefix, after).await
}

#[get("/modules/<module>/residents/<identifier>/data/<key>")]
async fn get_resident(
    client: Client,
    module: &str,
    identifier: &str,
    key: &str,
    modules: &State<Modules>,
    accounts: &State<Accounts>,
    data: &State<ModuleData>,
) -> Result<Json<EntryBody>, ApiError> {
    let scope = resident_scope(&client?, modules, accounts, module, identifier).await?;
    get_one(data, &scope, key).await
}

#[put("/modules/<module>/residents/<identifier>/data/<key>", data = "<body>")]
#[allow(clippy::too_many_arguments)]
async fn put_resident(
    client: Client,
    module: &str,
    identifier: &str,
    key: &str,
    body: Data<'_>,
    modules: &State<Modules>,
    accounts: &State<Accounts>,
    data: &State<ModuleData>,
) -> Result<Json<EntryBody>, ApiError> {
    let scope = resident_scope(&client?, modules, accounts, module, identifier).await?;
    put_one(data, &scope, key, body).await
}

#[delete("/modules/<module>/residents/<identifier>/data/<key>")]
async fn delete_resident(
    client: Client,
    module: &str,
    identifier: &str,
    key: &str,
    modules: &State<Modules>,
    accounts: &State<Accounts>,
    data: &State<ModuleData>,
) -> Result<Status, ApiError> {
    let scope = resident_scope(&client?, modules, accounts, module, identifier).await?;
    delete_one(data, &scope, key).await
}

/// An error answered by a catcher (no route, or a guard refused).
#[derive(Debug)]
pub struct CaughtError {
    status: Status,
    code: &'static str,
    message: &'static str,
}

impl<'r> Responder<'r, 'static> for CaughtError {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        json_error(self.status, self.code, self.message.to_owned())
    }
}

#[catch(404)]
fn not_found() -> CaughtError {
    CaughtError {
        status: Status::NotFound,
        code: "not_found",
        message: "aucune ressource à cette adresse",
    }
}

#[catch(422)]
fn unprocessable() -> CaughtError {
    CaughtError {
        status: Status::UnprocessableEntity,
        code: "invalid_request",
        message: "la requête est mal formée",
    }
}

#[catch(413)]
fn too_large() -> CaughtError {
    CaughtError {
        status: Status::PayloadTooLarge,
        code: "body_too_large",
        message: "le corps de la requête est trop grand",
    }
}

#[catch(default)]
fn any_status(status: Status, _: &Request<'_>) -> CaughtError {
    CaughtError {
        status,
        code: "error",
        message: "la requête n'a pas pu aboutir",
    }
}
