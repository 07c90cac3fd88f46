//! The staff's list of residents: search, filters, counts, pages.
//!
//! Search is by the words written with each account (search.rs): every
//! typed word must start a word of the names, identifier or e-mail address,
//! accents and case aside; each is an index range on `(tenant_id, word)`.
//!
//! Pages are keyset pages on `(sort_key, id)`, not offsets: the cost of a
//! page is the same at any depth (an offset reads and drops every row
//! before it: 100,000 residents make the last pages the slowest), and a
//! page does not shift when accounts are created meanwhile (an import of
//! thousands of lines while someone pages). What is lost is "go to page
//! 37": the list offers the previous and next pages, and the search and
//! filters narrow it down, which is how a desk finds a resident.

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ColumnTrait as _, Condition, Order, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Select,
};

use super::entity::account::{self, AccountStatus};
use super::entity::account_search_word;
use super::error::AccountError;
use super::search::query_words;
use super::service::Accounts;
use crate::db::prefix_end;
use crate::tenancy::{Tenant, TenantScope};

/// Rows on one page of the list.
pub const PAGE_SIZE: u64 = 50;

/// Where an account stands, as the staff sees it: disabled first (whatever
/// its activation), then awaiting activation or active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidentState {
    AwaitingActivation,
    Active,
    Disabled,
    /// Closed: a pseudonym kept for the town's records.
    Closed,
}

impl ResidentState {
    pub const ALL: [Self; 4] = [
        Self::AwaitingActivation,
        Self::Active,
        Self::Disabled,
        Self::Closed,
    ];

    pub fn of(owner: &account::Model) -> Self {
        match (owner.disabled_at, owner.status) {
            (_, AccountStatus::Closed) => Self::Closed,
            (Some(_), _) => Self::Disabled,
            (None, AccountStatus::Pending) => Self::AwaitingActivation,
            (None, AccountStatus::Active) => Self::Active,
        }
    }

    /// The filter's value in the list's address.
    pub fn code(self) -> &'static str {
        match self {
            Self::AwaitingActivation => "en-attente",
            Self::Active => "actif",
            Self::Disabled => "desactive",
            Self::Closed => "ferme",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::AwaitingActivation => "En attente d'activation",
            Self::Active => "Actif",
            Self::Disabled => "Désactivé",
            Self::Closed => "Fermé",
        }
    }

    fn condition(self) -> Condition {
        match self {
            Self::AwaitingActivation => Condition::all()
                .add(account::Column::Status.eq(AccountStatus::Pending))
                .add(account::Column::DisabledAt.is_null()),
            Self::Active => Condition::all()
                .add(account::Column::Status.eq(AccountStatus::Active))
                .add(account::Column::DisabledAt.is_null()),
            Self::Disabled => Condition::all()
                .add(account::Column::DisabledAt.is_not_null())
                .add(account::Column::Status.ne(AccountStatus::Closed)),
            Self::Closed => Condition::all().add(account::Column::Status.eq(AccountStatus::Closed)),
        }
    }
}

/// Which page: the first, the one after an account, or the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageCursor {
    #[default]
    First,
    After(i32),
    Before(i32),
}

/// What the staff asks the list for.
#[derive(Debug, Clone, Default)]
pub struct DirectoryQuery {
    /// Typed words (name, e-mail, identifier); empty for all.
    pub search: String,
    pub state: Option<ResidentState>,
    /// Created on or after this day (the town's calendar).
    pub created_from: Option<NaiveDate>,
    /// Created on or before this day (the town's calendar).
    pub created_to: Option<NaiveDate>,
    pub page: PageCursor,
}

/// One page of the list.
#[derive(Debug, Clone)]
pub struct DirectoryPage {
    pub rows: Vec<account::Model>,
    /// How many accounts match, over every page.
    pub matching: u64,
    /// The cursor of the previous page (`Before` the first row), if any.
    pub previous: Option<i32>,
    /// The cursor of the next page (`After` the last row), if any.
    pub next: Option<i32>,
}

/// The town's accounts by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateCounts {
    pub awaiting_activation: u64,
    pub active: u64,
    pub disabled: u64,
    /// Closed accounts (pseudonyms), apart from the total.
    pub closed: u64,
}

impl StateCounts {
    /// The town's residents (closed accounts are no longer residents).
    pub fn total(&self) -> u64 {
        self.awaiting_activation + self.active + self.disabled
    }

    pub fn of(&self, state: ResidentState) -> u64 {
        match state {
            ResidentState::AwaitingActivation => self.awaiting_activation,
            ResidentState::Active => self.active,
            ResidentState::Disabled => self.disabled,
            ResidentState::Closed => self.closed,
        }
    }
}

