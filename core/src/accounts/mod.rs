//! Resident accounts: creation by the town, activation, login, sessions,
//! trusted devices, password policy, change and reset, contact details;
//! the staff's list (directory.rs, on the keys of search.rs), a resident's
//! journal and refused mail (details.rs, refused_mail.rs) and the staff's
//! actions (administration.rs).
//! One file per use case, each adding its operations to [`Accounts`]; the
//! stored closed sets ([`AccountStatus`], [`LinkPurpose`], [`Civility`]) are
//! enums in `entity.rs`.
//!
//! Error policy: [`AccountError`] is for failures of the machinery (database,
//! hashing, mail composition) and becomes an error page. What a resident or
//! a town typed wrong is not an error but a value: [`NewAccountError`],
//! [`LoginOutcome`], [`LinkProblem`], [`AdministrationProblem`],
//! [`FieldError`] lists — each turned into a French message next to the
//! right field. The public mail forms ("mot de
//! passe oublié", "nouveau courriel d'activation") answer before their work
//! is done: its failures are logged, never shown.

mod activation;
mod administration;
mod create;
mod details;
mod devices;
mod directory;
mod email_change;
pub mod entity;
mod error;
mod franceconnect;
mod hashing;
mod identifier;
pub mod import;
mod links;
mod login;
mod mail_bound;
mod password;
mod password_policy;
pub mod personal_data;
mod refused_mail;
pub mod search;
pub mod secrets;
mod service;
pub mod sessions;
mod settings;
pub mod throttle;

pub use administration::{AdministrationProblem, MAX_REASON_CHARS};
pub use create::{
    CreatedAccount, MAX_ADDRESS_CHARS, MAX_EMAIL_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS,
    NewAccount, NewAccountError, is_plausible_phone,
};
pub use details::{JOURNAL_LIMIT, REFUSED_MAIL_LIMIT};
pub use devices::{DEVICE_COOKIE, DEVICE_TRUST_DAYS};
pub use directory::{
    DirectoryPage, DirectoryQuery, PAGE_SIZE, PageCursor, ResidentState, StateCounts,
};
pub use email_change::{EmailChangeProblem, EmailConfirmProblem};
pub use entity::account::{AccountStatus, Civility};
pub use entity::account_token::LinkPurpose;
pub use error::{AccountError, FieldError};
pub use hashing::{HashingError, PasswordHasher};
pub use identifier::retire as retire_identifier;
pub use links::LinkProblem;
pub use login::LoginOutcome;
pub use mail_bound::{MailAllowance, MailBound};
pub use password::{PasswordChange, PasswordConfirmation};
pub use password_policy::{PasswordCheck, PasswordPolicy, PasswordPolicyError};
pub use search::index_account;
pub use service::Accounts;
pub use sessions::SessionPolicy;
pub use settings::AccountSettings;
