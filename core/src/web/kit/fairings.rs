//! Fairings applied to every response: a request id and a log line, and the
//! security headers.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Data, Request, Response};

use crate::tenancy::TenantResolution;

/// A random id for each request, sent back as `X-Request-Id` and written in
/// every log line about the request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl Default for RequestId {
    fn default() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }
}

struct RequestStart(Instant);

/// Logs one line per request: id, town, method, path, status, duration.
#[derive(Debug)]
pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(RequestId::default);
        request.local_cache(|| RequestStart(Instant::now()));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let id = request.local_cache(RequestId::default);
        let started = request.local_cache(|| RequestStart(Instant::now()));
        let tenant = TenantResolution::cached(request);
        response.set_header(Header::new("X-Request-Id", id.0.clone()));
        // By the route's pattern, never the path a client typed: the
        // labels stay a bounded set whatever is asked.
        if let Some(metrics) = request.rocket().state::<crate::metrics::Metrics>() {
            let route = request
                .route()
                .map_or("unmatched", |route| route.uri.path());
            metrics.observe_request(
                route,
                request.method().as_str(),
                response.status().code,
                started.0.elapsed(),
            );
        }
        tracing::info!(
            request_id = %id.0,
            tenant = tenant.as_ref().map_or("-", |t| t.slug.as_str()),
            method = %request.method(),
            path = %request.uri().path(),
            status = response.status().code,
            elapsed_us = u64::try_from(started.0.elapsed().as_micros()).unwrap_or(u64::MAX),
            "request"
        );
    }
}

/// No inline script or style anywhere: the CSP says so, and the templates
/// comply (JavaScript lives in theme files).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy, where forms may also lead to the payment provider ("Payer
/// en ligne" is answered with a redirection to its page) and, in a town
/// with FranceConnect, to its provider (the FranceConnect button and
/// logout): browsers check such redirections against `form-action`.
fn content_security_policy(request: &Request<'_>) -> String {
    let provider = TenantResolution::cached(request).and_then(|tenant| {
        let settings = crate::franceconnect::FranceConnect::settings(&tenant)?;
        let origin = url::Url::parse(&settings.issuer).ok()?.origin();
        origin.is_tuple().then(|| origin.ascii_serialization())
    });
    let mut origins: Vec<String> = request
        .rocket()
        .state::<super::WebSettings>()
        .map(|settings| settings.form_origins.clone())
        .unwrap_or_default();
    origins.extend(provider);
    if origins.is_empty() {
        return CONTENT_SECURITY_POLICY.to_owned();
    }
    CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", origins.join(" ")),
    )
}

/// Security headers on every response, and `no-store` on anything that did
/// not choose its own caching (pages may hold personal data).
#[derive(Debug)]
pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        response.set_header(Header::new(
            "Content-Security-Policy",
            content_security_policy(request),
        ));
        response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        response.set_header(Header::new("Referrer-Policy", "same-origin"));
        response.set_header(Header::new("X-Frame-Options", "DENY"));
        response.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        response.set_header(Header::new(
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ));
        if !response.headers().contains("Cache-Control") {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}
