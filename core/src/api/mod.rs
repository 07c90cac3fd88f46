//! The data API for the towns' back-office systems (billing, school
//! software…): they push the data modules show, into a module's storage for
//! the town or for one resident. `/api/v1`, on the town's own host,
//! authenticated by the town's API keys; described by an OpenAPI 3.1
//! document generated from the routes' `#[utoipa::path]` attributes and the
//! types they read and write (`doc`), served at `/api/v1/openapi.json` and
//! rendered as a French page at `/api/v1/documentation` (`reference`).
//! Every status an operation may answer is in its attribute, with the error
//! codes it may carry; the integration tests check each route's answers
//! against the document.
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
mod doc;
pub mod entity;
mod keys;
mod payments;
pub mod personal_data;
mod reference;

use std::sync::Arc;

use rocket::data::{Data, ToByteUnit as _};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::{Catcher, Route, State, catch, catchers, delete, get, put, routes};
use serde::Serialize;
use utoipa::ToSchema;

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

pub(crate) use doc::text_enum;
pub use doc::{document, json as openapi_json};

// What the operations' attributes share (`doc` holds the shared answers).
const MODULE_PARAM: &str = "Identifiant du module activé pour la commune, p. ex. `invoices`.";
const KEY_PARAM: &str = "Clé de 1 à 200 octets, sans caractère de contrôle (NUL compris), encodée en pourcentage dans l'URL.";
const IDENTIFIER_PARAM: &str =
    "Identifiant Guichet du résident, p. ex. `michel.arpege`. Sans caractère NUL (U+0000).";
const PREFIX_PARAM: &str =
    "Ne lister que les clés commençant par ce préfixe. Sans caractère NUL (U+0000).";
const AFTER_PARAM: &str = "Pagination : ne lister que les clés qui suivent celle-ci, dans l'ordre des clés, comparées octet par octet en UTF-8 comme sur toutes les bases (la dernière clé de la page précédente). Sans caractère NUL (U+0000).";
const LIST_ANSWER: &str = "Les valeurs, par ordre de clé (500 au plus) : s'il y en a 500, demander la suite avec `after` égal à la dernière clé reçue.";
const VALUE_BODY: &str = "N'importe quelle valeur JSON, de 64 Kio au plus une fois compactée.";
const URL_NUL: &str = "Un texte de l'adresse contient le caractère NUL (`invalid_text`).";
const KEY_REFUSED: &str = "Clé invalide (`invalid_key`, `invalid_text`) ; `invalid_text` : un texte de l'adresse ou du corps contient le caractère NUL.";
const VALUE_REFUSED: &str = "Clé invalide ou valeur trop grande (`invalid_key`, `value_too_large`, `invalid_text`, `invalid_input`) ; `invalid_text` : un texte de l'adresse ou du corps contient le caractère NUL.";
const NOT_JSON: &str = "Corps qui n'est pas du JSON (`invalid_json`).";
const TOO_LARGE: &str = "Corps trop grand (`body_too_large`).";
const SCOPE_FULL: &str = "L'espace de stockage est plein (`scope_full`).";
const TOWN_OR_MODULE: &str =
    "Commune inconnue à cette adresse ou module non activé (`unknown_town`, `module_not_enabled`).";
const TOWN_MODULE_OR_KEY: &str = "Commune inconnue à cette adresse, module non activé ou clé sans valeur (`unknown_town`, `module_not_enabled`, `no_such_key`).";
const TOWN_MODULE_OR_RESIDENT: &str = "Commune inconnue à cette adresse, module non activé ou résident inconnu (`unknown_town`, `module_not_enabled`, `unknown_resident`).";
const TOWN_MODULE_RESIDENT_OR_KEY: &str = "Commune inconnue à cette adresse, module non activé, résident inconnu ou clé sans valeur (`unknown_town`, `module_not_enabled`, `unknown_resident`, `no_such_key`).";
const TOWN_OR_RESIDENT: &str = "Commune inconnue à cette adresse, ou résident inconnu dans cette commune (`unknown_town`, `unknown_resident`).";
const UNKNOWN_TOWN: &str = "Aucune commune n'est servie à cette adresse (`unknown_town`).";
const BOOKINGS_DATA: &str = "Les données du module pour toute la commune. Pour le module `bookings` (« Annuler ou réserver… »), le logiciel de facturation y lit les réservations et les présences : `booking:<activité>:<date>:<résident>~<enfant>` (`activity`, `date`, `resident`, `family`, `child`, `child_name`, `group`, `booked_at`, `price_cents` — majoration de retard comprise —, `late`, `promoted`, `attendance` : `present`, `absent` ou absent si non pointé), `waiting:<activité>:<date>:<rang sur 10 chiffres>` (liste d'attente dans l'ordre d'arrivée), `day:<activité>:<date>` (réservations comptées, places fixées par les agents, fermeture), `closure:<date>:<activité ou *>` (fermetures saisies par les agents). Dates ISO 8601, montants en centimes ; p. ex. `prefix=booking:cantine:2026-06` pour les repas de juin, page par page avec `after`.";

