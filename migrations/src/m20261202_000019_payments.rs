//! Online payments (PayFiP first), one row per attempt to pay.
//!
//! - `payment`: what the resident was asked to pay (the module, its
//!   `payable` reference and label, the amount in cents), for whom
//!   (`account_id`; the resident's identifier kept for the data API even
//!   if the account goes), through which provider and contract (`numcli`,
//!   `saisie`, kept as they were when it was created: the settings may
//!   change meanwhile), the provider's operation id (`provider_id`, the
//!   `idOp`: unique per provider), its state, what the provider confirmed
//!   (`result`, `authorization`, `paid_at`) and the delivery of its event
//!   to the module (`event_*`: delivered once, in the transaction of the
//!   module's writes). `recorded_at` is when Guichet learnt the final
//!   state: what the data API's `since` reads. `return_token` is the
//!   secret part of the address the provider sends the resident back to
//!   (nobody else can make Guichet ask the provider about a payment);
//!   `asked_at` when the reconciliation last asked about it.
//! - `payment_answer`: every answer of the provider about a payment, and
//!   what it changed — the staff's page shows them, a dispute reads them.
//! - `payment_settings`: the contract as the back-office set it; a town
//!   without a row uses `[payments]` of its `tenant.toml`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Payment::Table)
                    .col(pk_auto(Payment::Id))
                    .col(integer(Payment::TenantId))
                    .col(integer_null(Payment::AccountId))
                    .col(string_len(Payment::ResidentIdentifier, 100))
                    .col(string_len(Payment::Provider, 16))
                    .col(string_len(Payment::ModuleId, 64))
                    .col(string_len(Payment::Reference, 30))
                    .col(string_len(Payment::Label, 200))
                    .col(big_integer(Payment::AmountCents))
                    .col(string_len(Payment::Email, 80))
                    .col(string_len(Payment::Numcli, 6))
                    .col(string_len(Payment::Saisie, 1))
                    .col(string_len(Payment::ReturnPath, 600))
                    .col(string_len(Payment::ReturnToken, 64))
                    .col(string_len_null(Payment::ProviderId, 64))
                    .col(string_len(Payment::State, 16))
                    .col(string_len_null(Payment::Result, 4))
                    .col(string_len_null(Payment::Authorization, 32))
                    .col(timestamp_with_time_zone_null(Payment::PaidAt))
                    .col(timestamp_with_time_zone(Payment::CreatedAt))
                    .col(timestamp_with_time_zone(Payment::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Payment::RecordedAt))
                    .col(timestamp_with_time_zone_null(Payment::AskedAt))
                    .col(timestamp_with_time_zone_null(Payment::EventDeliveredAt))
                    .col(timestamp_with_time_zone_null(Payment::EventNextAt))
                    .col(integer(Payment::EventAttempts).default(0))
                    .col(text_null(Payment::EventError))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_tenant")
                            .from(Payment::Table, Payment::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_account")
                            .from(Payment::Table, Payment::AccountId)
                            .to(Alias::new("account"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, Vec<Payment>, bool); 6] = [
            ("idx_payment_return_token", vec![Payment::ReturnToken], true),
            (
                "idx_payment_provider_id",
                vec![Payment::Provider, Payment::ProviderId],
                true,
            ),
            (
                "idx_payment_state",
                vec![Payment::State, Payment::CreatedAt],
                false,
            ),
            (
                "idx_payment_tenant_created",
                vec![Payment::TenantId, Payment::CreatedAt],
                false,
            ),
            (
                "idx_payment_reference",
                vec![
                    Payment::TenantId,
                    Payment::ModuleId,
                    Payment::Reference,
                    Payment::State,
                ],
                false,
            ),
            (
                "idx_payment_recorded",
                vec![Payment::TenantId, Payment::RecordedAt],
                false,
            ),
        ];
        for (name, columns, unique) in indexes {
            let mut index = Index::create();
            index.name(name).table(Payment::Table);
            if unique {
                index.unique();
            }
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PaymentAnswer::Table)
                    .col(pk_auto(PaymentAnswer::Id))
                    .col(integer(PaymentAnswer::TenantId))
                    .col(integer(PaymentAnswer::PaymentId))
                    .col(string_len(PaymentAnswer::Source, 16))
                    .col(string_len(PaymentAnswer::Outcome, 300))
                    .col(text(PaymentAnswer::Detail))
                    .col(timestamp_with_time_zone(PaymentAnswer::ReceivedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_answer_tenant")
                            .from(PaymentAnswer::Table, PaymentAnswer::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_answer_payment")
                            .from(PaymentAnswer::Table, PaymentAnswer::PaymentId)
                            .to(Payment::Table, Payment::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payment_answer_payment")
                    .table(PaymentAnswer::Table)
                    .col(PaymentAnswer::PaymentId)
                    .col(PaymentAnswer::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PaymentSettings::Table)
                    .col(
                        ColumnDef::new(PaymentSettings::TenantId)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(boolean(PaymentSettings::Enabled))
                    .col(string_len(PaymentSettings::Numcli, 6))
                    .col(string_len(PaymentSettings::Saisie, 1))
                    .col(string_len_null(PaymentSettings::UpdatedBy, 255))
                    .col(timestamp_with_time_zone(PaymentSettings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_settings_tenant")
                            .from(PaymentSettings::Table, PaymentSettings::TenantId)
                            .to(Alias::new("tenant"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PaymentSettings::Table.into_iden(),
            PaymentAnswer::Table.into_iden(),
            Payment::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Payment {
    Table,
    Id,
    TenantId,
    AccountId,
    ResidentIdentifier,
    Provider,
    ModuleId,
    Reference,
    Label,
    AmountCents,
    Email,
    Numcli,
    Saisie,
    ReturnPath,
    ReturnToken,
    ProviderId,
    State,
    Result,
    Authorization,
    PaidAt,
    CreatedAt,
    UpdatedAt,
    RecordedAt,
    AskedAt,
    EventDeliveredAt,
    EventNextAt,
    EventAttempts,
    EventError,
}

#[derive(DeriveIden)]
enum PaymentAnswer {
    Table,
    Id,
    TenantId,
    PaymentId,
    Source,
    Outcome,
    Detail,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum PaymentSettings {
    Table,
    TenantId,
    Enabled,
    Numcli,
    Saisie,
    UpdatedBy,
    UpdatedAt,
}
