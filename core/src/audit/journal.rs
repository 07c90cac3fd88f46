//! Reading a town's journal: filtered, newest first, in pages that follow
//! one another by keyset (`created_at`, `id`) so that a page costs the same
//! on the thousandth as on the first, and events recorded meanwhile neither
//! shift nor repeat the pages already read. Every query starts from the
//! town's scope; the resident's history is the staff's query with the
//! subject fixed to the session's account.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, Condition, DatabaseConnection, DbErr, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Select,
};

use super::AuditKind;
use super::entity::{self, ActorKind, Column};
use crate::accounts::entity::account;
use crate::tenancy::{Tenant, TenantScope};

/// The most events one page (or one round of the CSV export) reads.
pub const MAX_PAGE: u64 = 200;

/// Which events to show. Dates are instants: the web layer turns the
/// town's days into them (`from` inclusive, `until` exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    pub actor: Option<ActorFilter>,
    pub kind: Option<AuditKind>,
    /// The account the events concern.
    pub subject: Option<i32>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Who acted: a kind of actor, or one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    /// Any actor of this kind.
    Kind(ActorKind),
    /// This resident (account id).
    Resident(i32),
    /// This staff member.
    Staff(i32),
    /// The API key of this name.
    ApiKey(String),
}

/// The export's columns.
const CSV_HEADER: [&str; 10] = [
    "date",
    "evenement",
    "code",
    "acteur",
    "type_acteur",
    "usager",
    "identifiant_usager",
    "adresse_ip",
    "navigateur",
    "detail",
];

/// Where a page starts: just after (older than) this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    at: DateTime<Utc>,
    id: i32,
}

impl Cursor {
    fn after(event: &entity::Model) -> Self {
        Self {
            at: event.created_at,
            id: event.id,
        }
    }

    /// The cursor as a URL parameter: the instant to the nanosecond (what
    /// the database gave back, so that equality holds) and the id.
    pub fn encode(&self) -> String {
        match self.at.timestamp_nanos_opt() {
            Some(nanos) => format!("{nanos}_{}", self.id),
            // Past 2262: to the microsecond, which PostgreSQL keeps anyway.
            None => format!("{}u_{}", self.at.timestamp_micros(), self.id),
        }
    }

    /// A cursor from a URL; none for anything else (the first page).
    pub fn decode(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('_')?;
        let at = match at.strip_suffix('u') {
            Some(micros) => DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            None => DateTime::from_timestamp_nanos(at.parse().ok()?),
        };
        Some(Self {
            at,
            id: id.parse().ok()?,
        })
    }
}

/// A resident as the journal names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentSummary {
    pub id: i32,
    pub identifier: String,
    /// "Michel ARPEGE".
    pub name: String,
}

impl ResidentSummary {
    fn of(account: &account::Model) -> Self {
        Self {
            id: account.id,
            identifier: account.identifier.clone(),
            name: crate::format::full_name(&account.first_name, &account.last_name),
        }
    }
}

/// Who reads the journal, which decides how actors are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The town's staff: every actor by name, as recorded.
    Staff,
    /// The resident of this account, reading their own history: staff
    /// members are "un agent de la mairie", never named.
    Resident(i32),
}

/// One event, with the accounts it names.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub event: entity::Model,
    /// None for a kind a newer version wrote.
    pub kind: Option<AuditKind>,
    /// The account the event concerns (none if deleted since).
    pub subject: Option<ResidentSummary>,
    /// The resident who acted, when a resident did.
    pub actor_resident: Option<ResidentSummary>,
}

