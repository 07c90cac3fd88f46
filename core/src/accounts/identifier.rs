//! Login identifiers: `prenom.nom`, plain ASCII, unique within a town.

/// The identifier's stem for a resident: "Michel", "ARPÈGE" → "michel.arpege".
pub fn stem(first_name: &str, last_name: &str) -> String {
    let part = |name: &str| -> String {
        let ascii = deunicode::deunicode(name).to_ascii_lowercase();
        let mut out = String::with_capacity(ascii.len());
        for c in ascii.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                // Spaces, apostrophes and hyphens become one hyphen.
                out.push('-');
            }
        }
        out.trim_matches('-').to_owned()
    };
    let (first, last) = (part(first_name), part(last_name));
    match (first.is_empty(), last.is_empty()) {
        (false, false) => format!("{first}.{last}"),
        (true, false) => last,
        (false, true) => first,
        (true, true) => "usager".to_owned(),
    }
}

/// The first of `stem`, `stem2`, `stem3`… that `taken` does not hold.
pub fn first_free(stem: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == stem) {
        return stem.to_owned();
    }
    (2..)
        .map(|n| format!("{stem}{n}"))
        .find(|candidate| !taken.iter().any(|t| t == candidate))
        .unwrap_or_else(|| stem.to_owned())
}

/// What `retired_identifier` keeps of an identifier no longer in use: the
/// SHA-256 of the town and the identifier, enough to never give it again,
/// linked to no account.
pub fn retired_digest(tenant_id: i32, identifier: &str) -> String {
    use sha2::{Digest as _, Sha256};
    hex::encode(Sha256::digest(
        format!("{tenant_id}:{identifier}").as_bytes(),
    ))
}

/// Keeps a closed account's identifier from being given again, in the
/// closure's transaction.
pub async fn retire(
    txn: &impl sea_orm::ConnectionTrait,
    scope: crate::tenancy::TenantScope,
    identifier: &str,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::EntityTrait as _;
    use sea_orm::sea_query::OnConflict;
    let tenant_id = scope.tenant_id().get();
    super::entity::retired_identifier::Entity::insert(
        super::entity::retired_identifier::ActiveModel {
            tenant_id: sea_orm::ActiveValue::Set(tenant_id),
            digest: sea_orm::ActiveValue::Set(retired_digest(tenant_id, identifier)),
        },
    )
    .on_conflict(
        OnConflict::columns([
            super::entity::retired_identifier::Column::TenantId,
            super::entity::retired_identifier::Column::Digest,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .map(|_| ())
}

/// The digests of the town's retired identifiers among `candidates`.
pub async fn retired_among(
    txn: &impl sea_orm::ConnectionTrait,
    scope: crate::tenancy::TenantScope,
    candidates: &[String],
) -> Result<std::collections::HashSet<String>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait as _, QueryFilter as _};
    let tenant_id = scope.tenant_id().get();
    let digests: Vec<String> = candidates
        .iter()
        .map(|candidate| retired_digest(tenant_id, candidate))
        .collect();
    let mut found = std::collections::HashSet::new();
    for chunk in digests.chunks(500) {
        let rows = scope
            .select::<super::entity::retired_identifier::Entity>()
            .filter(super::entity::retired_identifier::Column::Digest.is_in(chunk.to_vec()))
            .all(txn)
            .await?;
        found.extend(rows.into_iter().map(|row| row.digest));
    }
    Ok(found)
}

/// What a resident types, made comparable: trimmed, lowercase.
pub fn normalize_login(input: &str) -> String {
    input.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_ascii_first_dot_last() {
        assert_eq!(stem("Michel", "ARPEGE"), "michel.arpege");
        assert_eq!(stem("Léa", "Arpège"), "lea.arpege");
        assert_eq!(
            stem("Jean-Éric", "d'Ornano Le Bris"),
            "jean-eric.d-ornano-le-bris"
        );
        assert_eq!(stem("  ", "Ñúñez"), "nunez");
        assert_eq!(stem("", "---"), "usager");
    }

    #[test]
    fn homonyms_are_numbered() {
        let taken = vec!["michel.arpege".to_owned(), "michel.arpege2".to_owned()];
        assert_eq!(first_free("michel.arpege", &taken), "michel.arpege3");
        assert_eq!(first_free("lea.arpege", &taken), "lea.arpege");
    }
}
