//! `notify`: the mails modules ask for, composed in the town's mail theme
//! (`mail/module_notification`: greeting, the module's paragraphs as plain
//! text, an optional link to one of its resident views, the town's
//! signature) and queued in the outbox in the transaction of the call's
//! writes, so that they leave only if the call's writes were committed.

use sea_orm::{ColumnTrait as _, ConnectionTrait, QueryFilter as _};
use serde::Serialize;

use super::EnabledModule;
use super::sandbox::PendingNotification;
use crate::accounts::entity::account;
use crate::mail::{MailError, MailKind, Mailer};
use crate::tenancy::Tenant;

#[derive(Debug, Serialize)]
struct NotificationMail<'a> {
    first_name: &'a str,
    last_name: &'a str,
    /// The module's name, e.g. "Réservations".
    module_name: &'a str,
    subject: &'a str,
    paragraphs: &'a [String],
    link: Option<MailLink>,
}

#[derive(Debug, Serialize)]
struct MailLink {
    label: String,
    url: String,
}

/// Queues `notifications` through `connection` (the caller's
/// transaction); how many were queued (a resident without an address is
/// skipped). `caller` is the resident of the call, if any: mails to them
/// need no lookup (this runs while the call's locks are held). Call
/// [`Mailer::wake`] once the transaction is committed.
pub async fn queue(
    mailer: &Mailer,
    connection: &impl ConnectionTrait,
    tenant: &Tenant,
    module: &EnabledModule,
    caller: Option<&account::Model>,
    notifications: &[PendingNotification],
) -> Result<usize, MailError> {
    if notifications.is_empty() {
        return Ok(0);
    }
    let others: Vec<i32> = notifications
        .iter()
        .map(|n| n.account_id)
        .filter(|id| caller.is_none_or(|caller| caller.id != *id))
        .collect();
    let mut accounts: Vec<account::Model> = caller.into_iter().cloned().collect();
    if !others.is_empty() {
        accounts.extend(
            tenant
                .scope()
                .select::<account::Entity>()
                .filter(account::Column::Id.is_in(others))
                .all(connection)
                .await?,
        );
    }
    let mut queued = 0;
    for notification in notifications {
        let Some(account) = accounts
            .iter()
            .find(|account| account.id == notification.account_id)
        else {
            continue;
        };
        if account.email.trim().is_empty() {
            continue;
        }
        let link = notification
            .link
            .as_ref()
            .and_then(|(label, view, params)| {
                let path = super::view_path(&module.module_id, view, params)?;
                Some(MailLink {
                    label: label.clone(),
                    url: mailer.links().town_url(tenant, &path),
                })
            });
        let data = NotificationMail {
            first_name: &account.first_name,
            last_name: &account.last_name,
            module_name: &module.manifest.name,
            subject: &notification.subject,
            paragraphs: &notification.paragraphs,
            link,
        };
        mailer
            .queue(
                connection,
                tenant,
                MailKind::ModuleNotification,
                &account.email,
                data,
            )
            .await?;
        queued += 1;
    }
    Ok(queued)
}
