//! Residents' accounts for the town's software: create one (the activation
//! mail goes with it), find one by e-mail address, send its activation
//! again. The same services as the staff's pages, the journal naming the
//! API key as the actor.

use rocket::data::Data;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{State, get, post};
use serde::{Deserialize, Serialize};

use super::{ApiError, Client, read_json};
use crate::accounts::entity::account;
use crate::accounts::{
    Accounts, AdministrationProblem, Civility, FieldError, NewAccount, NewAccountError,
    ResidentState,
};
use crate::audit::Origin;

/// An account as the town's software sends it. Every field is optional
/// here so that a missing one is named in the answer, like a wrong one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    /// `M` or `Mme`.
    #[serde(default)]
    civility: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AccountBody {
    identifier: String,
    email: String,
    civility: Option<&'static str>,
    first_name: String,
    last_name: String,
    address: Option<String>,
    phone: Option<String>,
    /// `pending` (awaiting activation), `active` or `disabled`.
    status: &'static str,
    created_at: String,
    activated_at: Option<String>,
    last_login_at: Option<String>,
}

#[derive(Debug, Serialize)]
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

/// Creates a pending account and queues its activation mail. A known
/// address answers 409 with the existing account's identifier.
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

/// The town's account with this e-mail address (a list of one, or empty).
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

/// Sends the activation mail again, with a new temporary password: the
/// old link and password stop working.
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
