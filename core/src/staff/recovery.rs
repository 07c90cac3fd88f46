//! Recovery codes: ten per member, shown once at enrolment, stored as their
//! SHA-256, each accepted once in place of a TOTP code (a lost phone).
//! Ten characters from a 32-letter alphabet: 50 bits, far beyond what the
//! throttled code step lets anyone try.

use chrono::{DateTime, Utc};
use rand::RngExt as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbErr,
    PaginatorTrait as _, QueryFilter as _,
};

use super::entity::staff_recovery_code;
use crate::accounts::secrets::token_hash;
use crate::tenancy::TenantScope;

/// Codes per member.
pub const RECOVERY_CODES: usize = 10;

/// No 0/o, 1/l/i: codes are copied by hand.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// "abcde-fghjk".
fn new_code() -> String {
    let mut rng = rand::rng();
    let mut code: String = (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    code.insert(5, '-');
    code
}

/// What is hashed: lower case, without spaces or hyphens.
fn normalize(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Replaces the member's codes with ten new ones, returned in clear (to be
/// shown once).
pub(super) async fn replace_codes(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    member_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    scope
        .delete::<staff_recovery_code::Entity>()
        .filter(staff_recovery_code::Column::StaffId.eq(member_id))
        .exec(db)
        .await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_code()).collect();
    for code in &codes {
        staff_recovery_code::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            staff_id: Set(member_id),
            code_hash: Set(token_hash(&normalize(code))),
            created_at: Set(now),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(codes)
}

/// Marks `typed` used if it is an unused code of the member: one update,
/// so the same code sent twice at once is accepted once.
pub(super) async fn use_code(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    member_id: i32,
    typed: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let normalized = normalize(typed);
    if normalized.len() != 10 {
        return Ok(false);
    }
    let updated = scope
        .update::<staff_recovery_code::Entity>()
        .col_expr(staff_recovery_code::Column::UsedAt, Expr::value(Some(now)))
        .filter(staff_recovery_code::Column::StaffId.eq(member_id))
        .filter(staff_recovery_code::Column::CodeHash.eq(token_hash(&normalized)))
        .filter(staff_recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// How many codes the member has left.
pub(super) async fn unused(
    db: &impl ConnectionTrait,
    scope: TenantScope,
    member_id: i32,
) -> Result<u64, DbErr> {
    scope
        .select::<staff_recovery_code::Entity>()
        .filter(staff_recovery_code::Column::StaffId.eq(member_id))
        .filter(staff_recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_loosely() {
        let code = new_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            normalize(&code.to_uppercase().replace('-', " ")),
            normalize(&code)
        );
    }
}
