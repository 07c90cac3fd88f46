//! FranceConnect on the account side: a session opened by a password login
//! that linked an identity is marked as a FranceConnect one. (Creation and
//! login through FranceConnect are with the other creations and logins.)

use super::error::AccountError;
use super::service::Accounts;
use super::sessions;
use crate::tenancy::Tenant;

impl Accounts {
    /// Marks a session as opened through FranceConnect (after the identity
    /// was linked by a password login), so that logout goes through it.
    pub async fn attach_franceconnect(
        &self,
        tenant: &Tenant,
        session_token: &str,
        id_token: &str,
    ) -> Result<(), AccountError> {
        sessions::attach_id_token(&self.db, tenant.scope(), session_token, id_token).await?;
        Ok(())
    }
}
