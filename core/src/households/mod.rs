//! Households: the people a resident's account answers for (children,
//! spouse, co-parent…), as the town's software knows them.
//!
//! A member is checked once, here, whoever adds it (the resident's form or
//! the data API): [`MemberInput::validate`] is the only way to a
//! [`NewMember`], and says what is wrong field by field.
//!
//! Error policy: a refused member is a [`MemberErrors`] (one French message
//! per refused field, meant for the resident); a refused household a
//! [`HouseholdError`] naming the member; database errors are returned as
//! they are (`DbErr`, or [`HouseholdError::Database`]). Callers on the
//! request path turn them into their own layer's error.

pub mod entity;
pub mod personal_data;
mod settings;

use chrono::{Datelike as _, NaiveDate};
use sea_orm::entity::prelude::{DeriveActiveEnum, EnumIter, StringLen};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, DatabaseConnection, DbErr,
    QueryFilter as _, QueryOrder as _,
};

use crate::tenancy::{Tenant, TenantScope};
use crate::versions::{Memo, Stamp, Subject};
use entity::household_member;
pub use settings::{HouseholdSettings, settings};

/// Members one household may count.
pub const MAX_MEMBERS: usize = 50;
/// Characters of a first or last name.
pub const MAX_NAME_CHARS: usize = 100;
/// Characters of the town software's reference for a member.
pub const MAX_EXTERNAL_REF_CHARS: usize = 64;
/// The earliest birth date a member may have: no one living was born
/// before, and every database stores it (PostgreSQL refuses years before
/// 4713 BC, which a date typed with a sign could reach).
pub const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// How a member relates to the account holder. The stored values are the
/// historical strings (`conjoint`, `enfant`…), which the data API and the
/// modules (WIT `member.relation`) use too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Relation {
    #[sea_orm(string_value = "conjoint")]
    Spouse,
    #[sea_orm(string_value = "enfant")]
    Child,
    #[sea_orm(string_value = "co-parent")]
    CoParent,
    #[sea_orm(string_value = "responsable")]
    Guardian,
    #[sea_orm(string_value = "autre")]
    Other,
}

impl Relation {
    /// Every relation, in the order forms offer them.
    pub const ALL: [Self; 5] = [
        Self::Spouse,
        Self::Child,
        Self::CoParent,
        Self::Guardian,
        Self::Other,
    ];

    /// Its stored value, as forms, the data API and modules spell it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Spouse => "conjoint",
            Self::Child => "enfant",
            Self::CoParent => "co-parent",
            Self::Guardian => "responsable",
            Self::Other => "autre",
        }
    }

    /// What residents read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Spouse => "Conjoint",
            Self::Child => "Enfant",
            Self::CoParent => "Co-parent",
            Self::Guardian => "Responsable",
            Self::Other => "Autre",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|relation| relation.code() == code)
    }
}

/// A member as the resident typed it or the town's software sent it, not
/// checked yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberInput {
    pub first_name: String,
    pub last_name: String,
    /// `AAAA-MM-JJ`, what a date field sends; empty when unknown.
    pub birth_date: String,
    /// A [`Relation`]'s code.
    pub relation: String,
    /// The town software's own reference for the member.
    pub external_ref: Option<String>,
}

/// A field of [`MemberInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberField {
    FirstName,
    LastName,
    BirthDate,
    Relation,
    ExternalRef,
}

impl MemberField {
    /// What the resident is told when this field is refused (each field has
    /// one rule, hence one message).
    pub fn message(self) -> &'static str {
        match self {
            Self::FirstName => "Indiquez le prénom (100 caractères au plus).",
            Self::LastName => "Indiquez le nom (100 caractères au plus).",
            Self::BirthDate => "Indiquez une date de naissance passée, au format JJ/MM/AAAA.",
            Self::Relation => "Choisissez le lien avec vous.",
            Self::ExternalRef => "La référence du membre fait 64 caractères au plus.",
        }
    }
}

