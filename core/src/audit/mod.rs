//! The audit log — the account journal: who did what ([`Actor`]), to which
//! account (the subject, `account_id`), in which town, when, from where.
//! Append-only: nothing in the application updates an event; only the
//! retention purge deletes the old ones.
//!
//! - [`record_event`] (and the [`record`] shorthand of the accounts' own
//!   operations) appends, in the caller's transaction;
//! - [`Journal`] (journal.rs) reads a town's events, filtered and paged,
//!   for the staff's page, its CSV export and the resident's history;
//! - [`JournalSettings`] (settings.rs) is `[journal]` in `tenant.toml`;
//! - [`JournalPurge`] (purge.rs) deletes what is older than each town's
//!   retention, periodically, and records each purge.
//!
//! Error policy: recording an event is part of the operation it records; a
//! failure is a database error of that operation. Reading the journal
//! answers `DbErr` (the page's 503 or 500); a CSV export that fails midway
//! ends the download short, logged. The purge logs its failures and tries
//! again at its next round: it never stops the server.

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait as _};

use crate::tenancy::TenantScope;

mod journal;
pub mod personal_data;
mod purge;
mod settings;

pub use entity::ActorKind;
pub use journal::{
    ActorFilter, Cursor, ExportError, Journal, JournalEntry, JournalFilter, JournalPage, MAX_PAGE,
    Reader, ResidentSummary,
};
pub use purge::{JournalPurge, PURGE_BATCH, PurgeReport};
pub use settings::JournalSettings;

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
        /// Someone not logged in: a failed login, a public form.
        #[sea_orm(string_value = "anonymous")]
        Anonymous,
    }

    impl ActorKind {
        /// The kind as stored (and as the staff's filter names it).
        pub fn as_str(self) -> &'static str {
            match self {
                Self::Resident => "resident",
                Self::Staff => "staff",
                Self::ApiKey => "api_key",
                Self::System => "system",
                Self::Anonymous => "anonymous",
            }
        }

        pub fn parse(text: &str) -> Option<Self> {
            <Self as sea_orm::Iterable>::iter().find(|kind| kind.as_str() == text)
        }

        /// "Usager", "Agent de la mairie"… for the staff's filter.
        pub fn label(self) -> &'static str {
            match self {
                Self::Resident => "Usager",
                Self::Staff => "Agent de la mairie",
                Self::ApiKey => "Logiciel de la mairie (clé d'API)",
                Self::System => "Guichet (automatique)",
                Self::Anonymous => "Personne non connectée",
            }
        }
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

