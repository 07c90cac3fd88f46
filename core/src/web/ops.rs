//! Probes for the process supervisor and the load balancer. They answer on
//! any host: they belong to the platform, not to a town.

use rocket::http::Status;
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

/// The process can serve requests: its database answers.
#[get("/readyz")]
async fn readyz(readiness: &State<Readiness>) -> (Status, &'static str) {
    match readiness.check().await {
        Ok(()) => (Status::Ok, "ready\n"),
        Err(error) => {
            tracing::warn!(%error, "readiness probe: the database does not answer");
            (Status::ServiceUnavailable, "database unreachable\n")
        }
    }
}

/// Module call counters and storage figures, in Prometheus' text format.
/// Served to clients on the loopback interface only (a scraper beside the
/// server, or the reverse proxy's own checks): they name towns and modules.
#[get("/metrics")]
async fn metrics(
    client: std::net::IpAddr,
    modules: &State<crate::modules::Modules>,
) -> Result<(rocket::http::ContentType, String), Status> {
    if !client.is_loopback() {
        return Err(Status::NotFound);
    }
    let text_plain = rocket::http::ContentType::new("text", "plain")
        .with_params([("version", "0.0.4"), ("charset", "utf-8")]);
    let mut text = modules.host().metrics().render();
    // The counters are worth serving even when the database does not answer.
    match modules.storage_figures().await {
        Ok(figures) => text.push_str(&crate::modules::render_storage(&figures)),
        Err(error) => tracing::warn!(%error, "metrics: cannot read module storage figures"),
    }
    Ok((text_plain, text))
}
