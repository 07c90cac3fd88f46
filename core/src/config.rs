//! Configuration: built-in defaults, then `guichet.toml`, then `GUICHET_*`
//! environment variables, each layer overriding the previous one.
//!
//! Error policy: configuration is read once, at startup. Any problem — an
//! unknown key, a value of the wrong type, a URL that cannot work — stops the
//! process with a [`ConfigError`] that names the key and where it came from
//! (the file, the environment variable, or the built-in default), so that the
//! operator can fix it without reading code.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::{Figment, Source};
use serde::{Deserialize, Serialize};
use url::Url;

/// Environment variable that overrides the path of the configuration file.
pub const CONFIG_PATH_VARIABLE: &str = "GUICHET_CONFIG";
/// The configuration file read when none is named.
pub const DEFAULT_CONFIG_PATH: &str = "guichet.toml";
const ENV_PREFIX: &str = "GUICHET_";
/// Our own events at `info`; the frameworks' chatter (one line per request
/// from Rocket, one per migration step) only when it matters. Rocket says
/// "Rocket has launched" as a warning at every start, which is no warning
/// (`serve` says where it listens, the demo prints its addresses).
pub const DEFAULT_LOG_FILTER: &str = "info,rocket=warn,rocket::launch=error,sea_orm_migration=warn";
/// The secret key is decoded from base64 and must hold at least this many bytes.
pub const SECRET_KEY_MIN_BYTES: usize = 32;

/// The whole configuration of one Guichet process.
///
/// Every field is documented in `guichet.example.toml`, which a test keeps in
/// step with this struct.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path/to/file.sqlite` or `postgres://user@host/db`.
    pub database_url: String,
    /// How long a request waits for a database connection before it is
    /// answered 503 (with `Retry-After`) rather than left hanging.
    pub database_acquire_timeout_ms: u32,
    /// `smtp://host:port` or `smtps://user:password@host`; none keeps mail
    /// in the outbox (and, in the demo, in the local mailbox).
    pub smtp_url: Option<String>,
    /// Towns answer on `<slug>.<base_domain>` (and on their custom domains).
    pub base_domain: String,
    pub address: IpAddr,
    pub port: u16,
    /// Base64 of at least 32 random bytes; keys the CSRF tokens.
    pub secret_key: Option<String>,
    /// Scheme of the links in mails; with `https`, cookies are `Secure` and
    /// `__Host-` prefixed.
    pub public_scheme: PublicScheme,
    /// Port in the links of mails, when towns are not served on the
    /// scheme's default port.
    pub public_port: Option<u16>,
    /// Header holding the client's address, set by a trusted reverse proxy
    /// (`X-Real-IP`); none when Guichet faces clients directly.
    pub ip_header: Option<String>,
    /// A session ends after this long without a request…
    pub session_idle_minutes: u32,
    /// …and after this long in any case.
    pub session_absolute_hours: u32,
    /// Threads hashing passwords (argon2id, one login's check at a time
    /// each); none set: one per core. On a machine of few cores, fewer
    /// keep cores for the pages during a login storm, at the price of the
    /// logins' rate (docs/PERFORMANCE.md, tenth round). Beside a
    /// PostgreSQL of the same machine, see [`Self::scheduling_doubts`].
    pub password_hash_threads: Option<u32>,
    /// First delay before retrying a mail the SMTP server refused; it
    /// doubles at each attempt, up to an hour.
    pub mail_retry_seconds: u32,
    /// Mails each instance sends at once, each over its own pooled SMTP
    /// connection. Many, because each message waits some 40 ms for the
    /// server's delayed ACK (lettre 0.11 leaves Nagle's algorithm on; see
    /// docs/PERFORMANCE.md): parallel connections hide that wait.
    pub mail_concurrency: u32,
    /// Theme folders on disk; when absent, the themes built into the binary.
    pub themes_dir: PathBuf,
    /// Reload templates and assets on every request (demo and development).
    pub dev_mode: bool,
    /// Compiled modules, keyed by content hash and engine version.
    pub module_cache_dir: PathBuf,
    /// Linear memory a module call may use.
    pub module_memory_mib: u32,
    /// Computation a module call may use before it is interrupted.
    pub module_cpu_ms: u32,
    /// Wall-clock time a module call may take, host calls included.
    pub module_timeout_ms: u32,
    /// Module calls running at once; more wait briefly, then get "indisponible".
    pub module_concurrency: u32,
    /// How long a submitted form (a module's `act`, a resident's or the
    /// staff's) waits for a free module slot before "indisponible": a rush
    /// of residents queues rather than loses what they submitted. Renders
    /// wait one second.
    pub module_act_wait_ms: u32,
    /// What a module may store for one resident of a town, unless the town's
    /// `tenant.toml` says otherwise.
    pub module_storage_resident_kib: u32,
    /// What a module may store in a town, every resident's data included,
    /// unless the town's `tenant.toml` says otherwise.
    pub module_storage_town_kib: u32,
    /// The share of `module_concurrency` one town's calls may hold, in
    /// percent: a saturated town leaves the others the rest.
    pub module_concurrency_town_percent: u32,
    /// The share of `module_concurrency` one module of one town may hold.
    pub module_concurrency_module_percent: u32,
    /// Memory for residents' module views kept and shown again while
    /// nothing they read has changed (modules/view_cache.rs), in MiB; 0
    /// renders every view.
    pub module_view_cache_mib: u32,
    /// Memory for residents' home pages kept and shown again while
    /// nothing they show has changed (web/kit/page_cache.rs), in MiB; 0
    /// renders every page.
    pub page_cache_mib: u32,
    /// The module publishers this server trusts: a name (shown to towns)
    /// for each minisign public key (`RW…`). `guichet module publish`
    /// records who signed a release; an id belongs to its first signed
    /// publisher.
    pub module_publishers: BTreeMap<String, String>,
    /// Take releases that are not signed, or signed by a key not above,
    /// recorded as unsigned: for development (the demo does), never for
    /// towns' residents.
    pub allow_unsigned_modules: bool,
    /// PayFiP's address (its SOAP service and payment page are under it):
    /// the DGFiP's, or a server in its shape for tests and the demo.
    pub payfip_url: String,
    /// Log filter, in `tracing` syntax (`info`, `guichet=debug,sqlx=warn`).
    pub log: String,
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum PublicScheme {
    Http,
    #[default]
    Https,
}

