//! The staff's side of requests: the service, its errors and what its
//! actions share (finding a town's request by reference, the journal).

use sea_orm::{ColumnTrait as _, ConnectionTrait, DatabaseConnection, DbErr, QueryFilter as _};

use super::entity::request;
use super::{RequestError, RequestStatus};
use crate::audit::{self, AuditKind, Origin};
use crate::mail::{MailError, Mailer};
use crate::staff::StaffMember;
use crate::tenancy::TenantScope;

/// The longest message to a resident, answer or internal note.
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Requests as the town's staff handle them, and the resident's answer to
/// a question of theirs (it tells the agent by mail, hence the mailer).
#[derive(Debug, Clone)]
pub struct RequestDesk {
    pub(super) db: DatabaseConnection,
    pub(super) mailer: Mailer,
}

impl RequestDesk {
    pub fn new(db: DatabaseConnection, mailer: Mailer) -> Self {
        Self { db, mailer }
    }

    /// Tells the mail worker, once a transaction that queued mail is
    /// committed.
    pub(super) fn wake_mail(&self) {
        self.mailer.wake();
    }
}

/// What an action refuses, with the French sentence the page shows next to
/// the field (`field`). Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The table (or the request's type) has no such transition.
    Transition {
        from: RequestStatus,
        to: RequestStatus,
    },
    /// Asking for information, or refusing, needs a message to the resident.
    MessageRequired(RequestStatus),
    TooLong,
    EmptyNote,
    EmptyAnswer,
    /// The resident answers only a request that waits for information.
    NotWaiting,
    /// The member to assign is not an active member of the town's staff.
    UnknownAgent,
    /// Someone changed the request's status while this change was made.
    Changed,
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Self::Transition { from, to } => format!(
                "Une demande « {} » ne peut pas passer à « {} ».",
                from.label(),
                to.label()
            ),
            Self::MessageRequired(RequestStatus::WaitingForInformation) => {
                "Écrivez à l'usager ce qu'il doit préciser.".to_owned()
            }
            Self::MessageRequired(_) => {
                "Expliquez à l'usager pourquoi sa demande est refusée.".to_owned()
            }
            Self::TooLong => format!("Le message dépasse {MAX_MESSAGE_CHARS} caractères."),
            Self::EmptyNote => "La note est vide.".to_owned(),
            Self::EmptyAnswer => "Écrivez votre réponse.".to_owned(),
            Self::NotWaiting => "Cette demande n'attend pas de réponse de votre part.".to_owned(),
            Self::UnknownAgent => "Choisissez un membre actif de l'équipe.".to_owned(),
            Self::Changed => "La demande vient d'être modifiée par quelqu'un d'autre : vérifiez son état et recommencez.".to_owned(),
        }
    }

    /// The form field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Transition { .. } | Self::Changed => "statut",
            Self::UnknownAgent => "agent",
            Self::EmptyNote => "note",
            Self::MessageRequired(_) | Self::TooLong | Self::EmptyAnswer | Self::NotWaiting => {
                "message"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// No request of the town has this reference (or, for a resident, none
    /// of theirs).
    #[error("no such request")]
    NotFound,
    #[error(transparent)]
    Failed(#[from] RequestError),
}

impl From<DbErr> for DeskError {
    fn from(error: DbErr) -> Self {
        Self::Failed(RequestError::Database(error))
    }
}

impl From<MailError> for DeskError {
    fn from(error: MailError) -> Self {
        Self::Failed(RequestError::Mail(error))
    }
}

/// A town's request by its reference.
pub(super) async fn by_reference(
    connection: &impl ConnectionTrait,
    scope: TenantScope,
    reference: &str,
) -> Result<request::Model, DeskError> {
    scope
        .select::<request::Entity>()
        .filter(request::Column::Reference.eq(reference))
        .one(connection)
        .await?
        .ok_or(DeskError::NotFound)
}

/// Records a staff member's action on a resident's request.
pub(super) async fn journal(
    connection: &impl ConnectionTrait,
    scope: TenantScope,
    kind: AuditKind,
    member: &StaffMember,
    request: &request::Model,
    origin: &Origin,
    detail: String,
) -> Result<(), DbErr> {
    audit::record_event(
        connection,
        scope,
        audit::Event {
            kind,
            actor: crate::staff::actor(member),
            subject: Some(request.account_id),
            origin,
            detail: Some(format!("{} : {detail}", request.reference)),
        },
    )
    .await
}

/// A message as typed: trimmed, refused when longer than allowed.
pub(super) fn message_of(text: &str) -> Result<Option<String>, Refusal> {
    let text = text.trim();
    if text.chars().count() > MAX_MESSAGE_CHARS {
        Err(Refusal::TooLong)
    } else {
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }
}
