//! Probes for the process supervisor and the load balancer. They answer on
//! any host: they belong to the platform, not to a town.

use rocket::http::Status;
use rocket::{Route, State, get, routes};
use sea_orm::DatabaseConnection;

pub fn routes() -> Vec<Route> {
    routes![healthz, readyz]
}

/// The process is up and serving.
#[get("/healthz")]
fn healthz() -> &'static str {
    "ok\n"
}

/// The process can serve requests: its database answers.
#[get("/readyz")]
async fn readyz(db: &State<DatabaseConnection>) -> (Status, &'static str) {
    match db.ping().await {
        Ok(()) => (Status::Ok, "ready\n"),
        Err(error) => {
            tracing::warn!(%error, "readiness probe: the database does not answer");
            (Status::ServiceUnavailable, "database unreachable\n")
        }
    }
}
