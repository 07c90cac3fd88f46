//! Rows of the account tables. All are tenant-owned.

pub mod account {
    use sea_orm::entity::prelude::*;

    /// Where an account stands. The stored strings are those of the first
    /// release: rows written since then must still read.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
    pub enum AccountStatus {
        /// Created by the town, its activation link not yet followed.
        #[sea_orm(string_value = "pending")]
        Pending,
        #[sea_orm(string_value = "active")]
        Active,
        /// Closed (at the resident's request, for inactivity): the row is a
        /// pseudonym, its personal columns emptied (privacy/closure.rs),
        /// kept for what the records the law keeps point to. Nobody logs in.
        #[sea_orm(string_value = "closed")]
        Closed,
    }

    /// "Monsieur" or "Madame", stored as the short form the town types.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
    pub enum Civility {
        #[sea_orm(string_value = "M")]
        Monsieur,
        #[sea_orm(string_value = "Mme")]
        Madame,
    }

    impl Civility {
        /// From the CLI's `M` / `Mme` (and their long forms).
        pub fn parse(text: &str) -> Option<Self> {
            match text.trim().to_lowercase().trim_end_matches('.') {
                "m" | "monsieur" => Some(Self::Monsieur),
                "mme" | "madame" => Some(Self::Madame),
                _ => None,
            }
        }

        /// "Monsieur" / "Madame".
        pub fn title(self) -> &'static str {
            match self {
                Self::Monsieur => "Monsieur",
                Self::Madame => "Madame",
            }
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub identifier: String,
        pub email: String,
        pub email_key: String,
        pub civility: Option<Civility>,
        pub first_name: String,
        pub last_name: String,
        pub address: Option<String>,
        pub phone: Option<String>,
        pub password_hash: String,
        pub password_is_temporary: bool,
        pub temporary_password_expires_at: Option<DateTimeUtc>,
        pub status: AccountStatus,
        pub created_at: DateTimeUtc,
        pub activated_at: Option<DateTimeUtc>,
        pub password_changed_at: Option<DateTimeUtc>,
        pub last_login_at: Option<DateTimeUtc>,
        pub previous_login_at: Option<DateTimeUtc>,
        /// Set while the town keeps the account closed: no login, no
        /// session (administration.rs).
        pub disabled_at: Option<DateTimeUtc>,
        /// Why, as the staff member wrote it.
        pub disabled_reason: Option<String>,
        /// "nom prénom" folded to lowercase ASCII: the staff list's order
        /// (search.rs).
        pub sort_key: String,
        /// The resident asked to close the account (privacy/closure.rs).
        pub closure_requested_at: Option<DateTimeUtc>,
        /// When the closure takes effect; a login before cancels it.
        pub closes_at: Option<DateTimeUtc>,
        /// When the inactivity warning was sent; a login clears it.
        pub inactivity_warned_at: Option<DateTimeUtc>,
        /// When it was closed.
        pub closed_at: Option<DateTimeUtc>,
    }

    crate::tenant_owned_entity!();
}

pub mod account_token {
    use sea_orm::entity::prelude::*;

    /// What a link is for: a link of one purpose is worthless for another.
    /// The stored strings are those of the first release.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
    #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
    pub enum LinkPurpose {
        #[sea_orm(string_value = "activation")]
        Activation,
        #[sea_orm(string_value = "password_reset")]
        PasswordReset,
        /// Confirms a new e-mail address; the address is the payload.
        #[sea_orm(string_value = "email_change")]
        EmailChange,
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_token")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub purpose: LinkPurpose,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
        /// What the link carries, e.g. the new address of an e-mail change.
        pub payload: Option<String>,
    }

    crate::tenant_owned_entity!();
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        pub account_id: i32,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        /// The provider's id_token of a session opened through
        /// FranceConnect: logging out goes through the provider with it.
        pub franceconnect_id_token: Option<String>,
    }

    crate::tenant_owned_entity!();
}

pub mod account_search_word {
    use sea_orm::entity::prelude::*;

    /// One word of an account's names, identifier or e-mail address,
    /// folded (search.rs): a search is a prefix range on `(tenant_id, word)`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_search_word")]
    pub struct Model {
        pub tenant_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub word: String,
    }

    crate::tenant_owned_entity!();
}

pub mod retired_identifier {
    use sea_orm::entity::prelude::*;

    /// An identifier of a closed account, as its digest
    /// (`identifier::retired_digest`): never given again.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "retired_identifier")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub digest: String,
    }

    crate::tenant_owned_entity!();
}

pub mod auth_throttle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_throttle")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub tenant_id: i32,
        /// `account:<id>`, `name:<identifier>`, `ip:<address>`,
        /// `device:<account>:<device>` (throttle.rs); `mail-to:<account>`,
        /// `mail-from:<address>` (mail_bound.rs).
        pub key: String,
        /// Attempts (or mails) counted in the current window.
        pub failures: i32,
        pub window_started_at: DateTimeUtc,
        /// The epoch when nothing is waited for.
        pub blocked_until: DateTimeUtc,
    }

    crate::tenant_owned_entity!();
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveEnum;

    use super::account::{AccountStatus, Civility};
    use super::account_token::LinkPurpose;

    /// Every variant against the string existing rows hold: a variant
    /// stored differently (or a new one left out here) fails.
    fn assert_stored_as<E>(expected: &[(E, &str)])
    where
        E: ActiveEnum<Value = String> + PartialEq + std::fmt::Debug + Copy,
    {
        assert_eq!(E::iter().count(), expected.len(), "every variant is listed");
        for &(variant, stored) in expected {
            assert_eq!(variant.to_value(), stored);
            assert_eq!(E::try_from_value(&stored.to_owned()).ok(), Some(variant));
        }
    }

    #[test]
    fn account_statuses_keep_their_stored_strings() {
        assert_stored_as(&[
            (AccountStatus::Pending, "pending"),
            (AccountStatus::Active, "active"),
            (AccountStatus::Closed, "closed"),
        ]);
        assert!(AccountStatus::try_from_value(&"disabled".to_owned()).is_err());
    }

    #[test]
    fn link_purposes_keep_their_stored_strings() {
        assert_stored_as(&[
            (LinkPurpose::Activation, "activation"),
            (LinkPurpose::PasswordReset, "password_reset"),
            (LinkPurpose::EmailChange, "email_change"),
        ]);
    }

    #[test]
    fn civilities_keep_their_stored_strings() {
        assert_stored_as(&[(Civility::Monsieur, "M"), (Civility::Madame, "Mme")]);
        assert_eq!(Civility::parse(" Mme. "), Some(Civility::Madame));
        assert_eq!(Civility::parse("monsieur"), Some(Civility::Monsieur));
        assert_eq!(Civility::parse("Dr"), None);
        assert_eq!(Civility::Madame.title(), "Madame");
    }
}
