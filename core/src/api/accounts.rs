//! Residents' accounts for the town's software: create one (the activation
//! mail goes with it), find one by e-mail address, send its activation
//! again. The same services as the staff's pages, the journal naming the
//! API key as the actor.

use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, Client, ErrorBody, doc, read_json};
use crate::accounts::entity::account;
use crate::accounts::{
    Accounts, AdministrationProblem, Civility, FieldError, NewAccount, NewAccountError,
    ResidentState,
};
use crate::audit::Origin;

// An account as the town's software sends it. Every field is optional
// here so that a missing one is named in the answer, like a wrong one; the
// document says which ones an account needs. The doc comments are the
// document's descriptions (French).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewAccount)]
pub struct NewAccountBody {
    /// Unique dans la commune (casse ignorée).
    #[serde(default)]
    #[schema(value_type = String, required = true, max_length = 254, pattern = r"^[^\u0000]*$")]
    email: Option<String>,
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[^\u0000]*$")]
    first_name: Option<String>,
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[^\u0000]*$")]
    last_name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = civility_schema)]
    civility: Option<String>,
    #[serde(default)]
    #[schema(max_length = 300, pattern = r"^[^\u0000]*$")]
    address: Option<String>,
    #[serde(default)]
    #[schema(max_length = 40, pattern = r"^[^\u0000]*$")]
    phone: Option<String>,
}

/// `M`, `Mme` or nothing.
fn civility_schema() -> utoipa::openapi::Schema {
    doc::text_enum(&["M", "Mme"], true)
}

/// The states an account is listed in (a closed one never is).
fn status_schema() -> utoipa::openapi::Schema {
    let mut schema = doc::text_enum(&["pending", "active", "disabled"], false);
    if let utoipa::openapi::Schema::Object(object) = &mut schema {
        object.description = Some(
            "`pending` : en attente d'activation ; `disabled` : désactivé par la mairie."
                .to_owned(),
        );
    }
    schema
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountBody {
    /// L'identifiant de connexion, `prenom.nom` (suivi d'un numéro pour les homonymes).
    identifier: String,
    email: String,
    #[schema(schema_with = civility_schema)]
    civility: Option<&'static str>,
    first_name: String,
    last_name: String,
    address: Option<String>,
    phone: Option<String>,
    #[schema(schema_with = status_schema)]
    status: &'static str,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    activated_at: Option<String>,
    #[schema(format = DateTime)]
    last_login_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Accounts)]
pub struct AccountsBody {
    accounts: Vec<AccountBody>,
}

fn account_body(owner: account::Model) -> AccountBody {
    let status = match ResidentState::of(&owner) {
        ResidentState::AwaitingActivation => "pending",
        ResidentState::Active => "active",
        ResidentState::Disabled => "disabled",
        // Never listed (the lookups skip closed accounts); said if it were.
        ResidentState::Closed => "closed",
    };
    AccountBody {
        civility: owner.civility.map(|civility| match civility {
            Civility::Monsieur => "M",
            Civility::Madame => "Mme",
        }),
        status,
        created_at: owner.created_at.to_rfc3339(),
        activated_at: owner.activated_at.map(|at| at.to_rfc3339()),
        last_login_at: owner.last_login_at.map(|at| at.to_rfc3339()),
        identifier: owner.identifier,
        email: owner.email,
        first_name: owner.first_name,
        last_name: owner.last_name,
        address: owner.address,
        phone: owner.phone,
    }
}

