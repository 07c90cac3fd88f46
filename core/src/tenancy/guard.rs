//! The `Host` request guard: the only source of a request's town.

use std::sync::Arc;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

use std::sync::atomic::{AtomicBool, Ordering};

use super::{Served, Tenant, TenantDirectory};

/// The town of the current request, resolved from its `Host` header.
///
/// Fails with 404 for a host that belongs to no town (the catcher then shows
/// a neutral page), and with 503 if the database cannot be reached.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Arc<Tenant>);

impl std::ops::Deref for CurrentTenant {
    type Target = Tenant;

    fn deref(&self) -> &Tenant {
        &self.0
    }
}

/// The outcome of resolving the request's host, computed once per request
/// and cached: handlers, catchers and the log line all read it.
#[derive(Debug, Clone)]
pub enum TenantResolution {
    Found(Arc<Tenant>),
    UnknownHost,
    Unavailable,
}

/// Per-request slot for the resolution: filled by the first reader.
#[derive(Debug, Default)]
struct ResolutionSlot(tokio::sync::OnceCell<TenantResolution>);

impl TenantResolution {
    /// Resolves (once) and returns the request's town.
    pub async fn of<'r>(request: &'r Request<'_>) -> &'r TenantResolution {
        let slot: &ResolutionSlot = request.local_cache(ResolutionSlot::default);
        slot.0.get_or_init(|| resolve(request)).await
    }

    /// The request's town if something already resolved it; never queries.
    pub fn cached(request: &Request<'_>) -> Option<Arc<Tenant>> {
        match request.local_cache(ResolutionSlot::default).0.get() {
            Some(TenantResolution::Found(tenant)) => Some(tenant.clone()),
            _ => None,
        }
    }
}

/// Set when this request already waited the whole acquire timeout for the
/// database (its town was served as last read).
#[derive(Debug, Default)]
struct DatabaseSilent(AtomicBool);

/// Whether this request already found the database silent. A guard that
/// would query next (a session) answers 503 at once instead: a request
/// waits for the database at most once, so that an outage is answered
/// within one acquire timeout, not one per query.
pub fn database_silent(request: &Request<'_>) -> bool {
    request
        .local_cache(DatabaseSilent::default)
        .0
        .load(Ordering::Acquire)
}

async fn resolve(request: &Request<'_>) -> TenantResolution {
    let Some(directory) = request.rocket().state::<TenantDirectory>() else {
        tracing::error!("the tenant directory is not managed by this Rocket");
        return TenantResolution::Unavailable;
    };
    let Some(host) = request.host() else {
        return TenantResolution::UnknownHost;
    };
    match directory.resolve_host_served(host.domain().as_str()).await {
        Ok(Some((tenant, served))) => {
            if served == Served::AsLastRead {
                request
                    .local_cache(DatabaseSilent::default)
                    .0
                    .store(true, Ordering::Release);
            }
            TenantResolution::Found(tenant)
        }
        Ok(None) => TenantResolution::UnknownHost,
        Err(error) => {
            tracing::error!(%error, "cannot resolve the request's town");
            TenantResolution::Unavailable
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CurrentTenant {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        match TenantResolution::of(request).await {
            TenantResolution::Found(tenant) => Outcome::Success(CurrentTenant(tenant.clone())),
            TenantResolution::UnknownHost => Outcome::Error((Status::NotFound, ())),
            TenantResolution::Unavailable => Outcome::Error((Status::ServiceUnavailable, ())),
        }
    }
}
