//! The account lifecycle: creation by the town, activation, login, password
//! change and reset. Every operation that changes several rows (and queues
//! a mail) is one transaction.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, DatabaseConnection,
    DbErr, QueryFilter as _,
};
use serde::Serialize;

use super::entity::{account, account_token};
use super::hashing::{HashingError, PasswordHasher};
use super::identifier;
use super::secrets::{new_temporary_password, new_token, token_hash};
use super::sessions::{self, SessionPolicy};
use super::throttle::{self, ThrottleKey};
use crate::audit::{self, AuditKind, Origin};
use crate::mail::{MailError, MailKind, Mailer};
use crate::tenancy::{Tenant, TenantScope, is_plausible_email};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Civility {
    Monsieur,
    Madame,
}

impl Civility {
    /// From the CLI's `M` / `Mme` (and their long forms).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().trim_end_matches('.') {
            "m" | "monsieur" => Some(Self::Monsieur),
            "mme" | "madame" => Some(Self::Madame),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::Monsieur => "M",
            Self::Madame => "Mme",
        }
    }

    /// "Monsieur" / "Madame", from the stored code.
    pub fn title(code: Option<&str>) -> Option<&'static str> {
        match code {
            Some("M") => Some("Monsieur"),
            Some("Mme") => Some("Madame"),
            _ => None,
        }
    }
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

/// Why a link (activation, reset) cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the new session's token, and the account as it was
    /// before this login (its `last_login_at` is the previous login).
    Success {
        session_token: String,
        account: Box<account::Model>,
    },
    /// Wrong identifier or password: one answer for both.
    Refused,
    /// Too many failures: try again in this many seconds.
    Throttled(i64),
    /// Right password, but the account was never activated.
    NotActivated,
    /// Right temporary password, but too old.
    TemporaryPasswordExpired,
}

/// A form field with what is wrong with it, in French.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// What a resident typed to change their password.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    /// Not asked while the password is the temporary one.
    pub current: Option<&'a str>,
    pub new: &'a str,
    pub confirmation: &'a str,
}

/// The account service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    db: DatabaseConnection,
    hasher: PasswordHasher,
    mailer: Mailer,
    sessions: SessionPolicy,
}

#[derive(Serialize)]
struct ActivationMail<'a> {
    civility: Option<&'static str>,
    first_name: &'a str,
    last_name: &'a str,
    link: String,
    identifier: &'a str,
    temporary_password: &'a str,
    valid_until: String,
}

#[derive(Serialize)]
struct ResetMail<'a> {
    civility: Option<&'static str>,
    first_name: &'a str,
    last_name: &'a str,
    link: String,
    identifier: &'a str,
    valid_minutes: u32,
}

#[derive(Serialize)]
struct ChangedMail<'a> {
    civility: Option<&'static str>,
    first_name: &'a str,
    last_name: &'a str,
    identifier: &'a str,
    changed_at: String,
    forgot_link: String,
}

impl Accounts {
    pub fn new(
        db: DatabaseConnection,
        hasher: PasswordHasher,
        mailer: Mailer,
        sessions: SessionPolicy,
    ) -> Self {
        Self {
            db,
            hasher,
            mailer,
            sessions,
        }
    }

    /// Creates a pending account with a temporary password and queues its
    /// activation mail, in one transaction.
    pub async fn create(
        &self,
        tenant: &Tenant,
        new: NewAccount,
        origin: &Origin,
    ) -> Result<Result<CreatedAccount, NewAccountError>, AccountError> {
        let scope = tenant.scope();
        let temporary_password = new_temporary_password();
        let password_hash = self.hasher.hash(&temporary_password).await?;
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
        audit::record(
            &txn,
            scope,
            Some(created.id),
            AuditKind::AccountCreated,
            origin,
            None,
        )
        .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(Ok(CreatedAccount {
            account_id: created.id,
            identifier: created.identifier,
            temporary_password,
        }))
    }

