//! What the staff reads of one resident beyond the account row: the
//! account's journal (events whose subject it is) and the mails the SMTP
//! server refused for good (refused_mail.rs acts on them).

use sea_orm::{ColumnTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _};

use super::entity::account;
use super::error::AccountError;
use super::service::Accounts;
use crate::audit::entity as audit_event;
use crate::mail::entity::{self as outbox, MailStatus};
use crate::tenancy::Tenant;

/// Events shown on a resident's page.
pub const JOURNAL_LIMIT: u64 = 50;
/// Refused mails shown on a resident's page.
pub const REFUSED_MAIL_LIMIT: u64 = 20;

impl Accounts {
    /// The town's account with this e-mail address, whatever its case.
    pub async fn find_by_email(
        &self,
        tenant: &Tenant,
        email: &str,
    ) -> Result<Option<account::Model>, sea_orm::DbErr> {
        tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::EmailKey.eq(email.trim().to_lowercase()))
            // A closed account is a pseudonym, no one's address.
            .filter(account::Column::Status.ne(account::AccountStatus::Closed))
            .one(&self.db)
            .await
    }

    /// The account's latest journal events, newest first (at most
    /// [`JOURNAL_LIMIT`]).
    pub async fn journal(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Vec<audit_event::Model>, AccountError> {
        Ok(tenant
            .scope()
            .select::<audit_event::Entity>()
            .filter(audit_event::Column::AccountId.eq(account_id))
            .order_by_desc(audit_event::Column::CreatedAt)
            .order_by_desc(audit_event::Column::Id)
            .limit(JOURNAL_LIMIT)
            .all(&self.db)
            .await?)
    }

    /// The mails to the account's current address that the SMTP server
    /// refused for good (`refused`, its answer in `last_error`), newest
    /// first. Matched by recipient: the outbox does not name accounts, and
    /// a mail to an address the account no longer has is not its concern.
    pub async fn refused_mail(
        &self,
        tenant: &Tenant,
        owner: &account::Model,
    ) -> Result<Vec<outbox::Model>, AccountError> {
        Ok(tenant
            .scope()
            .select::<outbox::Entity>()
            .filter(outbox::Column::Recipient.is_in(addresses(owner)))
            .filter(outbox::Column::Status.eq(MailStatus::Refused))
            .order_by_desc(outbox::Column::Id)
            .limit(REFUSED_MAIL_LIMIT)
            .all(&self.db)
            .await?)
    }
}

/// The account's address as mails were sent to it: as typed, and folded.
pub(super) fn addresses(owner: &account::Model) -> Vec<String> {
    let mut both = vec![owner.email.clone()];
    if owner.email_key != owner.email {
        both.push(owner.email_key.clone());
    }
    both
}
