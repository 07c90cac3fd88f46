//! The application, served on port 0 for one test.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use base64::Engine as _;
use guichet::app::App;
use guichet::config::Config;
use guichet::tenancy::load_definitions;
use rand::RngExt as _;

use super::{Backend, TestDatabase, repo_root};

/// How to set up a [`TestApp`].
#[derive(Debug, Clone)]
pub struct TestAppOptions {
    /// Theme folder (default: the repository's `themes/`).
    pub themes_dir: PathBuf,
    /// Apply the repository's demo towns before serving (default: yes).
    pub demo_towns: bool,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        Self {
            themes_dir: repo_root().join("themes"),
            demo_towns: true,
        }
    }
}

/// A running Guichet, stopped when dropped.
#[derive(Debug)]
pub struct TestApp {
    pub app: App,
    pub port: u16,
    client: reqwest::Client,
    shutdown: rocket::Shutdown,
    // Last: the database outlives the server that uses it.
    _database: TestDatabase,
}

/// A response, read in full.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl TestResponse {
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
        let config = Config {
            database_url: database.url.clone(),
            base_domain: "localhost".to_owned(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            secret_key: Some(
                base64::engine::general_purpose::STANDARD.encode(rand::rng().random::<[u8; 32]>()),
            ),
            themes_dir: options.themes_dir,
            ..Config::default()
        };
        let app = App::open(config).await.expect("the application opens");
        if options.demo_towns {
            let towns = load_definitions(&repo_root().join("tenants")).expect("demo towns");
            app.apply_towns(&towns).await.expect("demo towns apply");
        }

        let (ready, started) = tokio::sync::oneshot::channel();
        let server = app.clone();
        tokio::spawn(async move {
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
            client,
            shutdown,
            _database: database,
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

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}