    /// Checks and inserts an account, with the first free identifier of
    /// its names; the town's e-mail addresses are unique.
    async fn insert_account(
        txn: &sea_orm::DatabaseTransaction,
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
        let taken: Vec<String> = scope
            .select::<account::Entity>()
            .filter(account::Column::Identifier.starts_with(&stem))
            .all(txn)
            .await?
            .into_iter()
            .map(|row| row.identifier)
            .collect();
        let login = identifier::first_free(&stem, &taken);
        let status = if fields.activated_at.is_some() {
            account::ACTIVE
        } else {
            account::PENDING
        };
        let created = account::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            identifier: Set(login),
            email: Set(email),
            email_key: Set(email_key),
            civility: Set(new.civility.map(|c| c.code().to_owned())),
            first_name: Set(first_name.to_owned()),
            last_name: Set(last_name.to_owned()),
            address: Set(new.address.filter(|a| !a.trim().is_empty())),
            phone: Set(new.phone.filter(|p| !p.trim().is_empty())),
            password_hash: Set(fields.password_hash),
            password_is_temporary: Set(fields.temporary_until.is_some()),
            temporary_password_expires_at: Set(fields.temporary_until),
            status: Set(status.to_owned()),
            created_at: Set(now),
            activated_at: Set(fields.activated_at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
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
        for kind in [AuditKind::AccountCreated, AuditKind::FranceConnectLinked] {
            audit::record(
                &txn,
                scope,
                Some(created.id),
                kind,
                origin,
                Some("franceconnect".to_owned()),
            )
            .await?;
        }
        let session_token = self
            .open_session(&txn, scope, &created, origin, Some(&pending.id_token), now)
            .await?;
        txn.commit().await?;
        Ok(Ok(session_token))
    }

    /// Logs in the account an identity is linked to (the caller found it
    /// active through the link).
    pub async fn login_with_franceconnect(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        id_token: &str,
        origin: &Origin,
    ) -> Result<String, AccountError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .open_session(
                &txn,
                tenant.scope(),
                owner,
                origin,
                Some(id_token),
                Utc::now(),
            )
            .await?;
        txn.commit().await?;
        Ok(token)
    }

    /// Marks a session as opened through FranceConnect (after the identity
    /// was linked by a password login), so that logout goes through it.
    pub async fn attach_franceconnect(
        &self,
        tenant: &Tenant,
        session_token: &str,
        id_token: &str,
    ) -> Result<(), AccountError> {
        sessions::attach_id_token(&self.db, tenant.scope(), session_token, id_token).await?;
        Ok(())
    }