/// The refused fields of a [`MemberInput`], in field order, one error each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.fields.iter().map(|field| field.message()).collect::<Vec<_>>().join(" "))]
pub struct MemberErrors {
    fields: Vec<MemberField>,
}

impl MemberErrors {
    pub fn fields(&self) -> &[MemberField] {
        &self.fields
    }

    pub fn contains(&self, field: MemberField) -> bool {
        self.fields.contains(&field)
    }

    /// The message for `field`, if it was refused.
    pub fn message(&self, field: MemberField) -> Option<String> {
        self.contains(field).then(|| field.message().to_owned())
    }
}

/// A checked member, ready to be stored; made only by
/// [`MemberInput::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    first_name: String,
    last_name: String,
    birth_date: Option<NaiveDate>,
    relation: Relation,
    external_ref: Option<String>,
}

impl MemberInput {
    /// Checks every field against the rules of a household member (names
    /// required, 100 characters at most; a birth date, when given, readable,
    /// not after `today` nor before [`EARLIEST_BIRTH_YEAR`]; a known
    /// relation; a short external reference),
    /// and reports every refused field at once.
    pub fn validate(&self, today: NaiveDate) -> Result<NewMember, MemberErrors> {
        let mut fields = Vec::new();
        let name = |text: &str, field: MemberField, fields: &mut Vec<MemberField>| {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > MAX_NAME_CHARS {
                fields.push(field);
            }
            text.to_owned()
        };
        let first_name = name(&self.first_name, MemberField::FirstName, &mut fields);
        let last_name = name(&self.last_name, MemberField::LastName, &mut fields);
        let birth_date = match self.birth_date.trim() {
            "" => None,
            text => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(date) if date <= today && date.year() >= EARLIEST_BIRTH_YEAR => Some(date),
                _ => {
                    fields.push(MemberField::BirthDate);
                    None
                }
            },
        };
        let relation = Relation::from_code(&self.relation);
        if relation.is_none() {
            fields.push(MemberField::Relation);
        }
        if self
            .external_ref
            .as_ref()
            .is_some_and(|reference| reference.chars().count() > MAX_EXTERNAL_REF_CHARS)
        {
            fields.push(MemberField::ExternalRef);
        }
        match relation {
            Some(relation) if fields.is_empty() => Ok(NewMember {
                first_name,
                last_name,
                birth_date,
                relation,
                external_ref: self.external_ref.clone(),
            }),
            _ => Err(MemberErrors { fields }),
        }
    }
}