/// What happened. Stored as [`AuditKind::as_str`]; shown as
/// [`AuditKind::label`]. `EnumIter` makes [`AuditKind::parse`] and the
/// staff's filter list every kind without a list to keep in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter)]
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
    /// The right password of a disabled account.
    LoginRefusedDisabled,
    /// The staff closed the account (the reason in `detail`).
    AccountDisabled,
    /// The staff opened it again (the reason in `detail`).
    AccountEnabled,
    /// The staff asked for a new password at the next login.
    PasswordChangeForced,
    /// The staff corrected the e-mail address (old → new in `detail`).
    EmailCorrected,
    /// A mail the SMTP server refused was queued again (its kind and the
    /// server's answer in `detail`).
    MailResent,
    /// The retention purge deleted old events (detail: how many).
    JournalPurged,
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
    /// News created in the back-office (detail: its address and title).
    NewsCreated,
    /// News edited in the back-office (detail: its address and title).
    NewsEdited,
    /// News unpublished in the back-office (detail: its address).
    NewsWithdrawn,
    /// A town page edited in the back-office (detail: its address).
    PageEdited,
    /// Terms published from the back-office (detail: version and kind).
    TermsPublished,
    /// The terms' acceptances exported from the back-office.
    TermsExported,
    /// A module enabled from the back-office. Detail: JSON `{module,
    /// before: null, after: {version, config}}`.
    ModuleEnabled,
    /// Detail: JSON `{module, before: {version, config}, after: null}`.
    ModuleDisabled,
    /// A module moved to another release (its configuration may change
    /// with it). Detail: JSON `{module, before, after}`.
    ModuleReleaseChanged,
    /// Detail: JSON `{module, before: {version, config}, after: {…}}`.
    ModuleConfigured,
    /// A request was taken or assigned (detail: reference and member).
    RequestAssigned,
    /// Detail: the reference, the old and the new status.
    RequestStatusChanged,
    /// An internal note was written (never its text).
    RequestNoteAdded,
    /// The resident answered a request waiting for information.
    RequestAnswered,
    FeedbackRead,
    FeedbackHandled,
    /// The staff answered a feedback message by mail.
    FeedbackReplied,
    /// A staff member's import changed a known resident's names,
    /// civility, address or phone.
    AccountUpdatedByImport,
    /// A CSV import of accounts was executed (its counts in the detail).
    AccountsImported,
    /// A staff member submitted a module's staff action that wrote
    /// something (detail: the module, the action).
    ModuleStaffAction,
    /// A document was issued for the resident (detail: its number and
    /// title), by the resident or a staff member.
    DocumentIssued,
    /// Who signs the town's documents was changed in the back-office
    /// (detail: place, title and name).
    DocumentSignatoryChanged,
    /// An online payment started (detail: its number, what, how much).
    PaymentStarted,
    /// The provider confirmed a payment (detail: number, amount, what,
    /// the provider's transaction).
    PaymentReceived,
    /// The town's online payment settings were changed in the back-office
    /// (detail: enabled, contract, mode).
    PaymentSettingsChanged,
    /// The resident asked to close the account (detail: when it closes).
    AccountClosureRequested,
    /// A login cancelled the closure asked.
    AccountClosureCancelled,
    /// The account was closed: its data deleted, the records the law
    /// keeps pseudonymised (detail: why, and the pseudonym).
    AccountClosed,
    /// The resident was warned that the account will be closed for
    /// inactivity (detail: when).
    InactivityWarned,
    /// An account never activated was removed (no subject: it is gone;
    /// detail: when it had been created).
    NeverActivatedRemoved,
    /// The resident asked for an export of their data.
    DataExportRequested,
    /// The resident downloaded their export.
    DataExportDownloaded,
    /// A staff member exported a resident's data (an access request).
    DataExportedByStaff,
    /// The town's privacy settings were changed in the back-office
    /// (detail: the periods and the DPO's address).
    PrivacySettingsChanged,
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
            Self::LoginRefusedDisabled => "login_refused_disabled",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::PasswordChangeForced => "password_change_forced",
            Self::EmailCorrected => "email_corrected",
            Self::MailResent => "mail_resent",
            Self::JournalPurged => "journal_purged",
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
            Self::NewsCreated => "news_created",
            Self::NewsEdited => "news_edited",
            Self::NewsWithdrawn => "news_withdrawn",
            Self::PageEdited => "page_edited",
            Self::TermsPublished => "terms_published",
            Self::TermsExported => "terms_exported",
            Self::ModuleEnabled => "module_enabled",
            Self::ModuleDisabled => "module_disabled",
            Self::ModuleReleaseChanged => "module_release_changed",
            Self::ModuleConfigured => "module_configured",
            Self::RequestAssigned => "request_assigned",
            Self::RequestStatusChanged => "request_status_changed",
            Self::RequestNoteAdded => "request_note_added",
            Self::RequestAnswered => "request_answered",
            Self::FeedbackRead => "feedback_read",
            Self::FeedbackHandled => "feedback_handled",
            Self::FeedbackReplied => "feedback_replied",
            Self::AccountUpdatedByImport => "account_updated_by_import",
            Self::AccountsImported => "accounts_imported",
            Self::ModuleStaffAction => "module_staff_action",
            Self::DocumentIssued => "document_issued",
            Self::DocumentSignatoryChanged => "document_signatory_changed",
            Self::PaymentStarted => "payment_started",
            Self::PaymentReceived => "payment_received",
            Self::PaymentSettingsChanged => "payment_settings_changed",
            Self::AccountClosureRequested => "account_closure_requested",
            Self::AccountClosureCancelled => "account_closure_cancelled",
            Self::AccountClosed => "account_closed",
            Self::InactivityWarned => "inactivity_warned",
            Self::NeverActivatedRemoved => "never_activated_removed",
            Self::DataExportRequested => "data_export_requested",
            Self::DataExportDownloaded => "data_export_downloaded",
            Self::DataExportedByStaff => "data_exported_by_staff",
            Self::PrivacySettingsChanged => "privacy_settings_changed",
        }
    }

    /// The kind of a stored event; none for a kind this version does not
    /// know (written by a newer one), which the journal shows as stored.
    pub fn parse(text: &str) -> Option<Self> {
        <Self as sea_orm::Iterable>::iter().find(|kind| kind.as_str() == text)
    }

    /// What the journal says happened, in French.
    pub fn label(self) -> &'static str {
        match self {
            Self::AccountCreated => "Compte créé",
            Self::ActivationMailSent => "Courriel d'activation envoyé",
            Self::AccountActivated => "Compte activé",
            Self::LoginSucceeded => "Connexion",
            Self::LoginFailed => "Échec de connexion",
            Self::LoginThrottled => "Connexion retardée après plusieurs échecs",
            Self::Logout => "Déconnexion",
            Self::PasswordChanged => "Mot de passe modifié",
            Self::PasswordResetRequested => "Réinitialisation du mot de passe demandée",
            Self::PasswordReset => "Mot de passe réinitialisé",
            Self::TermsAccepted => "Conditions générales d'utilisation acceptées",
            Self::EmailChanged => "Adresse électronique modifiée",
            Self::FranceConnectLinked => "Compte FranceConnect associé",
            Self::FranceConnectUnlinked => "Compte FranceConnect dissocié",
            Self::JournalPurged => "Événements anciens supprimés du journal",
            Self::LoginRefusedDisabled => "Connexion refusée : compte désactivé",
            Self::AccountDisabled => "Compte désactivé",
            Self::AccountEnabled => "Compte réactivé",
            Self::PasswordChangeForced => "Changement de mot de passe imposé",
            Self::EmailCorrected => "Adresse électronique corrigée",
            Self::MailResent => "Courriel refusé envoyé de nouveau",
            Self::StaffInvited => "Agent invité",
            Self::StaffJoined => "Invitation d'agent acceptée",
            Self::StaffTotpEnrolled => "Second facteur d'agent enregistré",
            Self::StaffLoginSucceeded => "Connexion d'agent",
            Self::StaffRecoveryCodeUsed => "Connexion d'agent avec un code de secours",
            Self::StaffLoginFailed => "Échec de connexion d'agent",
            Self::StaffSecondFactorFailed => "Code de second facteur d'agent refusé",
            Self::StaffLoginThrottled => "Connexion d'agent retardée après plusieurs échecs",
            Self::StaffLogout => "Déconnexion d'agent",
            Self::StaffRoleChanged => "Rôle d'agent modifié",
            Self::StaffSuspended => "Agent suspendu",
            Self::StaffReactivated => "Agent réactivé",
            Self::NewsCreated => "Actualité créée",
            Self::NewsEdited => "Actualité modifiée",
            Self::NewsWithdrawn => "Actualité dépubliée",
            Self::PageEdited => "Page modifiée",
            Self::TermsPublished => "Conditions d'utilisation publiées",
            Self::TermsExported => "Acceptations des conditions d'utilisation exportées",
            Self::ModuleEnabled => "Module activé",
            Self::ModuleDisabled => "Module désactivé",
            Self::ModuleReleaseChanged => "Module passé à une autre version",
            Self::ModuleConfigured => "Configuration d'un module modifiée",
            Self::RequestAssigned => "Demande attribuée",
            Self::RequestStatusChanged => "État d'une demande modifié",
            Self::RequestNoteAdded => "Note interne ajoutée à une demande",
            Self::RequestAnswered => "Réponse de l'usager à une demande",
            Self::FeedbackRead => "Avis lu",
            Self::FeedbackHandled => "Avis traité",
            Self::FeedbackReplied => "Réponse envoyée à un avis",
            Self::AccountUpdatedByImport => "Compte mis à jour par un import",
            Self::AccountsImported => "Import de comptes exécuté",
            Self::ModuleStaffAction => "Action d'un service (module)",
            Self::DocumentIssued => "Document délivré",
            Self::DocumentSignatoryChanged => "Signataire des documents modifié",
            Self::PaymentStarted => "Paiement en ligne commencé",
            Self::PaymentReceived => "Paiement en ligne reçu",
            Self::PaymentSettingsChanged => "Réglages du paiement en ligne modifiés",
            Self::AccountClosureRequested => "Fermeture du compte demandée",
            Self::AccountClosureCancelled => "Fermeture du compte annulée par une connexion",
            Self::AccountClosed => "Compte fermé",
            Self::InactivityWarned => "Usager averti de la fermeture pour inactivité",
            Self::NeverActivatedRemoved => "Compte jamais activé supprimé",
            Self::DataExportRequested => "Export des données demandé",
            Self::DataExportDownloaded => "Export des données téléchargé",
            Self::DataExportedByStaff => "Données de l'usager exportées par un agent",
            Self::PrivacySettingsChanged => "Réglages de protection des données modifiés",
        }
    }

    /// Every kind, in declaration order (the staff's filter).
    pub fn all() -> impl Iterator<Item = Self> {
        <Self as sea_orm::Iterable>::iter()
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
    /// Someone not logged in: a failed or delayed login (whoever typed the
    /// identifier, not necessarily its owner), a public form asking for a
    /// reset link or a new activation mail.
    Anonymous,
}

