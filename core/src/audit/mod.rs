//! The audit log: who did what, in which town, when, from where. Append-only:
//! nothing in the application updates or deletes an event.
//!
//! Error policy: recording an event is part of the operation it records; a
//! failure is a database error of that operation.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DbErr};

use crate::tenancy::TenantScope;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_event")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: Option<i32>,
        pub kind: String,
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
        }
    }
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

/// Appends one event.
pub async fn record(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: Option<i32>,
    kind: AuditKind,
    origin: &Origin,
    detail: Option<String>,
) -> Result<(), DbErr> {
    entity::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        account_id: Set(account_id),
        kind: Set(kind.as_str().to_owned()),
        ip: Set(origin.ip.clone()),
        user_agent: Set(origin.stored_user_agent()),
        detail: Set(detail),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map(|_| ())
}