impl PublicScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/guichet.sqlite".to_owned(),
            database_acquire_timeout_ms: 2000,
            smtp_url: None,
            base_domain: "localhost".to_owned(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8000,
            secret_key: None,
            public_scheme: PublicScheme::Https,
            public_port: None,
            ip_header: None,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            password_hash_threads: None,
            mail_retry_seconds: 30,
            mail_concurrency: 16,
            themes_dir: PathBuf::from("themes"),
            dev_mode: false,
            module_cache_dir: PathBuf::from("data/modules"),
            module_memory_mib: 32,
            module_cpu_ms: 100,
            module_timeout_ms: 2000,
            module_concurrency: 32,
            module_act_wait_ms: 30_000,
            module_storage_resident_kib: crate::modules::StorageQuota::DEFAULT_RESIDENT_KIB,
            module_storage_town_kib: crate::modules::StorageQuota::DEFAULT_TOWN_KIB,
            module_concurrency_town_percent: 50,
            module_concurrency_module_percent: 25,
            module_view_cache_mib: 64,
            page_cache_mib: 64,
            module_publishers: BTreeMap::new(),
            allow_unsigned_modules: false,
            payfip_url: crate::payments::payfip::DEFAULT_BASE_URL.to_owned(),
            log: DEFAULT_LOG_FILTER.to_owned(),
            log_format: LogFormat::Text,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    #[error(
        "no demo has started from this folder ({} is written when `guichet demo` starts): \
         start the demo here first, or leave out --demo",
        .0.display()
    )]
    NoDemo(PathBuf),
    #[error("{}", describe_figment_error(.figment, .error))]
    Unreadable {
        figment: Box<Figment>,
        error: Box<figment::Error>,
    },
    #[error("invalid configuration: `{key}` (from {origin}) {reason}")]
    Invalid {
        key: &'static str,
        origin: String,
        reason: String,
    },
}

/// Where the configuration file is, and whether it must exist.
#[derive(Debug, Clone)]
pub enum ConfigFile {
    /// Named on the command line or by `GUICHET_CONFIG`: it must exist.
    Explicit(PathBuf),
    /// `guichet.toml` in the working directory, read if present.
    Default,
    /// `--demo`: the configuration the demo started from this folder wrote
    /// ([`DEMO_CONFIG_PATH`]), over the demo's defaults, so that a command
    /// run beside the demo acts on the demo's database with its key and
    /// its links.
    Demo,
}

