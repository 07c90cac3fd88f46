//! Version counters of what pages read, so that what a page computed can
//! be reused while nothing it depends on has changed.
//!
//! The database keeps them (migration 23, table `data_version`): triggers
//! on the tables behind each [`Subject`] bump a counter per town, subject
//! and resident at every insert, update and delete, in the writing
//! transaction — whoever writes (a resident's action, the data API, the
//! back-office, a closure, a statement typed in `psql`). A request reads
//! its town's and its resident's counters in one query ([`Versions::read`],
//! a [`Stamp`]); a [`Memo`] entry computed under the same counters is
//! still true. Since the counters live in the database, a write on one
//! instance is seen by the next request on any other: nothing to
//! announce, nothing to miss.
//!
//! The stamp is read *before* what it guards: a write that lands in
//! between makes the entry newer than its stamp, never older, and the next
//! request (with the newer stamp) reads again.

mod memo;
pub mod personal_data;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait as _, DatabaseConnection, DbBackend, DbErr, QueryFilter as _, QuerySelect as _,
};

pub use memo::Memo;

use crate::tenancy::Tenant;

/// The table the triggers keep (the town's removal deletes it last: the
/// triggers refill it while the town's other rows go).
pub const TABLE: &str = "data_version";

/// How many personal entries (a household, a terms status, the latest
/// requests) each memo keeps: small values, one per active resident.
pub const PERSONAL_MEMO_ENTRIES: usize = 50_000;

/// How many towns' entries (their enabled modules, their latest terms)
/// each memo keeps.
pub const TOWNS_MEMO_ENTRIES: usize = 10_000;

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_version")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        /// 0: the town's own counter of the subject.
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
        pub version: i64,
    }

    crate::tenant_owned_entity!();
}

/// What a counter stands for; the names are the triggers'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A module's storage (`module_data`): the town's scope, or a
    /// resident's.
    ModuleData(&'a str),
    /// A resident's household members.
    Household,
    /// A resident's requests (not their history's steps).
    Requests,
    /// The town's terms versions; a resident's answers to them.
    Terms,
    /// The town's enabled modules, their order, configuration and quotas.
    TownModules,
}

impl Subject<'_> {
    fn name(&self) -> &str {
        match self {
            Self::ModuleData(module_id) => module_id,
            Self::Household => "#household",
            Self::Requests => "#requests",
            Self::Terms => "#terms",
            Self::TownModules => "#modules",
        }
    }
}

/// A town's counters, and one resident's, as read at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    account_id: Option<i32>,
    /// (account id or 0, subject, version).
    counters: Vec<(i32, String, i64)>,
}

impl Stamp {
    /// The town's counter of `subject` (0: never written).
    pub fn town(&self, subject: Subject<'_>) -> i64 {
        self.find(0, subject)
    }

    /// The resident's counter of `subject`; `None` when the stamp was read
    /// for no resident (nothing personal may be reused under it).
    pub fn resident(&self, subject: Subject<'_>) -> Option<i64> {
        self.account_id.map(|id| self.find(id, subject))
    }

    /// The resident the stamp was read for.
    pub fn account_id(&self) -> Option<i32> {
        self.account_id
    }

    fn find(&self, account_id: i32, subject: Subject<'_>) -> i64 {
        let name = subject.name();
        self.counters
            .iter()
            .find(|(account, subject, _)| *account == account_id && subject == name)
            .map_or(0, |(_, _, version)| *version)
    }
}

impl Stamp {
    /// The stamp of [`counters_column`]'s value, read for `account_id`.
    pub fn from_column(account_id: Option<i32>, column: Option<&str>) -> Result<Self, DbErr> {
        let counters = match column {
            // No counter at all: PostgreSQL's `json_agg` of no row.
            None => Vec::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|error| DbErr::Type(format!("version counters: {error}")))?,
        };
        Ok(Self::of(account_id, counters))
    }

    /// In one order whatever the database's: two stamps of the same
    /// counters are equal.
    fn of(account_id: Option<i32>, mut counters: Vec<(i32, String, i64)>) -> Self {
        counters.sort_unstable();
        Self {
            account_id,
            counters,
        }
    }
}

/// The town's counters and those of the account `account` evaluates to,
/// as one column: a JSON array of `[account id or 0, subject, version]`,
/// as text. A query that reads something else per request (the resident's
/// session) reads the counters with it: one round trip instead of two
/// ([`Stamp::from_column`]). Same rows as [`Versions::read`].
pub fn counters_column(backend: DbBackend, tenant_id: i32, account: Expr) -> Expr {
    let sql = match backend {
        DbBackend::Postgres => {
            "(SELECT json_agg(json_build_array(dv.account_id, dv.subject, dv.version))::text \
             FROM data_version dv WHERE dv.tenant_id = $1 AND dv.account_id IN (0, $2))"
        }
        // sea-query fills SQLite's placeholders in order (`$1` would be
        // left as a named parameter of SQLite's own).
        _ => {
            "(SELECT json_group_array(json_array(dv.account_id, dv.subject, dv.version)) \
             FROM data_version dv WHERE dv.tenant_id = ? AND dv.account_id IN (0, ?))"
        }
    };
    Expr::cust_with_exprs(sql, [Expr::val(tenant_id), account])
}

/// Reads the counters.
#[derive(Debug, Clone)]
pub struct Versions {
    db: DatabaseConnection,
}

impl Versions {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The town's counters and, if any, the resident's: one query.
    pub async fn read(&self, tenant: &Tenant, account_id: Option<i32>) -> Result<Stamp, DbErr> {
        let mut accounts = vec![0];
        accounts.extend(account_id);
        let counters = tenant
            .scope()
            .select::<entity::Entity>()
            .filter(entity::Column::AccountId.is_in(accounts))
            .select_only()
            .column(entity::Column::AccountId)
            .column(entity::Column::Subject)
            .column(entity::Column::Version)
            .into_tuple::<(i32, String, i64)>()
            .all(&self.db)
            .await?;
        Ok(Stamp::of(account_id, counters))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_counter_is_zero_and_a_stamp_without_resident_has_none() {
        let stamp = Stamp {
            account_id: Some(7),
            counters: vec![
                (0, "invoices".to_owned(), 3),
                (7, "invoices".to_owned(), 5),
                (8, "invoices".to_owned(), 9),
                (7, "#household".to_owned(), 2),
            ],
        };
        assert_eq!(stamp.town(Subject::ModuleData("invoices")), 3);
        assert_eq!(stamp.resident(Subject::ModuleData("invoices")), Some(5));
        assert_eq!(stamp.resident(Subject::Household), Some(2));
        assert_eq!(stamp.town(Subject::Household), 0);
        assert_eq!(stamp.resident(Subject::Terms), Some(0));
        let town_only = Stamp {
            account_id: None,
            ..stamp
        };
        assert_eq!(town_only.resident(Subject::Household), None);
    }
}
