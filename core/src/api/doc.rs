//! The OpenAPI 3.1 document of the data API, generated from the code: each
//! route's `#[utoipa::path]` (its parameters, body and every answer with
//! the error codes it may carry), the schemas derived from the types the
//! routes read and write, and here what the routes share (the key, the
//! common answers, the headers). Built once; served as JSON at
//! `/api/v1/openapi.json` and as a page at `/api/v1/documentation`.
//!
//! The texts are French: they are what the towns' developers read.

use std::sync::LazyLock;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response, Schema};
use utoipa::{Modify, OpenApi, ToResponse};

use super::{accounts, payments};

/// The document's introduction: what every operation shares.
const DESCRIPTION: &str = "Les logiciels métier d'une commune (facturation, scolaire…) y déposent les données que montrent les modules de service : pour la commune entière, ou pour un résident. L'API répond sur l'adresse de la commune (p. ex. `https://villeneuve.guichet.example/api/v1`) ; une clé d'API ne vaut que pour sa commune. Les erreurs ont la forme `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}` : le code est stable, le message est en français. Règles que l'API applique avant tout enregistrement : aucun texte — segment d'adresse, paramètre, clé ou valeur JSON du corps, nom — ne contient le caractère NUL (U+0000) (`422 invalid_text`) ; une clé fait de 1 à 200 octets, sans caractère de contrôle (`422 invalid_key`) ; une valeur est un document JSON de 64 Kio au plus une fois compacté (`422 value_too_large`) ; une valeur que la base de données refuse malgré tout (hors limites) est l'erreur du client (`422 invalid_input`). Une méthode qu'une adresse ne déclare pas reçoit `405 method_not_allowed`, avec l'en-tête `Allow` listant les méthodes acceptées (réponse `MethodNotAllowed`). `503 unavailable` ne signifie qu'une indisponibilité passagère (base de données injoignable) : l'en-tête `Retry-After` dit dans combien de secondes réessayer ; toute autre panne est une `500 internal`, enregistrée côté serveur. Ce document est aussi lisible sous forme de page : `/api/v1/documentation`.";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Guichet — API de données",
        version = "1.0.0",
        description = DESCRIPTION,
    ),
    servers((url = "/api/v1")),
    security(("apiKey" = [])),
    tags(
        (name = "Données", description = "Les valeurs des modules, pour la commune ou pour un résident."),
        (name = "Foyers", description = "Les membres du foyer d'un résident."),
        (name = "Comptes", description = "Les comptes des résidents : création, recherche, activation."),
        (name = "Paiements", description = "Les paiements en ligne reçus."),
        (name = "Documentation", description = "Cette description de l'API."),
    ),
    paths(
        super::openapi,
        super::documentation,
        super::list_town,
        super::get_town,
        super::put_town,
        super::delete_town,
        super::list_resident,
        super::get_resident,
        super::put_resident,
        super::delete_resident,
        super::get_household,
        super::put_household,
        accounts::find_accounts,
        accounts::create_account,
        accounts::resend_activation,
        payments::list_payments,
    ),
    components(
        schemas(super::ErrorBody),
        responses(Unauthenticated, Internal, Unavailable, MethodNotAllowed),
    ),
    modifiers(&Shared),
)]
struct ApiDoc;

/// The generated document.
pub fn document() -> &'static Document {
    static DOCUMENT: LazyLock<Document> = LazyLock::new(ApiDoc::openapi);
    &DOCUMENT
}

/// The document as served (JSON, built once).
pub fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        // Serializing a document of strings and maps cannot fail; were it
        // to, the answer would still be JSON.
        document()
            .to_pretty_json()
            .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() }).to_string())
    });
    &JSON
}

/// What the path macros cannot say: the key's scheme, the shared headers,
/// and the operations open without a key.
struct Shared;

/// The operations that describe the API: readable without a key.
const OPEN_OPERATIONS: [&str; 2] = ["openapi", "documentation"];

