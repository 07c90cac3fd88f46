//! Trusted devices: after each successful login the browser gets a
//! long-lived cookie, sealed under the server's key, naming the town, the
//! account and a random device id. When that browser logs in to that
//! account again, its attempts are throttled on the device's own key
//! instead of the account's anonymous one: strangers guessing the password
//! from anywhere keep the account waiting for themselves, not for its
//! owner (throttling delays, never locks).
//!
//! The cookie opens no session and proves nothing alone: the password is
//! still checked. It is worthless for another account or town, after it
//! expires, and once the password changes (a changed password revokes
//! every browser trusted before).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::entity::account;
use super::secrets::{new_token, open, seal};
use super::service::Accounts;
use crate::tenancy::{Tenant, TenantScope};

/// The cookie's name (the web layer adds `__Host-` over HTTPS).
pub const DEVICE_COOKIE: &str = "guichet_device";
/// How long a browser stays trusted after its last login (each login
/// renews it).
pub const DEVICE_TRUST_DAYS: i64 = 180;

/// What the cookie carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DeviceClaims {
    /// The town's id.
    town: i32,
    account: i32,
    device: String,
    /// Milliseconds since the epoch: a password changed later revokes it.
    issued_at: i64,
    expires_at: i64,
}

impl DeviceClaims {
    /// The device id, if these claims trust a browser of `account` in
    /// `town` now, its password last changed at `password_changed_at`.
    fn device_for(
        self,
        town: i32,
        account: i32,
        password_changed_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let changed = password_changed_at.map_or(i64::MIN, |at| at.timestamp_millis());
        (self.town == town
            && self.account == account
            && self.expires_at > now.timestamp_millis()
            && self.issued_at >= changed)
            .then_some(self.device)
    }
}

impl Accounts {
    /// The id of the trusted device whose cookie is `sealed`, if it is one
    /// of `owner`'s in this town, still valid.
    pub(super) fn trusted_device(
        &self,
        scope: TenantScope,
        owner: &account::Model,
        sealed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let claims: DeviceClaims = open(sealed?, &self.secret_key, DEVICE_COOKIE)?;
        claims.device_for(
            scope.tenant_id().get(),
            owner.id,
            owner.password_changed_at,
            now,
        )
    }

    /// A new cookie value trusting this browser for `account_id` (keeping
    /// its device id, when it had one).
    pub(super) fn seal_device(
        &self,
        scope: TenantScope,
        account_id: i32,
        device: Option<String>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let claims = DeviceClaims {
            town: scope.tenant_id().get(),
            account: account_id,
            device: device.unwrap_or_else(new_token),
            issued_at: now.timestamp_millis(),
            expires_at: (now + chrono::Duration::days(DEVICE_TRUST_DAYS)).timestamp_millis(),
        };
        seal(&claims, &self.secret_key, DEVICE_COOKIE)
    }

    /// Trusts this browser for `account_id` from now on: for the browser
    /// that has just changed the password (which revoked its cookie).
    pub fn trust_device(&self, tenant: &Tenant, account_id: i32) -> Option<String> {
        self.seal_device(tenant.scope(), account_id, None, Utc::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key of the server, 32 bytes ok";

    fn claims(town: i32, account: i32, issued: DateTime<Utc>) -> DeviceClaims {
        DeviceClaims {
            town,
            account,
            device: "d".to_owned(),
            issued_at: issued.timestamp_millis(),
            expires_at: (issued + chrono::Duration::days(DEVICE_TRUST_DAYS)).timestamp_millis(),
        }
    }

    #[test]
    fn a_device_is_trusted_for_its_town_account_and_password_only() {
        let now = Utc::now();
        let changed = Some(now - chrono::Duration::hours(1));
        let check = |claims: DeviceClaims, at| claims.device_for(1, 7, changed, at);
        assert_eq!(check(claims(1, 7, now), now), Some("d".to_owned()));
        assert_eq!(
            claims(1, 7, now).device_for(1, 7, None, now),
            Some("d".to_owned())
        );
        assert_eq!(check(claims(2, 7, now), now), None, "another town");
        assert_eq!(check(claims(1, 8, now), now), None, "another account");
        let before_change = now - chrono::Duration::hours(2);
        assert_eq!(
            check(claims(1, 7, before_change), now),
            None,
            "issued before the password changed"
        );
        let later = now + chrono::Duration::days(DEVICE_TRUST_DAYS + 1);
        assert_eq!(check(claims(1, 7, now), later), None, "expired");
    }

    #[test]
    fn the_cookie_opens_only_under_the_key_and_purpose_it_was_sealed_with() {
        let sealed = seal(&claims(1, 7, Utc::now()), KEY, DEVICE_COOKIE).expect("sealed");
        assert!(open::<DeviceClaims>(&sealed, KEY, DEVICE_COOKIE).is_some());
        assert!(open::<DeviceClaims>(&sealed, b"another key", DEVICE_COOKIE).is_none());
        assert!(open::<DeviceClaims>(&sealed, KEY, "guichet_fc_flow").is_none());
        let (payload, _) = sealed.split_once('.').expect("two parts");
        let forged = format!("{payload}.AAAA");
        assert!(open::<DeviceClaims>(&forged, KEY, DEVICE_COOKIE).is_none());
    }
}
