//! The client's address and user agent, for throttling and the audit log.

use rocket::request::{FromRequest, Outcome, Request};

use crate::audit::Origin;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Origin {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Origin {
            ip: request.client_ip().map(|ip| ip.to_string()),
            user_agent: request.headers().get_one("User-Agent").map(str::to_owned),
        })
    }
}
