//! What operators watch, served at `/metrics` (to local scrapers only) in
//! the OpenMetrics text format by the `prometheus-client` crate: the
//! Prometheus project's own Rust client, which encodes, escapes and types
//! every family as the format says.
//!
//! - requests' durations, by route (the route's pattern, never the path a
//!   client typed: bounded labels), method and status;
//! - logins, by face (residents; staff, at the password step; FranceConnect)
//!   and outcome;
//! - module calls and their durations, storage refusals, call slots and
//!   what modules store (`modules::ModuleMetrics`);
//! - the outbox's backlog: mails waiting and the age of the oldest;
//! - the database pool: connections open, idle, at most.
//!
//! Counters live in the process (each instance counts its own); the
//! backlog, the pool and the storage figures are read when scraped.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use sea_orm::DatabaseConnection;

use crate::modules::Modules;

/// Who logged in (or tried to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginFace {
    Resident,
    Staff,
    FranceConnect,
}

impl LoginFace {
    fn label(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Staff => "staff",
            Self::FranceConnect => "franceconnect",
        }
    }
}

/// How a login ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginResult {
    /// In (for the staff: the password step passed, the code asked next).
    Success,
    /// Wrong identifier or password.
    Refused,
    /// Made to wait by the throttling.
    Throttled,
    /// Right password, but the account cannot log in (not activated,
    /// temporary password expired, disabled, suspended).
    Blocked,
    /// The identity provider's answer could not be used (FranceConnect:
    /// cancelled, expired, refused by the provider, unverifiable).
    Failed,
}

impl LoginResult {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
            Self::Throttled => "throttled",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    face: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// A request's duration: 250 µs to about 16 s.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 17))
}

type Requests = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The server's metrics: its registry and the families recorded outside a
/// feature (requests, logins) or read when scraped (backlog, pool).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    db: DatabaseConnection,
    modules: Modules,
    requests: Requests,
    logins: Family<LoginLabels, Counter>,
    outbox_pending: Gauge,
    outbox_oldest: Gauge<f64, AtomicU64>,
    pool: Family<PoolLabels, Gauge>,
}

impl Metrics {
    /// `pages_reused`: the home pages served from memory
    /// (web/kit/page_cache.rs), counted where they are served.
    pub fn new(db: DatabaseConnection, modules: Modules, pages_reused: Counter) -> Self {
        let mut registry = Registry::default();
        let requests: Requests = Family::new_with_constructor(request_histogram);
        registry.register_with_unit(
            "guichet_http_request_duration",
            "Requests answered, by route, method and status, and how long they took",
            Unit::Seconds,
            requests.clone(),
        );
        let logins = Family::<LoginLabels, Counter>::default();
        registry.register(
            "guichet_logins",
            "Login attempts, by face (resident, staff, franceconnect) and outcome",
            logins.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "guichet_mail_outbox_pending",
            "Mails waiting in the outbox to be sent (retries included), all towns",
            outbox_pending.clone(),
        );
        let outbox_oldest = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "guichet_mail_outbox_oldest_pending_age",
            "How long the oldest mail waiting in the outbox has waited (0 when none waits)",
            Unit::Seconds,
            outbox_oldest.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "guichet_db_pool_connections",
            "Database connections of this instance: open, idle among them, max",
            pool.clone(),
        );
        registry.register(
            "guichet_pages_reused",
            "Residents' home pages served from memory, nothing on them having changed",
            pages_reused,
        );
        modules.host().metrics().register(&mut registry);
        Self {
            inner: Arc::new(Inner {
                registry,
                db,
                modules,
                requests,
                logins,
                outbox_pending,
                outbox_oldest,
                pool,
            }),
        }
    }

    /// A request answered: `route` is the matched route's pattern
    /// (`/admin/usagers/<identifier>`), or `unmatched`.
    pub fn observe_request(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status,
            })
            .observe(took.as_secs_f64());
    }

    pub fn count_login(&self, face: LoginFace, result: LoginResult) {
        self.inner
            .logins
            .get_or_create(&LoginLabels {
                face: face.label(),
                outcome: result.label(),
            })
            .inc();
    }

    /// Reads what is read when scraped, then encodes every family. A
    /// database that does not answer leaves those figures as last read:
    /// the counters are worth serving during an outage.
    pub async fn render(&self) -> String {
        let inner = &self.inner;
        match crate::mail::outbox_backlog(&inner.db).await {
            Ok(backlog) => {
                inner
                    .outbox_pending
                    .set(i64::try_from(backlog.pending).unwrap_or(i64::MAX));
                let age = backlog.oldest_pending.map_or(0.0, |oldest| {
                    (chrono::Utc::now() - oldest)
                        .to_std()
                        .unwrap_or_default()
                        .as_secs_f64()
                });
                inner.outbox_oldest.set(age);
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot read the outbox's backlog"),
        }
        let pool = crate::db::pool_figures(&inner.db);
        for (state, value) in [("open", pool.open), ("idle", pool.idle), ("max", pool.max)] {
            inner
                .pool
                .get_or_create(&PoolLabels { state })
                .set(i64::from(value));
        }
        let figures = match inner.modules.storage_figures().await {
            Ok(figures) => Some(figures),
            Err(error) => {
                tracing::warn!(%error, "metrics: cannot read module storage figures");
                None
            }
        };
        inner.modules.host().metrics().refresh(figures.as_deref());
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &inner.registry) {
            tracing::error!(%error, "metrics: cannot encode");
        }
        text
    }
}
