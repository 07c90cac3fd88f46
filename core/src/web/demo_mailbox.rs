//! `guichet demo` only: the town's mail, as a resident's mailbox would show
//! it, so that the demo can be walked through without an SMTP server.

use rocket::{Route, State, get, routes};
use sea_orm::{DatabaseConnection, QueryOrder as _};
use serde::Serialize;

use super::PageError;
use super::render::{Page, TownPage};
use crate::mail::entity;

pub fn routes() -> Vec<Route> {
    routes![mailbox]
}

#[derive(Serialize)]
struct MailView {
    recipient: String,
    subject: String,
    sent_at: String,
    body: String,
    links: Vec<String>,
}

#[derive(Serialize)]
struct MailboxView {
    mails: Vec<MailView>,
}

#[get("/demo/courriels")]
async fn mailbox(page: TownPage, db: &State<DatabaseConnection>) -> Result<Page, PageError> {
    let rows = page
        .tenant
        .scope()
        .select::<entity::Entity>()
        .order_by_desc(entity::Column::Id)
        .all(db.inner())
        .await?;
    let timezone = page.tenant.timezone;
    let mails = rows
        .into_iter()
        .map(|mail| MailView {
            links: mail
                .text_body
                .split_whitespace()
                .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
                .map(str::to_owned)
                .collect(),
            recipient: mail.recipient,
            subject: mail.subject,
            sent_at: mail
                .created_at
                .with_timezone(&timezone)
                .format("%d/%m/%Y à %H:%M")
                .to_string(),
            body: mail.text_body,
        })
        .collect();
    page.ok(
        "pages/demo_mailbox",
        "Courriels de la démo",
        MailboxView { mails },
    )
}