    /// Opens a session, records the login (the previous one is kept for
    /// "votre dernière connexion"), and audits it.
    async fn open_session(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        scope: TenantScope,
        owner: &account::Model,
        origin: &Origin,
        franceconnect_id_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<String, DbErr> {
        let session_token =
            sessions::open(txn, scope, owner.id, self.sessions, origin, now).await?;
        if let Some(id_token) = franceconnect_id_token {
            sessions::attach_id_token(txn, scope, &session_token, id_token).await?;
        }
        scope
            .update::<account::Entity>()
            .col_expr(
                account::Column::PreviousLoginAt,
                Expr::value(owner.last_login_at),
            )
            .col_expr(account::Column::LastLoginAt, Expr::value(Some(now)))
            .filter(account::Column::Id.eq(owner.id))
            .exec(txn)
            .await?;
        audit::record(
            txn,
            scope,
            Some(owner.id),
            AuditKind::LoginSucceeded,
            origin,
            franceconnect_id_token.map(|_| "franceconnect".to_owned()),
        )
        .await?;
        Ok(session_token)
    }

    async fn queue_activation(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant: &Tenant,
        owner: &account::Model,
        temporary_password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let expires = now
            + Duration::days(i64::from(
                super::AccountSettings::of(tenant).activation_validity_days,
            ));
        let token = self
            .insert_token(
                txn,
                tenant.scope(),
                owner.id,
                account_token::ACTIVATION,
                now,
                expires,
            )
            .await?;
        let data = ActivationMail {
            civility: Civility::title(owner.civility.as_deref()),
            first_name: &owner.first_name,
            last_name: &owner.last_name,
            link: self
                .mailer
                .links()
                .town_url(tenant, &format!("/activation/{token}")),
            identifier: &owner.identifier,
            temporary_password,
            valid_until: french_date(expires.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .queue(txn, tenant, MailKind::Activation, &owner.email, data)
            .await?;
        Ok(())
    }

    async fn insert_token(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        scope: TenantScope,
        account_id: i32,
        purpose: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<String, DbErr> {
        // A new link replaces the previous ones of the same purpose.
        scope
            .update::<account_token::Entity>()
            .col_expr(account_token::Column::UsedAt, Expr::value(Some(now)))
            .filter(account_token::Column::AccountId.eq(account_id))
            .filter(account_token::Column::Purpose.eq(purpose))
            .filter(account_token::Column::UsedAt.is_null())
            .exec(txn)
            .await?;
        let token = new_token();
        account_token::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            account_id: Set(account_id),
            purpose: Set(purpose.to_owned()),
            token_hash: Set(token_hash(&token)),
            created_at: Set(now),
            expires_at: Set(expires),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        Ok(token)
    }

    /// Whether a link can be used, without using it (to show its page).
    pub async fn check_link(
        &self,
        tenant: &Tenant,
        purpose: &str,
        token: &str,
    ) -> Result<Result<account::Model, LinkProblem>, AccountError> {
        let scope = tenant.scope();
        let Some(found) = scope
            .select::<account_token::Entity>()
            .filter(account_token::Column::TokenHash.eq(token_hash(token)))
            .filter(account_token::Column::Purpose.eq(purpose))
            .one(&self.db)
            .await?
        else {
            return Ok(Err(LinkProblem::Unknown));
        };
        if found.used_at.is_some() {
            return Ok(Err(LinkProblem::Used));
        }
        if found.expires_at <= Utc::now() {
            return Ok(Err(LinkProblem::Expired));
        }
        let owner = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(found.account_id))
            .one(&self.db)
            .await?;
        Ok(owner.ok_or(LinkProblem::Unknown))
    }

    /// Why a link could not be used: rolls the transaction back, then
    /// tells an unknown link from a used or an expired one.
    async fn refused_link(
        &self,
        txn: sea_orm::DatabaseTransaction,
        tenant: &Tenant,
        purpose: &str,
        token: &str,
    ) -> Result<LinkProblem, AccountError> {
        txn.rollback().await?;
        Ok(self
            .check_link(tenant, purpose, token)
            .await?
            .err()
            // Valid now, yet not consumed: another request used it meanwhile.
            .unwrap_or(LinkProblem::Used))
    }

    /// Uses a link: true for exactly one caller, however many race.
    async fn consume_link(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        scope: TenantScope,
        purpose: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i32>, DbErr> {
        let hash = token_hash(token);
        let consumed = scope
            .update::<account_token::Entity>()
            .col_expr(account_token::Column::UsedAt, Expr::value(Some(now)))
            .filter(account_token::Column::TokenHash.eq(&hash))
            .filter(account_token::Column::Purpose.eq(purpose))
            .filter(account_token::Column::UsedAt.is_null())
            .filter(account_token::Column::ExpiresAt.gt(now))
            .exec(txn)
            .await?;
        if consumed.rows_affected != 1 {
            return Ok(None);
        }
        Ok(scope
            .select::<account_token::Entity>()
            .filter(account_token::Column::TokenHash.eq(&hash))
            .one(txn)
            .await?
            .map(|row| row.account_id))
    }

    /// Activates the account of an activation link.
    pub async fn activate(
        &self,
        tenant: &Tenant,
        token: &str,
        origin: &Origin,
    ) -> Result<Result<account::Model, LinkProblem>, AccountError> {
        let scope = tenant.scope();
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(account_id) = self
            .consume_link(&txn, scope, account_token::ACTIVATION, token, now)
            .await?
        else {
            let problem = self
                .refused_link(txn, tenant, account_token::ACTIVATION, token)
                .await?;
            return Ok(Err(problem));
        };
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::Status, Expr::value(account::ACTIVE))
            .col_expr(account::Column::ActivatedAt, Expr::value(Some(now)))
            .filter(account::Column::Id.eq(account_id))
            .filter(account::Column::Status.eq(account::PENDING))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            scope,
            Some(account_id),
            AuditKind::AccountActivated,
            origin,
            None,
        )
        .await?;
        let activated = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(activated.ok_or(LinkProblem::Unknown))
    }

    /// Sends a new activation mail (with a new temporary password) if
    /// `email` belongs to a pending account of the town. Says nothing of
    /// whether it does.
    pub async fn resend_activation(
        &self,
        tenant: &Tenant,
        email: &str,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        let Some(owner) = scope
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(email.trim().to_lowercase()))
            .filter(account::Column::Status.eq(account::PENDING))
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let temporary_password = new_temporary_password();
        let password_hash = self.hasher.hash(&temporary_password).await?;
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(account::Column::PasswordIsTemporary, Expr::value(true))
            .col_expr(
                account::Column::TemporaryPasswordExpiresAt,
                Expr::value(Some(
                    now + Duration::days(i64::from(
                        super::AccountSettings::of(tenant).temporary_password_validity_days,
                    )),
                )),
            )
            .filter(account::Column::Id.eq(owner.id))
            .exec(&txn)
            .await?;
        self.queue_activation(&txn, tenant, &owner, &temporary_password, now)
            .await?;
        audit::record(
            &txn,
            scope,
            Some(owner.id),
            AuditKind::ActivationMailSent,
            origin,
            None,
        )
        .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(())
    }

    /// The town's account with this identifier (as the town's software
    /// names residents through the data API).
    pub async fn find_by_identifier(
        &self,
        tenant: &Tenant,
        identifier: &str,
    ) -> Result<Option<account::Model>, DbErr> {
        tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Identifier.eq(identifier))
            .one(&self.db)
            .await
    }

