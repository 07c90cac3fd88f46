//! Resident accounts. For now: the password policy each town declares in its
//! `tenant.toml`; the account lifecycle builds on it.

mod password_policy;

pub use password_policy::{PasswordPolicy, PasswordPolicyError};
