//! The town's staff: members of one town's team, their roles and
//! permissions, the way in (password, then a TOTP code or a recovery code),
//! invitations, sessions, and the team's administration.
//!
//! One file per use case, each adding its operations to [`StaffService`]:
//! `invitation` (invite, accept), `login` (password step, second factor,
//! logout), `enrolment` (TOTP enrolment, recovery codes), `sessions`,
//! `members` (list, change role, suspend), `provision` (ready members for
//! the demo and the tests). Roles and the [`Permission`] marker types are
//! in `role.rs`; the TOTP algorithm, the QR code and the stored secret in
//! [`totp`].
//!
//! Invariants: a staff member belongs to one town (the same address in two
//! towns is two members); a session opens nothing until its second factor
//! is given; a suspended member has no session; a town always keeps one
//! active administrator once it had one (the last one can be neither
//! suspended nor demoted); every change is audited with `Actor::Staff`.
//!
//! Error policy: [`StaffError`] is for failures of the machinery (database,
//! hashing, mail composition, sealing) and becomes an error page. What a
//! person typed wrong or may not do is a value ([`InviteRefused`],
//! [`PasswordOutcome`], [`CodeOutcome`], [`InvitationProblem`],
//! [`ChangeRefused`]…), shown as a French message.

mod enrolment;
pub mod entity;
mod invitation;
mod login;
mod members;
pub mod personal_data;
mod provision;
mod recovery;
mod role;
mod service;
pub mod sessions;
pub mod totp;

pub use enrolment::{EnrolOutcome, Enrolment};
pub use entity::staff_member::{Model as StaffMember, StaffStatus};
pub use invitation::{
    AcceptOutcome, INVITATION_VALIDITY_HOURS, Invitation, InvitationProblem, InviteRefused,
    Invited, Joining,
};
pub use login::{CodeOutcome, PasswordOutcome};
pub use members::ChangeRefused;
pub use provision::ReadyMember;
pub use recovery::RECOVERY_CODES;
pub use role::{
    AssignRequests, EnterBackOffice, HandleFeedback, HandleRequests, ImportResidents,
    IssueDocuments, ManageResidents, ManageStaff, ManageTown, Permission, PublishContent,
    ReadJournal, ReadPayments, ReadResidents, StaffRole,
};
pub use service::{SessionLimits, StaffService};
pub use sessions::StaffSession;

use crate::accounts::HashingError;
use crate::mail::MailError;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("cannot seal or open a TOTP secret")]
    Secret,
}

/// The journal's label of a member: "Marie Durand (administrateur)".
pub fn actor_label(member: &StaffMember) -> String {
    format!("{} ({})", member.display_name(), member.role.as_str())
}

/// The journal's actor for a member.
pub fn actor(member: &StaffMember) -> crate::audit::Actor {
    crate::audit::Actor::Staff {
        id: member.id,
        label: actor_label(member),
    }
}