impl Actor {
    fn stored(&self) -> (ActorKind, Option<i32>, Option<String>) {
        match self {
            Self::Resident(id) => (ActorKind::Resident, Some(*id), None),
            Self::Staff { id, label } => (ActorKind::Staff, Some(*id), Some(label.clone())),
            Self::ApiKey { name } => (ActorKind::ApiKey, None, Some(name.clone())),
            Self::System => (ActorKind::System, None, None),
            Self::Anonymous => (ActorKind::Anonymous, None, None),
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

/// Appends one event of the accounts' own operations on `account_id`, the
/// actor following from the kind:
/// - the creation: the system (the CLI, the demo: an account created by a
///   person or a key records its actor with [`record_event`]);
/// - failed and delayed logins, reset links and activation mails asked on
///   the public forms: [`Actor::Anonymous`], since whoever typed the
///   identifier or address proved nothing yet;
/// - anything else: the resident, on their own account (a session, or a
///   link only their mailbox received); the system when there is no
///   account.
pub async fn record(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    account_id: Option<i32>,
    kind: AuditKind,
    origin: &Origin,
    detail: Option<String>,
) -> Result<(), DbErr> {
    let actor = match (kind, account_id) {
        (AuditKind::AccountCreated, _) => Actor::System,
        (
            AuditKind::LoginFailed
            | AuditKind::LoginThrottled
            | AuditKind::PasswordResetRequested
            | AuditKind::ActivationMailSent,
            _,
        ) => Actor::Anonymous,
        (_, Some(id)) => Actor::Resident(id),
        (_, None) => Actor::System,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_parsed_back_and_labelled_in_french() {
        let mut seen = std::collections::HashSet::new();
        for kind in AuditKind::all() {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
            assert!(seen.insert(kind.as_str()), "{kind:?} stored twice");
            assert!(!kind.label().is_empty());
        }
        assert_eq!(
            AuditKind::parse("journal_purged"),
            Some(AuditKind::JournalPurged)
        );
        assert_eq!(AuditKind::parse("unknown"), None);
        for kind in <ActorKind as sea_orm::Iterable>::iter() {
            assert_eq!(ActorKind::parse(kind.as_str()), Some(kind));
            // The column holds 16 characters.
            assert!(kind.as_str().len() <= 16);
        }
    }

    #[test]
    fn actors_are_stored_with_their_frozen_label() {
        let staff = Actor::Staff {
            id: 3,
            label: "Marie Durand (gestionnaire)".to_owned(),
        };
        assert_eq!(
            staff.stored(),
            (
                ActorKind::Staff,
                Some(3),
                Some("Marie Durand (gestionnaire)".to_owned())
            )
        );
        assert_eq!(
            Actor::ApiKey {
                name: "Scolaire".to_owned()
            }
            .stored(),
            (ActorKind::ApiKey, None, Some("Scolaire".to_owned()))
        );
        assert_eq!(
            Actor::Anonymous.stored(),
            (ActorKind::Anonymous, None, None)
        );
    }
}