impl Accounts {
    /// One page of the town's residents matching `query`, in name order.
    pub async fn directory(
        &self,
        tenant: &Tenant,
        query: &DirectoryQuery,
    ) -> Result<DirectoryPage, AccountError> {
        let scope = tenant.scope();
        let matching_select = matching(scope, tenant, query);
        let matching = matching_select.clone().count(&self.db).await?;

        // Where the cursor's account stands; a cursor of another town or
        // of an account gone reads as the first page.
        let cursor = match query.page {
            PageCursor::First => None,
            PageCursor::After(id) | PageCursor::Before(id) => scope
                .select::<account::Entity>()
                .filter(account::Column::Id.eq(id))
                .one(&self.db)
                .await?
                .map(|row| (row.sort_key, row.id)),
        };
        let backwards = matches!(query.page, PageCursor::Before(_)) && cursor.is_some();
        let mut select = matching_select;
        if let Some((key, id)) = &cursor {
            // One row-value comparison, `(sort_key, id) > (key, id)`: both
            // databases walk the `(tenant_id, sort_key, id)` index from
            // there, where an `OR` of two comparisons is a filter.
            let position = Expr::tuple([
                Expr::col((account::Entity, account::Column::SortKey)),
                Expr::col((account::Entity, account::Column::Id)),
            ]);
            let cursor = Expr::tuple([Expr::val(key.as_str()), Expr::val(*id)]);
            select = select.filter(if backwards {
                position.lt(cursor)
            } else {
                position.gt(cursor)
            });
        }
        let order = if backwards { Order::Desc } else { Order::Asc };
        let mut rows = select
            .order_by(account::Column::SortKey, order.clone())
            .order_by(account::Column::Id, order)
            .limit(PAGE_SIZE + 1)
            .all(&self.db)
            .await?;
        let more = rows.len() as u64 > PAGE_SIZE;
        rows.truncate(PAGE_SIZE as usize);
        if backwards {
            rows.reverse();
        }
        let (first, last) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id));
        let (previous, next) = match (backwards, cursor.is_some()) {
            // Going back: more rows before; the cursor's side is after.
            (true, _) => (first.filter(|_| more), last),
            // Going forward from a cursor: the cursor's side is before.
            (false, true) => (first, last.filter(|_| more)),
            (false, false) => (None, last.filter(|_| more)),
        };
        Ok(DirectoryPage {
            rows,
            matching,
            previous,
            next,
        })
    }

    /// How many of the town's accounts are in each state.
    pub async fn state_counts(&self, tenant: &Tenant) -> Result<StateCounts, AccountError> {
        let scope = tenant.scope();
        let mut counts = StateCounts::default();
        for state in ResidentState::ALL {
            let count = scope
                .select::<account::Entity>()
                .filter(state.condition())
                .count(&self.db)
                .await?;
            match state {
                ResidentState::AwaitingActivation => counts.awaiting_activation = count,
                ResidentState::Active => counts.active = count,
                ResidentState::Disabled => counts.disabled = count,
                ResidentState::Closed => counts.closed = count,
            }
        }
        Ok(counts)
    }
}

/// The town's accounts matching the query's words and filters (unordered).
fn matching(
    scope: TenantScope,
    tenant: &Tenant,
    query: &DirectoryQuery,
) -> Select<account::Entity> {
    let mut select = scope.select::<account::Entity>();
    match query.state {
        Some(state) => select = select.filter(state.condition()),
        // Closed accounts are listed when asked for only.
        None => select = select.filter(account::Column::Status.ne(AccountStatus::Closed)),
    }
    if let Some(from) = query.created_from.and_then(|day| start_of(tenant, day)) {
        select = select.filter(account::Column::CreatedAt.gte(from));
    }
    if let Some(to) = query
        .created_to
        .and_then(|day| day.succ_opt())
        .and_then(|day| start_of(tenant, day))
    {
        select = select.filter(account::Column::CreatedAt.lt(to));
    }
    for word in query_words(&query.search) {
        let end = prefix_end(&word);
        let mut words = Query::select()
            .column(account_search_word::Column::AccountId)
            .from(account_search_word::Entity)
            .and_where(Expr::col(account_search_word::Column::TenantId).eq(scope.tenant_id().get()))
            .and_where(Expr::col(account_search_word::Column::Word).gte(word))
            .to_owned();
        // Words are never empty: there is always an end.
        if let Some(end) = end {
            words.and_where(Expr::col(account_search_word::Column::Word).lt(end));
        }
        select = select.filter(account::Column::Id.in_subquery(words));
    }
    select
}

/// Midnight of `day` in the town's time zone (the first instant of a
/// day that skips midnight).
fn start_of(tenant: &Tenant, day: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    tenant
        .timezone
        .from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tenant
                .timezone
                .from_local_datetime(&(midnight + Duration::hours(1)))
                .earliest()
        })
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::ResidentState;

    #[test]
    fn state_codes_read_back() {
        for state in ResidentState::ALL {
            assert_eq!(ResidentState::from_code(state.code()), Some(state));
        }
        assert_eq!(ResidentState::from_code("disabled"), None);
    }
}