/// Why a whole household was refused.
#[derive(Debug, thiserror::Error)]
pub enum HouseholdError {
    #[error("un foyer compte {MAX_MEMBERS} membres au plus")]
    TooMany,
    /// The first refused member (counted from 0).
    #[error("membre {index} : {errors}")]
    Member { index: usize, errors: MemberErrors },
    #[error("database error: {0}")]
    Database(#[from] DbErr),
}

/// A household's members, with the counter they were read under.
type KeptMembers = (i64, std::sync::Arc<[household_member::Model]>);

#[derive(Debug, Clone)]
pub struct Households {
    db: DatabaseConnection,
    /// Members by (town, account), with the household's counter.
    memo: std::sync::Arc<Memo<(i32, i32), KeptMembers>>,
}

impl Households {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            memo: std::sync::Arc::new(Memo::new(crate::versions::PERSONAL_MEMO_ENTRIES)),
        }
    }

    /// [`Self::members`], reused while the household's counter in `stamp`
    /// has not moved (read from the database otherwise).
    pub async fn members_at(
        &self,
        scope: TenantScope,
        account_id: i32,
        stamp: &Stamp,
    ) -> Result<std::sync::Arc<[household_member::Model]>, DbErr> {
        let version = match stamp.resident(Subject::Household) {
            Some(version) if stamp.account_id() == Some(account_id) => version,
            _ => return Ok(self.members(scope, account_id).await?.into()),
        };
        self.memo
            .get_or_read((scope.tenant_id().get(), account_id), version, async {
                Ok(self.members(scope, account_id).await?.into())
            })
            .await
    }

    /// The members of an account's household, oldest first.
    pub async fn members(
        &self,
        scope: TenantScope,
        account_id: i32,
    ) -> Result<Vec<household_member::Model>, DbErr> {
        scope
            .select::<household_member::Entity>()
            .filter(household_member::Column::AccountId.eq(account_id))
            .order_by_asc(household_member::Column::BirthDate)
            .order_by_asc(household_member::Column::Id)
            .all(&self.db)
            .await
    }

    /// Removes a member of the account's household; false if it is not one.
    pub async fn remove(
        &self,
        scope: TenantScope,
        account_id: i32,
        member_id: i32,
    ) -> Result<bool, DbErr> {
        let deleted = scope
            .delete::<household_member::Entity>()
            .filter(household_member::Column::AccountId.eq(account_id))
            .filter(household_member::Column::Id.eq(member_id))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected == 1)
    }

    /// Replaces the whole household, as the town's software knows it, once
    /// every member passed (nothing changes otherwise); answers the members
    /// now stored, oldest first.
    pub async fn replace(
        &self,
        tenant: &Tenant,
        account_id: i32,
        members: &[MemberInput],
    ) -> Result<Vec<household_member::Model>, HouseholdError> {
        if members.len() > MAX_MEMBERS {
            return Err(HouseholdError::TooMany);
        }
        let today = today(tenant);
        let members = members
            .iter()
            .enumerate()
            .map(|(index, member)| {
                member
                    .validate(today)
                    .map_err(|errors| HouseholdError::Member { index, errors })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let scope = tenant.scope();
        let transaction = crate::db::begin_write(&self.db).await?;
        scope
            .delete::<household_member::Entity>()
            .filter(household_member::Column::AccountId.eq(account_id))
            .exec(&transaction)
            .await?;
        for member in members {
            insert(&transaction, scope, account_id, member).await?;
        }
        transaction.commit().await?;
        Ok(self.members(scope, account_id).await?)
    }

    pub async fn add(
        &self,
        scope: TenantScope,
        account_id: i32,
        member: NewMember,
    ) -> Result<household_member::Model, DbErr> {
        insert(&self.db, scope, account_id, member).await
    }
}

/// The town's date: what "not after today" means for a birth date.
fn today(tenant: &Tenant) -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&tenant.timezone)
        .date_naive()
}

