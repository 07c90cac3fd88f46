//! `guichet demo` only: the town's mail, as a resident's mailbox would show
//! it, so that the demo can be walked through without an SMTP server; and
//! the demo staff's current TOTP codes, so that the back-office can be tried
//! without an authenticator app.

use rocket::{Route, State, get, routes};
use serde::Serialize;

use super::kit::{Page, PageError};
use super::resident::TownPage;
use crate::mail::Outbox;
use crate::staff::StaffService;

pub fn routes() -> Vec<Route> {
    routes![mailbox, codes]
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
async fn mailbox(page: TownPage, outbox: &State<Outbox>) -> Result<Page, PageError> {
    let rows = outbox.town_mail(&page.tenant).await?;
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
            sent_at: crate::format::date_time(&mail.created_at.with_timezone(&timezone)),
            body: mail.text_body,
        })
        .collect();
    page.ok(
        "pages/demo_mailbox",
        "Courriels de la démo",
        MailboxView { mails },
    )
}

#[derive(Serialize)]
struct CodeView {
    name: String,
    email: String,
    role: &'static str,
    code: String,
}

#[derive(Serialize)]
struct CodesView {
    members: Vec<CodeView>,
}

/// Every enrolled staff member of the town with their code of the moment.
#[get("/demo/codes")]
async fn codes(page: TownPage, staff: &State<StaffService>) -> Result<Page, PageError> {
    let members = staff
        .current_codes(&page.tenant)
        .await?
        .into_iter()
        .map(|(member, code)| CodeView {
            name: member.display_name(),
            email: member.email,
            role: member.role.label(),
            code,
        })
        .collect();
    page.ok(
        "pages/demo_codes",
        "Codes de la démo",
        CodesView { members },
    )
}
