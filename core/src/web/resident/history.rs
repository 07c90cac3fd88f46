//! "Historique de mon compte": the resident's own journal — logins and
//! failed attempts, password and e-mail changes, FranceConnect links, terms
//! acceptances, and what the town's staff did on the account ("un agent de
//! la mairie", never a name). Only the events whose subject is the
//! session's account, newest first, a page at a time.

use rocket::{Route, State, get, routes};
use serde::Serialize;

use super::{Csrf, PageError, Resident, TownPage, resident_page};
use crate::audit::{ActorKind, Cursor, Journal, JournalSettings, Reader};
use crate::web::kit::Page;

pub fn routes() -> Vec<Route> {
    routes![history]
}

/// Events per page: a phone's few screens.
const PAGE: u64 = 20;

#[derive(Debug, Serialize)]
struct EntryView {
    /// "01/12/2026 à 19:05", in the town's time.
    date: String,
    /// The same instant, for `<time datetime>`.
    iso: String,
    label: String,
    detail: Option<&'static str>,
    actor: String,
    /// The address of attempts made by the resident or by someone not
    /// logged in (never the town's own, for a staff action).
    ip: Option<String>,
}

#[derive(Debug, Serialize)]
struct HistoryView {
    entries: Vec<EntryView>,
    /// The next (older) page's parameter.
    next: Option<String>,
    /// On a page after the first: a link back to the newest events.
    older_page: bool,
    retention_days: u32,
}

#[get("/mon-compte/historique?<apres>")]
async fn history(
    page: TownPage,
    resident: Resident,
    journal: &State<Journal>,
    csrf: Csrf,
    apres: Option<&str>,
) -> Result<Page, PageError> {
    let tenant = &resident.tenant;
    let me = resident.account.id;
    let after = apres.and_then(Cursor::decode);
    let history = journal.resident_history(tenant, me, after, PAGE).await?;
    let entries = history
        .entries
        .iter()
        .map(|entry| {
            let event = &entry.event;
            let at = event.created_at.with_timezone(&tenant.timezone);
            let own_attempt = matches!(event.actor_kind, ActorKind::Anonymous)
                || (event.actor_kind == ActorKind::Resident && event.actor_id == Some(me));
            EntryView {
                date: crate::format::date_time(&at),
                iso: at.to_rfc3339(),
                label: entry.label().into_owned(),
                detail: entry.resident_detail(),
                actor: entry.actor_label(Reader::Resident(me)),
                ip: own_attempt.then(|| event.ip.clone()).flatten(),
            }
        })
        .collect();
    let view = HistoryView {
        entries,
        next: history.next.map(|cursor| cursor.encode()),
        older_page: after.is_some(),
        retention_days: JournalSettings::of(tenant).retention_days,
    };
    resident_page(page, &resident, &csrf).ok(
        "pages/account_history",
        "Historique de mon compte",
        view,
    )
}
