//! The outbox: one row per mail, from queued to sent (or refused, or given
//! up).

use sea_orm::entity::prelude::*;

/// Where a mail stands. The stored strings are those of the first release
/// (`pending`, `sent`, `failed`): rows written since then must still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum MailStatus {
    /// Waiting for its next attempt (or being sent, while claimed).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The SMTP server took it.
    #[sea_orm(string_value = "sent")]
    Sent,
    /// The SMTP server refused it for good (a 55x answer, kept in
    /// `last_error`), or it cannot be written (a malformed address): never
    /// retried.
    #[sea_orm(string_value = "refused")]
    Refused,
    /// Given up after every retry failed (the last error in `last_error`);
    /// rows of the first release also used it for refusals.
    #[sea_orm(string_value = "failed")]
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub tenant_id: i32,
    pub kind: String,
    pub from_name: String,
    pub from_address: String,
    pub recipient: String,
    pub subject: String,
    #[sea_orm(column_type = "Text")]
    pub text_body: String,
    #[sea_orm(column_type = "Text")]
    pub html_body: String,
    pub status: MailStatus,
    /// Attempts started, counted when a worker claims the mail to send it.
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker's claim: nobody else sends the mail before this time.
    pub locked_until: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    /// `<guichet.…@sender's domain>`, chosen at queue time and the same on
    /// every attempt; none only on a row written by other means (an SQL
    /// import) until the worker gives it one, before its first attempt.
    pub message_id: Option<String>,
    /// The worker holding the claim (until `locked_until`).
    pub claimed_by: Option<String>,
}

crate::tenant_owned_entity!();

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable as _;

    #[test]
    fn statuses_keep_their_stored_strings() {
        let expected = [
            (MailStatus::Pending, "pending"),
            (MailStatus::Sent, "sent"),
            (MailStatus::Refused, "refused"),
            (MailStatus::Failed, "failed"),
        ];
        assert_eq!(MailStatus::iter().count(), expected.len());
        for (status, stored) in expected {
            assert_eq!(status.to_value(), stored);
            assert_eq!(
                MailStatus::try_from_value(&stored.to_owned()).ok(),
                Some(status)
            );
        }
    }
}