    /// The account a resident means by what they typed: their identifier or
    /// their e-mail address (already normalised).
    async fn find_by_login(
        &self,
        scope: TenantScope,
        typed: &str,
    ) -> Result<Option<account::Model>, DbErr> {
        if typed.is_empty() {
            return Ok(None);
        }
        scope
            .select::<account::Entity>()
            .filter(
                Condition::any()
                    .add(account::Column::Identifier.eq(typed))
                    .add(account::Column::EmailKey.eq(typed)),
            )
            .one(&self.db)
            .await
    }

    /// Checks an identifier (or e-mail) and password, with throttling.
    pub async fn login(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<LoginOutcome, AccountError> {
        let scope = tenant.scope();
        let typed = identifier::normalize_login(login);
        let now = Utc::now();
        let owner = self.find_by_login(scope, &typed).await?;
        let subject_key = match &owner {
            Some(owner) => ThrottleKey::Account(owner.id),
            None => ThrottleKey::Name(typed.chars().take(254).collect()),
        };
        let mut keys = vec![subject_key.clone()];
        if let Some(ip) = &origin.ip {
            keys.push(ThrottleKey::Ip(ip.clone()));
        }
        let account_id = owner.as_ref().map(|o| o.id);

        if let Some(wait) = throttle::wait_needed(&self.db, scope, &keys, now).await? {
            audit::record(
                &self.db,
                scope,
                account_id,
                AuditKind::LoginThrottled,
                origin,
                None,
            )
            .await?;
            return Ok(LoginOutcome::Throttled(wait.num_seconds().max(1)));
        }

        let matches = self
            .hasher
            .verify(password, owner.as_ref().map(|o| o.password_hash.as_str()))
            .await?;
        let Some(owner) = owner.filter(|_| matches) else {
            for key in &keys {
                throttle::record_failure(&self.db, scope, key, now).await?;
            }
            audit::record(
                &self.db,
                scope,
                account_id,
                AuditKind::LoginFailed,
                origin,
                None,
            )
            .await?;
            return Ok(LoginOutcome::Refused);
        };
        throttle::clear(&self.db, scope, &subject_key).await?;

        if owner.status != account::ACTIVE {
            return Ok(LoginOutcome::NotActivated);
        }
        if owner.password_is_temporary
            && owner
                .temporary_password_expires_at
                .is_some_and(|expiry| expiry <= now)
        {
            return Ok(LoginOutcome::TemporaryPasswordExpired);
        }

        let txn = crate::db::begin_write(&self.db).await?;
        let session_token = self
            .open_session(&txn, scope, &owner, origin, None, now)
            .await?;
        txn.commit().await?;
        Ok(LoginOutcome::Success {
            session_token,
            account: Box::new(owner),
        })
    }

    /// Ends a session (logout).
    pub async fn logout(
        &self,
        tenant: &Tenant,
        session_token: &str,
        account_id: i32,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        sessions::close(&self.db, scope, session_token).await?;
        audit::record(
            &self.db,
            scope,
            Some(account_id),
            AuditKind::Logout,
            origin,
            None,
        )
        .await?;
        Ok(())
    }

    /// The live session of a cookie's token, with its account.
    pub async fn session(
        &self,
        tenant: &Tenant,
        session_token: &str,
    ) -> Result<Option<(crate::accounts::entity::session::Model, account::Model)>, AccountError>
    {
        Ok(sessions::find(
            &self.db,
            tenant.scope(),
            session_token,
            self.sessions,
            Utc::now(),
        )
        .await?)
    }

    /// Checks a new password and its confirmation against the town's policy.
    fn check_new_password(
        tenant: &Tenant,
        identifier: &str,
        new: &str,
        confirmation: &str,
    ) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = super::PasswordPolicy::of(tenant)
            .check(new, identifier)
            .into_iter()
            .map(|message| FieldError {
                field: "password",
                message,
            })
            .collect();
        if new != confirmation {
            errors.push(FieldError {
                field: "confirmation",
                message: "La confirmation ne correspond pas au mot de passe saisi.".to_owned(),
            });
        }
        errors
    }