/// What `guichet demo` keeps from one run to the next, beside its database.
pub const DEMO_DIR: &str = "data/demo";
/// The running demo's configuration, which `--demo` reads.
pub const DEMO_CONFIG_PATH: &str = "data/demo/guichet.toml";

impl ConfigFile {
    /// `--demo`, else the file named by `--config`, else by
    /// `GUICHET_CONFIG`, else the default.
    pub fn from_cli_or_env(cli: Option<PathBuf>, demo: bool) -> Self {
        if demo {
            return Self::Demo;
        }
        cli.or_else(|| std::env::var_os(CONFIG_PATH_VARIABLE).map(PathBuf::from))
            .map_or(Self::Default, Self::Explicit)
    }

    /// Whether the commands act on the demo's database.
    pub fn is_demo(&self) -> bool {
        matches!(self, Self::Demo)
    }
}

impl Config {
    /// Reads the three layers: defaults, the file, the environment (with
    /// `--demo`, the demo's defaults and the file the demo wrote).
    pub fn load(file: &ConfigFile) -> Result<Self, ConfigError> {
        let defaults = if file.is_demo() {
            Self::demo_defaults()
        } else {
            Self::default()
        };
        Self::load_over(defaults, file)
    }

    /// The defaults of `guichet demo`: its own database, plain HTTP on
    /// localhost, templates reloaded.
    pub fn demo_defaults() -> Self {
        Self {
            database_url: format!("sqlite://{DEMO_DIR}/guichet.sqlite"),
            public_scheme: PublicScheme::Http,
            dev_mode: true,
            // Local development: modules built here are not signed.
            allow_unsigned_modules: true,
            ..Self::default()
        }
    }

    /// Like [`Config::load`], with other built-in defaults.
    pub fn load_over(defaults: Self, file: &ConfigFile) -> Result<Self, ConfigError> {
        let path = match file {
            ConfigFile::Explicit(path) if !path.is_file() => {
                return Err(ConfigError::MissingFile(path.clone()));
            }
            ConfigFile::Explicit(path) => Some(path.as_path()),
            ConfigFile::Demo if !Path::new(DEMO_CONFIG_PATH).is_file() => {
                return Err(ConfigError::NoDemo(PathBuf::from(DEMO_CONFIG_PATH)));
            }
            ConfigFile::Demo => Some(Path::new(DEMO_CONFIG_PATH)),
            // The default file is optional, and looked for here only.
            ConfigFile::Default => {
                Some(Path::new(DEFAULT_CONFIG_PATH)).filter(|path| path.is_file())
            }
        };
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(path) = path {
            figment = figment.merge(Toml::file_exact(path));
        }
        let figment = figment.merge(Env::prefixed(ENV_PREFIX).ignore(&["CONFIG"]));
        Self::from_figment(figment)
    }

