//! Probes for the process supervisor and the load balancer. They answer on
//! any host: they belong to the platform, not to a town.

use rocket::http::{Header, Status};
use rocket::{Route, State, get, routes};

use crate::db::Readiness;

pub fn routes() -> Vec<Route> {
    routes![healthz, readyz, metrics]
}

/// The process is up and serving.
#[get("/healthz")]
fn healthz() -> &'static str {
    "ok\n"
}

/// Not ready, and when to ask again.
#[derive(Debug, rocket::Responder)]
#[response(status = 503)]
struct NotReady {
    body: &'static str,
    retry_after: Header<'static>,
}

/// The process can serve requests: its database answers. Answered within
/// `db::READINESS_TIMEOUT` either way, so that a probe with a short timeout
/// sees "not ready" during an outage, never a timeout.
#[get("/readyz")]
async fn readyz(readiness: &State<Readiness>) -> Result<&'static str, NotReady> {
    match readiness.check().await {
        Ok(()) => Ok("ready\n"),
        Err(error) => {
            tracing::warn!(%error, "readiness probe: the database does not answer");
            Err(NotReady {
                body: "database unreachable\n",
                retry_after: Header::new("Retry-After", crate::db::RETRY_AFTER_SECONDS.to_string()),
            })
        }
    }
}

/// What operators watch (`crate::metrics`), in the OpenMetrics text
/// format. Served to clients on the loopback interface only (a scraper
/// beside the server, or the reverse proxy's own checks): it names towns
/// and modules.
#[get("/metrics")]
async fn metrics(
    client: std::net::IpAddr,
    metrics: &State<crate::metrics::Metrics>,
) -> Result<(rocket::http::ContentType, String), Status> {
    if !client.is_loopback() {
        return Err(Status::NotFound);
    }
    let openmetrics = rocket::http::ContentType::new("application", "openmetrics-text")
        .with_params([("version", "1.0.0"), ("charset", "utf-8")]);
    Ok((openmetrics, metrics.render().await))
}
