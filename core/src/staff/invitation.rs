//! Invitations: an administrator (or the operator, `guichet staff invite`)
//! names an address and a role; the member is created without a password
//! and receives a mail whose link (single use, 72 hours) leads to choosing
//! a name and password, then to the TOTP enrolment. Inviting again an
//! address that has not joined yet replaces its link (and its role).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseTransaction,
    QueryFilter as _,
};
use serde::Serialize;

use super::entity::staff_invitation;
use super::entity::staff_member::{self, StaffStatus};
use super::role::StaffRole;
use super::service::{StaffService, member_by_email, member_by_id};
use super::{StaffError, actor, sessions};
use crate::accounts::secrets::{new_token, token_hash};
use crate::accounts::{FieldError, PasswordPolicy};
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::format::long_date_time;
use crate::mail::MailKind;
use crate::tenancy::{Tenant, is_plausible_email};

/// How long an invitation link works.
pub const INVITATION_VALIDITY_HOURS: i64 = 72;

/// A sent invitation.
#[derive(Debug, Clone)]
pub struct Invited {
    pub member_id: i32,
    /// The link of the mail (for the operator's terminal).
    pub link: String,
}

/// Why an invitation was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteRefused {
    InvalidEmail,
    /// The address is already a member who joined.
    AlreadyMember,
}

impl InviteRefused {
    pub fn message(&self) -> &'static str {
        match self {
            Self::InvalidEmail => {
                "Saisissez une adresse électronique valide, par exemple nom@commune.fr."
            }
            Self::AlreadyMember => "Cette adresse est déjà celle d'un membre de l'équipe.",
        }
    }
}

/// Why an invitation link does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationProblem {
    /// Unknown (or of another town).
    Unknown,
    Expired,
    Used,
}

impl InvitationProblem {
    pub fn message(self) -> &'static str {
        match self {
            Self::Unknown => {
                "Ce lien d'invitation n'est pas valide. Vérifiez qu'il a été copié en entier."
            }
            Self::Expired => {
                "Ce lien d'invitation a expiré. Demandez à un administrateur de vous inviter à nouveau."
            }
            Self::Used => {
                "Ce lien d'invitation a déjà servi. Connectez-vous avec votre adresse et votre mot de passe."
            }
        }
    }
}

/// A valid invitation, as its page shows it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub email: String,
    pub role: StaffRole,
    pub first_name: String,
    pub last_name: String,
}

/// What the person accepting an invitation typed.
#[derive(Debug, Clone, Default)]
pub struct Joining {
    pub first_name: String,
    pub last_name: String,
    pub password: String,
    pub confirmation: String,
}

/// The answer to an acceptance.
#[derive(Debug)]
pub enum AcceptOutcome {
    /// Joined: a session that opens the TOTP enrolment.
    Joined {
        token: String,
    },
    /// Fields to correct.
    Invalid(Vec<FieldError>),
    Problem(InvitationProblem),
}

#[derive(Serialize)]
struct InvitationMail<'a> {
    link: &'a str,
    role: &'static str,
    valid_until: String,
}

impl StaffService {
    /// Invites `email` as `role` into the town's staff; `by` is who invites
    /// (an administrator, or the system for the operator's command).
    pub async fn invite(
        &self,
        tenant: &Tenant,
        email: &str,
        role: StaffRole,
        by: Actor,
        origin: &Origin,
    ) -> Result<Result<Invited, InviteRefused>, StaffError> {
        let email = email.trim().to_owned();
        if !is_plausible_email(&email) || email.chars().count() > 254 {
            return Ok(Err(InviteRefused::InvalidEmail));
        }
        let email_key = email.to_lowercase();
        let scope = tenant.scope();
        let now = Utc::now();
        let txn = crate::db::begin_write(&self.db).await?;
        let member_id = match member_by_email(&txn, scope, &email_key).await? {
            Some(member) if member.has_joined() => return Ok(Err(InviteRefused::AlreadyMember)),
            Some(member) => {
                scope
                    .update::<staff_member::Entity>()
                    .col_expr(staff_member::Column::Role, Expr::value(role))
                    .filter(staff_member::Column::Id.eq(member.id))
                    .exec(&txn)
                    .await?;
                // The previous links stop working.
                scope
                    .delete::<staff_invitation::Entity>()
                    .filter(staff_invitation::Column::StaffId.eq(member.id))
                    .exec(&txn)
                    .await?;
                member.id
            }
            None => {
                staff_member::ActiveModel {
                    tenant_id: Set(scope.tenant_id().get()),
                    email: Set(email.clone()),
                    email_key: Set(email_key),
                    first_name: Set(String::new()),
                    last_name: Set(String::new()),
                    role: Set(role),
                    status: Set(StaffStatus::Active),
                    password_hash: Set(None),
                    totp_secret: Set(None),
                    totp_enrolled_at: Set(None),
                    totp_last_step: Set(None),
                    created_at: Set(now),
                    last_login_at: Set(None),
                    ..Default::default()
                }
                .insert(&txn)
                .await?
                .id
            }
        };
        let link = self
            .queue_invitation(&txn, tenant, member_id, &email, role, now)
            .await?;
        audit::record_event(
            &txn,
            scope,
            Event {
                kind: AuditKind::StaffInvited,
                actor: by,
                subject: None,
                origin,
                detail: Some(format!("{email} ({})", role.as_str())),
            },
        )
        .await?;
        txn.commit().await?;
        self.mailer.wake();
        Ok(Ok(Invited { member_id, link }))
    }