impl JournalEntry {
    /// "Mot de passe modifié" (or the stored kind, if unknown).
    pub fn label(&self) -> Cow<'static, str> {
        match self.kind {
            Some(kind) => Cow::Borrowed(kind.label()),
            None => Cow::Owned(self.event.kind.clone()),
        }
    }

    /// The actor, for this reader. The staff's label is the one recorded
    /// with the event (name and role as they were then).
    pub fn actor_label(&self, reader: Reader) -> String {
        let event = &self.event;
        match (reader, event.actor_kind) {
            (Reader::Resident(me), ActorKind::Resident) if event.actor_id == Some(me) => {
                "Vous".to_owned()
            }
            (Reader::Resident(_), ActorKind::Resident) => "un autre usager".to_owned(),
            (Reader::Resident(_), ActorKind::Staff) => "un agent de la mairie".to_owned(),
            (Reader::Resident(_), ActorKind::ApiKey) => "le logiciel de la mairie".to_owned(),
            (Reader::Staff, ActorKind::Resident) => match &self.actor_resident {
                Some(resident) => format!("{} ({})", resident.name, resident.identifier),
                None => "Usager (compte supprimé)".to_owned(),
            },
            (Reader::Staff, ActorKind::Staff) => event
                .actor_label
                .clone()
                .unwrap_or_else(|| "Agent de la mairie".to_owned()),
            (Reader::Staff, ActorKind::ApiKey) => format!(
                "Logiciel de la mairie (clé « {} »)",
                event.actor_label.as_deref().unwrap_or_default()
            ),
            (_, ActorKind::System) => "Guichet".to_owned(),
            (Reader::Resident(_), ActorKind::Anonymous) => "une personne non connectée".to_owned(),
            (Reader::Staff, ActorKind::Anonymous) => "Personne non connectée".to_owned(),
        }
    }

    /// What the event adds, for the resident ("via FranceConnect"): the
    /// staff's free text (a reason, a count) is theirs only.
    pub fn resident_detail(&self) -> Option<&'static str> {
        (self.event.detail.as_deref() == Some("franceconnect")).then_some("via FranceConnect")
    }
}

/// One page of the journal, and where the next one starts.
#[derive(Debug, Clone)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    /// None on the last page.
    pub next: Option<Cursor>,
}

/// The journal's reader. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    db: DatabaseConnection,
}

impl Journal {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The town's events matching `filter`, newest first, at most `limit`
    /// (bounded by [`MAX_PAGE`]) after `after`.
    pub async fn page(
        &self,
        tenant: &Tenant,
        filter: &JournalFilter,
        after: Option<Cursor>,
        limit: u64,
    ) -> Result<JournalPage, DbErr> {
        let scope = tenant.scope();
        let limit = limit.clamp(1, MAX_PAGE);
        let mut events = filtered(scope, filter, after)
            .limit(limit + 1)
            .all(&self.db)
            .await?;
        let next = if events.len() as u64 > limit {
            events.truncate(limit as usize);
            events.last().map(Cursor::after)
        } else {
            None
        };
        let entries = self.entries(scope, events).await?;
        Ok(JournalPage { entries, next })
    }

    /// A resident's own history: only the events whose subject is their
    /// account, whoever acted.
    pub async fn resident_history(
        &self,
        tenant: &Tenant,
        account_id: i32,
        after: Option<Cursor>,
        limit: u64,
    ) -> Result<JournalPage, DbErr> {
        let filter = JournalFilter {
            subject: Some(account_id),
            ..JournalFilter::default()
        };
        self.page(tenant, &filter, after, limit).await
    }

