//! Publishing versions, the gate, acceptances, history and export.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DatabaseConnection,
    DbErr, QueryFilter as _, QueryOrder as _,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::entity::{terms_acceptance, terms_version};
use super::markdown;
use crate::audit::{self, AuditKind, Origin};
use crate::tenancy::Tenant;
use crate::versions::{Memo, Stamp, Subject};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TermsKind {
    /// Residents must accept it before going on.
    Major,
    /// Residents are told, and may dismiss the notice.
    Minor,
}

impl TermsKind {
    fn code(self) -> &'static str {
        match self {
            Self::Major => terms_version::MAJOR,
            Self::Minor => terms_version::MINOR,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    Published {
        number: i32,
        kind: TermsKind,
    },
    /// The same text is already a version: nothing was written.
    Unchanged {
        number: i32,
    },
}

/// Where a resident stands with the town's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermsStatus {
    /// No terms, or the current ones accepted (or their notice dismissed).
    UpToDate,
    /// A major version is not accepted: this version must be.
    MustAccept(terms_version::Model),
    /// The latest version is minor and new to the resident: show a notice.
    MinorNotice(terms_version::Model),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AcceptError {
    #[error("this version is not the town's current one")]
    NotCurrent,
}

/// Where a resident stands, without the version itself: the version a
/// status names is always the town's latest, kept once per town.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    UpToDate,
    MustAccept,
    MinorNotice,
}

/// A resident's verdict, with the town's and the resident's counters it
/// was computed under.
type KeptVerdict = (i64, i64, Verdict);

/// A town's latest version, with the town's terms counter.
type KeptLatest = (i64, Option<std::sync::Arc<terms_version::Model>>);

/// The terms service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Terms {
    db: DatabaseConnection,
    /// Verdicts by (town, account), with the town's and the resident's
    /// terms counters.
    memo: std::sync::Arc<Memo<(i32, i32), KeptVerdict>>,
    /// Each town's latest version (its text once, not per resident).
    latest: std::sync::Arc<Memo<i32, KeptLatest>>,
}

fn content_hash(source: &str) -> String {
    hex::encode(Sha256::digest(source.as_bytes()))
}