    async fn queue_invitation(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        member_id: i32,
        email: &str,
        role: StaffRole,
        now: DateTime<Utc>,
    ) -> Result<String, StaffError> {
        let token = new_token();
        let expires = now + Duration::hours(INVITATION_VALIDITY_HOURS);
        staff_invitation::ActiveModel {
            tenant_id: Set(tenant.scope().tenant_id().get()),
            staff_id: Set(member_id),
            token_hash: Set(token_hash(&token)),
            created_at: Set(now),
            expires_at: Set(expires),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let link = self
            .mailer
            .links()
            .town_url(tenant, &format!("/admin/invitation/{token}"));
        let data = InvitationMail {
            link: &link,
            role: role.as_str(),
            valid_until: long_date_time(expires.with_timezone(&tenant.timezone)),
        };
        self.mailer
            .queue(txn, tenant, MailKind::StaffInvitation, email, data)
            .await?;
        Ok(link)
    }

    async fn find_invitation(
        &self,
        tenant: &Tenant,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(staff_invitation::Model, staff_member::Model), InvitationProblem>, StaffError>
    {
        let scope = tenant.scope();
        let Some(invitation) = scope
            .select::<staff_invitation::Entity>()
            .filter(staff_invitation::Column::TokenHash.eq(token_hash(token)))
            .one(&self.db)
            .await?
        else {
            return Ok(Err(InvitationProblem::Unknown));
        };
        let Some(member) = member_by_id(&self.db, scope, invitation.staff_id).await? else {
            return Ok(Err(InvitationProblem::Unknown));
        };
        if invitation.used_at.is_some() || member.has_joined() {
            return Ok(Err(InvitationProblem::Used));
        }
        if invitation.expires_at <= now {
            return Ok(Err(InvitationProblem::Expired));
        }
        if member.status != StaffStatus::Active {
            return Ok(Err(InvitationProblem::Unknown));
        }
        Ok(Ok((invitation, member)))
    }

    /// The invitation of a link, if it still works.
    pub async fn invitation(
        &self,
        tenant: &Tenant,
        token: &str,
    ) -> Result<Result<Invitation, InvitationProblem>, StaffError> {
        Ok(self
            .find_invitation(tenant, token, Utc::now())
            .await?
            .map(|(_, member)| Invitation {
                email: member.email,
                role: member.role,
                first_name: member.first_name,
                last_name: member.last_name,
            }))
    }

    /// Accepts an invitation: names and password (the town's password
    /// policy), the link used up, a session opened for the enrolment.
    pub async fn accept_invitation(
        &self,
        tenant: &Tenant,
        token: &str,
        joining: &Joining,
        origin: &Origin,
    ) -> Result<AcceptOutcome, StaffError> {
        let now = Utc::now();
        let (invitation, member) = match self.find_invitation(tenant, token, now).await? {
            Ok(found) => found,
            Err(problem) => return Ok(AcceptOutcome::Problem(problem)),
        };
        let errors = joining_errors(tenant, joining);
        if !errors.is_empty() {
            return Ok(AcceptOutcome::Invalid(errors));
        }
        let hash = self.hasher.hash(&joining.password).await?;
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        // Used once: the update that marks it is the check.
        let used = scope
            .update::<staff_invitation::Entity>()
            .col_expr(staff_invitation::Column::UsedAt, Expr::value(Some(now)))
            .filter(staff_invitation::Column::Id.eq(invitation.id))
            .filter(staff_invitation::Column::UsedAt.is_null())
            .filter(staff_invitation::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            return Ok(AcceptOutcome::Problem(InvitationProblem::Used));
        }
        scope
            .update::<staff_member::Entity>()
            .col_expr(
                staff_member::Column::FirstName,
                Expr::value(joining.first_name.trim()),
            )
            .col_expr(
                staff_member::Column::LastName,
                Expr::value(joining.last_name.trim()),
            )
            .col_expr(staff_member::Column::PasswordHash, Expr::value(Some(hash)))
            .filter(staff_member::Column::Id.eq(member.id))
            .exec(&txn)
            .await?;
        let joined = staff_member::Model {
            first_name: joining.first_name.trim().to_owned(),
            last_name: joining.last_name.trim().to_owned(),
            ..member
        };
        audit::record_event(
            &txn,
            scope,
            Event {
                kind: AuditKind::StaffJoined,
                actor: actor(&joined),
                subject: None,
                origin,
                detail: None,
            },
        )
        .await?;
        let token = sessions::open(&txn, scope, joined.id, false, origin, now).await?;
        txn.commit().await?;
        Ok(AcceptOutcome::Joined { token })
    }
}

/// The fields' errors, in the form's order.
fn joining_errors(tenant: &Tenant, joining: &Joining) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, value, what) in [
        ("prenom", &joining.first_name, "votre prénom"),
        ("nom", &joining.last_name, "votre nom"),
    ] {
        let value = value.trim();
        if value.is_empty() {
            errors.push(FieldError {
                field,
                message: format!("Saisissez {what}."),
            });
        } else if value.chars().count() > 100 {
            errors.push(FieldError {
                field,
                message: format!("Saisissez {what} en 100 caractères au plus."),
            });
        }
    }
    for message in PasswordPolicy::of(tenant).check(&joining.password, "") {
        errors.push(FieldError {
            field: "mot-de-passe",
            message,
        });
    }
    if joining.password != joining.confirmation {
        errors.push(FieldError {
            field: "confirmation",
            message: "La confirmation ne correspond pas au mot de passe.".to_owned(),
        });
    }
    errors
}
