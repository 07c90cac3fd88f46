//! The requests of a town's residents, as the web faces use them: each call
//! takes the town and the account, never a bare id.

use sea_orm::{DatabaseConnection, DbErr};

use super::entity::{request, request_event};
use super::{NewRequest, create, find, latest};
use crate::tenancy::Tenant;

/// Requests, over the application's database.
#[derive(Debug, Clone)]
pub struct Requests {
    db: DatabaseConnection,
}

impl Requests {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// The account's latest requests, newest first.
    pub async fn latest(
        &self,
        tenant: &Tenant,
        account_id: i32,
        limit: u64,
    ) -> Result<Vec<request::Model>, DbErr> {
        latest(&self.db, tenant.scope(), account_id, limit).await
    }

    /// The account's request by its reference, with its history.
    pub async fn find(
        &self,
        tenant: &Tenant,
        account_id: i32,
        reference: &str,
    ) -> Result<Option<(request::Model, Vec<request_event::Model>)>, DbErr> {
        find(&self.db, tenant.scope(), account_id, reference).await
    }

    /// Files a request in its own transaction; answers its reference.
    pub async fn submit(
        &self,
        tenant: &Tenant,
        account_id: i32,
        new: &NewRequest,
    ) -> Result<String, DbErr> {
        let transaction = crate::db::begin_write(&self.db).await?;
        let reference = create(&transaction, tenant.scope(), account_id, new).await?;
        transaction.commit().await?;
        Ok(reference)
    }
}
