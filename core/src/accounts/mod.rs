//! Resident accounts: creation by the town, activation, login, sessions,
//! password policy, change and reset.
//!
//! Error policy: [`AccountError`] is for failures of the machinery (database,
//! hashing, mail composition) and becomes an error page. What a resident or
//! a town typed wrong is not an error but a value: [`NewAccountError`],
//! [`LoginOutcome`], [`LinkProblem`], [`FieldError`] lists — each turned into
//! a French message next to the right field.

pub mod entity;
mod hashing;
mod identifier;
mod password_policy;
pub mod secrets;
mod service;
pub mod sessions;
mod settings;
mod throttle;

pub use hashing::{HashingError, PasswordHasher};
pub use password_policy::{PasswordCheck, PasswordPolicy, PasswordPolicyError};
pub use service::{
    AccountError, Accounts, Civility, CreatedAccount, EmailChangeProblem, EmailConfirmProblem,
    FieldError, LinkProblem, LoginOutcome, NewAccount, NewAccountError, PasswordChange,
    french_date, french_date_time,
};
pub use sessions::SessionPolicy;
pub use settings::AccountSettings;
