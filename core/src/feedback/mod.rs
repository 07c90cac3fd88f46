//! "Votre avis nous intéresse": what residents tell their town about the
//! service, kept for the town. The staff read them at `/admin/avis`
//! (inbox.rs): new, read, handled, with an optional answer mailed to the
//! resident; each of those steps is recorded in the journal.
//!
//! Error policy: [`Feedback::submit`] returns database errors as they are
//! (`DbErr`); the inbox's actions return a [`FeedbackError`], whose
//! `Refused` variant carries the French sentence the page shows.

mod inbox;
pub mod personal_data;

use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, DatabaseConnection, DbErr};

use crate::mail::Mailer;
use crate::tenancy::TenantScope;

pub use inbox::{FeedbackError, FeedbackFilter, FeedbackItem, FeedbackState};

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
            pub read_at: Option<DateTimeUtc>,
            pub handled_at: Option<DateTimeUtc>,
            /// The answer mailed to the resident, if one was.
            #[sea_orm(column_type = "Text", nullable)]
            pub reply: Option<String>,
            pub replied_at: Option<DateTimeUtc>,
        }

        crate::tenant_owned_entity!();
    }
}

/// The town's feedback messages.
#[derive(Debug, Clone)]
pub struct Feedback {
    db: DatabaseConnection,
    mailer: Mailer,
}

impl Feedback {
    pub fn new(db: DatabaseConnection, mailer: Mailer) -> Self {
        Self { db, mailer }
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
            read_at: Set(None),
            handled_at: Set(None),
            reply: Set(None),
            replied_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }
}