/// `limit`'s default (`GET /payments`).
const PAYMENTS_PER_PAGE: u64 = payments::DEFAULT_LIMIT;

impl Modify for Shared {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Clé créée par `guichet api-key create --tenant <commune> --name <logiciel>`, envoyée en `Authorization: Bearer gk_…`.",
                    ))
                    .build(),
            ),
        );
        components.headers.insert(
            "RetryAfter".to_owned(),
            RefOr::T(
                HeaderBuilder::new()
                    .description(Some("Secondes à attendre avant de réessayer."))
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    ))
                    .build(),
            ),
        );
        components.headers.insert(
            "Allow".to_owned(),
            RefOr::T(
                HeaderBuilder::new()
                    .description(Some(
                        "Les méthodes que l'adresse accepte, séparées par des virgules (p. ex. `GET, PUT, DELETE, HEAD`).",
                    ))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ),
        );
        for item in document.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                if operation
                    .operation_id
                    .as_deref()
                    .is_some_and(|id| OPEN_OPERATIONS.contains(&id))
                {
                    // An empty list, not the document's key: no key needed.
                    operation.security = Some(Vec::new());
                }
                // The path macro has no default for a parameter.
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && parameter.name == "limit"
                        && let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema
                    {
                        schema.default = Some(serde_json::Value::from(PAYMENTS_PER_PAGE));
                    }
                }
            }
        }
    }
}

/// An answer with the error body.
fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("Error"))),
    )
}

/// `response` with the shared header `name` of the components.
fn with_header(mut response: Response, name: &str, component: &str) -> RefOr<Response> {
    response.headers.insert(
        name.to_owned(),
        RefOr::Ref(Ref::new(format!("#/components/headers/{component}"))),
    );
    RefOr::T(response)
}

/// 401, the same for every operation that takes a key.
pub struct Unauthenticated;

impl<'s> ToResponse<'s> for Unauthenticated {
    fn response() -> (&'s str, RefOr<Response>) {
        (
            "Unauthenticated",
            error_response("Clé d'API absente, invalide ou révoquée (`unauthenticated`).")
                .build()
                .into(),
        )
    }
}

/// 500, the same everywhere.
pub struct Internal;

impl<'s> ToResponse<'s> for Internal {
    fn response() -> (&'s str, RefOr<Response>) {
        (
            "Internal",
            error_response("Erreur interne, enregistrée côté serveur (`internal`).")
                .build()
                .into(),
        )
    }
}

/// 503 with `Retry-After`: the database cannot be reached.
pub struct Unavailable;

impl<'s> ToResponse<'s> for Unavailable {
    fn response() -> (&'s str, RefOr<Response>) {
        (
            "Unavailable",
            with_header(
                error_response(
                    "Service momentanément indisponible : la base de données ne répond pas (`unavailable`). Réessayer après le délai de `Retry-After`.",
                )
                .build(),
                "Retry-After",
                "RetryAfter",
            ),
        )
    }
}

/// 405 with `Allow`: answered at every address of the API for the methods
/// it does not declare ([`super::undeclared_method_routes`]), so it belongs
/// to no operation.
pub struct MethodNotAllowed;

impl<'s> ToResponse<'s> for MethodNotAllowed {
    fn response() -> (&'s str, RefOr<Response>) {
        (
            "MethodNotAllowed",
            with_header(
                error_response(
                    "Méthode que l'adresse ne déclare pas (`method_not_allowed`) : l'en-tête `Allow` liste celles qu'elle accepte.",
                )
                .build(),
                "Allow",
                "Allow",
            ),
        )
    }
}

/// A schema for a text among `values`, or null when `nullable`.
pub fn text_enum(values: &[&str], nullable: bool) -> Schema {
    let mut choices: Vec<serde_json::Value> = values
        .iter()
        .map(|value| serde_json::Value::from(*value))
        .collect();
    let schema_type = if nullable {
        choices.push(serde_json::Value::Null);
        SchemaType::Array(vec![Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(schema_type)
            .enum_values(Some(choices))
            .build(),
    )
}
