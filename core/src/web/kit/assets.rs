//! Static files of the request's town theme: `/static/<name>?v=<fingerprint>`.

use std::path::PathBuf;

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Route, get, routes};

use super::Themes;
use crate::tenancy::TenantResolution;
use crate::theme::{Asset, Theme};

pub fn routes() -> Vec<Route> {
    routes![asset]
}

/// A year: fingerprinted URLs never change content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Unversioned URLs (or dev mode): revalidate with the ETag every time.
const REVALIDATE: &str = "public, no-cache";

/// A town's host gets its theme's files; any other host the default theme's,
/// which the neutral "unknown address" page uses.
#[get("/static/<path..>?<v>")]
async fn asset(
    request_town: RequestTheme,
    path: PathBuf,
    v: Option<&str>,
    if_none_match: IfNoneMatch,
) -> Result<AssetResponse, Status> {
    let name = path
        .to_str()
        .filter(|name| !name.is_empty())
        .ok_or(Status::NotFound)?;
    let asset = request_town.0.asset(name).ok_or(Status::NotFound)?;
    let content_type = path
        .extension()
        .and_then(|ext| ext.to_str())
        .and_then(ContentType::from_extension)
        .unwrap_or(ContentType::Binary);
    let etag = format!("\"{}\"", asset.fingerprint);
    let cache_control = if asset.immutable && v == Some(asset.fingerprint.as_str()) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let not_modified = if_none_match.0.is_some_and(|tags| {
        tags.split(',')
            .any(|tag| tag.trim().trim_start_matches("W/") == etag)
    });
    Ok(AssetResponse {
        asset,
        content_type,
        etag,
        cache_control,
        not_modified,
    })
}

/// The theme of the request's town, or the default theme for other hosts.
struct RequestTheme(std::sync::Arc<Theme>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestTheme {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(Themes(themes)) = request.rocket().state::<Themes>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        match TenantResolution::of(request).await {
            TenantResolution::Found(tenant) => Outcome::Success(Self(themes.get(&tenant.theme))),
            TenantResolution::UnknownHost => Outcome::Success(Self(themes.default_theme())),
            TenantResolution::Unavailable => Outcome::Error((Status::ServiceUnavailable, ())),
        }
    }
}

/// The `If-None-Match` header, if any.
#[derive(Debug)]
struct IfNoneMatch(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(IfNoneMatch(
            request
                .headers()
                .get_one("If-None-Match")
                .map(str::to_owned),
        ))
    }
}

struct AssetResponse {
    asset: Asset,
    content_type: ContentType,
    etag: String,
    cache_control: &'static str,
    not_modified: bool,
}

impl<'r> Responder<'r, 'static> for AssetResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(Header::new("ETag", self.etag))
            .header(Header::new("Cache-Control", self.cache_control));
        if self.not_modified {
            return response.status(Status::NotModified).ok();
        }
        let bytes = self.asset.bytes;
        response
            .header(self.content_type)
            .sized_body(bytes.len(), std::io::Cursor::new(bytes))
            .ok()
    }
}