pub fn routes() -> Vec<Route> {
    routes![
        openapi,
        documentation,
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

// The schemas' doc comments are the document's descriptions: French.

/// Une erreur : son code, stable, pour les programmes ; son message, en français, pour les personnes.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
struct ErrorBody {
    #[schema(inline)]
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct ErrorDetail {
    /// Le code de l'erreur, stable (p. ex. `no_such_key`) : chaque réponse d'erreur de ce document dit ceux qu'elle peut porter.
    code: &'static str,
    /// Le message, en français.
    message: String,
    /// Avec `email_taken` : l'identifiant du compte qui a déjà l'adresse.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    identifier: Option<String>,
    /// Avec `invalid_account` : ce qui ne va pas, champ par champ.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<FieldError>)]
    fields: Option<Vec<FieldError>>,
}

fn json_error(status: Status, code: &'static str, message: String) -> response::Result<'static> {
    json_error_with(status, code, message, None, None)
}

fn json_error_with(
    status: Status,
    code: &'static str,
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

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Entry)]
pub struct EntryBody {
    key: String,
    /// La valeur JSON déposée (64 Kio au plus une fois compactée ; aucun texte n'y contient le caractère NUL).
    value: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Entries)]
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

// A household member as the town's software sends it (and reads it).
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Member)]
pub struct MemberBody {
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000]*$")]
    first_name: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"^[^\u0000]*$")]
    last_name: String,
    /// Pas après la date du jour de la commune, ni avant le 1er janvier 1900.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    birth_date: Option<chrono::NaiveDate>,
    #[schema(schema_with = relation_schema)]
    relation: String,
    /// L'identifiant du membre dans le logiciel de la commune.
    #[serde(default)]
    #[schema(max_length = 64, pattern = r"^[^\u0000]*$")]
    external_ref: Option<String>,
}

