//! A browser, as far as the server can tell: one town's host, its own
//! cookies, forms submitted with the CSRF token of the page they came from.

use std::collections::BTreeMap;

use super::TestResponse;

#[derive(Debug)]
pub struct Visitor {
    client: reqwest::Client,
    port: u16,
    pub host: String,
    pub cookies: BTreeMap<String, String>,
    /// The `User-Agent` header sent, if any.
    pub user_agent: Option<String>,
    /// The address a trusted proxy says the browser has (`X-Real-IP`, read
    /// when the app's `ip_header` names it), if any.
    pub client_ip: Option<String>,
}

impl Visitor {
    /// A browser for the server on `127.0.0.1:port`, visiting `host`.
    pub fn new(port: u16, host: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            port,
            host: host.to_owned(),
            cookies: BTreeMap::new(),
            user_agent: None,
            client_ip: None,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("http://127.0.0.1:{}{path}", self.port))
            .header("Host", &self.host)
            .header("Cookie", self.cookie_header());
        let request = match &self.user_agent {
            Some(agent) => request.header("User-Agent", agent),
            None => request,
        };
        match &self.client_ip {
            Some(ip) => request.header("X-Real-IP", ip),
            None => request,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the server answers");
        let response = TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("a text body"),
        };
        self.keep_cookies(&response);
        response
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &TestResponse) {
        for header in response.headers.get_all("set-cookie") {
            let Ok(header) = header.to_str() else {
                continue;
            };
            let pair = header.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let expired = header.to_lowercase().contains("max-age=0")
                || header.to_lowercase().contains("expires=thu, 01 jan 1970");
            if value.is_empty() || expired {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let request = self.request(reqwest::Method::GET, path);
        self.send(request).await
    }

    /// GETs a file: its status, headers and bytes as they are (a PDF).
    pub async fn download(&mut self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body").to_vec();
        (status, headers, bytes)
    }

    /// POSTs `fields` as a form, as they are (no CSRF token added).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .request(reqwest::Method::POST, path)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// POSTs `fields` and one file as `multipart/form-data` (no CSRF token
    /// added): `file` is the field's name, the file's name and its bytes.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> TestResponse {
        const BOUNDARY: &str = "----guichet-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (name, file_name, bytes) = file;
        let content_type = if file_name.ends_with(".pdf") {
            "application/pdf"
        } else {
            "text/csv"
        };
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let request = self
            .request(reqwest::Method::POST, path)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body);
        self.send(request).await
    }

    /// Opens `page`, then submits its form to `action` with `fields` and
    /// the page's CSRF token — what a person filling the form does.
    pub async fn submit(
        &mut self,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let form = self.get(page).await;
        let csrf = csrf_of(&form.body);
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post(action, &all).await
    }

    pub async fn login(&mut self, identifier: &str, password: &str) -> TestResponse {
        self.submit(
            "/connexion",
            "/connexion",
            &[("identifier", identifier), ("password", password)],
        )
        .await
    }

    pub async fn logout(&mut self) -> TestResponse {
        // A page every logged-in resident reaches, gates or not.
        let page = self.get("/mot-de-passe/modifier").await;
        let csrf = csrf_of(&page.body);
        self.post("/deconnexion", &[("csrf", &csrf)]).await
    }

    /// Accepts the town's current terms, from the CGU page.
    pub async fn accept_terms(&mut self) -> TestResponse {
        let page = self.get("/cgu").await;
        let csrf = csrf_of(&page.body);
        let version = field_value(&page.body, "version_id");
        self.post("/cgu", &[("csrf", &csrf), ("version_id", &version)])
            .await
    }

    /// Logs in to the back-office: the password step, then the TOTP code
    /// of `secret` ([`Visitor::staff_code`]). The code step's answer.
    pub async fn staff_login(
        &mut self,
        email: &str,
        password: &str,
        secret: &[u8],
    ) -> TestResponse {
        let first = self
            .submit(
                "/admin/connexion",
                "/admin/connexion",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(first.status, 303, "password step: {}", first.body);
        self.staff_code(secret).await
    }

    /// Gives the code step the TOTP code of `secret` now — or the next
    /// step's, when this one was already used (a code is accepted once).
    pub async fn staff_code(&mut self, secret: &[u8]) -> TestResponse {
        let now = chrono::Utc::now();
        let mut answer = None;
        for ahead in [0, 30] {
            let code =
                guichet::staff::totp::code_at(secret, now + chrono::Duration::seconds(ahead));
            let response = self
                .submit(
                    "/admin/connexion/code",
                    "/admin/connexion/code",
                    &[("code", &code)],
                )
                .await;
            if response.status != 401 {
                return response;
            }
            answer = Some(response);
        }
        answer.expect("two attempts")
    }

    /// The staff session cookie's value, if any.
    pub fn staff_cookie(&self) -> Option<String> {
        self.cookies.get("guichet_staff").cloned()
    }

    /// The session cookie's value, if logged in.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get("guichet_session").cloned()
    }
}

/// The value of the first `csrf` hidden field of a page.
pub fn csrf_of(html: &str) -> String {
    field_value(html, "csrf")
}

/// The value of the first field named `name` of a page.
pub fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}
