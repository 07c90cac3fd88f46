//! The inbox's statistics: open requests per type, and the median time to
//! close the requests closed in the last 30 days. The median is computed
//! here: SQLite has no median and PostgreSQL's `percentile_cont` is its
//! own; a town closes at most a few thousand requests a month.

use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait as _, DbErr, QueryFilter as _, QuerySelect as _};

use super::entity::request;
use super::{RequestDesk, RequestStatus};
use crate::tenancy::Tenant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStats {
    /// (kind, module id, open requests), most first.
    pub open_per_type: Vec<(String, Option<String>, u64)>,
    /// Requests closed in the last 30 days.
    pub closed_last_30_days: u64,
    /// Their median time from filing to closing.
    pub median_time_to_close: Option<Duration>,
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => values.get(middle).copied(),
        _ => {
            let (low, high) = (values.get(middle - 1)?, values.get(middle)?);
            Some(*low + (*high - *low) / 2)
        }
    }
}

impl RequestDesk {
    pub async fn stats(&self, tenant: &Tenant) -> Result<RequestStats, DbErr> {
        use request::Column;
        let open: Vec<RequestStatus> = RequestStatus::ALL
            .into_iter()
            .filter(|status| status.is_open())
            .collect();
        let counted: Vec<(String, Option<String>, i64)> = tenant
            .scope()
            .select::<request::Entity>()
            .select_only()
            .column(Column::Kind)
            .column(Column::ModuleId)
            .column_as(Column::Id.count(), "count")
            .filter(Column::Status.is_in(open))
            .group_by(Column::Kind)
            .group_by(Column::ModuleId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut open_per_type: Vec<(String, Option<String>, u64)> = counted
            .into_iter()
            .map(|(kind, module, count)| (kind, module, u64::try_from(count).unwrap_or(0)))
            .collect();
        open_per_type.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));

        let since = Utc::now() - Duration::days(30);
        let closed: Vec<(chrono::DateTime<Utc>, Option<chrono::DateTime<Utc>>)> = tenant
            .scope()
            .select::<request::Entity>()
            .select_only()
            .column(Column::CreatedAt)
            .column(Column::ClosedAt)
            .filter(Column::ClosedAt.gte(since))
            .into_tuple()
            .all(&self.db)
            .await?;
        let durations: Vec<Duration> = closed
            .into_iter()
            .filter_map(|(created, closed)| closed.map(|closed| closed - created))
            .collect();
        Ok(RequestStats {
            open_per_type,
            closed_last_30_days: u64::try_from(durations.len()).unwrap_or(0),
            median_time_to_close: median(durations),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_none() {
        let hours = |values: &[i64]| values.iter().map(|h| Duration::hours(*h)).collect();
        assert_eq!(median(hours(&[])), None);
        assert_eq!(median(hours(&[5, 1, 3])), Some(Duration::hours(3)));
        assert_eq!(median(hours(&[4, 1, 2, 10])), Some(Duration::hours(3)));
    }
}