// Creates a pending account and queues its activation mail. A known
// address answers 409 with the existing account's identifier.
#[utoipa::path(
    post,
    path = "/accounts",
    operation_id = "createAccount",
    tag = "Comptes",
    summary = "Créer le compte d'un résident",
    description = "Crée un compte en attente d'activation, avec un identifiant `prenom.nom` et un mot de passe temporaire, et envoie le courriel d'activation au résident (dans la même transaction). Le journal du compte nomme la clé d'API comme auteur.",
    request_body = NewAccountBody,
    responses(
        (status = 201, description = "Le compte créé ; le courriel d'activation est en file d'envoi.", body = AccountBody),
        (status = 400, description = "Corps qui n'est pas du JSON attendu (`invalid_json`), par exemple un champ inconnu.", body = ErrorBody),
        (status = 404, description = super::UNKNOWN_TOWN, body = ErrorBody),
        (status = 409, description = "Un compte de la commune a déjà cette adresse (`email_taken`) : son identifiant est dans `error.identifier`.", body = ErrorBody),
        (status = 413, description = super::TOO_LARGE, body = ErrorBody),
        (status = 422, description = "Compte refusé (`invalid_account`) : `error.fields` donne, champ par champ, ce qui ne va pas ; ou texte contenant le caractère NUL (`invalid_text`), ou valeur que la base de données refuse (`invalid_input`).", body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
#[post("/accounts", data = "<data>")]
pub async fn create_account(
    client: Client,
    data: Data<'_>,
    origin: Origin,
    accounts: &State<Accounts>,
) -> Result<(Status, Json<AccountBody>), ApiError> {
    let client = client?;
    let body: NewAccountBody = serde_json::from_str(&read_json(data).await?)
        .map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    let civility = match body.civility.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(typed) => Civility::parse(typed).map(Some).ok_or(FieldError {
            field: "civility",
            message: "« M », « Mme » ou rien".to_owned(),
        }),
    };
    let new = NewAccount {
        email: body.email.unwrap_or_default(),
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_default(),
        civility: civility.clone().unwrap_or(None),
        address: body.address,
        phone: body.phone,
    };
    let mut problems = new.problems();
    if let Err(problem) = civility {
        problems.push(problem);
    }
    if !problems.is_empty() {
        return Err(ApiError::InvalidAccount(problems));
    }
    let email = new.email.clone();
    let created = accounts
        .create_as(&client.tenant, new, client.actor(), &origin)
        .await
        .map_err(internal)?;
    match created {
        Ok(created) => {
            let owner = accounts
                .find_by_identifier(&client.tenant, &created.identifier)
                .await?
                .ok_or(ApiError::Internal)?;
            Ok((Status::Created, Json(account_body(owner))))
        }
        Err(NewAccountError::EmailTaken(_)) => Err(email_taken(&client, accounts, &email).await),
        Err(NewAccountError::InvalidEmail(_)) => Err(ApiError::InvalidAccount(vec![FieldError {
            field: "email",
            message: "adresse électronique invalide".to_owned(),
        }])),
        Err(NewAccountError::MissingName | NewAccountError::IdentityLinked) => {
            Err(ApiError::InvalidAccount(vec![FieldError {
                field: "last_name",
                message: "prénom et nom sont requis".to_owned(),
            }]))
        }
    }
}

/// The 409 of a known address, with the account's identifier.
async fn email_taken(client: &super::ApiClient, accounts: &Accounts, email: &str) -> ApiError {
    match accounts.find_by_email(&client.tenant, email).await {
        Ok(Some(owner)) => ApiError::EmailTaken {
            identifier: owner.identifier,
        },
        Ok(None) => ApiError::Internal,
        Err(error) => error.into(),
    }
}

// The town's account with this e-mail address (a list of one, or empty).
#[utoipa::path(
    get,
    path = "/accounts",
    operation_id = "findAccounts",
    tag = "Comptes",
    summary = "Chercher un compte par adresse électronique",
    description = "La casse de l'adresse est ignorée. La liste compte un compte au plus (les adresses sont uniques dans une commune), aucun si l'adresse est inconnue.",
    params(
        ("email" = String, Query, description = "L'adresse électronique cherchée. Sans caractère NUL (U+0000).", pattern = r"^[^\u0000]*$"),
    ),
    responses(
        (status = 200, description = "Les comptes de la commune qui ont cette adresse.", body = AccountsBody),
        (status = 404, description = super::UNKNOWN_TOWN, body = ErrorBody),
        (status = 422, description = "Paramètre `email` absent ou vide (`missing_parameter`), ou contenant le caractère NUL (`invalid_text`).", body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
#[get("/accounts?<email>")]
pub async fn find_accounts(
    client: Client,
    email: Option<&str>,
    accounts: &State<Accounts>,
) -> Result<Json<AccountsBody>, ApiError> {
    let client = client?;
    let email = email
        .map(str::trim)
        .filter(|email| !email.is_empty())
        .ok_or(ApiError::MissingParameter("email"))?;
    let found = accounts.find_by_email(&client.tenant, email).await?;
    Ok(Json(AccountsBody {
        accounts: found.into_iter().map(account_body).collect(),
    }))
}

// Sends the activation mail again, with a new temporary password: the
// old link and password stop working.
#[utoipa::path(
    post,
    path = "/accounts/{identifier}/activation",
    operation_id = "resendActivation",
    tag = "Comptes",
    summary = "Renvoyer le courriel d'activation",
    description = "Donne au compte en attente d'activation un nouveau mot de passe temporaire et un nouveau lien, envoyés par courriel : l'ancien lien et l'ancien mot de passe ne fonctionnent plus.",
    params(
        ("identifier" = String, Path, description = super::IDENTIFIER_PARAM, pattern = r"^[^\u0000]*$"),
    ),
    responses(
        (status = 202, description = "Le courriel est en file d'envoi.", body = AccountBody),
        (status = 404, description = super::TOWN_OR_RESIDENT, body = ErrorBody),
        (status = 409, description = "Compte déjà activé (`already_active`) ou désactivé (`account_disabled`).", body = ErrorBody),
        (status = 422, description = super::URL_NUL, body = ErrorBody),
        (status = 401, response = doc::Unauthenticated),
        (status = 500, response = doc::Internal),
        (status = 503, response = doc::Unavailable),
    ),
)]
#[post("/accounts/<identifier>/activation")]
pub async fn resend_activation(
    client: Client,
    identifier: &str,
    origin: Origin,
    accounts: &State<Accounts>,
) -> Result<(Status, Json<AccountBody>), ApiError> {
    let client = client?;
    let owner = super::resident_account(&client, accounts, identifier).await?;
    let done = accounts
        .reissue_activation(&client.tenant, owner.id, client.actor(), &origin)
        .await
        .map_err(internal)?;
    match done {
        Ok(()) => Ok((Status::Accepted, Json(account_body(owner)))),
        Err(AdministrationProblem::UnknownAccount) => {
            Err(ApiError::UnknownResident(identifier.to_owned()))
        }
        Err(problem @ AdministrationProblem::NotPending) => Err(ApiError::AccountState {
            code: "already_active",
            message: problem.message(),
        }),
        Err(problem) => Err(ApiError::AccountState {
            code: "account_disabled",
            message: problem.message(),
        }),
    }
}

fn internal(error: crate::accounts::AccountError) -> ApiError {
    match error {
        crate::accounts::AccountError::Database(error) => error.into(),
        other => {
            tracing::error!(error = %other, "data API: account operation failed");
            ApiError::Internal
        }
    }
}