async fn insert(
    connection: &impl sea_orm::ConnectionTrait,
    scope: TenantScope,
    account_id: i32,
    member: NewMember,
) -> Result<household_member::Model, DbErr> {
    household_member::ActiveModel {
        tenant_id: Set(scope.tenant_id().get()),
        account_id: Set(account_id),
        first_name: Set(member.first_name),
        last_name: Set(member.last_name),
        birth_date: Set(member.birth_date),
        relation: Set(member.relation),
        external_ref: Set(member.external_ref),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(connection)
    .await
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum as _, Iterable as _};

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    fn lea() -> MemberInput {
        MemberInput {
            first_name: " Léa ".to_owned(),
            last_name: "Arpège".to_owned(),
            birth_date: "2012-09-03".to_owned(),
            relation: "enfant".to_owned(),
            external_ref: Some("ENF-1".to_owned()),
        }
    }

    fn refused(input: &MemberInput) -> Vec<MemberField> {
        input.validate(today()).unwrap_err().fields().to_vec()
    }

    #[test]
    fn relations_keep_their_stored_values() {
        let stored: Vec<String> = Relation::iter()
            .map(|relation| relation.to_value())
            .collect();
        assert_eq!(
            stored,
            ["conjoint", "enfant", "co-parent", "responsable", "autre"]
        );
        assert_eq!(Relation::iter().collect::<Vec<_>>(), Relation::ALL);
        for relation in Relation::ALL {
            assert_eq!(relation.code(), relation.to_value());
            assert_eq!(Relation::from_code(relation.code()), Some(relation));
        }
        assert_eq!(Relation::from_code("cousin"), None);
        assert_eq!(Relation::CoParent.label(), "Co-parent");
    }

    #[test]
    fn a_valid_member_is_trimmed_and_typed() {
        let member = lea().validate(today()).unwrap();
        assert_eq!(member.first_name, "Léa");
        assert_eq!(member.birth_date, NaiveDate::from_ymd_opt(2012, 9, 3));
        assert_eq!(member.relation, Relation::Child);
        assert_eq!(member.external_ref.as_deref(), Some("ENF-1"));
        let unknown_birth = MemberInput {
            birth_date: "  ".to_owned(),
            ..lea()
        };
        assert_eq!(unknown_birth.validate(today()).unwrap().birth_date, None);
    }

    #[test]
    fn names_are_required_and_bounded() {
        let blank = MemberInput {
            first_name: "  ".to_owned(),
            ..lea()
        };
        assert_eq!(refused(&blank), [MemberField::FirstName]);
        let long = MemberInput {
            last_name: "é".repeat(101),
            ..lea()
        };
        assert_eq!(refused(&long), [MemberField::LastName]);
        let longest = MemberInput {
            last_name: "é".repeat(100),
            ..lea()
        };
        assert!(
            longest.validate(today()).is_ok(),
            "100 characters, not bytes"
        );
    }

    #[test]
    fn a_birth_date_is_readable_and_not_in_the_future() {
        for date in ["2026-06-16", "03/09/2012", "2012-13-01"] {
            let input = MemberInput {
                birth_date: date.to_owned(),
                ..lea()
            };
            assert_eq!(refused(&input), [MemberField::BirthDate], "{date}");
        }
        let born_today = MemberInput {
            birth_date: "2026-06-15".to_owned(),
            ..lea()
        };
        assert!(born_today.validate(today()).is_ok());
    }

    #[test]
    fn a_birth_date_is_not_before_1900() {
        for date in ["1899-12-31", "0001-01-01", "-5000-01-01"] {
            let input = MemberInput {
                birth_date: date.to_owned(),
                ..lea()
            };
            assert_eq!(refused(&input), [MemberField::BirthDate], "{date}");
        }
        let oldest = MemberInput {
            birth_date: "1900-01-01".to_owned(),
            ..lea()
        };
        assert!(oldest.validate(today()).is_ok());
    }

    #[test]
    fn the_relation_is_a_known_one() {
        for relation in ["", "cousin", "Enfant"] {
            let input = MemberInput {
                relation: relation.to_owned(),
                ..lea()
            };
            assert_eq!(refused(&input), [MemberField::Relation], "{relation}");
        }
    }

    #[test]
    fn the_external_reference_is_short() {
        let input = MemberInput {
            external_ref: Some("x".repeat(65)),
            ..lea()
        };
        assert_eq!(refused(&input), [MemberField::ExternalRef]);
    }

    #[test]
    fn every_refused_field_is_reported_with_the_form_s_message() {
        let input = MemberInput {
            first_name: "Léa".to_owned(),
            last_name: String::new(),
            birth_date: "2999-01-01".to_owned(),
            relation: String::new(),
            external_ref: None,
        };
        let errors = input.validate(today()).unwrap_err();
        assert_eq!(
            errors.fields(),
            [
                MemberField::LastName,
                MemberField::BirthDate,
                MemberField::Relation
            ]
        );
        assert_eq!(errors.message(MemberField::FirstName), None);
        assert_eq!(
            errors.message(MemberField::LastName).as_deref(),
            Some("Indiquez le nom (100 caractères au plus).")
        );
        assert_eq!(
            errors.message(MemberField::BirthDate).as_deref(),
            Some("Indiquez une date de naissance passée, au format JJ/MM/AAAA.")
        );
        assert_eq!(
            errors.message(MemberField::Relation).as_deref(),
            Some("Choisissez le lien avec vous.")
        );
        assert_eq!(
            MemberField::FirstName.message(),
            "Indiquez le prénom (100 caractères au plus)."
        );
    }
}
