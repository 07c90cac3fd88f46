//! The outbox, as the privacy rules see it (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[Table {
    name: "mail_outbox",
    label: "Courriels qui vous ont été envoyés",
    holds: Holds::Resident {
        rows: Rows::Recipient("recipient"),
        closure: Closure::Delete,
        columns: &[
            Column::technical("id", Kind::Int),
            Column::technical("tenant_id", Kind::Int),
            Column::data("kind", "Courriel", Kind::Text),
            Column::technical("from_name", Kind::Text),
            Column::technical("from_address", Kind::Text),
            Column::identifying("recipient", "Destinataire", Kind::Text, Erase::Empty),
            Column::data("subject", "Objet", Kind::Text),
            // The bodies hold what each mail carried (a temporary password,
            // a link): the export lists the mails, not their secrets.
            Column::technical_erased("text_body", Kind::Secret, Erase::Empty),
            Column::technical_erased("html_body", Kind::Secret, Erase::Empty),
            Column::data("status", "État", Kind::Text),
            Column::technical("attempts", Kind::Int),
            Column::technical("next_attempt_at", Kind::Time),
            Column::technical("locked_until", Kind::Time),
            Column::technical_erased("last_error", Kind::Text, Erase::Null),
            Column::data("created_at", "Écrit le", Kind::Time),
            Column::data("sent_at", "Envoyé le", Kind::Time),
            Column::technical("message_id", Kind::Text),
            Column::technical("claimed_by", Kind::Text),
        ],
    },
}];
