//! The provider's answer at `/franceconnect/callback`, checked in one place.
//!
//! Order matters and follows OpenID Connect and RFC 9207: the flow this
//! browser started (its sealed cookie, opened by the web layer), then
//! `state`, then the answer's issuer, then the provider's own error, and
//! only then the code, exchanged and verified by [`FranceConnect::finish`].

use super::{FlowCookie, FranceConnect, FranceConnectError, VerifiedIdentity};
use crate::tenancy::Tenant;

/// The query of the provider's redirection.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackAnswer<'a> {
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    pub iss: Option<&'a str>,
}

/// Why an answer opened nothing.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No flow of this town in this browser (expired, or another browser).
    #[error("no flow for this answer")]
    NoFlow,
    /// The answer's `state` is not the flow's.
    #[error("the answer's state is not the flow's")]
    StateMismatch,
    /// The provider said no (`access_denied` when the person cancelled).
    #[error("the provider refused: {error}")]
    Refused {
        error: String,
        description: Option<String>,
    },
    /// Disabled, unreachable, or an answer that does not verify.
    #[error(transparent)]
    Failed(#[from] FranceConnectError),
}

impl CallbackError {
    /// The person cancelled at the provider.
    pub fn is_cancellation(&self) -> bool {
        matches!(self, Self::Refused { error, .. } if error == "access_denied")
    }
}

impl FranceConnect {
    /// Checks the provider's answer for the `flow` this browser started, and
    /// verifies the identity it carries.
    pub async fn callback(
        &self,
        tenant: &Tenant,
        flow: Option<FlowCookie>,
        answer: CallbackAnswer<'_>,
    ) -> Result<(FlowCookie, VerifiedIdentity), CallbackError> {
        let flow = flow.ok_or(CallbackError::NoFlow)?;
        if answer.state != Some(flow.state.as_str()) {
            tracing::warn!(town = %tenant.slug, "FranceConnect answered with another state");
            return Err(CallbackError::StateMismatch);
        }
        let expected_issuer = Self::settings(tenant)
            .map(|settings| settings.issuer().to_owned())
            .ok_or(FranceConnectError::Disabled)?;
        // RFC 9207: an answer that names another issuer is not for this flow.
        if let Some(iss) = answer.iss
            && iss.trim_end_matches('/') != expected_issuer
        {
            return Err(FranceConnectError::Protocol(format!(
                "the answer names the issuer {iss:?}"
            ))
            .into());
        }
        if let Some(error) = answer.error {
            tracing::info!(
                town = %tenant.slug,
                error,
                error_description = answer.error_description,
                "FranceConnect refused"
            );
            return Err(CallbackError::Refused {
                error: error.to_owned(),
                description: answer
                    .error_description
                    .map(str::trim)
                    .filter(|description| !description.is_empty())
                    .map(str::to_owned),
            });
        }
        let code = answer
            .code
            .filter(|code| !code.is_empty())
            .ok_or_else(|| FranceConnectError::Protocol("no code in the answer".to_owned()))?;
        let verified = self.finish(tenant, code, &flow).await?;
        Ok((flow, verified))
    }
}
