//! "Votre avis nous intéresse": what residents tell their town about the
//! service, kept for the town.
//!
//! Error policy: database errors are returned as they are (`DbErr`).

use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, DatabaseConnection, DbErr};

use crate::tenancy::TenantScope;

/// Topics, with their French label.
pub const TOPICS: [(&str, &str); 4] = [
    ("suggestion", "Une suggestion"),
    ("probleme", "Un problème sur le site"),
    ("felicitations", "Un compliment"),
    ("autre", "Autre chose"),
];
pub const MAX_MESSAGE_CHARS: usize = 2000;

pub mod entity {
    pub mod feedback {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "feedback")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub tenant_id: i32,
            pub account_id: i32,
            pub topic: String,
            #[sea_orm(column_type = "Text")]
            pub message: String,
            pub created_at: DateTimeUtc,
        }

        crate::tenant_owned_entity!();
    }
}

/// The town's feedback messages.
#[derive(Debug, Clone)]
pub struct Feedback {
    db: DatabaseConnection,
}

impl Feedback {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Keeps a resident's message for their town.
    pub async fn submit(
        &self,
        scope: TenantScope,
        account_id: i32,
        topic: &str,
        message: &str,
    ) -> Result<(), DbErr> {
        entity::feedback::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            account_id: Set(account_id),
            topic: Set(topic.to_owned()),
            message: Set(message.to_owned()),
            created_at: Set(chrono::Utc::now()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }
}
