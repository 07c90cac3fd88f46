//! Requests handled by the town's staff (issue 17): who a request is
//! assigned to and when it was closed; who wrote each event of its history
//! (the staff, the resident answering, or Guichet); the staff's internal
//! notes, in a table of their own so that nothing that reads a resident's
//! request (their pages, their data) can reach them; feedback read, handled
//! and answered.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Request {
    Table,
    AssigneeId,
    ClosedAt,
}

#[derive(DeriveIden)]
enum RequestEvent {
    Table,
    Author,
}

#[derive(DeriveIden)]
enum RequestNote {
    Table,
    Id,
    RequestId,
    StaffId,
    StaffLabel,
    Body,
    At,
}

#[derive(DeriveIden)]
enum Feedback {
    Table,
    ReadAt,
    HandledAt,
    Reply,
    RepliedAt,
}

async fn add(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    // SQLite adds one column per statement.
    let mut column = column;
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add(manager, Request::Table, integer_null(Request::AssigneeId)).await?;
        add(
            manager,
            Request::Table,
            timestamp_with_time_zone_null(Request::ClosedAt),
        )
        .await?;
        add(
            manager,
            RequestEvent::Table,
            string_len_null(RequestEvent::Author, 16),
        )
        .await?;
        for column in [Feedback::ReadAt, Feedback::HandledAt, Feedback::RepliedAt] {
            add(
                manager,
                Feedback::Table,
                timestamp_with_time_zone_null(column),
            )
            .await?;
        }
        add(manager, Feedback::Table, text_null(Feedback::Reply)).await?;
        manager
            .create_table(
                Table::create()
                    .table(RequestNote::Table)
                    .col(pk_auto(RequestNote::Id))
                    .col(integer(RequestNote::RequestId))
                    .col(integer(RequestNote::StaffId))
                    .col(string_len(RequestNote::StaffLabel, 255))
                    .col(text(RequestNote::Body))
                    .col(timestamp_with_time_zone(RequestNote::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_request_note_request")
                            .from(RequestNote::Table, RequestNote::RequestId)
                            .to(Request::Table, Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_request_note_request")
                    .table(RequestNote::Table)
                    .col(RequestNote::RequestId)
                    .to_owned(),
            )
            .await?;
        // The inbox: a town's requests by status, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_request_tenant_status")
                    .table(Request::Table)
                    .col(Alias::new("tenant_id"))
                    .col(Alias::new("status"))
                    .col(Alias::new("created_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_request_tenant_status")
                    .table(Request::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(RequestNote::Table).to_owned())
            .await?;
        for column in [
            Feedback::ReadAt,
            Feedback::HandledAt,
            Feedback::RepliedAt,
            Feedback::Reply,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Feedback::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(RequestEvent::Table)
                    .drop_column(RequestEvent::Author)
                    .to_owned(),
            )
            .await?;
        for column in [Request::AssigneeId, Request::ClosedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Request::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
