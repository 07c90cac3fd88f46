//! Creation of accounts: by the town (pending, temporary password,
//! activation mail), or by a resident FranceConnect vouched for (active at
//! once, where the town allows it).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseTransaction, DbErr,
    QueryFilter as _,
};

use super::entity::account::{self, AccountStatus, Civility};
use super::error::{AccountError, FieldError};
use super::identifier;
use super::secrets::{new_temporary_password, new_token};
use super::service::Accounts;
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::tenancy::{Tenant, TenantScope, is_plausible_email};

/// Problems with what the town typed when creating an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewAccountError {
    #[error("the e-mail address `{0}` is not valid")]
    InvalidEmail(String),
    #[error("an account of this town already uses the e-mail address {0}")]
    EmailTaken(String),
    #[error("the first and last names must not be empty")]
    MissingName,
    #[error("this FranceConnect identity is already linked to an account")]
    IdentityLinked,
}

/// A phone number as the town and residents type them: digits, spaces,
/// dots, hyphens, parentheses and a leading +; 6 to 20 digits.
pub fn is_plausible_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits)
        && phone.chars().count() <= 40
        && phone.chars().enumerate().all(|(index, character)| {
            character.is_ascii_digit()
                || matches!(character, ' ' | '.' | '-' | '(' | ')')
                || (character == '+' && index == 0)
        })
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub civility: Option<Civility>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// The longest names, address and phone number an account keeps (the
/// columns' lengths; an e-mail address is at most 254 characters).
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_ADDRESS_CHARS: usize = 300;
pub const MAX_PHONE_CHARS: usize = 40;

impl NewAccount {
    /// Everything wrong with it, field by field (`email`, `first_name`,
    /// `last_name`, `address`, `phone`), in French: what a form shows next
    /// to each field and the data API lists. Empty when it can be created
    /// (but for an address another account has: known only in the
    /// transaction).
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut refuse = |field: &'static str, message: String| {
            problems.push(FieldError { field, message });
        };
        let email = self.email.trim();
        if email.is_empty() {
            refuse("email", "Saisissez l'adresse électronique.".to_owned());
        } else if email.chars().count() > MAX_EMAIL_CHARS || !is_plausible_email(email) {
            refuse(
                "email",
                "Saisissez une adresse électronique valide, par exemple nom@exemple.fr.".to_owned(),
            );
        }
        for (field, value, missing) in [
            ("first_name", &self.first_name, "Saisissez le prénom."),
            ("last_name", &self.last_name, "Saisissez le nom."),
        ] {
            if value.trim().is_empty() {
                refuse(field, missing.to_owned());
            } else if value.trim().chars().count() > MAX_NAME_CHARS {
                refuse(
                    field,
                    format!("{MAX_NAME_CHARS} caractères au plus, s'il vous plaît."),
                );
            }
        }
        if self
            .address
            .as_ref()
            .is_some_and(|a| a.trim().chars().count() > MAX_ADDRESS_CHARS)
        {
            refuse(
                "address",
                format!("L'adresse doit faire au plus {MAX_ADDRESS_CHARS} caractères."),
            );
        }
        if self
            .phone
            .as_ref()
            .is_some_and(|p| p.trim().chars().count() > MAX_PHONE_CHARS)
        {
            refuse(
                "phone",
                format!("Le téléphone doit faire au plus {MAX_PHONE_CHARS} caractères."),
            );
        }
        problems
    }
}

/// What an account is created with, besides the names and addresses.
struct AccountFields {
    password_hash: String,
    /// Set for a temporary password, with its expiry.
    temporary_until: Option<DateTime<Utc>>,
    /// Set for an account active from the start.
    activated_at: Option<DateTime<Utc>>,
}

/// What the town must know of a created account (the mail carries the same).
#[derive(Debug, Clone)]
pub struct CreatedAccount {
    pub account_id: i32,
    pub identifier: String,
    pub temporary_password: String,
}

impl Accounts {
    /// Creates a pending account with a temporary password and queues its
    /// activation mail, in one transaction.
    pub async fn create(
        &self,
        tenant: &Tenant,
        new: NewAccount,
        origin: &Origin,
    ) -> Result<Result<CreatedAccount, NewAccountError>, AccountError> {
        self.create_as(tenant, new, Actor::System, origin).await
    }

    /// [`Accounts::create`], recorded in the journal as `actor`'s doing (a
    /// staff member, an API key).
    pub async fn create_as(
        &self,
        tenant: &Tenant,
        new: NewAccount,
        actor: Actor,
        origin: &Origin,
    ) -> Result<Result<CreatedAccount, NewAccountError>, AccountError> {
        let scope = tenant.scope();
        let temporary_password = new_temporary_password();
        let password_hash = self.hasher.hash_temporary(&temporary_password);
        let now = Utc::now();

        let txn = crate::db::begin_write(&self.db).await?;
        let fields = AccountFields {
            password_hash,
            temporary_until: Some(
                now + Duration::days(i64::from(
                    super::AccountSettings::of(tenant).temporary_password_validity_days,
                )),
            ),
            activated_at: None,
        };
        let created = match Self::insert_account(&txn, scope, new, fields, now).await? {
            Ok(created) => created,
            Err(problem) => return Ok(Err(problem)),
        };
        self.queue_activation(&txn, tenant, &created, &temporary_password, now)
            .await?;
        self.commit_with_mail_by(
            txn,
            scope,
            Event {
                kind: AuditKind::AccountCreated,
                actor,
                subject: Some(created.id),
                origin,
                detail: None,
            },
        )
        .await?;
        Ok(Ok(CreatedAccount {
            account_id: created.id,
            identifier: created.identifier,
            temporary_password,
        }))
    }