    /// A resident of the town by identifier (the staff's filter), or none.
    pub async fn resident_by_identifier(
        &self,
        tenant: &Tenant,
        identifier: &str,
    ) -> Result<Option<ResidentSummary>, DbErr> {
        let found = tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Identifier.eq(identifier.trim()))
            .one(&self.db)
            .await?;
        Ok(found.as_ref().map(ResidentSummary::of))
    }

    /// Every event matching `filter` as CSV, newest first, sent on
    /// `chunks` one round of [`MAX_PAGE`] events at a time (the header with
    /// the first): a bounded channel holds memory to a few rounds however
    /// long the journal, and a reader that goes away (the channel closed)
    /// stops the reading. A failure is sent as the last item. Each cell
    /// goes through [`crate::spreadsheet::CsvWriter`]: names, browsers and
    /// details cannot become formulas. Times are the town's local time.
    pub async fn export_csv(
        &self,
        tenant: &Tenant,
        filter: &JournalFilter,
        chunks: tokio::sync::mpsc::Sender<Result<Vec<u8>, ExportError>>,
    ) {
        let mut after = None;
        loop {
            let round = self.export_round(tenant, filter, after).await;
            let next = match &round {
                Ok((_, next)) => *next,
                Err(_) => None,
            };
            if chunks.send(round.map(|(rows, _)| rows)).await.is_err() {
                return;
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => return,
            }
        }
    }

    /// The whole export in memory: for the command line and the tests.
    pub async fn export_csv_bytes(
        &self,
        tenant: &Tenant,
        filter: &JournalFilter,
    ) -> Result<Vec<u8>, ExportError> {
        let (sender, mut chunks) = tokio::sync::mpsc::channel(2);
        let (_, collected) = tokio::join!(self.export_csv(tenant, filter, sender), async move {
            let mut all = Vec::new();
            while let Some(chunk) = chunks.recv().await {
                all.extend(chunk?);
            }
            Ok::<_, ExportError>(all)
        });
        collected
    }

    /// One round of the export: its rows (after the header, on the first
    /// round) and where the next starts.
    async fn export_round(
        &self,
        tenant: &Tenant,
        filter: &JournalFilter,
        after: Option<Cursor>,
    ) -> Result<(Vec<u8>, Option<Cursor>), ExportError> {
        let page = self.page(tenant, filter, after, MAX_PAGE).await?;
        let mut rows = Vec::new();
        let mut writer = crate::spreadsheet::CsvWriter::new(&mut rows);
        if after.is_none() {
            writer.write_row(CSV_HEADER)?;
        }
        for entry in &page.entries {
            let event = &entry.event;
            let at = event.created_at.with_timezone(&tenant.timezone);
            writer.write_row([
                at.format("%Y-%m-%d %H:%M:%S").to_string().as_str(),
                &entry.label(),
                &event.kind,
                &entry.actor_label(Reader::Staff),
                event.actor_kind.as_str(),
                entry.subject.as_ref().map_or("", |s| s.name.as_str()),
                entry.subject.as_ref().map_or("", |s| s.identifier.as_str()),
                event.ip.as_deref().unwrap_or_default(),
                event.user_agent.as_deref().unwrap_or_default(),
                event.detail.as_deref().unwrap_or_default(),
            ])?;
        }
        writer.flush()?;
        drop(writer);
        Ok((rows, page.next))
    }

    /// The page's events with the accounts they name, read in one query.
    async fn entries(
        &self,
        scope: TenantScope,
        events: Vec<entity::Model>,
    ) -> Result<Vec<JournalEntry>, DbErr> {
        let mut ids: Vec<i32> = events
            .iter()
            .flat_map(|event| {
                let acting = (event.actor_kind == ActorKind::Resident)
                    .then_some(event.actor_id)
                    .flatten();
                [event.account_id, acting]
            })
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let accounts: HashMap<i32, ResidentSummary> = if ids.is_empty() {
            HashMap::new()
        } else {
            scope
                .select::<account::Entity>()
                .filter(account::Column::Id.is_in(ids))
                .all(&self.db)
                .await?
                .iter()
                .map(|account| (account.id, ResidentSummary::of(account)))
                .collect()
        };
        let named = |id: Option<i32>| id.and_then(|id| accounts.get(&id).cloned());
        Ok(events
            .into_iter()
            .map(|event| JournalEntry {
                kind: AuditKind::parse(&event.kind),
                subject: named(event.account_id),
                actor_resident: if event.actor_kind == ActorKind::Resident {
                    named(event.actor_id)
                } else {
                    None
                },
                event,
            })
            .collect())
    }
}

/// The filtered query, in the town's scope, newest first, after the cursor.
fn filtered(
    scope: TenantScope,
    filter: &JournalFilter,
    after: Option<Cursor>,
) -> Select<entity::Entity> {
    let mut select = scope.select::<entity::Entity>();
    match &filter.actor {
        None => {}
        Some(ActorFilter::Kind(kind)) => select = select.filter(Column::ActorKind.eq(*kind)),
        Some(ActorFilter::Resident(id)) => {
            select = select
                .filter(Column::ActorKind.eq(ActorKind::Resident))
                .filter(Column::ActorId.eq(*id));
        }
        Some(ActorFilter::Staff(id)) => {
            select = select
                .filter(Column::ActorKind.eq(ActorKind::Staff))
                .filter(Column::ActorId.eq(*id));
        }
        Some(ActorFilter::ApiKey(name)) => {
            select = select
                .filter(Column::ActorKind.eq(ActorKind::ApiKey))
                .filter(Column::ActorLabel.eq(name.as_str()));
        }
    }
    if let Some(kind) = filter.kind {
        select = select.filter(Column::Kind.eq(kind.as_str()));
    }
    if let Some(subject) = filter.subject {
        select = select.filter(Column::AccountId.eq(subject));
    }
    if let Some(from) = filter.from {
        select = select.filter(Column::CreatedAt.gte(from));
    }
    if let Some(until) = filter.until {
        select = select.filter(Column::CreatedAt.lt(until));
    }
    if let Some(cursor) = after {
        select = select.filter(
            Condition::any().add(Column::CreatedAt.lt(cursor.at)).add(
                Condition::all()
                    .add(Column::CreatedAt.eq(cursor.at))
                    .add(Column::Id.lt(cursor.id)),
            ),
        );
    }
    select
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_survive_the_url() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_nanos(1_796_000_000_123_456_789),
            id: 42,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for wrong in ["", "12", "x_1", "1_y", "1_2_3", "-"] {
            assert_eq!(Cursor::decode(wrong), None, "{wrong}");
        }
    }
}
