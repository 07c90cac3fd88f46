//! The application, served on port 0 for one test.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use base64::Engine as _;
use guichet::accounts::{Civility, CreatedAccount, NewAccount};
use guichet::app::{App, Mode};
use guichet::audit::Origin;
use guichet::config::{Config, PublicScheme};
use guichet::staff::{ReadyMember, StaffRole};
use guichet::tenancy::Tenant;
use guichet::towns::load_definitions;
use std::sync::atomic::{AtomicU32, Ordering};

use super::oidc::{OidcClient, OidcProvider};
use super::smtp::{SmtpSink, smtp_url};
use super::{Backend, TestDatabase, Visitor, repo_root};

/// The password of every member of [`TestApp::ready_staff`].
pub const STAFF_PASSWORD: &str = "bureau-mairie-42";

/// The password every resident of [`TestApp::active_resident`] chose.
pub const NEW_PASSWORD: &str = "jardin-public-42";

/// Every test server's key: each test has its own database, so sharing it
/// costs no isolation, and it lets the tests share compiled modules.
const TEST_SECRET_KEY: [u8; 32] = *b"guichet-test-secret-key-32-bytes";

/// Which SMTP server the application talks to.
#[derive(Debug, Clone, Default)]
pub enum Smtp {
    /// A fresh aiosmtpd for this test.
    #[default]
    Sink,
    /// This port, where the test starts (or not) a server itself.
    Port(u16),
}

/// How to set up a [`TestApp`].
#[derive(Debug, Clone)]
pub struct TestAppOptions {
    /// Theme folder (default: the repository's `themes/`).
    pub themes_dir: PathBuf,
    /// Apply the repository's demo towns before serving (default: yes).
    pub demo_towns: bool,
    pub smtp: Smtp,
    /// Changes to the test configuration (default: none).
    pub configure: fn(&mut Config),
    /// Reach PostgreSQL through this local port (a [`super::DbProxy`] the
    /// test stops and resumes) rather than directly (default: directly).
    pub database_port: Option<u16>,
    /// PayFiP's address: a [`super::PayFiPServer`]'s (default: PayFiP's
    /// own, never reached by a test that does not pay).
    pub payfip_url: Option<String>,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        Self {
            themes_dir: repo_root().join("themes"),
            demo_towns: true,
            smtp: Smtp::Sink,
            configure: |_| {},
            database_port: None,
            payfip_url: None,
        }
    }
}

/// A running Guichet, stopped when dropped.
#[derive(Debug)]
pub struct TestApp {
    pub app: App,
    pub port: u16,
    /// The SMTP server the application sends to, when the harness runs it.
    pub mail: Option<SmtpSink>,
    client: reqwest::Client,
    shutdown: rocket::Shutdown,
    /// `App::serve`, which ends once the server and the mail worker stopped.
    server: Option<tokio::task::JoinHandle<()>>,
    // Last: the database outlives the server that uses it (none for
    // another instance on the database of a first one).
    _database: Option<TestDatabase>,
}

