//! A real OpenID provider for the tests: `tests/oidc/provider.mjs` (npm
//! oidc-provider in FranceConnect v2's shape), one per test, and a person
//! using it in a browser of their own.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use super::{TestResponse, Visitor, repo_root};

/// A running provider, killed on drop.
#[derive(Debug)]
pub struct OidcProvider {
    pub issuer: String,
    pub port: u16,
    _process: Child,
}

/// What the provider knows of one town's client.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
}

impl OidcProvider {
    pub async fn start(clients: &[OidcClient]) -> Self {
        let folder = repo_root().join("tests/oidc");
        assert!(
            folder.join("node_modules/oidc-provider").is_dir(),
            "the OpenID provider's packages are missing: npm ci --prefix tests/oidc (tests/run does it)"
        );
        let mut process = Command::new("node")
            .arg(folder.join("provider.mjs"))
            .env("PORT", "0")
            .env("OIDC_TEST_CONTROLS", "1")
            .env("CLIENTS", serde_json::to_string(clients).unwrap())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdout = process.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(issuer) = line.strip_prefix("ready ") {
                    return issuer.trim().to_owned();
                }
            }
            panic!("the OpenID provider stopped before it was ready");
        })
        .await
        .expect("the OpenID provider starts within 30 s");
        // Its notices keep coming: read them all, or its writes would fail.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let port = url::Url::parse(&issuer).unwrap().port().unwrap();
        Self {
            issuer,
            port,
            _process: process,
        }
    }

    /// A browser of someone visiting the provider (with its own cookies,
    /// hence its own FranceConnect session).
    pub fn browser(&self) -> Visitor {
        Visitor::new(self.port, &format!("127.0.0.1:{}", self.port))
    }

    fn local_path<'a>(&self, url: &'a str) -> Option<&'a str> {
        url.strip_prefix(&format!("http://127.0.0.1:{}", self.port))
    }

    /// Follows the provider's redirections from `url` until it sends the
    /// browser elsewhere (answers that address), or shows a page (answers
    /// it, with an empty address).
    async fn follow(&self, browser: &mut Visitor, url: &str) -> (String, TestResponse) {
        let mut path = self
            .local_path(url)
            .unwrap_or_else(|| panic!("{url} is not the provider's"))
            .to_owned();
        loop {
            let response = browser.get(&path).await;
            match response.header("location") {
                Some(location) if (300..400).contains(&response.status) => {
                    let location = location.to_owned();
                    match self.local_path(&location) {
                        Some(next) => path = next.to_owned(),
                        None if location.starts_with('/') => path = location,
                        None => return (location, response),
                    }
                }
                _ => return (String::new(), response),
            }
        }
    }

    /// Posts a form of the provider and follows where it leads.
    async fn post_and_follow(
        &self,
        browser: &mut Visitor,
        path: &str,
        fields: &[(&str, &str)],
    ) -> String {
        let response = browser.post(path, fields).await;
        let location = response
            .header("location")
            .unwrap_or_else(|| {
                panic!(
                    "the provider answered {}: {}",
                    response.status, response.body
                )
            })
            .to_owned();
        match self.local_path(&location) {
            Some(_) => {
                let (away, page) = self.follow(browser, &location).await;
                assert!(!away.is_empty(), "the provider stopped at: {}", page.body);
                away
            }
            None => location,
        }
    }

    /// Opens the authorization URL Guichet sent the browser to, logs in as
    /// `who` (a login of provider.mjs's PROFILES) vouching `acr` ("eidas1",
    /// or "none"), and answers where the provider sends the browser back.
    pub async fn sign_in(
        &self,
        browser: &mut Visitor,
        authorize_url: &str,
        who: &str,
        acr: &str,
    ) -> String {
        let (away, page) = self.follow(browser, authorize_url).await;
        if !away.is_empty() {
            // Already logged in at the provider: straight back.
            return away;
        }
        let action = form_action(&page.body, "/login");
        self.post_and_follow(browser, &action, &[("login", who), ("acr", acr)])
            .await
    }

    /// Opens the authorization URL and cancels at the login page.
    pub async fn cancel(&self, browser: &mut Visitor, authorize_url: &str) -> String {
        let (away, page) = self.follow(browser, authorize_url).await;
        assert!(away.is_empty(), "the provider did not ask who logs in");
        let action = form_action(&page.body, "/abort");
        self.post_and_follow(browser, &action, &[]).await
    }

    /// Opens the provider's logout URL, confirms, and answers where the
    /// provider sends the browser back.
    pub async fn sign_out(&self, browser: &mut Visitor, end_session_url: &str) -> String {
        let (away, page) = self.follow(browser, end_session_url).await;
        if !away.is_empty() {
            return away;
        }
        let xsrf = input_value(&page.body, "xsrf");
        let action = form_action(&page.body, "/session/end/confirm");
        let action = self
            .local_path(&action)
            .map_or(action.clone(), str::to_owned);
        let response = browser
            .post(&action, &[("xsrf", &xsrf), ("logout", "yes")])
            .await;
        response
            .header("location")
            .unwrap_or_else(|| panic!("no redirection after logout: {}", response.body))
            .to_owned()
    }

    /// Makes the provider publish another key under the same `kid`: every
    /// signature it makes from now on fails to verify.
    pub async fn forge_keys(&self) {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/test/forge-jwks", self.port))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 204);
    }
}

/// The `action` of the first form whose action ends with `suffix`.
fn form_action(html: &str, suffix: &str) -> String {
    html.split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|action| action.ends_with(suffix))
        .unwrap_or_else(|| panic!("no form to …{suffix} in:\n{html}"))
        .to_owned()
}

/// The value of the input named `name`, whatever the order of attributes.
fn input_value(html: &str, name: &str) -> String {
    html.split("<input")
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
        .find(|tag| tag.contains(&format!("name=\"{name}\"")))
        .and_then(|tag| tag.split("value=\"").nth(1))
        .and_then(|value| value.split('"').next())
        .unwrap_or_else(|| panic!("no input {name} in:\n{html}"))
        .to_owned()
}

/// The path and query of an absolute URL (the tests send them to the test
/// server, whatever public host the URL names).
pub fn path_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap_or_else(|_| panic!("{url} is not a URL"));
    match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    }
}
