//! Closing an account: asked by the resident (confirmed, then a grace
//! period a login cancels), or for inactivity (warned a month before), or
//! an account never activated. The closure itself is one transaction:
//!
//! 1. a compare-and-set claims the account (`closed_at` set where it was
//!    null and the reason still holds: a login meanwhile, or another
//!    instance first, and nothing happens);
//! 2. every declared table (registry.rs) is applied its rule: rows deleted,
//!    or kept rows' identifying columns erased — children before their
//!    parents (a request's history before the request), the account last;
//! 3. the account row becomes the pseudonym (`anonyme-…`, status
//!    `closed`), the journal records the closure under it, the resident
//!    gets a last mail (queued after the outbox's rows to them were
//!    deleted).
//!
//! A never-activated account leaves nothing: its row is deleted as well.

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngExt as _;
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait, DatabaseTransaction, DbErr, QueryFilter as _,
};

use super::declare::{Closure, Erase, Holds, Rows};
use super::registry;
use super::rows::{Names, Subject, condition, mentioned, rewrite};
use super::settings::{PrivacySettings, WARNING_BEFORE};
use crate::accounts::entity::account::{self, AccountStatus};
use crate::audit::{self, Actor, AuditKind, Event, Origin};
use crate::households::entity::household_member;
use crate::mail::{MailError, MailKind, Mailer};
use crate::tenancy::Tenant;

/// Why an account closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureReason {
    /// The resident asked, and the grace period passed.
    Requested,
    /// No login for the town's period, warned a month before.
    Inactivity,
    /// Created by the town and never activated.
    NeverActivated,
}

