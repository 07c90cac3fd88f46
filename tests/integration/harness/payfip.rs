//! A real server in PayFiP's shape for the tests: `tests/payfip/server.mjs`
//! (Node.js, no dependency), one per test, with its test controls: set an
//! outcome without a browser, send (or not) the notification, forget an
//! operation, tamper with what the detail answers, go unavailable.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use super::repo_root;

/// Villeneuve's contract in `tenants/villeneuve/tenant.toml`.
pub const VILLENEUVE_NUMCLI: &str = "123456";

/// A running server, killed on drop.
#[derive(Debug)]
pub struct PayFiPServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    client: reqwest::Client,
    _process: Child,
}

impl PayFiPServer {
    /// Knows Villeneuve's contract and another (Saint-Martin's, `654321`).
    pub async fn start() -> Self {
        let clients = json!([
            {"numcli": VILLENEUVE_NUMCLI, "libelle": "REGIE PERISCOLAIRE DE VILLENEUVE"},
            {"numcli": "654321", "libelle": "REGIE DE SAINT MARTIN"},
        ]);
        let mut process = Command::new("node")
            .arg(repo_root().join("tests/payfip/server.mjs"))
            .env("PORT", "0")
            .env("PAYFIP_TEST_CONTROLS", "1")
            .env("CLIENTS", clients.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js 20 or later)");
        let stdout = process.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("ready ") {
                    return url.trim().to_owned();
                }
            }
            panic!("the PayFiP server stopped before it was ready");
        })
        .await
        .expect("the PayFiP server starts within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            url,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _process: process,
        }
    }

    /// What Guichet's `payfip_url` is set to.
    pub fn base_url(&self) -> String {
        format!("{}/tpa", self.url)
    }

    async fn control(&self, name: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/test/{name}", self.url))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
        assert!(status.is_success(), "/test/{name}: {status} {answer}");
        answer
    }

    /// Every payment the server was asked to create, with its fields.
    pub async fn payments(&self) -> Vec<Value> {
        let text = self
            .client
            .get(format!("{}/test/payments", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The payment of `idop`.
    pub async fn payment(&self, idop: &str) -> Value {
        self.payments()
            .await
            .into_iter()
            .find(|payment| payment["idop"] == idop || payment["idOp"] == idop)
            .unwrap_or_else(|| panic!("no payment {idop}"))
    }

    /// The person answers on the payment page (`P`, `V`, `R`, `Z`, `A`),
    /// without the notification (the tests send it themselves, to the
    /// test server's port).
    pub async fn answer(&self, idop: &str, result: &str) {
        self.control(
            "outcome",
            json!({"idop": idop, "resultrans": result, "notify": false}),
        )
        .await;
    }

    /// Sends the notification of `idop` to `url`, its field named `field`
    /// (`idOp` as PayFiP, or `idop`); the HTTP status Guichet answered.
    pub async fn notify(&self, idop: &str, field: &str, url: &str) -> u16 {
        let answer = self
            .control("notify", json!({"idop": idop, "field": field, "url": url}))
            .await;
        u16::try_from(answer["status"].as_u64().unwrap_or(0)).unwrap()
    }

    /// The detail answers these values in place of the stored ones.
    pub async fn tamper(&self, idop: &str, changes: Value) {
        let mut body = changes;
        body["idop"] = json!(idop);
        self.control("tamper", body).await;
    }

    /// The operation is forgotten (P1 from now on).
    pub async fn forget(&self, idop: &str) {
        self.control("forget", json!({"idop": idop})).await;
    }

    /// Every SOAP operation answers a technical fault while `on`.
    pub async fn unavailable(&self, on: bool) {
        self.control("unavailable", json!({"on": on})).await;
    }
}