impl Terms {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            memo: std::sync::Arc::new(Memo::new(crate::versions::PERSONAL_MEMO_ENTRIES)),
            latest: std::sync::Arc::new(Memo::new(crate::versions::TOWNS_MEMO_ENTRIES)),
        }
    }

    /// [`Self::status`], reused while neither the town's versions nor the
    /// resident's answers moved in `stamp`.
    pub async fn status_at(
        &self,
        tenant: &Tenant,
        account_id: i32,
        stamp: &Stamp,
    ) -> Result<TermsStatus, DbErr> {
        let seen = match stamp.resident(Subject::Terms) {
            Some(resident) if stamp.account_id() == Some(account_id) => {
                (stamp.town(Subject::Terms), resident)
            }
            _ => return self.status(tenant, account_id).await,
        };
        let key = (tenant.id().get(), account_id);
        let Some((_, _, verdict)) = self
            .memo
            .get(&key, |(town, resident, _)| (*town, *resident) == seen)
        else {
            let status = self.status(tenant, account_id).await?;
            let (verdict, latest) = match &status {
                TermsStatus::UpToDate => (Verdict::UpToDate, None),
                TermsStatus::MustAccept(version) => (Verdict::MustAccept, Some(version)),
                TermsStatus::MinorNotice(version) => (Verdict::MinorNotice, Some(version)),
            };
            self.memo.put(key, (seen.0, seen.1, verdict));
            if let Some(latest) = latest {
                self.latest
                    .put(key.0, (seen.0, Some(std::sync::Arc::new(latest.clone()))));
            }
            return Ok(status);
        };
        if verdict == Verdict::UpToDate {
            return Ok(TermsStatus::UpToDate);
        }
        let latest = self
            .latest
            .get_or_read(key.0, seen.0, async {
                Ok::<_, DbErr>(self.versions(tenant).await?.pop().map(std::sync::Arc::new))
            })
            .await?;
        Ok(match latest {
            None => TermsStatus::UpToDate,
            Some(version) if verdict == Verdict::MustAccept => {
                TermsStatus::MustAccept(version.as_ref().clone())
            }
            Some(version) => TermsStatus::MinorNotice(version.as_ref().clone()),
        })
    }

    /// Publishes `source` as the town's next version, unless the same text
    /// already is a version. Published versions are never edited.
    pub async fn publish(
        &self,
        tenant: &Tenant,
        source: &str,
        kind: TermsKind,
    ) -> Result<PublishOutcome, DbErr> {
        let txn = crate::db::begin_write(&self.db).await?;
        let outcome = Self::publish_in(&txn, tenant, source, kind).await?;
        txn.commit().await?;
        Ok(outcome)
    }

    /// [`Self::publish`] by a staff member from the back-office: the same
    /// publication as `guichet terms publish`, with its journal entry in the
    /// same transaction.
    pub async fn publish_as(
        &self,
        tenant: &Tenant,
        source: &str,
        kind: TermsKind,
        actor: audit::Actor,
        origin: &Origin,
    ) -> Result<PublishOutcome, DbErr> {
        let txn = crate::db::begin_write(&self.db).await?;
        let outcome = Self::publish_in(&txn, tenant, source, kind).await?;
        if let PublishOutcome::Published { number, kind } = outcome {
            let kind = match kind {
                TermsKind::Major => "majeure",
                TermsKind::Minor => "mineure",
            };
            audit::record_event(
                &txn,
                tenant.scope(),
                audit::Event {
                    kind: AuditKind::TermsPublished,
                    actor,
                    subject: None,
                    origin,
                    detail: Some(format!("version {number} ({kind})")),
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(outcome)
    }

    /// [`Self::publish`] in the caller's write transaction (`tenant apply`
    /// publishes a town's terms files with the rest of the town).
    pub async fn publish_in(
        connection: &impl ConnectionTrait,
        tenant: &Tenant,
        source: &str,
        kind: TermsKind,
    ) -> Result<PublishOutcome, DbErr> {
        let source = source.trim();
        let hash = content_hash(source);
        let scope = tenant.scope();
        if let Some(existing) = scope
            .select::<terms_version::Entity>()
            .filter(terms_version::Column::ContentHash.eq(&hash))
            .one(connection)
            .await?
        {
            return Ok(PublishOutcome::Unchanged {
                number: existing.number,
            });
        }
        let number = scope
            .select::<terms_version::Entity>()
            .order_by_desc(terms_version::Column::Number)
            .one(connection)
            .await?
            .map_or(1, |latest| latest.number + 1);
        terms_version::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            number: Set(number),
            kind: Set(kind.code().to_owned()),
            source: Set(source.to_owned()),
            html: Set(markdown::render(source)),
            content_hash: Set(hash),
            published_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(connection)
        .await?;
        Ok(PublishOutcome::Published { number, kind })
    }

    /// Every version of the town, oldest first.
    pub async fn versions(&self, tenant: &Tenant) -> Result<Vec<terms_version::Model>, DbErr> {
        tenant
            .scope()
            .select::<terms_version::Entity>()
            .order_by_asc(terms_version::Column::Number)
            .all(&self.db)
            .await
    }

    pub async fn version(
        &self,
        tenant: &Tenant,
        number: i32,
    ) -> Result<Option<terms_version::Model>, DbErr> {
        tenant
            .scope()
            .select::<terms_version::Entity>()
            .filter(terms_version::Column::Number.eq(number))
            .one(&self.db)
            .await
    }

    /// The town's current version: the latest published.
    pub async fn current(&self, tenant: &Tenant) -> Result<Option<terms_version::Model>, DbErr> {
        tenant
            .scope()
            .select::<terms_version::Entity>()
            .order_by_desc(terms_version::Column::Number)
            .one(&self.db)
            .await
    }

    /// What the resident must do about the terms before going on.
    pub async fn status(&self, tenant: &Tenant, account_id: i32) -> Result<TermsStatus, DbErr> {
        let versions = self.versions(tenant).await?;
        let Some(latest) = versions.last() else {
            return Ok(TermsStatus::UpToDate);
        };
        let answered = self.answers(tenant, account_id).await?;
        let number_of = |version_id: i32| {
            versions
                .iter()
                .find(|version| version.id == version_id)
                .map(|version| version.number)
        };
        let accepted_up_to = answered
            .iter()
            .filter(|answer| answer.action == terms_acceptance::ACCEPTED)
            .filter_map(|answer| number_of(answer.terms_version_id))
            .max()
            .unwrap_or(0);
        let latest_major = versions
            .iter()
            .filter(|version| version.kind == terms_version::MAJOR)
            .map(|version| version.number)
            .max()
            .unwrap_or(0);
        if latest_major > accepted_up_to {
            return Ok(TermsStatus::MustAccept(latest.clone()));
        }
        let seen_latest = answered
            .iter()
            .any(|answer| answer.terms_version_id == latest.id);
        if latest.number > accepted_up_to && !seen_latest {
            return Ok(TermsStatus::MinorNotice(latest.clone()));
        }
        Ok(TermsStatus::UpToDate)
    }

    async fn answers(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Vec<terms_acceptance::Model>, DbErr> {
        tenant
            .scope()
            .select::<terms_acceptance::Entity>()
            .filter(terms_acceptance::Column::AccountId.eq(account_id))
            .order_by_asc(terms_acceptance::Column::Id)
            .all(&self.db)
            .await
    }

    /// Records that the resident accepted `version_id`, which must be the
    /// town's current version (an old or another town's id is refused).
    pub async fn accept(
        &self,
        tenant: &Tenant,
        account_id: i32,
        version_id: i32,
        origin: &Origin,
    ) -> Result<Result<terms_version::Model, AcceptError>, DbErr> {
        self.answer(
            tenant,
            account_id,
            version_id,
            terms_acceptance::ACCEPTED,
            origin,
        )
        .await
    }

    /// Records that the resident closed the notice of a minor version.
    pub async fn dismiss(
        &self,
        tenant: &Tenant,
        account_id: i32,
        version_id: i32,
        origin: &Origin,
    ) -> Result<Result<terms_version::Model, AcceptError>, DbErr> {
        self.answer(
            tenant,
            account_id,
            version_id,
            terms_acceptance::DISMISSED,
            origin,
        )
        .await
    }

    async fn answer(
        &self,
        tenant: &Tenant,
        account_id: i32,
        version_id: i32,
        action: &str,
        origin: &Origin,
    ) -> Result<Result<terms_version::Model, AcceptError>, DbErr> {
        let Some(current) = self.current(tenant).await? else {
            return Ok(Err(AcceptError::NotCurrent));
        };
        if current.id != version_id {
            return Ok(Err(AcceptError::NotCurrent));
        }
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        terms_acceptance::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            account_id: Set(account_id),
            terms_version_id: Set(current.id),
            content_hash: Set(current.content_hash.clone()),
            action: Set(action.to_owned()),
            created_at: Set(Utc::now()),
            ip: Set(origin.ip.clone()),
            user_agent: Set(origin.stored_user_agent()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        if action == terms_acceptance::ACCEPTED {
            audit::record(
                &txn,
                scope,
                Some(account_id),
                AuditKind::TermsAccepted,
                origin,
                Some(format!(
                    "version {} ({})",
                    current.number, current.content_hash
                )),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(Ok(current))
    }

    /// The resident's acceptances, newest first, with their versions.
    pub async fn history(
        &self,
        tenant: &Tenant,
        account_id: i32,
    ) -> Result<Vec<(terms_acceptance::Model, terms_version::Model)>, DbErr> {
        let versions = self.versions(tenant).await?;
        let mut history: Vec<_> = self
            .answers(tenant, account_id)
            .await?
            .into_iter()
            .filter(|answer| answer.action == terms_acceptance::ACCEPTED)
            .filter_map(|answer| {
                let version = versions
                    .iter()
                    .find(|version| version.id == answer.terms_version_id)?
                    .clone();
                Some((answer, version))
            })
            .collect();
        history.reverse();
        Ok(history)
    }

    /// Acceptance figures per version (see [`TermsFigures`]): residents
    /// counted once per version, and only those active today, so that a
    /// version's share is never above 100 %.
    pub async fn figures(&self, tenant: &Tenant) -> Result<TermsFigures, DbErr> {
        use sea_orm::sea_query::{Expr, Query};
        use sea_orm::{PaginatorTrait as _, QuerySelect as _};

        use crate::accounts::entity::account::{self, AccountStatus};

        let scope = tenant.scope();
        let active_residents = scope
            .select::<account::Entity>()
            .filter(account::Column::Status.eq(AccountStatus::Active))
            .count(&self.db)
            .await?;
        let active_ids = Query::select()
            .column(account::Column::Id)
            .from(account::Entity)
            .and_where(account::Column::TenantId.eq(scope.tenant_id().get()))
            .and_where(account::Column::Status.eq(AccountStatus::Active))
            .to_owned();
        let counts: Vec<(i32, i64)> = scope
            .select::<terms_acceptance::Entity>()
            .filter(terms_acceptance::Column::Action.eq(terms_acceptance::ACCEPTED))
            .filter(terms_acceptance::Column::AccountId.in_subquery(active_ids))
            .select_only()
            .column(terms_acceptance::Column::TermsVersionId)
            .column_as(Expr::cust("COUNT(DISTINCT account_id)"), "accepted")
            .group_by(terms_acceptance::Column::TermsVersionId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut versions: Vec<(terms_version::Model, u64)> = self
            .versions(tenant)
            .await?
            .into_iter()
            .map(|version| {
                let accepted = counts
                    .iter()
                    .find(|(id, _)| *id == version.id)
                    .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
                (version, accepted)
            })
            .collect();
        versions.reverse();
        Ok(TermsFigures {
            versions,
            active_residents,
        })
    }

    /// Every acceptance of the town, as CSV: identifier, e-mail, version,
    /// kind, hash of the text, time (UTC, RFC 3339), address, browser.
    pub async fn export_csv(
        &self,
        tenant: &Tenant,
        out: impl std::io::Write,
    ) -> Result<usize, ExportError> {
        use crate::accounts::entity::account;

        let scope = tenant.scope();
        let versions = self.versions(tenant).await?;
        let accounts = scope.select::<account::Entity>().all(&self.db).await?;
        let acceptances = scope
            .select::<terms_acceptance::Entity>()
            .filter(terms_acceptance::Column::Action.eq(terms_acceptance::ACCEPTED))
            .order_by_asc(terms_acceptance::Column::Id)
            .all(&self.db)
            .await?;
        let mut writer = crate::spreadsheet::CsvWriter::new(out);
        writer.write_row([
            "identifiant",
            "courriel",
            "version",
            "nature",
            "empreinte_sha256",
            "acceptee_le",
            "adresse_ip",
            "navigateur",
        ])?;
        for acceptance in &acceptances {
            let owner = accounts.iter().find(|a| a.id == acceptance.account_id);
            let version = versions
                .iter()
                .find(|v| v.id == acceptance.terms_version_id);
            writer.write_row([
                owner.map_or("", |a| a.identifier.as_str()),
                owner.map_or("", |a| a.email.as_str()),
                &version.map_or(String::new(), |v| v.number.to_string()),
                version.map_or("", |v| v.kind.as_str()),
                &acceptance.content_hash,
                &acceptance.created_at.to_rfc3339(),
                acceptance.ip.as_deref().unwrap_or_default(),
                acceptance.user_agent.as_deref().unwrap_or_default(),
            ])?;
        }
        writer.flush()?;
        Ok(acceptances.len())
    }
}

/// How many residents accepted each version, against the town's active
/// residents today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsFigures {
    /// Every version, newest first, with how many of today's active
    /// residents accepted it.
    pub versions: Vec<(terms_version::Model, u64)>,
    pub active_residents: u64,
}

impl Terms {
    /// [`Self::export_csv`] from the back-office: the export is recorded in
    /// the journal (it carries residents' addresses).
    pub async fn export_csv_as(
        &self,
        tenant: &Tenant,
        out: impl std::io::Write,
        actor: audit::Actor,
        origin: &Origin,
    ) -> Result<usize, ExportError> {
        let count = self.export_csv(tenant, out).await?;
        audit::record_event(
            &self.db,
            tenant.scope(),
            audit::Event {
                kind: AuditKind::TermsExported,
                actor,
                subject: None,
                origin,
                detail: Some(format!("{count} acceptation(s)")),
            },
        )
        .await?;
        Ok(count)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
}
