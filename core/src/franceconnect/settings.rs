//! `[franceconnect]` in `tenant.toml`:
//!
//! ```toml
//! [franceconnect]
//! enabled = true
//! issuer = "https://oidc.franceconnect.gouv.fr/api/v2"
//! client_id = "2f5b…"
//! client_secret_env = "VILLENEUVE_FRANCECONNECT_SECRET"
//! scopes = ["openid", "given_name", "family_name", "email", "birthdate"]
//! allow_account_creation = false
//! ```
//!
//! The secret itself never sits in the definition (which is stored in the
//! database): it is read from the named environment variable when a
//! resident uses FranceConnect.

use serde::{Deserialize, Serialize};

use crate::tenancy::Section;

/// What FranceConnect v2 gives when nothing else is asked.
pub const DEFAULT_SCOPES: [&str; 5] = ["openid", "given_name", "family_name", "email", "birthdate"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FranceConnectSettings {
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// The provider's issuer; discovery is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The environment variable that holds the client secret.
    pub client_secret_env: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// A resident whose identity is linked to no account may create one.
    #[serde(default)]
    pub allow_account_creation: bool,
}

fn enabled_by_default() -> bool {
    true
}

fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES
        .iter()
        .map(|scope| (*scope).to_owned())
        .collect()
}

/// `[franceconnect]`: none means password login only.
impl Section for Option<FranceConnectSettings> {
    const KEY: &'static str = "franceconnect";

    fn validate_section(&self) -> Result<(), String> {
        self.as_ref()
            .map_or(Ok(()), FranceConnectSettings::validate)
    }
}

impl FranceConnectSettings {
    /// Checks the settings; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let issuer = url::Url::parse(&self.issuer).map_err(|error| {
            format!(
                "franceconnect.issuer `{}` is not a URL: {error}",
                self.issuer
            )
        })?;
        let loopback = matches!(issuer.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if issuer.scheme() != "https" && !(issuer.scheme() == "http" && loopback) {
            return Err(format!(
                "franceconnect.issuer `{}` must be an https:// URL (http:// is accepted on this machine only)",
                self.issuer
            ));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(format!(
                "franceconnect.issuer `{}` must have no query and no fragment",
                self.issuer
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err("franceconnect.client_id is empty".to_owned());
        }
        let name = &self.client_secret_env;
        let well_formed = name
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_uppercase() || first == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(format!(
                "franceconnect.client_secret_env `{name}` must be an environment variable name \
                 (capital letters, digits and underscores)"
            ));
        }
        if name.starts_with("GUICHET_") {
            return Err(format!(
                "franceconnect.client_secret_env `{name}` must not start with GUICHET_ \
                 (those variables are Guichet's own configuration keys)"
            ));
        }
        if !self.scopes.iter().any(|scope| scope == "openid") {
            return Err("franceconnect.scopes must include `openid`".to_owned());
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .find(|scope| scope.is_empty() || !scope.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(format!(
                "franceconnect.scopes: `{scope}` is not a scope name"
            ));
        }
        Ok(())
    }

    /// The issuer as compared with tokens' `iss` and stored in links.
    pub fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FranceConnectSettings {
        FranceConnectSettings {
            enabled: true,
            issuer: "https://oidc.franceconnect.gouv.fr/api/v2".to_owned(),
            client_id: "client".to_owned(),
            client_secret_env: "VILLENEUVE_FC_SECRET".to_owned(),
            scopes: default_scopes(),
            allow_account_creation: false,
        }
    }

    #[test]
    fn good_settings_pass() {
        assert_eq!(settings().validate(), Ok(()));
        let local = FranceConnectSettings {
            issuer: "http://127.0.0.1:9780/api/v2".to_owned(),
            ..settings()
        };
        assert_eq!(local.validate(), Ok(()));
    }

    #[test]
    fn each_mistake_names_its_key() {
        let cases = [
            (
                FranceConnectSettings {
                    issuer: "http://fc.example.org/api/v2".to_owned(),
                    ..settings()
                },
                "franceconnect.issuer",
            ),
            (
                FranceConnectSettings {
                    client_id: " ".to_owned(),
                    ..settings()
                },
                "franceconnect.client_id",
            ),
            (
                FranceConnectSettings {
                    client_secret_env: "GUICHET_FC".to_owned(),
                    ..settings()
                },
                "must not start with GUICHET_",
            ),
            (
                FranceConnectSettings {
                    client_secret_env: "fc secret".to_owned(),
                    ..settings()
                },
                "franceconnect.client_secret_env",
            ),
            (
                FranceConnectSettings {
                    scopes: vec!["email".to_owned()],
                    ..settings()
                },
                "must include `openid`",
            ),
        ];
        for (settings, expected) in cases {
            let error = settings.validate().expect_err("refused");
            assert!(error.contains(expected), "{error}");
        }
    }
}