    /// Extracts and checks a configuration from any set of providers.
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut config: Self = figment.extract().map_err(|error| ConfigError::Unreadable {
            figment: Box::new(figment.clone()),
            error: Box::new(error),
        })?;
        config.validate(&figment)?;
        Ok(config)
    }

    fn validate(&mut self, figment: &Figment) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, reason: String| ConfigError::Invalid {
            key,
            origin: origin_of(figment, key),
            reason,
        };

        let database = Url::parse(&self.database_url).map_err(|error| {
            invalid(
                "database_url",
                format!("is not a URL ({error}); expected sqlite://FILE or postgres://USER@HOST/DATABASE"),
            )
        })?;
        if !matches!(database.scheme(), "sqlite" | "postgres" | "postgresql") {
            return Err(invalid(
                "database_url",
                format!(
                    "uses the scheme `{}`; expected sqlite:// or postgres://",
                    database.scheme()
                ),
            ));
        }

        if let Some(smtp) = &self.smtp_url {
            let smtp = Url::parse(smtp).map_err(|error| {
                invalid(
                    "smtp_url",
                    format!("is not a URL ({error}); expected smtp://HOST:PORT"),
                )
            })?;
            if !matches!(smtp.scheme(), "smtp" | "smtps") || smtp.host_str().is_none() {
                return Err(invalid(
                    "smtp_url",
                    "must look like smtp://HOST:PORT or smtps://USER:PASSWORD@HOST".to_owned(),
                ));
            }
        }

        self.base_domain = self.base_domain.trim_end_matches('.').to_ascii_lowercase();
        if !is_valid_hostname(&self.base_domain) {
            return Err(invalid(
                "base_domain",
                format!(
                    "`{}` is not a host name (letters, digits and hyphens, separated by dots)",
                    self.base_domain
                ),
            ));
        }

        if let Some(key) = &self.secret_key {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .map_err(|_| {
                    invalid(
                        "secret_key",
                        "is not base64; generate one with `openssl rand -base64 32`".to_owned(),
                    )
                })?;
            if bytes.len() < SECRET_KEY_MIN_BYTES {
                return Err(invalid(
                    "secret_key",
                    format!(
                        "holds {} bytes; at least {SECRET_KEY_MIN_BYTES} are needed (`openssl rand -base64 32`)",
                        bytes.len()
                    ),
                ));
            }
        }

        if self.session_idle_minutes == 0 || self.session_absolute_hours == 0 {
            let key = if self.session_idle_minutes == 0 {
                "session_idle_minutes"
            } else {
                "session_absolute_hours"
            };
            return Err(invalid(key, "must be at least 1".to_owned()));
        }
        if let Some(threads) = self.password_hash_threads
            && !(1..=256).contains(&threads)
        {
            return Err(invalid(
                "password_hash_threads",
                "must be between 1 and 256 (leave it out for one per core)".to_owned(),
            ));
        }
        if self.mail_retry_seconds == 0 {
            return Err(invalid(
                "mail_retry_seconds",
                "must be at least 1".to_owned(),
            ));
        }

        for (key, value, range) in [
            (
                "database_acquire_timeout_ms",
                self.database_acquire_timeout_ms,
                100..=60_000,
            ),
            ("mail_concurrency", self.mail_concurrency, 1..=256),
            ("module_memory_mib", self.module_memory_mib, 1..=4096),
            ("module_cpu_ms", self.module_cpu_ms, 1..=60_000),
            ("module_timeout_ms", self.module_timeout_ms, 1..=600_000),
            ("module_concurrency", self.module_concurrency, 1..=10_000),
            ("module_act_wait_ms", self.module_act_wait_ms, 0..=600_000),
            (
                "module_view_cache_mib",
                self.module_view_cache_mib,
                0..=65_536,
            ),
            ("page_cache_mib", self.page_cache_mib, 0..=65_536),
            (
                "module_storage_resident_kib",
                self.module_storage_resident_kib,
                1..=u32::MAX,
            ),
            (
                "module_storage_town_kib",
                self.module_storage_town_kib,
                1..=u32::MAX,
            ),
            (
                "module_concurrency_town_percent",
                self.module_concurrency_town_percent,
                1..=100,
            ),
            (
                "module_concurrency_module_percent",
                self.module_concurrency_module_percent,
                1..=100,
            ),
        ] {
            if !range.contains(&value) {
                return Err(invalid(
                    key,
                    format!("must be between {} and {}", range.start(), range.end()),
                ));
            }
        }
        if self.module_timeout_ms < self.module_cpu_ms {
            return Err(invalid(
                "module_timeout_ms",
                "must be at least module_cpu_ms".to_owned(),
            ));
        }

        match Url::parse(&self.payfip_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            _ => {
                return Err(invalid(
                    "payfip_url",
                    "is not an http(s) address (PayFiP's is https://www.payfip.gouv.fr/tpa)"
                        .to_owned(),
                ));
            }
        }

        if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&self.log) {
            return Err(invalid("log", format!("is not a log filter ({error})")));
        }
        if let Err((name, error)) = crate::modules::trust::PublisherTrust::new(
            &self.module_publishers,
            self.allow_unsigned_modules,
        ) {
            return Err(invalid(
                "module_publishers",
                format!("entry `{name}`: {error}"),
            ));
        }
        Ok(())
    }

    /// The keys of `module_publishers` (and Guichet's own) as the module
    /// registry checks signatures with; an invalid key names its entry.
    pub fn publisher_trust(&self) -> Result<crate::modules::trust::PublisherTrust, ConfigError> {
        crate::modules::trust::PublisherTrust::new(
            &self.module_publishers,
            self.allow_unsigned_modules,
        )
        .map_err(|(name, error)| ConfigError::Invalid {
            key: "module_publishers",
            origin: "the configuration".to_owned(),
            reason: format!("entry `{name}`: {error}"),
        })
    }

    /// The SQLite file `database_url` names, if it names one (not
    /// PostgreSQL, not an in-memory database).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let path = rest.trim_start_matches("//");
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// What looks wrong in the links mails carry (`public_scheme`,
    /// `public_port`, `base_domain`) for the address this server listens
    /// on: each doubt a sentence naming the key to change. Links are built
    /// from these settings and the town's host, never from a request's
    /// `Host` header, so a wrong setting gives dead links in every mail.
    pub fn public_url_doubts(&self) -> Vec<String> {
        let local = self.base_domain == "localhost" || self.base_domain.ends_with(".localhost");
        let default_port = match self.public_scheme {
            PublicScheme::Http => 80,
            PublicScheme::Https => 443,
        };
        let example = format!(
            "{}://<town>.{}{}/",
            self.public_scheme.as_str(),
            self.base_domain,
            self.public_port
                .map(|port| format!(":{port}"))
                .unwrap_or_default()
        );
        let mut doubts = Vec::new();
        if local && self.public_scheme == PublicScheme::Https {
            doubts.push(format!(
                "links in mails read {example}, but this server speaks plain HTTP on {}: \
                 set public_scheme = \"http\" unless a local proxy serves HTTPS",
                self.base_domain
            ));
        }
        if local && self.public_port.is_none() && self.port != default_port {
            doubts.push(format!(
                "links in mails read {example} (no port), but this server listens on port {}: \
                 set public_port = {}",
                self.port, self.port
            ));
        }
        if !local && self.public_scheme == PublicScheme::Http {
            doubts.push(format!(
                "links in mails read {example}: passwords would cross the network in clear; \
                 set public_scheme = \"https\" and serve behind a TLS proxy"
            ));
        }
        doubts
    }

    /// How many threads hash passwords: `password_hash_threads`, or one per
    /// core (`cores`).
    pub fn hash_threads(&self, cores: usize) -> usize {
        self.password_hash_threads
            .map_or(cores, |threads| usize::try_from(threads).unwrap_or(1))
            .max(1)
    }

    /// Whether the database is a PostgreSQL server on this machine: a
    /// loopback host, or a Unix socket (no host, or a path).
    pub fn postgres_on_this_machine(&self) -> bool {
        let Ok(url) = Url::parse(&self.database_url) else {
            return false;
        };
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return false;
        }
        let socket_in_query = url
            .query_pairs()
            .any(|(key, value)| key == "host" && value.starts_with('/'));
        match url.host() {
            _ if socket_in_query => true,
            None => true,
            // A `postgres:` URL's host is opaque to the URL standard: an
            // address comes as text.
            Some(url::Host::Domain(domain)) => match domain.parse::<IpAddr>() {
                Ok(ip) => ip.is_loopback(),
                Err(_) => {
                    domain.is_empty()
                        || domain.eq_ignore_ascii_case("localhost")
                        // A socket's path, percent-encoded.
                        || domain.get(..3).is_some_and(|start| start.eq_ignore_ascii_case("%2f"))
                }
            },
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        }
    }

    /// What keeps the password hashing from giving way to the pages on this
    /// machine, given whether the kernel schedules processes by session
    /// (`kernel.sched_autogroup_enabled`, `None` where unknown) and the
    /// number of cores. The hashing threads run under `SCHED_IDLE`, which
    /// orders threads within one scheduling group only; with autogroups,
    /// PostgreSQL (a daemon in a session of its own) is another group, so a
    /// core hashing is shared with PostgreSQL's backends as with any busy
    /// process, and the pages, which wait for those backends, stall during
    /// a login storm: up to half a second, measured (docs/PERFORMANCE.md,
    /// eleventh round). Nothing to say when PostgreSQL is elsewhere (SQLite
    /// runs in this process), or when a core is left free of hashing.
    pub fn scheduling_doubts(&self, autogroup: Option<bool>, cores: usize) -> Vec<String> {
        let threads = self.hash_threads(cores);
        if autogroup != Some(true) || !self.postgres_on_this_machine() || threads < cores {
            return Vec::new();
        }
        let fewer = if cores > 1 {
            format!(
                ", or password_hash_threads = {} to keep a core from hashing",
                cores - 1
            )
        } else {
            String::new()
        };
        vec![format!(
            "the kernel schedules processes by session (kernel.sched_autogroup_enabled = 1): \
             PostgreSQL on this machine shares the cores with this server as a group of its own, \
             which the password hashing threads do not give way to as they do to the pages; \
             during a login storm pages would stall, waiting for PostgreSQL, for up to hundreds \
             of milliseconds. Set the sysctl kernel.sched_autogroup_enabled = 0{fewer} \
             (docs/PERFORMANCE.md, eleventh round)"
        )]
    }

    /// How long a request waits for a database connection.
    pub fn database_acquire_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.database_acquire_timeout_ms))
    }

    /// The decoded secret key, or an error naming the key when `serve` needs one.
    pub fn require_secret_key(&self) -> Result<Vec<u8>, ConfigError> {
        let Some(key) = &self.secret_key else {
            return Err(ConfigError::Invalid {
                key: "secret_key",
                origin: "the configuration".to_owned(),
                reason: "is missing; set GUICHET_SECRET_KEY or `secret_key` in guichet.toml \
                         to the output of `openssl rand -base64 32`"
                    .to_owned(),
            });
        };
        // Already checked by `validate`; decoding again keeps one code path.
        base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| ConfigError::Invalid {
                key: "secret_key",
                origin: "the configuration".to_owned(),
                reason: "is not base64".to_owned(),
            })
    }
}

