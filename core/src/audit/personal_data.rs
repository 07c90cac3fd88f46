//! The journal, as the privacy rules see it (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[Table {
    name: "audit_event",
    label: "Historique de votre compte",
    holds: Holds::Resident {
        rows: Rows::Journal,
        // The town's security record: a closed account's events stay until
        // the journal's retention deletes them, without what identified
        // the person (address, browser, detail).
        closure: Closure::Keep(
            "le journal de la mairie, jusqu'à la fin de sa durée de conservation \
             ([journal] retention_days), sans adresse IP, navigateur ni détail",
        ),
        columns: &[
            Column::technical("id", Kind::Int),
            Column::technical("tenant_id", Kind::Int),
            Column::technical("account_id", Kind::Int),
            Column::data("kind", "Événement", Kind::Text),
            Column::data("actor_kind", "Auteur", Kind::Text),
            Column::technical("actor_id", Kind::Int),
            // A staff member's name (the resident's own events have none):
            // the resident's history says "un agent de la mairie", so does
            // the export.
            Column::technical("actor_label", Kind::Text),
            Column::identifying("ip", "Adresse IP", Kind::Text, Erase::Null),
            Column::identifying("user_agent", "Navigateur", Kind::Text, Erase::Null),
            Column::identifying("detail", "Détail", Kind::Text, Erase::Null),
            Column::data("created_at", "Date", Kind::Time),
        ],
    },
}];
