//! A real SMTP server for the tests: aiosmtpd, storing each message it
//! receives as a file of a Maildir, refusing or delaying some recipients
//! (smtp_sink.py) and logging every DATA answer.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

/// A running aiosmtpd, killed on drop.
#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    maildir: TempDir,
    process: Child,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// `smtp://127.0.0.1:<port>`.
pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> Self {
        let maildir = tempfile::tempdir().expect("maildir");
        let mut process = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "smtp_sink.Sink"])
            .arg(maildir.path().join("mail"))
            .env(
                "PYTHONPATH",
                super::repo_root().join("tests/integration/harness"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; tests/run installs it)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    maildir,
                    process,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = process.kill();
        let _ = process.wait();
        panic!("aiosmtpd did not start on port {port}");
    }

    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for folder in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.path().join("mail").join(folder)) {
                files.extend(entries.filter_map(Result::ok).map(|entry| entry.path()));
            }
        }
        // In arrival order: Maildir names start with the second, then the
        // microseconds unpadded ("M99999" sorts after "M100000"), so the
        // name alone misorders two mails of one second.
        files.sort_by_cached_key(|path| {
            let modified = std::fs::metadata(path)
                .and_then(|meta| meta.modified())
                .ok();
            (modified, path.clone())
        });
        files
    }

    /// Every DATA answered so far, in order: the code (250, 451) and the
    /// Message-ID.
    pub fn attempts(&self) -> Vec<(u16, String)> {
        std::fs::read_to_string(self.maildir.path().join("attempts.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (code, id) = line.split_once(' ')?;
                Some((code.parse().ok()?, id.to_owned()))
            })
            .collect()
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.files()
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .map(|raw| ReceivedMail::parse(&raw))
            .collect()
    }

    /// Waits (up to 20 s) for a message to `to` whose subject contains
    /// `subject`, and returns the latest such.
    pub async fn wait_for(&self, to: &str, subject: &str) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(mail) = self
                .received()
                .into_iter()
                .rfind(|mail| mail.to.contains(to) && mail.subject.contains(subject))
            {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no mail to {to} about « {subject} »; received: {:?}",
            self.received()
        );
    }
}

impl SmtpSink {
    /// Waits (up to 20 s) until `count` messages to `to` about `subject`
    /// have arrived, and returns them all.
    pub async fn wait_for_count(&self, to: &str, subject: &str, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..200 {
            let found: Vec<ReceivedMail> = self
                .received()
                .into_iter()
                .filter(|mail| mail.to.contains(to) && mail.subject.contains(subject))
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("fewer than {count} mails to {to} about « {subject} »");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A received message, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    /// `<…@…>`, as in the header.
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    fn parse(raw: &[u8]) -> Self {
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("a parsable mail");
        let addresses = |address: Option<&mail_parser::Address<'_>>| {
            address
                .and_then(|address| address.first())
                .map(|addr| {
                    format!(
                        "{} <{}>",
                        addr.name().unwrap_or_default(),
                        addr.address().unwrap_or_default()
                    )
                })
                .unwrap_or_default()
        };
        Self {
            from: addresses(message.from()),
            to: addresses(message.to()),
            subject: message.subject().unwrap_or_default().to_owned(),
            message_id: message
                .message_id()
                .map(|id| format!("<{id}>"))
                .unwrap_or_default(),
            text: message
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: message
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        }
    }

    /// The value after `label` on its line of the text part.
    pub fn line_value(&self, label: &str) -> String {
        self.text
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("no line « {label} » in:\n{}", self.text))
            .trim()
            .to_owned()
    }

    /// The path of the first link of the text part whose path starts with
    /// `prefix` (the host is the town's public one; tests send the path to
    /// the test server).
    pub fn link_path(&self, prefix: &str) -> String {
        self.text
            .split_whitespace()
            .filter_map(|word| {
                word.strip_prefix("http://")
                    .or_else(|| word.strip_prefix("https://"))
            })
            .filter_map(|rest| rest.find('/').map(|slash| rest[slash..].to_owned()))
            .find(|path| path.starts_with(prefix))
            .unwrap_or_else(|| panic!("no link to {prefix} in:\n{}", self.text))
    }
}
