//! The audit log — the account journal: who did what ([`Actor`]), to which
//! account (the subject, `account_id`), in which town, when, from where.
//! Append-only: nothing in the application updates an event; only the
//! retention purge deletes the old ones.
//!
//! Error policy: recording an event is part of the operation it records; a
//! failure is a database error of that operation.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait as _};

use crate::tenancy::TenantScope;

pub mod entity {
    use sea_orm::entity::prelude::*;

    /// Who acted, as stored.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum ActorKind {
        #[sea_orm(string_value = "resident")]
        Resident,
        #[sea_orm(string_value = "staff")]
        Staff,
        #[sea_orm(string_value = "api_key")]
        ApiKey,
        #[sea_orm(string_value = "system")]
        System,
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        /// The subject: the account the event concerns.
        pub account_id: Option<i32>,
        pub kind: String,
        pub actor_kind: ActorKind,
        pub actor_id: Option<i32>,
        /// The actor as the journal shows it, as it was then.
        pub actor_label: Option<String>,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        pub detail: Option<String>,
        pub created_at: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    AccountCreated,
    ActivationMailSent,
    AccountActivated,
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Logout,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    TermsAccepted,
    EmailChanged,
    FranceConnectLinked,
    FranceConnectUnlinked,
    /// A staff member was invited (detail: address and role).
    StaffInvited,
    /// An invited member chose their name and password.
    StaffJoined,
    StaffTotpEnrolled,
    /// Both factors given: a staff session opened.
    StaffLoginSucceeded,
    /// Logged in with a recovery code in place of a TOTP code.
    StaffRecoveryCodeUsed,
    StaffLoginFailed,
    StaffSecondFactorFailed,
    StaffLoginThrottled,
    StaffLogout,
    /// Detail: the address, the old and the new role.
    StaffRoleChanged,
    StaffSuspended,
    StaffReactivated,
    /// A staff member's import changed a known resident's names,
    /// civility, address or phone.
    AccountUpdatedByImport,
    /// A CSV import of accounts was executed (its counts in the detail).
    AccountsImported,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account_created",
            Self::ActivationMailSent => "activation_mail_sent",
            Self::AccountActivated => "account_activated",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::Logout => "logout",
            Self::PasswordChanged => "password_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::TermsAccepted => "terms_accepted",
            Self::EmailChanged => "email_changed",
            Self::FranceConnectLinked => "franceconnect_linked",
            Self::FranceConnectUnlinked => "franceconnect_unlinked",
            Self::StaffInvited => "staff_invited",
            Self::StaffJoined => "staff_joined",
            Self::StaffTotpEnrolled => "staff_totp_enrolled",
            Self::StaffLoginSucceeded => "staff_login_succeeded",
            Self::StaffRecoveryCodeUsed => "staff_recovery_code_used",
            Self::StaffLoginFailed => "staff_login_failed",
            Self::StaffSecondFactorFailed => "staff_second_factor_failed",
            Self::StaffLoginThrottled => "staff_login_throttled",
            Self::StaffLogout => "staff_logout",
            Self::StaffRoleChanged => "staff_role_changed",
            Self::StaffSuspended => "staff_suspended",
            Self::StaffReactivated => "staff_reactivated",
            Self::AccountUpdatedByImport => "account_updated_by_import",
            Self::AccountsImported => "accounts_imported",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A resident, on their own account (or through FranceConnect).
    Resident(i32),
    /// A member of the town's staff; `label` is their name and role as the
    /// journal shows them ("Marie Durand (gestionnaire)").
    Staff { id: i32, label: String },
    /// A town's back-office software, by its API key's name.
    ApiKey { name: String },
    /// Guichet itself, or an operator at the command line.
    System,
}

impl Actor {
    fn stored(&self) -> (entity::ActorKind, Option<i32>, Option<String>) {
        match self {
            Self::Resident(id) => (entity::ActorKind::Resident, Some(*id), None),
            Self::Staff { id, label } => (entity::ActorKind::Staff, Some(*id), Some(label.clone())),
            Self::ApiKey { name } => (entity::ActorKind::ApiKey, None, Some(name.clone())),
            Self::System => (entity::ActorKind::System, None, None),
        }
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub kind: AuditKind,
    pub actor: Actor,
    /// The account the event concerns.
    pub subject: Option<i32>,
    pub origin: &'a Origin,
    pub detail: Option<String>,
}

/// Where a request came from, for the log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// The user agent, cut to the 255 characters the tables keep.
    pub fn stored_user_agent(&self) -> Option<String> {
        self.user_agent
            .as_ref()
            .map(|agent| agent.chars().take(255).collect())
    }
}

/// Appends one event a resident caused on their own account (`account_id`),
/// or the system when there is none.
pub async fn record(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: Option<i32>,
    kind: AuditKind,
    origin: &Origin,
    detail: Option<String>,
) -> Result<(), DbErr> {
    let actor = match (kind, account_id) {
        // The town (or the operator) creates accounts and sends their mail.
        (AuditKind::AccountCreated | AuditKind::ActivationMailSent, _) | (_, None) => Actor::System,
        (_, Some(id)) => Actor::Resident(id),
    };
    record_event(
        db,
        scope,
        Event {
            kind,
            actor,
            subject: account_id,
            origin,
            detail,
        },
    )
    .await
}

/// Appends one event, with its actor and subject.
pub async fn record_event(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    event: Event<'_>,
) -> Result<(), DbErr> {
    row(scope, event).insert(db).await.map(|_| ())
}

/// Appends many events, a few hundred per statement (an import audits
/// each of its thousands of accounts).
pub async fn record_events<'a>(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    events: impl IntoIterator<Item = Event<'a>>,
) -> Result<(), DbErr> {
    // Eleven columns a row, within every database's parameter limit.
    const ROWS_PER_STATEMENT: usize = 500;
    // Made rows first: no closure over the events lives across an await
    // (the caller's future stays `Send`).
    let rows: Vec<entity::ActiveModel> =
        events.into_iter().map(|event| row(scope, event)).collect();
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        if chunk.is_empty() {
            return Ok(());
        }
        entity::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
}

fn row(scope: TenantScope, event: Event<'_>) -> entity::ActiveModel {
    let (actor_kind, actor_id, actor_label) = event.actor.stored();
    entity::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        account_id: Set(event.subject),
        kind: Set(event.kind.as_str().to_owned()),
        actor_kind: Set(actor_kind),
        actor_id: Set(actor_id),
        actor_label: Set(actor_label),
        ip: Set(event.origin.ip.clone()),
        user_agent: Set(event.origin.stored_user_agent()),
        detail: Set(event.detail),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}