    /// Checks and inserts an account, with the first free identifier of
    /// its names; the town's e-mail addresses are unique.
    async fn insert_account(
        txn: &DatabaseTransaction,
        scope: TenantScope,
        new: NewAccount,
        fields: AccountFields,
        now: DateTime<Utc>,
    ) -> Result<Result<account::Model, NewAccountError>, DbErr> {
        let email = new.email.trim().to_owned();
        if !is_plausible_email(&email) {
            return Ok(Err(NewAccountError::InvalidEmail(email)));
        }
        let (first_name, last_name) = (new.first_name.trim(), new.last_name.trim());
        if first_name.is_empty() || last_name.is_empty() {
            return Ok(Err(NewAccountError::MissingName));
        }
        let email_key = email.to_lowercase();
        let email_taken = scope
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(&email_key))
            .one(txn)
            .await?
            .is_some();
        if email_taken {
            return Ok(Err(NewAccountError::EmailTaken(email)));
        }
        let stem = identifier::stem(first_name, last_name);
        let mut taken: Vec<String> = scope
            .select::<account::Entity>()
            .filter(account::Column::Identifier.starts_with(&stem))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| row.identifier)
            .collect();
        // Nor one a closed account had: the town's software may still name
        // its former owner by it.
        let login = loop {
            let candidate = identifier::first_free(&stem, &taken);
            let retired =
                identifier::retired_among(txn, scope, std::slice::from_ref(&candidate)).await?;
            if retired.is_empty() {
                break candidate;
            }
            taken.push(candidate);
        };
        let status = if fields.activated_at.is_some() {
            AccountStatus::Active
        } else {
            AccountStatus::Pending
        };
        let created = account::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            identifier: Set(login),
            email: Set(email),
            email_key: Set(email_key),
            civility: Set(new.civility),
            first_name: Set(first_name.to_owned()),
            last_name: Set(last_name.to_owned()),
            address: Set(new
                .address
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())),
            phone: Set(new
                .phone
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())),
            password_hash: Set(fields.password_hash),
            password_is_temporary: Set(fields.temporary_until.is_some()),
            temporary_password_expires_at: Set(fields.temporary_until),
            status: Set(status),
            created_at: Set(now),
            activated_at: Set(fields.activated_at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        super::search::index_account(txn, scope, &created).await?;
        Ok(Ok(created))
    }

    /// Creates an active account for an identity FranceConnect vouched
    /// for, links it, and logs the resident in, in one transaction (where
    /// the town allows it). Its password is random and known to nobody:
    /// "J'ai oublié mon mot de passe" sets one.
    pub async fn create_with_franceconnect(
        &self,
        tenant: &Tenant,
        pending: &crate::franceconnect::PendingLink,
        origin: &Origin,
    ) -> Result<Result<String, NewAccountError>, AccountError> {
        let scope = tenant.scope();
        let password_hash = self.hasher.hash(&new_token()).await?;
        let now = Utc::now();
        let new = NewAccount {
            email: pending.email.clone().unwrap_or_default(),
            first_name: pending.given_name.clone().unwrap_or_default(),
            last_name: pending.family_name.clone().unwrap_or_default(),
            civility: None,
            address: None,
            phone: None,
        };
        let fields = AccountFields {
            password_hash,
            temporary_until: None,
            activated_at: Some(now),
        };
        let txn = crate::db::begin_write(&self.db).await?;
        let created = match Self::insert_account(&txn, scope, new, fields, now).await? {
            Ok(created) => created,
            Err(problem) => return Ok(Err(problem)),
        };
        let linked = crate::franceconnect::insert_link(
            &txn,
            scope,
            created.id,
            &pending.issuer,
            &pending.sub,
            now,
        )
        .await?;
        if linked != crate::franceconnect::LinkOutcome::Linked {
            // Linked meanwhile (another tab): nothing is created.
            return Ok(Err(NewAccountError::IdentityLinked));
        }
        // The resident created this account themselves, through
        // FranceConnect: they are its actor, not the town.
        for kind in [AuditKind::AccountCreated, AuditKind::FranceConnectLinked] {
            audit::record_event(
                &txn,
                scope,
                Event {
                    kind,
                    actor: Actor::Resident(created.id),
                    subject: Some(created.id),
                    origin,
                    detail: Some("franceconnect".to_owned()),
                },
            )
            .await?;
        }
        // Created in this very transaction: open, whatever else happens.
        let session_token = self
            .open_session(&txn, tenant, &created, origin, Some(&pending.id_token), now)
            .await?
            .ok_or(DbErr::RecordNotUpdated)?;
        txn.commit().await?;
        Ok(Ok(session_token))
    }
}
