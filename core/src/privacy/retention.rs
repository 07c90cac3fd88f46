//! The retention round: every running `guichet serve`, every few hours,
//! for every town, does what the law and the town's settings ask without
//! anyone's work, and records what it did (`retention_run`):
//!
//! - closes the accounts whose grace period ended (privacy/closure.rs);
//! - warns the accounts inactive for the town's period less a month, then
//!   closes those still inactive a month after the warning;
//! - removes the accounts never activated after their period;
//! - deletes expired or used links and expired sessions, the archives of
//!   expired exports and the exports of over a year, the files and line
//!   reports of imports of over 30 days, the mails sent over 30 days ago
//!   (a closed account's last mail as soon as it is sent), and its own
//!   records of over a year;
//! - tells the town's administrators, by one mail, which accounts it
//!   closed.
//!
//! **Idempotent and safe with several instances**: every change is a
//! compare-and-set (a closure claims its account, a warning its
//! `inactivity_warned_at`) or a deletion by condition; two instances in
//! the same round do each thing once, and a round run twice does nothing
//! the second time. A failing account is logged and the round goes on.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, DbErr, QueryFilter as _,
    QuerySelect as _,
};
use serde::Serialize;

use super::closure::{self, Closed, ClosureReason, inactive_since, no_live_invitation};
use super::entity::data_export::{self, ExportState};
use super::entity::retention_run;
use super::settings::{PrivacySettings, WARNING_BEFORE};
use super::{Privacy, PrivacyError};
use crate::accounts::entity::account::{self, AccountStatus};
use crate::accounts::entity::{account_token, session};
use crate::accounts::import::entity as account_import;
use crate::mail::{MailKind, MailStatus, entity as mail_outbox};
use crate::staff::entity::staff_member::{self, StaffRole, StaffStatus};
use crate::tenancy::Tenant;

/// The first round, shortly after the start.
const FIRST_ROUND: Duration = Duration::from_secs(120);
/// Then one every six hours: the periods are counted in days and months.
const EVERY: Duration = Duration::from_secs(6 * 3600);
/// Used and expired links, sent mails and imports' files are kept this long.
const SHORT: TimeDelta = TimeDelta::days(30);
/// Exports' rows and the rounds' own records.
const YEAR: TimeDelta = TimeDelta::days(365);
/// Accounts one job handles in one round: a town's first round after a
/// long time does the rest at the next.
const BATCH: u64 = 500;

/// What one round did in one town.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TownRound {
    pub closed_on_request: u64,
    pub warned: u64,
    pub closed_inactive: u64,
    pub never_activated_removed: u64,
    pub links: u64,
    pub sessions: u64,
    pub exports_expired: u64,
    pub exports_deleted: u64,
    pub imports: u64,
    pub mails: u64,
    pub runs: u64,
    /// Accounts whose closure or warning failed (logged).
    pub failed: u64,
}

impl TownRound {
    pub fn affected(&self) -> u64 {
        self.closed_on_request
            + self.warned
            + self.closed_inactive
            + self.never_activated_removed
            + self.links
            + self.sessions
            + self.exports_expired
            + self.exports_deleted
            + self.imports
            + self.mails
            + self.runs
    }
}

impl Privacy {
    /// Runs the exports' producer and the retention rounds until `stop`.
    pub async fn run(self, stop: impl Future<Output = ()> + Send) {
        let wake = self.wake.clone();
        let exports = async {
            loop {
                self.produce_pending().await;
                // Woken by a new request; else a look every half minute for
                // what another instance left.
                let _ = tokio::time::timeout(Duration::from_secs(30), wake.notified()).await;
            }
        };
        let retention =
            crate::periodic::every(FIRST_ROUND, EVERY, std::future::pending::<()>(), || async {
                self.round(Utc::now()).await;
            });
        tokio::select! {
            () = stop => {}
            _ = exports => {}
            () = retention => {}
        }
    }

