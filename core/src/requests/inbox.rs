//! The staff's inbox: a town's requests, filtered, searched and paginated,
//! with the count of each status.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _, Func, Query};
use sea_orm::{
    ColumnTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::entity::request;
use super::{RequestDesk, RequestStatus};
use crate::accounts::entity::account;
use crate::staff::entity::staff_member;
use crate::tenancy::Tenant;

/// Requests per page of the inbox.
pub const INBOX_PAGE_SIZE: u64 = 25;

/// Which statuses the inbox shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// What waits for someone: filed, or in progress and assigned to the
    /// member reading or to nobody.
    #[default]
    Waiting,
    All,
    Is(RequestStatus),
}

/// Whose requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    Nobody,
    Member(i32),
}

/// What the request is: one of the town's request types, or made by a
/// module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindFilter {
    Type(String),
    Module(String),
}

#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub status: StatusFilter,
    pub kind: Option<KindFilter>,
    /// Filed on or after this day (the town's time).
    pub from: Option<NaiveDate>,
    /// Filed on or before this day.
    pub to: Option<NaiveDate>,
    pub assignee: Option<Assignee>,
    /// One resident's requests (their account id).
    pub resident: Option<i32>,
    /// A reference, or words of the resident's name.
    pub search: Option<String>,
    /// From 1.
    pub page: u64,
}

/// One line of the inbox.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub request: request::Model,
    pub resident: String,
    pub assignee: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InboxPage {
    pub rows: Vec<InboxRow>,
    pub total: u64,
    /// The page shown (from 1) and how many there are (at least 1).
    pub page: u64,
    pub pages: u64,
    /// Every status with its number of requests in the town.
    pub counts: Vec<(RequestStatus, u64)>,
}

/// The first instant of `day` in the town, in UTC.
fn start_of(tenant: &Tenant, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tenant
        .timezone
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

fn like(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl RequestDesk {
    /// The town's requests as `filter` selects them, newest first; `me`
    /// is the member reading (the default view keeps their requests).
    pub async fn inbox(
        &self,
        tenant: &Tenant,
        me: i32,
        filter: &InboxFilter,
    ) -> Result<InboxPage, sea_orm::DbErr> {
        use request::Column;
        let scope = tenant.scope();
        let mut select = scope.select::<request::Entity>();
        select = match filter.status {
            StatusFilter::All => select,
            StatusFilter::Is(status) => select.filter(Column::Status.eq(status)),
            StatusFilter::Waiting => select.filter(
                Condition::any()
                    .add(Column::Status.eq(RequestStatus::Submitted))
                    .add(
                        Condition::all()
                            .add(Column::Status.eq(RequestStatus::InProgress))
                            .add(
                                Condition::any()
                                    .add(Column::AssigneeId.eq(me))
                                    .add(Column::AssigneeId.is_null()),
                            ),
                    ),
            ),
        };
        match &filter.kind {
            Some(KindFilter::Type(kind)) => {
                select = select
                    .filter(Column::Kind.eq(kind.as_str()))
                    .filter(Column::ModuleId.is_null());
            }
            Some(KindFilter::Module(module)) => {
                select = select.filter(Column::ModuleId.eq(module.as_str()));
            }
            None => {}
        }
        if let Some(from) = filter.from {
            select = select.filter(Column::CreatedAt.gte(start_of(tenant, from)));
        }
        if let Some(to) = filter.to.and_then(|to| to.succ_opt()) {
            select = select.filter(Column::CreatedAt.lt(start_of(tenant, to)));
        }
        match filter.assignee {
            Some(Assignee::Nobody) => select = select.filter(Column::AssigneeId.is_null()),
            Some(Assignee::Member(id)) => select = select.filter(Column::AssigneeId.eq(id)),
            None => {}
        }
        if let Some(resident) = filter.resident {
            select = select.filter(Column::AccountId.eq(resident));
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            // Every word in the first or last name, or the text in the
            // reference; LOWER on both sides, as PostgreSQL's LIKE minds case.
            let mut names = Condition::all();
            for word in search.split_whitespace() {
                names = names.add(
                    Condition::any()
                        .add(
                            Expr::expr(Func::lower(Expr::col(account::Column::FirstName)))
                                .like(like(word)),
                        )
                        .add(
                            Expr::expr(Func::lower(Expr::col(account::Column::LastName)))
                                .like(like(word)),
                        ),
                );
            }
            let residents = Query::select()
                .column(account::Column::Id)
                .from(account::Entity)
                .and_where(account::Column::TenantId.eq(scope.tenant_id().get()))
                .cond_where(names)
                .to_owned();
            select = select.filter(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col((request::Entity, Column::Reference))))
                            .like(like(search)),
                    )
                    .add(Column::AccountId.in_subquery(residents)),
            );
        }
        let paginator = select
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .paginate(&self.db, INBOX_PAGE_SIZE);
        let totals = paginator.num_items_and_pages().await?;
        let pages = std::cmp::max(totals.number_of_pages, 1);
        let page = filter.page.clamp(1, pages);
        let found = paginator.fetch_page(page - 1).await?;

        let account_ids: Vec<i32> = found.iter().map(|row| row.account_id).collect();
        let names: HashMap<i32, String> = scope
            .select::<account::Entity>()
            .filter(account::Column::Id.is_in(account_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|account| {
                (
                    account.id,
                    crate::format::full_name(&account.first_name, &account.last_name),
                )
            })
            .collect();
        let members = self.member_names(tenant).await?;
        let rows = found
            .into_iter()
            .map(|request| InboxRow {
                resident: names.get(&request.account_id).cloned().unwrap_or_default(),
                assignee: request.assignee_id.and_then(|id| members.get(&id).cloned()),
                request,
            })
            .collect();
        Ok(InboxPage {
            rows,
            total: totals.number_of_items,
            page,
            pages,
            counts: self.counts(tenant).await?,
        })
    }

    /// Every status with the number of the town's requests in it.
    pub async fn counts(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<(RequestStatus, u64)>, sea_orm::DbErr> {
        let counted: Vec<(RequestStatus, i64)> = tenant
            .scope()
            .select::<request::Entity>()
            .select_only()
            .column(request::Column::Status)
            .column_as(request::Column::Id.count(), "count")
            .group_by(request::Column::Status)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(RequestStatus::ALL
            .into_iter()
            .map(|status| {
                let count = counted
                    .iter()
                    .find(|(counted, _)| *counted == status)
                    .map_or(0, |(_, count)| u64::try_from(*count).unwrap_or(0));
                (status, count)
            })
            .collect())
    }

    /// The names of the town's staff, by id (the inbox's "Suivie par").
    pub async fn member_names(
        &self,
        tenant: &Tenant,
    ) -> Result<HashMap<i32, String>, sea_orm::DbErr> {
        Ok(tenant
            .scope()
            .select::<staff_member::Entity>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|member| (member.id, member.display_name()))
            .collect())
    }
}