    /// Changes the password of a logged-in resident. `current` is required
    /// unless the account still has its temporary password (the resident
    /// has just typed it to log in). Other sessions are closed.
    pub async fn change_password(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        session_id: i32,
        change: PasswordChange<'_>,
        origin: &Origin,
    ) -> Result<Vec<FieldError>, AccountError> {
        let PasswordChange {
            current,
            new,
            confirmation,
        } = change;
        let mut errors = Vec::new();
        if !owner.password_is_temporary {
            let current_ok = match current {
                Some(current) => {
                    self.hasher
                        .verify(current, Some(&owner.password_hash))
                        .await?
                }
                None => false,
            };
            if !current_ok {
                errors.push(FieldError {
                    field: "current",
                    message: "Le mot de passe actuel est incorrect.".to_owned(),
                });
            }
        }
        errors.extend(Self::check_new_password(
            tenant,
            &owner.identifier,
            new,
            confirmation,
        ));
        if self.hasher.verify(new, Some(&owner.password_hash)).await? {
            errors.push(FieldError {
                field: "password",
                message: "Le nouveau mot de passe doit être différent de l'actuel.".to_owned(),
            });
        }
        if !errors.is_empty() {
            return Ok(errors);
        }
        self.set_password(tenant, owner, Some(session_id), new, None, origin)
            .await?;
        Ok(Vec::new())
    }

    /// Sets the password, closes the other sessions and queues the notice,
    /// in one transaction. With `reset_token`, the reset link is used in
    /// the same transaction (false if it no longer can be), and a pending
    /// account becomes active: the link proved the mail address.
    async fn set_password(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        keep_session: Option<i32>,
        new: &str,
        reset_token: Option<&str>,
        origin: &Origin,
    ) -> Result<bool, AccountError> {
        let scope = tenant.scope();
        let hash = self.hasher.hash(new).await?;
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        if let Some(token) = reset_token {
            if self
                .consume_link(&txn, scope, account_token::PASSWORD_RESET, token, now)
                .await?
                .is_none()
            {
                txn.rollback().await?;
                return Ok(false);
            }
            scope
                .update::<account::Entity>()
                .col_expr(account::Column::Status, Expr::value(account::ACTIVE))
                .col_expr(
                    account::Column::ActivatedAt,
                    Expr::value(owner.activated_at.or(Some(now))),
                )
                .filter(account::Column::Id.eq(owner.id))
                .exec(&txn)
                .await?;
        }
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::PasswordHash, Expr::value(hash))
            .col_expr(account::Column::PasswordIsTemporary, Expr::value(false))
            .col_expr(
                account::Column::TemporaryPasswordExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(account::Column::PasswordChangedAt, Expr::value(Some(now)))
            .filter(account::Column::Id.eq(owner.id))
            .exec(&txn)
            .await?;
        sessions::close_others(&txn, scope, owner.id, keep_session).await?;
        let data = ChangedMail {
            civility: Civility::title(owner.civility.as_deref()),
            first_name: &owner.first_name,
            last_name: &owner.last_name,
            identifier: &owner.identifier,
            changed_at: french_date_time(now.with_timezone(&tenant.timezone)),
            forgot_link: self.mailer.links().town_url(tenant, "/mot-de-passe/oublie"),
        };
        self.mailer
            .queue(&txn, tenant, MailKind::PasswordChanged, &owner.email, data)
            .await?;
        let kind = if reset_token.is_some() {
            AuditKind::PasswordReset
        } else {
            AuditKind::PasswordChanged
        };
        audit::record(&txn, scope, Some(owner.id), kind, origin, None).await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(true)
    }