/// A response, read in full.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// The body with the entities templates escape turned back into
    /// characters, to look for messages as residents read them.
    pub fn text(&self) -> String {
        self.body
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl TestApp {
    /// The demo towns, the repository's themes, on `backend`.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, TestAppOptions::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: TestAppOptions) -> Self {
        let database = TestDatabase::create(backend).await;
        let (mail, smtp_port) = match options.smtp {
            Smtp::Sink => {
                let sink = SmtpSink::start().await;
                let port = sink.port;
                (Some(sink), port)
            }
            Smtp::Port(port) => (None, port),
        };
        let app = open_app(&database, smtp_port, &options).await;
        Self::serve(app, mail, Some(database)).await
    }

    /// A second instance of this application (its own process state:
    /// pools, caches, workers) on the same database, as another server of
    /// a deployment would be.
    pub async fn another_instance(&self) -> Self {
        let app = App::open(self.app.config.clone(), Mode::Serve)
            .await
            .expect("the second instance opens");
        Self::serve(app, None, None).await
    }

    async fn serve(app: App, mail: Option<SmtpSink>, database: Option<TestDatabase>) -> Self {
        let (ready, started) = tokio::sync::oneshot::channel();
        let server = app.clone();
        let server = tokio::spawn(async move {
            let result = server
                .serve(move |port, shutdown| {
                    let _ = ready.send((port, shutdown));
                })
                .await;
            if let Err(error) = result {
                eprintln!("test server failed: {error}");
            }
        });
        let (port, shutdown) = started.await.expect("the server starts");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self {
            app,
            port,
            mail,
            client,
            shutdown,
            server: Some(server),
            _database: database,
        }
    }

    /// Stops the server as a shutdown signal would, and waits (up to 30 s)
    /// until `App::serve` returns.
    pub async fn stop(&mut self) {
        self.shutdown.clone().notify();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(std::time::Duration::from_secs(30), server)
                .await
                .expect("the server stops within 30 s")
                .expect("the server task ends");
        }
    }

    /// `GET path` with the given `Host` header.
    pub async fn get(&self, host: &str, path: &str) -> TestResponse {
        self.send(self.client.get(self.url(path)).header("Host", host))
            .await
    }

    /// Any request, built on this app's client.
    pub fn request(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Host", host)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the server answers");
        TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("a text body"),
        }
    }

    /// Michel ARPEGE of the demo (Léa, Hugo, the demo's invoices) in
    /// Villeneuve, logged in and past the terms.
    pub async fn demo_resident(&self) -> Visitor {
        let towns = load_definitions(&repo_root().join("tenants")).expect("demo towns");
        let resident = guichet::demo::ensure_residents(&self.app, &towns)
            .await
            .expect("the demo resident");
        let mut browser = self.visitor("villeneuve.localhost");
        let login = browser
            .login(&resident.identifier, &resident.password)
            .await;
        assert_eq!(login.status, 303, "{}", login.body);
        assert_eq!(browser.accept_terms().await.status, 303);
        browser
    }

    /// A browser on `host`, with its own cookies.
    pub fn visitor(&self, host: &str) -> Visitor {
        Visitor::new(self.port, host)
    }

    pub async fn town(&self, slug: &str) -> Tenant {
        self.app
            .tenants
            .find_by_slug(slug)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no town {slug}"))
    }

    /// The town creates an account for this resident (which queues the
    /// activation mail).
    pub async fn create_resident(
        &self,
        slug: &str,
        first: &str,
        last: &str,
        email: &str,
    ) -> CreatedAccount {
        let town = self.town(slug).await;
        let new = NewAccount {
            email: email.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            civility: Some(Civility::Monsieur),
            address: Some("10 LA RUE CREUSE".to_owned()),
            phone: None,
        };
        self.app
            .accounts
            .create(&town, new, &Origin::default())
            .await
            .expect("account creation works")
            .expect("the account is valid")
    }

    /// A resident of `slug` who went through the whole seed flow (mail,
    /// activation, temporary password changed to [`NEW_PASSWORD`], terms
    /// accepted), logged in on the returned browser; and their identifier.
    pub async fn active_resident(&self, slug: &str, email: &str) -> (Visitor, String) {
        self.create_resident(slug, "Michel", "Arpège", email).await;
        let mail = self.mailbox().wait_for(email, "activez votre espace").await;
        let identifier = mail.line_value("Identifiant :");
        let temporary = mail.line_value("Mot de passe temporaire :");
        let link = mail.link_path("/activation/");
        let mut visitor = self.visitor(&format!("{slug}.localhost"));
        visitor.submit(&link, &link, &[]).await;
        visitor.login(&identifier, &temporary).await;
        let changed = visitor
            .submit(
                "/mot-de-passe/modifier",
                "/mot-de-passe/modifier",
                &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        if self
            .app
            .terms
            .current(&self.town(slug).await)
            .await
            .unwrap()
            .is_some()
        {
            assert_eq!(visitor.accept_terms().await.status, 303);
        }
        (visitor, identifier)
    }

    /// A real OpenID provider with a client for each of these towns; the
    /// app is given the clients' secrets.
    pub async fn oidc_provider(&self, slugs: &[&str]) -> OidcProvider {
        let clients: Vec<OidcClient> = slugs
            .iter()
            .map(|slug| {
                let secret = format!("secret-of-{slug}-for-the-tests");
                self.app
                    .franceconnect
                    .give_secret(&franceconnect_secret_env(slug), &secret);
                OidcClient {
                    client_id: format!("guichet-{slug}"),
                    client_secret: secret,
                    redirect_uris: vec![self.app.franceconnect.callback_url(slug)],
                    post_logout_redirect_uris: vec![self.app.franceconnect.logout_return_url(slug)],
                }
            })
            .collect();
        OidcProvider::start(&clients).await
    }

    /// Points the FranceConnect settings of `slug` at `provider` (enabled),
    /// as its `tenant.toml` would, and applies them.
    pub async fn enable_franceconnect(
        &self,
        slug: &str,
        provider: &OidcProvider,
        allow_account_creation: bool,
    ) {
        let mut definition = self.town(slug).await.definition.clone();
        let settings = Some(guichet::franceconnect::FranceConnectSettings {
            enabled: true,
            issuer: provider.issuer.clone(),
            client_id: format!("guichet-{slug}"),
            client_secret_env: franceconnect_secret_env(slug),
            scopes: guichet::franceconnect::DEFAULT_SCOPES
                .iter()
                .map(|scope| (*scope).to_owned())
                .collect(),
            allow_account_creation,
        });
        definition.set_section(&settings).unwrap();
        self.app
            .apply_towns(&[definition.into()])
            .await
            .expect("the FranceConnect settings apply");
    }

    /// A member of the staff of `slug` with `role`, ready to log in
    /// (password [`STAFF_PASSWORD`], TOTP enrolled), not logged in. Each
    /// call makes a new member (`<role>-<n>@<slug>.test`).
    pub async fn ready_staff(&self, slug: &str, role: StaffRole) -> ReadyMember {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let email = format!("{}-{n}@{slug}.test", role.as_str());
        self.app
            .staff
            .provision_ready_member(
                &self.town(slug).await,
                &email,
                ("Camille", &format!("Agent{n}")),
                role,
                STAFF_PASSWORD,
                None,
            )
            .await
            .expect("the staff member is created")
    }

    /// A browser on `slug` logged in to the back-office (password, then
    /// TOTP code) as a new member with `role`.
    pub async fn staff(&self, slug: &str, role: StaffRole) -> Visitor {
        self.staff_with_member(slug, role).await.0
    }

    /// [`TestApp::staff`], with the member (id, address, secret).
    pub async fn staff_with_member(&self, slug: &str, role: StaffRole) -> (Visitor, ReadyMember) {
        let member = self.ready_staff(slug, role).await;
        let mut visitor = self.visitor(&format!("{slug}.localhost"));
        let done = visitor
            .staff_login(&member.member.email, &member.password, &member.secret)
            .await;
        assert_eq!(done.status, 303, "staff login: {}", done.body);
        (visitor, member)
    }

    /// The SMTP sink of this app.
    pub fn mailbox(&self) -> &SmtpSink {
        self.mail
            .as_ref()
            .expect("this test app has its own SMTP sink")
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// The test configuration on `database`, sending mail to `smtp_port`;
/// opened, with the demo towns applied if asked.
async fn open_app(database: &TestDatabase, smtp_port: u16, options: &TestAppOptions) -> App {
    let mut database_url = database.url.clone();
    if let Some(port) = options.database_port {
        let mut url = url::Url::parse(&database_url).expect("a database URL");
        url.set_port(Some(port)).expect("a PostgreSQL URL");
        database_url = url.to_string();
    }
    let mut config = Config {
        database_url,
        smtp_url: Some(smtp_url(smtp_port)),
        public_scheme: PublicScheme::Http,
        mail_retry_seconds: 1,
        base_domain: "localhost".to_owned(),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 0,
        secret_key: Some(base64::engine::general_purpose::STANDARD.encode(TEST_SECRET_KEY)),
        themes_dir: options.themes_dir.clone(),
        // Shared by every test (same key): each module is compiled once
        // per test run, not once per test.
        module_cache_dir: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("module-cache"),
        ..Config::default()
    };
    if let Some(url) = &options.payfip_url {
        config.payfip_url.clone_from(url);
    }
    (options.configure)(&mut config);
    let app = App::open(config, Mode::Serve)
        .await
        .expect("the application opens");
    if options.demo_towns {
        let towns = load_definitions(&repo_root().join("tenants")).expect("demo towns");
        app.apply_towns(&towns).await.expect("demo towns apply");
    }
    app
}

/// The application opened on a fresh database with the demo towns, and an
/// SMTP sink, but not served: no web server, no mail worker. For tests that
/// run mail workers themselves.
#[derive(Debug)]
pub struct OpenApp {
    pub app: App,
    pub mail: SmtpSink,
    // Last: the database outlives the application.
    _database: TestDatabase,
}

impl OpenApp {
    pub async fn open(backend: Backend) -> Self {
        let database = TestDatabase::create(backend).await;
        let mail = SmtpSink::start().await;
        let app = open_app(&database, mail.port, &TestAppOptions::default()).await;
        Self {
            app,
            mail,
            _database: database,
        }
    }

    pub async fn town(&self, slug: &str) -> Tenant {
        self.app
            .tenants
            .find_by_slug(slug)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no town {slug}"))
    }
}

fn franceconnect_secret_env(slug: &str) -> String {
    format!(
        "TEST_FRANCECONNECT_SECRET_{}",
        slug.to_uppercase().replace('-', "_")
    )
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}