/// The relations a member may have, as the API writes them.
fn relation_schema() -> utoipa::openapi::Schema {
    let codes: Vec<&str> = Relation::ALL
        .iter()
        .map(|relation| relation.code())
        .collect();
    text_enum(&codes, false)
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Household)]
pub struct HouseholdBody {
    #[schema(max_items = 50)]
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

#[utoipa::path(
    get,
    path = "/residents/{identifier}/household",
    operation_id = "getHousehold",
    tag = "Foyers",
    summary = "Lire le foyer d'un résident",
    params(
        ("identifier" = String, Path, description = IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
    ),
    responses(
        (status = 200, description = "Le foyer, tel qu'enregistré.", body = HouseholdBody),
        (status = 404, description = TOWN_OR_RESIDENT, body = ErrorBody),
        (status = 422, description = URL_NUL, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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
#[utoipa::path(
    put,
    path = "/residents/{identifier}/household",
    operation_id = "putHousehold",
    tag = "Foyers",
    summary = "Remplacer le foyer d'un résident",
    description = "La liste envoyée remplace entièrement les membres enregistrés (50 au plus).",
    params(
        ("identifier" = String, Path, description = IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
    ),
    request_body = HouseholdBody,
    responses(
        (status = 200, description = "Le foyer, tel qu'enregistré.", body = HouseholdBody),
        (status = 400, description = "Corps qui n'est pas du JSON attendu (`invalid_json`).", body = ErrorBody),
        (status = 404, description = TOWN_OR_RESIDENT, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 422, description = "Membre invalide (`invalid_member`, `invalid_text`, `invalid_input`) ; `invalid_text` : un texte de l'adresse ou du corps contient le caractère NUL.", body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "Documentation",
    summary = "Ce document",
    description = "Le document OpenAPI 3.1 de l'API, généré à partir de son code ; sans clé.",
    responses((status = 200, description = "Le document OpenAPI 3.1.", body = Object)),
)]
#[get("/openapi.json")]
fn openapi() -> (ContentType, &'static str) {
    (ContentType::JSON, doc::json())
}

#[utoipa::path(
    get,
    path = "/documentation",
    operation_id = "documentation",
    tag = "Documentation",
    summary = "La documentation de l'API",
    description = "Ce document sous forme de page HTML, en français ; sans clé.",
    responses((status = 200, description = "La page.", content_type = "text/html", body = String)),
)]
#[get("/documentation")]
fn documentation() -> response::content::RawHtml<&'static str> {
    response::content::RawHtml(reference::page())
}

#[utoipa::path(
    get,
    path = "/modules/{module}/data",
    operation_id = "listTown",
    tag = "Données",
    summary = "Lister les valeurs (commune)",
    description = BOOKINGS_DATA,
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("prefix" = Option<String>, Query, description = PREFIX_PARAM, pattern = r"^[^\u0000]*$"),
        ("after" = Option<String>, Query, description = AFTER_PARAM, pattern = r"^[^\u0000]*$"),
    ),
    responses(
        (status = 200, description = LIST_ANSWER, body = EntriesBody),
        (status = 404, description = TOWN_OR_MODULE, body = ErrorBody),
        (status = 422, description = URL_NUL, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/modules/{module}/data/{key}",
    operation_id = "getTown",
    tag = "Données",
    summary = "Lire une valeur",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("key" = String, Path, description = KEY_PARAM, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"),
    ),
    responses(
        (status = 200, description = "La valeur.", body = EntryBody),
        (status = 404, description = TOWN_MODULE_OR_KEY, body = ErrorBody),
        (status = 422, description = KEY_REFUSED, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    put,
    path = "/modules/{module}/data/{key}",
    operation_id = "putTown",
    tag = "Données",
    summary = "Écrire une valeur (créée ou remplacée)",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("key" = String, Path, description = KEY_PARAM, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"),
    ),
    request_body(content = serde_json::Value, content_type = "application/json", description = VALUE_BODY),
    responses(
        (status = 200, description = "La valeur.", body = EntryBody),
        (status = 400, description = NOT_JSON, body = ErrorBody),
        (status = 404, description = TOWN_OR_MODULE, body = ErrorBody),
        (status = 409, description = SCOPE_FULL, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 422, description = VALUE_REFUSED, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    delete,
    path = "/modules/{module}/data/{key}",
    operation_id = "deleteTown",
    tag = "Données",
    summary = "Supprimer une valeur",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("key" = String, Path, description = KEY_PARAM, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"),
    ),
    responses(
        (status = 204, description = "Supprimée."),
        (status = 404, description = TOWN_MODULE_OR_KEY, body = ErrorBody),
        (status = 422, description = KEY_REFUSED, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/modules/{module}/residents/{identifier}/data",
    operation_id = "listResident",
    tag = "Données",
    summary = "Lister les valeurs (résident)",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("identifier" = String, Path, description = IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
        ("prefix" = Option<String>, Query, description = PREFIX_PARAM, pattern = r"^[^\u0000]*$"),
        ("after" = Option<String>, Query, description = AFTER_PARAM, pattern = r"^[^\u0000]*$"),
    ),
    responses(
        (status = 200, description = LIST_ANSWER, body = EntriesBody),
        (status = 404, description = TOWN_MODULE_OR_RESIDENT, body = ErrorBody),
        (status = 422, description = URL_NUL, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/modules/{module}/residents/{identifier}/data/{key}",
    operation_id = "getResident",
    tag = "Données",
    summary = "Lire une valeur (résident)",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("identifier" = String, Path, description = IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
        ("key" = String, Path, description = KEY_PARAM, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"),
    ),
    responses(
        (status = 200, description = "La valeur.", body = EntryBody),
        (status = 404, description = TOWN_MODULE_RESIDENT_OR_KEY, body = ErrorBody),
        (status = 422, description = KEY_REFUSED, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    put,
    path = "/modules/{module}/residents/{identifier}/data/{key}",
    operation_id = "putResident",
    tag = "Données",
    summary = "Écrire une valeur (résident ; créée ou remplacée)",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("identifier" = String, Path, description = IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
        ("key" = String, Path, description = KEY_PARAM, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"),
    ),
    request_body(content = serde_json::Value, content_type = "application/json", description = VALUE_BODY),
    responses(
        (status = 200, description = "La valeur.", body = EntryBody),
        (status = 400, description = NOT_JSON, body = ErrorBody),
        (status = 404, description = TOWN_MODULE_OR_RESIDENT, body = ErrorBody),
        (status = 409, description = SCOPE_FULL, body = ErrorBody),
        (status = 413, description = TOO_LARGE, body = ErrorBody),
        (status = 422, description = VALUE_REFUSED, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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

#[utoipa::path(
    delete,
    path = "/modules/{module}/residents/{identifier}/data/{key}",
    operation_id = "deleteResident",
    tag = "Données",
    summary = "Supprimer une valeur (résident)",
    params(
        ("module" = String, Path, description = MODULE_PARAM, pattern = "^[a-z0-9-]{1,64}$"),
        ("identifier" = String, Path, description = IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
        ("key" = String, Path, description = KEY_PARAM, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]+$"),
    ),
    responses(
        (status = 204, description = "Supprimée."),
        (status = 404, description = TOWN_MODULE_RESIDENT_OR_KEY, body = ErrorBody),
        (status = 422, description = KEY_REFUSED, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
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