    /// Sends a reset link if `login` (identifier or e-mail) is an account of
    /// the town. Says nothing of whether it is.
    pub async fn request_reset(
        &self,
        tenant: &Tenant,
        login: &str,
        origin: &Origin,
    ) -> Result<(), AccountError> {
        let scope = tenant.scope();
        let typed = identifier::normalize_login(login);
        let Some(owner) = self.find_by_login(scope, &typed).await? else {
            return Ok(());
        };
        let now = Utc::now();
        let minutes = super::AccountSettings::of(tenant).password_reset_validity_minutes;
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .insert_token(
                &txn,
                scope,
                owner.id,
                account_token::PASSWORD_RESET,
                now,
                now + Duration::minutes(i64::from(minutes)),
            )
            .await?;
        let data = ResetMail {
            civility: Civility::title(owner.civility.as_deref()),
            first_name: &owner.first_name,
            last_name: &owner.last_name,
            link: self
                .mailer
                .links()
                .town_url(tenant, &format!("/mot-de-passe/reinitialiser/{token}")),
            identifier: &owner.identifier,
            valid_minutes: minutes,
        };
        self.mailer
            .queue(&txn, tenant, MailKind::PasswordReset, &owner.email, data)
            .await?;
        audit::record(
            &txn,
            scope,
            Some(owner.id),
            AuditKind::PasswordResetRequested,
            origin,
            None,
        )
        .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(())
    }

    /// Sets a new password through a reset link. The link proves the mail
    /// address, so a pending account becomes active. Every session closes.
    pub async fn reset_password(
        &self,
        tenant: &Tenant,
        token: &str,
        new: &str,
        confirmation: &str,
        origin: &Origin,
    ) -> Result<Result<Vec<FieldError>, LinkProblem>, AccountError> {
        let owner = match self
            .check_link(tenant, account_token::PASSWORD_RESET, token)
            .await?
        {
            Ok(owner) => owner,
            Err(problem) => return Ok(Err(problem)),
        };
        let errors = Self::check_new_password(tenant, &owner.identifier, new, confirmation);
        if !errors.is_empty() {
            return Ok(Ok(errors));
        }
        if !self
            .set_password(tenant, &owner, None, new, Some(token), origin)
            .await?
        {
            return Ok(Err(LinkProblem::Used));
        }
        Ok(Ok(Vec::new()))
    }
}

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "26 novembre 2026".
pub fn french_date<Tz: chrono::TimeZone>(at: DateTime<Tz>) -> String {
    use chrono::Datelike as _;
    let month = MONTHS
        .get(at.month0() as usize)
        .copied()
        .unwrap_or_default();
    format!("{} {month} {}", at.day(), at.year())
}

/// "26 novembre 2026 à 14:05".
pub fn french_date_time<Tz: chrono::TimeZone>(at: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!("{} à {}", french_date(at.clone()), at.format("%H:%M"))
}

/// Why an e-mail change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeProblem {
    WrongPassword,
    InvalidEmail,
    SameEmail,
}

/// Why a confirmation link of an e-mail change gave nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailConfirmProblem {
    Link(LinkProblem),
    /// Another account of the town took this address meanwhile.
    Taken,
}

/// How long the confirmation link of an e-mail change stays valid.
const EMAIL_CHANGE_VALIDITY: Duration = Duration::hours(24);

#[derive(Serialize)]
struct EmailChangeMail<'a> {
    civility: Option<&'static str>,
    first_name: &'a str,
    last_name: &'a str,
    new_email: &'a str,
    link: String,
    valid_until: String,
}

#[derive(Serialize)]
struct EmailChangedMail<'a> {
    civility: Option<&'static str>,
    first_name: &'a str,
    last_name: &'a str,
    new_email: &'a str,
    changed_at: String,
}