impl ClosureReason {
    pub fn label(self) -> &'static str {
        match self {
            Self::Requested => "à la demande de l'usager",
            Self::Inactivity => "pour inactivité",
            Self::NeverActivated => "jamais activé",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClosureError {
    #[error(transparent)]
    Database(#[from] DbErr),
    #[error(transparent)]
    Mail(#[from] MailError),
}

/// What a closure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub account_id: i32,
    pub pseudonym: String,
    pub reason: ClosureReason,
}

/// `anonyme-` and ten random letters and digits: unique in practice (50
/// bits), and nothing of the person.
pub fn new_pseudonym() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("anonyme-{tail}")
}

/// Claims `account_id` for closure if `reason` still holds at `now`: the
/// compare-and-set that makes a closure happen once, and never after a
/// login that cancelled it.
async fn claim(
    txn: &DatabaseTransaction,
    tenant: &Tenant,
    settings: &PrivacySettings,
    account_id: i32,
    reason: ClosureReason,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = tenant
        .scope()
        .update::<account::Entity>()
        .col_expr(account::Column::ClosedAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::ClosedAt.is_null())
        .filter(account::Column::Status.ne(AccountStatus::Closed));
    update = match reason {
        ClosureReason::Requested => update.filter(account::Column::ClosesAt.lte(now)),
        ClosureReason::Inactivity => update
            .filter(account::Column::Status.eq(AccountStatus::Active))
            .filter(account::Column::DisabledAt.is_null())
            .filter(account::Column::InactivityWarnedAt.lte(now - WARNING_BEFORE))
            .filter(inactive_since(settings.inactive_before(now))),
        ClosureReason::NeverActivated => update
            .filter(account::Column::Status.eq(AccountStatus::Pending))
            .filter(account::Column::CreatedAt.lt(settings.never_activated_before(now)))
            .filter(no_live_invitation(now)),
    };
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// Accounts with no sign of life since `since`: neither created, nor
/// activated, nor logged in after it (the latest of the three is what
/// counts, whichever are set: an account activated last week whose
/// imported last login is years old is not inactive).
pub fn inactive_since(since: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(account::Column::CreatedAt.lt(since))
        .add(
            Condition::any()
                .add(account::Column::ActivatedAt.is_null())
                .add(account::Column::ActivatedAt.lt(since)),
        )
        .add(
            Condition::any()
                .add(account::Column::LastLoginAt.is_null())
                .add(account::Column::LastLoginAt.lt(since)),
        )
}

/// No temporary password still valid: an account whose activation the
/// staff sent again lately is not removed under the resident's feet.
pub fn no_live_invitation(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(account::Column::TemporaryPasswordExpiresAt.is_null())
        .add(account::Column::TemporaryPasswordExpiresAt.lt(now))
}

/// Closes the account if `reason` still holds (see the module's doc);
/// `None` when it no longer does (a login, another instance first).
pub async fn close(
    db: &sea_orm::DatabaseConnection,
    mailer: &Mailer,
    tenant: &Tenant,
    settings: &PrivacySettings,
    account_id: i32,
    reason: ClosureReason,
    now: DateTime<Utc>,
) -> Result<Option<Closed>, ClosureError> {
    let txn = crate::db::begin_write(db).await?;
    if !claim(&txn, tenant, settings, account_id, reason, now).await? {
        return Ok(None);
    }
    let scope = tenant.scope();
    let Some(owner) = scope
        .select::<account::Entity>()
        .filter(account::Column::Id.eq(account_id))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let members = scope
        .select::<household_member::Entity>()
        .filter(household_member::Column::AccountId.eq(account_id))
        .all(&txn)
        .await?;
    let mut exact = vec![
        owner.first_name.clone(),
        crate::format::full_name(&owner.first_name, &owner.last_name),
    ];
    // As modules greet the resident ("Monsieur ARPEGE"), whatever civility.
    for civility in ["Monsieur", "Madame"] {
        exact.push(crate::format::formal_name(
            Some(civility),
            &owner.first_name,
            &owner.last_name,
        ));
    }
    let mut surnames = vec![owner.last_name.clone()];
    for member in &members {
        exact.push(member.first_name.clone());
        exact.push(crate::format::full_name(
            &member.first_name,
            &member.last_name,
        ));
        surnames.push(member.last_name.clone());
    }
    let names = Names::new(&exact, &surnames);

    // Composed while the names and address are still there; queued once
    // the outbox's rows to that address are gone.
    let farewell = if reason == ClosureReason::NeverActivated || owner.email.is_empty() {
        None
    } else {
        Some(mailer.compose(
            tenant,
            MailKind::AccountClosed,
            &owner.email,
            serde_json::json!({
                "first_name": owner.first_name,
                "last_name": owner.last_name,
                "reason": reason.label(),
                "inactivity": reason == ClosureReason::Inactivity,
                "notice_url": mailer.links().town_url(tenant, "/donnees-personnelles"),
            }),
        )?)
    };

    let subject = Subject {
        tenant_id: scope.tenant_id().get(),
        account_id,
        identifier: owner.identifier.clone(),
        email: owner.email.clone(),
        email_key: owner.email_key.clone(),
    };
    let pseudonym = new_pseudonym();
    erase(&txn, &subject, &pseudonym, &names).await?;
    crate::accounts::retire_identifier(&txn, scope, &owner.identifier).await?;

    let detail = format!("{} ; pseudonyme {pseudonym}", reason.label());
    if reason == ClosureReason::NeverActivated {
        // Nothing of it is kept: the row goes too (what still pointed to
        // it was erased above, or is detached by its foreign keys).
        scope
            .delete::<account::Entity>()
            .filter(account::Column::Id.eq(account_id))
            .exec(&txn)
            .await?;
        let created = crate::format::date(
            owner
                .created_at
                .with_timezone(&tenant.timezone)
                .date_naive(),
        );
        audit::record_event(
            &txn,
            scope,
            Event {
                kind: AuditKind::NeverActivatedRemoved,
                actor: Actor::System,
                subject: None,
                origin: &Origin::default(),
                detail: Some(format!("créé le {created}")),
            },
        )
        .await?;
    } else {
        audit::record_event(
            &txn,
            scope,
            Event {
                kind: AuditKind::AccountClosed,
                actor: Actor::System,
                subject: Some(account_id),
                origin: &Origin::default(),
                detail: Some(detail),
            },
        )
        .await?;
    }
    if let Some(farewell) = farewell {
        mailer.queue_many(&txn, vec![farewell]).await?;
    }
    txn.commit().await?;
    mailer.wake();
    Ok(Some(Closed {
        account_id,
        pseudonym,
        reason,
    }))
}

/// Applies every declared rule to the subject's rows: children first (their
/// condition reads their parent's rows), the account last.
pub async fn erase(
    txn: &impl ConnectionTrait,
    subject: &Subject,
    pseudonym: &str,
    names: &Names,
) -> Result<(), DbErr> {
    let rank = |rows: &Rows| match rows {
        Rows::Parent { .. } => 0,
        Rows::Account => 2,
        _ => 1,
    };
    let mut tables: Vec<_> = registry::residents().collect();
    tables.sort_by_key(|table| match &table.holds {
        Holds::Resident { rows, .. } => rank(rows),
        _ => 1,
    });
    for table in tables {
        let Holds::Resident {
            rows,
            columns,
            closure,
        } = &table.holds
        else {
            continue;
        };
        let name = Alias::new(table.name);
        match (closure, rows) {
            (Closure::Delete, _) => {
                let delete = Query::delete()
                    .from_table(name)
                    .cond_where(condition(*rows, subject))
                    .to_owned();
                txn.execute(&delete).await?;
            }
            (Closure::Keep(_), Rows::Mentions) => {
                rewrite_mentions(txn, table.name, subject, pseudonym, names).await?;
            }
            (Closure::Keep(_), _) => {
                let mut update = Query::update();
                update.table(name);
                let mut any = false;
                for column in *columns {
                    let value: Expr = match column.erase {
                        Erase::Keep => continue,
                        Erase::Null => Expr::cust("NULL"),
                        Erase::Empty => Expr::value(""),
                        Erase::Pseudonym => Expr::value(pseudonym),
                    };
                    update.value(Alias::new(column.name), value);
                    any = true;
                }
                if !any {
                    continue;
                }
                if matches!(rows, Rows::Account) {
                    update.value(Alias::new("status"), Expr::value("closed"));
                    update.value(Alias::new("closure_requested_at"), Expr::cust("NULL"));
                    update.value(Alias::new("closes_at"), Expr::cust("NULL"));
                    update.value(Alias::new("inactivity_warned_at"), Expr::cust("NULL"));
                }
                update.cond_where(condition(*rows, subject));
                txn.execute(&update).await?;
            }
        }
    }
    Ok(())
}

/// The module's town-storage entries naming the resident, rewritten one by
/// one (rows.rs: the reference becomes the pseudonym, names "—").
async fn rewrite_mentions(
    txn: &impl ConnectionTrait,
    table: &str,
    subject: &Subject,
    pseudonym: &str,
    names: &Names,
) -> Result<(), DbErr> {
    for (id, key, value) in mentioned(txn, table, subject).await? {
        let (key, value) = rewrite(&key, &value, &subject.identifier, pseudonym, names);
        let update = Query::update()
            .table(Alias::new(table))
            .value(Alias::new("key"), key)
            .value(Alias::new("value"), value)
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        txn.execute(&update).await?;
    }
    Ok(())
}

/// Records the resident's request: the closure on `closes_at`, every
/// session ended, a mail saying when and how to cancel. `false` when the
/// account is closed already.
pub async fn request(
    db: &sea_orm::DatabaseConnection,
    mailer: &Mailer,
    tenant: &Tenant,
    settings: &PrivacySettings,
    owner: &account::Model,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ClosureError> {
    let closes_at = settings.closes_at(now);
    let scope = tenant.scope();
    let txn = crate::db::begin_write(db).await?;
    let updated = scope
        .update::<account::Entity>()
        .col_expr(account::Column::ClosureRequestedAt, Expr::value(Some(now)))
        .col_expr(account::Column::ClosesAt, Expr::value(Some(closes_at)))
        .filter(account::Column::Id.eq(owner.id))
        .filter(account::Column::Status.ne(AccountStatus::Closed))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(None);
    }
    let when = crate::format::long_date(closes_at.with_timezone(&tenant.timezone));
    audit::record(
        &txn,
        scope,
        Some(owner.id),
        AuditKind::AccountClosureRequested,
        origin,
        Some(format!("fermeture le {when}")),
    )
    .await?;
    crate::accounts::sessions::close_others(&txn, scope, owner.id, None).await?;
    mailer
        .queue(
            &txn,
            tenant,
            MailKind::ClosureRequested,
            &owner.email,
            serde_json::json!({
                "first_name": owner.first_name,
                "last_name": owner.last_name,
                "closes_on": when,
                "login_url": mailer.links().town_url(tenant, "/connexion"),
                "export_url": mailer.links().town_url(tenant, "/mes-donnees"),
            }),
        )
        .await?;
    txn.commit().await?;
    mailer.wake();
    Ok(Some(closes_at))
}

/// Warns the account that it will close for inactivity, once: the
/// compare-and-set on `inactivity_warned_at` and the mail are one
/// transaction. `false` when another instance warned it first, or a login
/// came in between.
pub async fn warn(
    db: &sea_orm::DatabaseConnection,
    mailer: &Mailer,
    tenant: &Tenant,
    settings: &PrivacySettings,
    account_id: i32,
    now: DateTime<Utc>,
) -> Result<bool, ClosureError> {
    let scope = tenant.scope();
    let txn = crate::db::begin_write(db).await?;
    let updated = scope
        .update::<account::Entity>()
        .col_expr(account::Column::InactivityWarnedAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(account_id))
        .filter(account::Column::Status.eq(AccountStatus::Active))
        .filter(account::Column::DisabledAt.is_null())
        .filter(account::Column::InactivityWarnedAt.is_null())
        .filter(inactive_since(settings.warn_before(now)))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Ok(false);
    }
    let Some(owner) = scope
        .select::<account::Entity>()
        .filter(account::Column::Id.eq(account_id))
        .one(&txn)
        .await?
    else {
        return Ok(false);
    };
    // A month from now at least, whatever the last login was.
    let closes = now + WARNING_BEFORE + TimeDelta::days(1);
    let when = crate::format::long_date(closes.with_timezone(&tenant.timezone));
    audit::record_event(
        &txn,
        scope,
        Event {
            kind: AuditKind::InactivityWarned,
            actor: Actor::System,
            subject: Some(account_id),
            origin: &Origin::default(),
            detail: Some(format!("fermeture à partir du {when}")),
        },
    )
    .await?;
    mailer
        .queue(
            &txn,
            tenant,
            MailKind::InactivityWarning,
            &owner.email,
            serde_json::json!({
                "first_name": owner.first_name,
                "last_name": owner.last_name,
                "closes_on": when,
                "months": settings.inactive_after_months,
                "login_url": mailer.links().town_url(tenant, "/connexion"),
                "export_url": mailer.links().town_url(tenant, "/mes-donnees"),
            }),
        )
        .await?;
    txn.commit().await?;
    mailer.wake();
    Ok(true)
}
