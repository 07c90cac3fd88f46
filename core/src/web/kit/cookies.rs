//! Cookies of every face: names bound to the exact host over HTTPS, and
//! the flags every cookie of the site carries.

use std::sync::Arc;

use rocket::http::{Cookie, CookieJar, SameSite};

/// Cookie settings shared by the web layer, from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub secret_key: Arc<[u8]>,
    /// HTTPS: `Secure` cookies with the `__Host-` prefix.
    pub secure_cookies: bool,
    /// Origins a form may lead to besides the site (CSP `form-action`):
    /// the payment provider, whose page "Payer en ligne" redirects to.
    pub form_origins: Vec<String>,
}

impl WebSettings {
    /// `__Host-` binds a cookie to the exact host: another town (or a
    /// sibling subdomain) can neither read nor plant it. Browsers accept the
    /// prefix only on `Secure` cookies, so plain-HTTP demos go without.
    pub fn cookie_name(&self, name: &str) -> String {
        if self.secure_cookies {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        }
    }

    /// Removes a cookie set by [`Self::cookie`].
    pub fn remove_cookie(&self, jar: &CookieJar<'_>, name: &str) {
        jar.remove(Cookie::build(self.cookie_name(name)).path("/").build());
    }

    pub fn cookie(&self, name: &str, value: String) -> Cookie<'static> {
        Cookie::build((self.cookie_name(name), value))
            .path("/")
            .http_only(true)
            .secure(self.secure_cookies)
            .same_site(SameSite::Lax)
            .build()
    }

    /// A cookie with the same flags that outlives the browser session:
    /// kept `days` days.
    pub fn lasting_cookie(&self, name: &str, value: String, days: i64) -> Cookie<'static> {
        let mut cookie = self.cookie(name, value);
        cookie.set_max_age(rocket::time::Duration::days(days));
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION_COOKIE: &str = "guichet_session";

    #[test]
    fn https_cookies_are_host_bound_and_secure() {
        let https = WebSettings {
            secret_key: Arc::from(&b"k"[..]),
            secure_cookies: true,
            form_origins: Vec::new(),
        };
        let cookie = https.cookie(SESSION_COOKIE, "v".to_owned());
        assert_eq!(cookie.name(), "__Host-guichet_session");
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), None);

        let lasting = https.lasting_cookie("guichet_device", "v".to_owned(), 180);
        assert_eq!(lasting.name(), "__Host-guichet_device");
        assert_eq!(lasting.http_only(), Some(true));
        assert_eq!(lasting.secure(), Some(true));
        assert_eq!(lasting.max_age(), Some(rocket::time::Duration::days(180)));

        let http = WebSettings {
            secure_cookies: false,
            ..https
        };
        assert_eq!(
            http.cookie(SESSION_COOKIE, "v".to_owned()).name(),
            "guichet_session"
        );
    }
}