impl Accounts {
    /// Sets the postal address and phone number ("Coordonnées").
    pub async fn update_contact(
        &self,
        tenant: &Tenant,
        account_id: i32,
        address: Option<String>,
        phone: Option<String>,
    ) -> Result<(), AccountError> {
        tenant
            .scope()
            .update::<account::Entity>()
            .col_expr(account::Column::Address, Expr::value(address))
            .col_expr(account::Column::Phone, Expr::value(phone))
            .filter(account::Column::Id.eq(account_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Starts an e-mail change: checks the current password, then sends a
    /// confirmation link to the new address. The address changes only when
    /// the link is followed, proving the resident receives mail there.
    pub async fn request_email_change(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
        password: &str,
        new_email: &str,
    ) -> Result<Result<(), EmailChangeProblem>, AccountError> {
        let new_email = new_email.trim();
        if !is_plausible_email(new_email) {
            return Ok(Err(EmailChangeProblem::InvalidEmail));
        }
        if new_email.to_lowercase() == owner.email_key {
            return Ok(Err(EmailChangeProblem::SameEmail));
        }
        if !self
            .hasher
            .verify(password, Some(&owner.password_hash))
            .await?
        {
            return Ok(Err(EmailChangeProblem::WrongPassword));
        }
        let now = Utc::now();
        let expires = now + EMAIL_CHANGE_VALIDITY;
        let txn = crate::db::begin_write(&self.db).await?;
        let token = self
            .insert_token(
                &txn,
                tenant.scope(),
                owner.id,
                account_token::EMAIL_CHANGE,
                now,
                expires,
            )
            .await?;
        tenant
            .scope()
            .update::<account_token::Entity>()
            .col_expr(
                account_token::Column::Payload,
                Expr::value(Some(new_email.to_owned())),
            )
            .filter(account_token::Column::TokenHash.eq(token_hash(&token)))
            .exec(&txn)
            .await?;
        let data = EmailChangeMail {
            civility: Civility::title(owner.civility.as_deref()),
            first_name: &owner.first_name,
            last_name: &owner.last_name,
            new_email,
            link: self
                .mailer
                .links()
                .town_url(tenant, &format!("/coordonnees/courriel/{token}")),
            valid_until: french_date(expires.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .queue(&txn, tenant, MailKind::EmailChange, new_email, data)
            .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(Ok(()))
    }

    /// Follows the confirmation link of an e-mail change.
    pub async fn confirm_email_change(
        &self,
        tenant: &Tenant,
        token: &str,
        origin: &Origin,
    ) -> Result<Result<account::Model, EmailConfirmProblem>, AccountError> {
        let scope = tenant.scope();
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        let Some(account_id) = self
            .consume_link(&txn, scope, account_token::EMAIL_CHANGE, token, now)
            .await?
        else {
            let problem = self
                .refused_link(txn, tenant, account_token::EMAIL_CHANGE, token)
                .await?;
            return Ok(Err(EmailConfirmProblem::Link(problem)));
        };
        let new_email = scope
            .select::<account_token::Entity>()
            .filter(account_token::Column::TokenHash.eq(token_hash(token)))
            .one(&txn)
            .await?
            .and_then(|row| row.payload)
            .unwrap_or_default();
        let email_key = new_email.to_lowercase();
        let taken = scope
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(&email_key))
            .filter(account::Column::Id.ne(account_id))
            .one(&txn)
            .await?
            .is_some();
        if taken || new_email.is_empty() {
            txn.rollback().await?;
            return Ok(Err(EmailConfirmProblem::Taken));
        }
        let before = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .one(&txn)
            .await?
            .ok_or(AccountError::Database(DbErr::RecordNotFound(
                "the account of an e-mail change".to_owned(),
            )))?;
        // The old address is told, in case the change was not the
        // resident's doing.
        let notice = EmailChangedMail {
            civility: Civility::title(before.civility.as_deref()),
            first_name: &before.first_name,
            last_name: &before.last_name,
            new_email: &new_email,
            changed_at: french_date_time(now.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .queue(&txn, tenant, MailKind::EmailChanged, &before.email, notice)
            .await?;
        scope
            .update::<account::Entity>()
            .col_expr(account::Column::Email, Expr::value(new_email.clone()))
            .col_expr(account::Column::EmailKey, Expr::value(email_key))
            .filter(account::Column::Id.eq(account_id))
            .exec(&txn)
            .await?;
        audit::record(
            &txn,
            scope,
            Some(account_id),
            AuditKind::EmailChanged,
            origin,
            None,
        )
        .await?;
        let changed = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .one(&txn)
            .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(changed.ok_or(EmailConfirmProblem::Link(LinkProblem::Unknown)))
    }
}