    /// One round in every town as of `now`.
    pub async fn round(&self, now: DateTime<Utc>) -> Vec<(String, TownRound)> {
        let towns = match self.tenants.list().await {
            Ok(towns) => towns,
            Err(error) => {
                tracing::warn!(%error, "retention: the towns cannot be read");
                return Vec::new();
            }
        };
        let mut done = Vec::new();
        for summary in towns {
            let town = match self.tenants.find_by_slug(&summary.slug).await {
                Ok(Some(town)) => town,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(town = summary.slug, %error, "retention: town unreadable");
                    continue;
                }
            };
            match self.town_round(&town, now).await {
                Ok(round) => {
                    if round.affected() > 0 || round.failed > 0 {
                        tracing::info!(town = summary.slug, ?round, "retention round");
                    }
                    done.push((summary.slug, round));
                }
                Err(error) => tracing::warn!(town = summary.slug, %error, "retention round failed"),
            }
        }
        done
    }

    /// One round in one town (see the module's doc).
    pub async fn town_round(
        &self,
        tenant: &Tenant,
        now: DateTime<Utc>,
    ) -> Result<TownRound, PrivacyError> {
        let settings = self.settings(tenant).await?.settings;
        let settings = &settings;
        let scope = tenant.scope();
        let mut round = TownRound::default();
        let mut closed: Vec<Closed> = Vec::new();

        let due = self
            .accounts_where(
                tenant,
                Condition::all()
                    .add(account::Column::ClosesAt.lte(now))
                    .add(account::Column::ClosedAt.is_null()),
            )
            .await?;
        for id in due {
            self.close_one(
                tenant,
                settings,
                id,
                ClosureReason::Requested,
                now,
                &mut round,
                &mut closed,
            )
            .await;
        }

        let to_warn = self
            .accounts_where(
                tenant,
                Condition::all()
                    .add(account::Column::Status.eq(AccountStatus::Active))
                    // The staff's decision: a disabled account cannot
                    // answer a warning by logging in.
                    .add(account::Column::DisabledAt.is_null())
                    .add(account::Column::InactivityWarnedAt.is_null())
                    .add(inactive_since(settings.warn_before(now))),
            )
            .await?;
        for id in to_warn {
            match closure::warn(&self.db, &self.mailer, tenant, settings, id, now).await {
                Ok(true) => round.warned += 1,
                Ok(false) => {}
                Err(error) => {
                    round.failed += 1;
                    tracing::warn!(town = tenant.slug, account = id, %error, "inactivity warning failed");
                }
            }
        }

        let inactive = self
            .accounts_where(
                tenant,
                Condition::all()
                    .add(account::Column::Status.eq(AccountStatus::Active))
                    .add(account::Column::DisabledAt.is_null())
                    .add(account::Column::InactivityWarnedAt.lte(now - WARNING_BEFORE))
                    .add(inactive_since(settings.inactive_before(now))),
            )
            .await?;
        for id in inactive {
            self.close_one(
                tenant,
                settings,
                id,
                ClosureReason::Inactivity,
                now,
                &mut round,
                &mut closed,
            )
            .await;
        }

        let never = self
            .accounts_where(
                tenant,
                Condition::all()
                    .add(account::Column::Status.eq(AccountStatus::Pending))
                    .add(account::Column::CreatedAt.lt(settings.never_activated_before(now)))
                    .add(no_live_invitation(now)),
            )
            .await?;
        for id in never {
            self.close_one(
                tenant,
                settings,
                id,
                ClosureReason::NeverActivated,
                now,
                &mut round,
                &mut closed,
            )
            .await;
        }

        round.links = scope
            .delete::<account_token::Entity>()
            .filter(
                Condition::any()
                    .add(account_token::Column::ExpiresAt.lt(now - SHORT))
                    .add(account_token::Column::UsedAt.lt(now - SHORT)),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        round.sessions = scope
            .delete::<session::Entity>()
            .filter(session::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        round.exports_expired = scope
            .update::<data_export::Entity>()
            .col_expr(
                data_export::Column::State,
                Expr::value(ExportState::Expired),
            )
            .col_expr(data_export::Column::Archive, Expr::value(None::<Vec<u8>>))
            .col_expr(data_export::Column::TokenHash, Expr::value(None::<String>))
            .filter(data_export::Column::State.eq(ExportState::Ready))
            .filter(data_export::Column::ExpiresAt.lte(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        // Producers that died holding an export every time: failed, which
        // the resident's page says (they may ask again).
        round.exports_expired += scope
            .update::<data_export::Entity>()
            .col_expr(data_export::Column::State, Expr::value(ExportState::Failed))
            .filter(data_export::Column::State.eq(ExportState::Pending))
            .filter(data_export::Column::Attempts.gte(super::MAX_ATTEMPTS))
            .filter(data_export::Column::ClaimedUntil.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        round.exports_deleted = scope
            .delete::<data_export::Entity>()
            .filter(data_export::Column::CreatedAt.lt(now - YEAR))
            .exec(&self.db)
            .await?
            .rows_affected;
        round.imports = scope
            .update::<account_import::Entity>()
            .col_expr(account_import::Column::Content, Expr::value(None::<String>))
            .col_expr(account_import::Column::Report, Expr::value(None::<String>))
            .filter(account_import::Column::CreatedAt.lt(now - SHORT))
            .filter(
                Condition::any()
                    .add(account_import::Column::Content.is_not_null())
                    .add(account_import::Column::Report.is_not_null()),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        round.mails = scope
            .delete::<mail_outbox::Entity>()
            .filter(mail_outbox::Column::Status.ne(MailStatus::Pending))
            .filter(
                Condition::any()
                    // Sent, refused or failed for good a month ago.
                    .add(mail_outbox::Column::CreatedAt.lt(now - SHORT))
                    // The last mail of a closed account: the address goes
                    // as soon as the mail is done with, delivered or not.
                    .add(mail_outbox::Column::Kind.eq(MailKind::AccountClosed.name())),
            )
            .exec(&self.db)
            .await?
            .rows_affected;
        round.runs = scope
            .delete::<retention_run::Entity>()
            .filter(retention_run::Column::RanAt.lt(now - YEAR))
            .exec(&self.db)
            .await?
            .rows_affected;

        if !closed.is_empty()
            && let Err(error) = self.tell_administrators(tenant, &closed).await
        {
            // The closures are done and journaled; only the mail is missing.
            tracing::warn!(town = tenant.slug, %error, "retention: the administrators' mail failed");
        }
        retention_run::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            job: Set("retention".to_owned()),
            affected: Set(i64::try_from(round.affected()).unwrap_or(i64::MAX)),
            detail: Set(serde_json::to_string(&round).ok()),
            ran_at: Set(now),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(round)
    }

    /// Ids of the town's accounts matching `condition` (and not closed),
    /// at most [`BATCH`].
    async fn accounts_where(
        &self,
        tenant: &Tenant,
        condition: Condition,
    ) -> Result<Vec<i32>, DbErr> {
        tenant
            .scope()
            .select::<account::Entity>()
            .filter(account::Column::Status.ne(AccountStatus::Closed))
            .filter(condition)
            .select_only()
            .column(account::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(&self.db)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn close_one(
        &self,
        tenant: &Tenant,
        settings: &PrivacySettings,
        id: i32,
        reason: ClosureReason,
        now: DateTime<Utc>,
        round: &mut TownRound,
        closed: &mut Vec<Closed>,
    ) {
        match closure::close(&self.db, &self.mailer, tenant, settings, id, reason, now).await {
            Ok(Some(done)) => {
                match reason {
                    ClosureReason::Requested => round.closed_on_request += 1,
                    ClosureReason::Inactivity => round.closed_inactive += 1,
                    ClosureReason::NeverActivated => round.never_activated_removed += 1,
                }
                closed.push(done);
            }
            Ok(None) => {}
            Err(error) => {
                round.failed += 1;
                tracing::warn!(town = tenant.slug, account = id, %error, "account closure failed");
            }
        }
    }

    /// One mail to each active administrator of the town: the accounts
    /// closed in this round, by pseudonym and reason.
    async fn tell_administrators(
        &self,
        tenant: &Tenant,
        closed: &[Closed],
    ) -> Result<(), PrivacyError> {
        let administrators = tenant
            .scope()
            .select::<staff_member::Entity>()
            .filter(staff_member::Column::Role.eq(StaffRole::Administrateur))
            .filter(staff_member::Column::Status.eq(StaffStatus::Active))
            .all(&self.db)
            .await?;
        if administrators.is_empty() {
            return Ok(());
        }
        let lines: Vec<serde_json::Value> = closed
            .iter()
            .map(|closed| {
                serde_json::json!({
                    "pseudonym": closed.pseudonym,
                    "reason": closed.reason.label(),
                })
            })
            .collect();
        let journal_url = self.mailer.links().town_url(tenant, "/admin/journal");
        let mut mails = Vec::new();
        for member in administrators {
            mails.push(self.mailer.compose(
                tenant,
                MailKind::StaffClosures,
                &member.email,
                serde_json::json!({
                    "first_name": member.first_name,
                    "count": closed.len(),
                    "accounts": lines,
                    "journal_url": journal_url,
                }),
            )?);
        }
        self.mailer.queue_many(&self.db, mails).await?;
        self.mailer.wake();
        Ok(())
    }
}
