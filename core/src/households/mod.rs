//! Households: the people a resident's account answers for (children,
//! spouse, co-parent…), as the town's software knows them.
//!
//! Error policy: database errors are returned as they are (`DbErr`); callers
//! on the request path turn them into their own layer's error.

pub mod entity;
mod settings;

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, DatabaseConnection, DbErr, QueryOrder as _,
};
use sea_orm::{ColumnTrait as _, QueryFilter as _};

use crate::tenancy::TenantScope;
use entity::household_member;
pub use settings::{HouseholdSettings, settings};

/// How a member relates to the account holder.
pub const RELATIONS: [(&str, &str); 5] = [
    ("conjoint", "Conjoint"),
    ("enfant", "Enfant"),
    ("co-parent", "Co-parent"),
    ("responsable", "Responsable"),
    ("autre", "Autre"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<NaiveDate>,
    pub relation: String,
    pub external_ref: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Households {
    db: DatabaseConnection,
}

impl Households {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
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

    /// Replaces the whole household, as the town's software knows it.
    pub async fn replace(
        &self,
        scope: TenantScope,
        account_id: i32,
        members: Vec<NewMember>,
    ) -> Result<(), DbErr> {
        let transaction = crate::db::begin_write(&self.db).await?;
        scope
            .delete::<household_member::Entity>()
            .filter(household_member::Column::AccountId.eq(account_id))
            .exec(&transaction)
            .await?;
        for member in members {
            insert(&transaction, scope, account_id, member).await?;
        }
        transaction.commit().await
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

pub fn relation_label(relation: &str) -> &str {
    RELATIONS
        .iter()
        .find(|(code, _)| *code == relation)
        .map_or(relation, |(_, label)| label)
}