/// A host name as DNS allows it: dot-separated labels of ASCII letters,
/// digits and inner hyphens, 253 characters at most.
pub fn is_valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// "file /etc/guichet.toml", "environment variable GUICHET_PORT" or "built-in default".
fn origin_of(figment: &Figment, key: &str) -> String {
    match figment.find_metadata(key) {
        Some(metadata) => describe_metadata(metadata, key),
        None => "built-in default".to_owned(),
    }
}

fn describe_metadata(metadata: &figment::Metadata, key: &str) -> String {
    match &metadata.source {
        Some(Source::File(path)) => format!("file {}", path.display()),
        _ if metadata.name.contains("environment") => {
            format!(
                "environment variable {ENV_PREFIX}{}",
                key.to_ascii_uppercase()
            )
        }
        _ if metadata.name.contains("Serialized") => "built-in default".to_owned(),
        _ => metadata.name.to_string(),
    }
}

/// One line per problem, each naming the key and where it came from.
fn describe_figment_error(figment: &Figment, error: &figment::Error) -> String {
    let lines: Vec<String> = error
        .clone()
        .into_iter()
        .map(|error| {
            use figment::error::Kind;
            // An unknown key is reported on the enclosing table: find which
            // layer brought the key itself.
            let (key, origin) = match &error.kind {
                Kind::UnknownField(field, _) => (field.clone(), origin_of(figment, field)),
                _ => {
                    let key = error.path.join(".");
                    let origin = match &error.metadata {
                        Some(metadata) => describe_metadata(metadata, &key),
                        None => origin_of(figment, &key),
                    };
                    (key, origin)
                }
            };
            let reason = match &error.kind {
                Kind::UnknownField(..) => {
                    "is not a known setting (see guichet.example.toml)".to_owned()
                }
                Kind::InvalidType(actual, expected) => {
                    format!("has the wrong type: found {actual}, expected {expected}")
                }
                other => other.to_string(),
            };
            format!("invalid configuration: `{key}` (from {origin}) {reason}")
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Result<Config, ConfigError> {
        let figment =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml));
        Config::from_figment(figment)
    }

    #[test]
    fn defaults_are_valid() {
        let config = load("").unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let error = load("databse_url = 'sqlite://x'").unwrap_err().to_string();
        assert!(error.contains("`databse_url`"), "{error}");
        assert!(error.contains("not a known setting"), "{error}");
    }

    #[test]
    fn wrong_type_is_named() {
        let error = load("port = 'eighty'").unwrap_err().to_string();
        assert!(error.contains("`port`"), "{error}");
        assert!(error.contains("wrong type"), "{error}");
    }

    #[test]
    fn bad_database_url_is_named() {
        let error = load("database_url = 'mysql://db'").unwrap_err().to_string();
        assert!(error.contains("`database_url`"), "{error}");
        assert!(error.contains("mysql"), "{error}");
        let error = load("database_url = 'not a url'").unwrap_err().to_string();
        assert!(error.contains("is not a URL"), "{error}");
    }

    #[test]
    fn the_database_wait_is_bounded() {
        let config = load("database_acquire_timeout_ms = 500").unwrap();
        assert_eq!(
            config.database_acquire_timeout(),
            std::time::Duration::from_millis(500)
        );
        for bad in ["0", "99", "60001"] {
            let error = load(&format!("database_acquire_timeout_ms = {bad}"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("`database_acquire_timeout_ms`"), "{error}");
            assert!(error.contains("between 100 and 60000"), "{error}");
        }
    }

    #[test]
    fn password_hash_threads_are_one_per_core_unless_set() {
        assert_eq!(load("").unwrap().password_hash_threads, None);
        assert_eq!(
            load("password_hash_threads = 1")
                .unwrap()
                .password_hash_threads,
            Some(1)
        );
        for threads in ["0", "257"] {
            let error = load(&format!("password_hash_threads = {threads}"))
                .unwrap_err()
                .to_string();
            assert!(error.contains("`password_hash_threads`"), "{error}");
            assert!(error.contains("between 1 and 256"), "{error}");
        }
    }

    #[test]
    fn postgres_on_this_machine_is_a_loopback_host_or_a_socket() {
        let on_this_machine = |url: &str| {
            load(&format!("database_url = '{url}'"))
                .unwrap()
                .postgres_on_this_machine()
        };
        for here in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgresql://guichet@localhost/guichet",
            "postgres://guichet@[::1]/guichet",
            "postgres:///guichet",
            "postgres://guichet@%2Fvar%2Frun%2Fpostgresql/guichet",
            "postgres://guichet@%2fvar%2frun%2fpostgresql/guichet",
            "postgres:///guichet?host=/var/run/postgresql",
        ] {
            assert!(on_this_machine(here), "{here}");
        }
        for elsewhere in [
            "postgres://guichet@db.example.fr/guichet",
            "postgres://guichet@10.0.0.5:5432/guichet",
            "sqlite://data/guichet.sqlite?mode=rwc",
        ] {
            assert!(!on_this_machine(elsewhere), "{elsewhere}");
        }
    }

    #[test]
    fn hashing_beside_a_local_postgres_in_another_scheduling_group_is_named() {
        let local = "database_url = 'postgres://postgres@127.0.0.1:5432/test'";
        let config = load(local).unwrap();
        let doubts = config.scheduling_doubts(Some(true), 2);
        assert_eq!(doubts.len(), 1, "{doubts:?}");
        assert!(
            doubts[0].contains("kernel.sched_autogroup_enabled = 0"),
            "{doubts:?}"
        );
        assert!(
            doubts[0].contains("password_hash_threads = 1"),
            "{doubts:?}"
        );
        // One core: no fewer threads to suggest, the sysctl still.
        let single = config.scheduling_doubts(Some(true), 1);
        assert!(!single[0].contains("password_hash_threads"), "{single:?}");
        // Nothing to say: no autogroups (or unknown), a core left free of
        // hashing, PostgreSQL elsewhere, SQLite.
        assert!(config.scheduling_doubts(Some(false), 2).is_empty());
        assert!(config.scheduling_doubts(None, 2).is_empty());
        let fewer = load(&format!("{local}\npassword_hash_threads = 1")).unwrap();
        assert!(fewer.scheduling_doubts(Some(true), 2).is_empty());
        let remote = load("database_url = 'postgres://g@db.example.fr/g'").unwrap();
        assert!(remote.scheduling_doubts(Some(true), 2).is_empty());
        let sqlite = load("database_url = 'sqlite://data/g.sqlite?mode=rwc'").unwrap();
        assert!(sqlite.scheduling_doubts(Some(true), 2).is_empty());
    }

    #[test]
    fn short_secret_key_is_refused() {
        let error = load("secret_key = 'c2hvcnQ='").unwrap_err().to_string();
        assert!(error.contains("`secret_key`"), "{error}");
        assert!(error.contains("at least 32"), "{error}");
    }

    #[test]
    fn base_domain_is_normalised_and_checked() {
        let config = load("base_domain = 'Example.FR.'").unwrap();
        assert_eq!(config.base_domain, "example.fr");
        assert!(load("base_domain = 'exa mple.fr'").is_err());
    }

    #[test]
    fn doubtful_public_links_are_named() {
        // The defaults (https, no port) on localhost:8000 give dead links.
        let doubts = load("").unwrap().public_url_doubts();
        assert_eq!(doubts.len(), 2, "{doubts:?}");
        assert!(doubts[0].contains("public_scheme = \"http\""), "{doubts:?}");
        assert!(doubts[1].contains("public_port = 8000"), "{doubts:?}");
        // What the demo sets: nothing to say.
        let demo = load("public_scheme = 'http'\npublic_port = 8000").unwrap();
        assert_eq!(demo.public_url_doubts(), Vec::<String>::new());
        // A real domain behind a proxy on 443: nothing to say…
        let real = load("base_domain = 'guichet.example.fr'").unwrap();
        assert_eq!(real.public_url_doubts(), Vec::<String>::new());
        // …but plain http there is named.
        let clear = load("base_domain = 'guichet.example.fr'\npublic_scheme = 'http'").unwrap();
        assert!(clear.public_url_doubts()[0].contains("public_scheme = \"https\""));
    }

    #[test]
    fn the_sqlite_file_is_read_from_the_url() {
        let file = |url: &str| {
            load(&format!("database_url = '{url}'"))
                .unwrap()
                .sqlite_file()
        };
        assert_eq!(
            file("sqlite://data/x.sqlite?mode=rwc"),
            Some(PathBuf::from("data/x.sqlite"))
        );
        assert_eq!(
            file("sqlite:///tmp/x.sqlite"),
            Some(PathBuf::from("/tmp/x.sqlite"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://u@h/db"), None);
    }

    #[test]
    fn hostnames() {
        assert!(is_valid_hostname("villeneuve.localhost"));
        assert!(is_valid_hostname("xn--saint-martin-9ib.fr"));
        for bad in ["", "-a.fr", "a-.fr", "a..fr", "a_b.fr", &"a".repeat(64)] {
            assert!(!is_valid_hostname(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    const EXAMPLE: &str = include_str!("../../guichet.example.toml");

    #[test]
    fn the_example_file_is_valid_and_matches_the_defaults() {
        let figment =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(EXAMPLE));
        assert_eq!(Config::from_figment(figment).unwrap(), Config::default());
    }

    #[test]
    fn the_example_file_documents_every_key() {
        let keys = [
            "database_url",
            "database_acquire_timeout_ms",
            "smtp_url",
            "base_domain",
            "address",
            "port",
            "secret_key",
            "public_scheme",
            "public_port",
            "ip_header",
            "session_idle_minutes",
            "session_absolute_hours",
            "password_hash_threads",
            "mail_retry_seconds",
            "mail_concurrency",
            "themes_dir",
            "dev_mode",
            "module_cache_dir",
            "module_memory_mib",
            "module_cpu_ms",
            "module_timeout_ms",
            "module_concurrency",
            "module_act_wait_ms",
            "module_storage_resident_kib",
            "module_storage_town_kib",
            "module_concurrency_town_percent",
            "module_concurrency_module_percent",
            "module_view_cache_mib",
            "page_cache_mib",
            "module_publishers",
            "allow_unsigned_modules",
            "payfip_url",
            "log",
            "log_format",
        ];
        // Every field of `Config` is listed above: this fails to compile
        // when a field is added and not named here.
        let Config {
            database_url: _,
            database_acquire_timeout_ms: _,
            smtp_url: _,
            base_domain: _,
            address: _,
            port: _,
            secret_key: _,
            public_scheme: _,
            public_port: _,
            ip_header: _,
            session_idle_minutes: _,
            session_absolute_hours: _,
            password_hash_threads: _,
            mail_retry_seconds: _,
            mail_concurrency: _,
            themes_dir: _,
            dev_mode: _,
            module_cache_dir: _,
            module_memory_mib: _,
            module_cpu_ms: _,
            module_timeout_ms: _,
            module_concurrency: _,
            module_act_wait_ms: _,
            module_storage_resident_kib: _,
            module_storage_town_kib: _,
            module_concurrency_town_percent: _,
            module_concurrency_module_percent: _,
            module_view_cache_mib: _,
            page_cache_mib: _,
            module_publishers: _,
            allow_unsigned_modules: _,
            payfip_url: _,
            log: _,
            log_format: _,
        } = Config::default();
        for key in keys {
            let documented = EXAMPLE.lines().any(|line| {
                line.trim_start_matches("# ")
                    .starts_with(&format!("{key} ="))
            });
            assert!(documented, "guichet.example.toml does not document `{key}`");
        }
    }
}
