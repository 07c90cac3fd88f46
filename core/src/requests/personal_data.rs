//! Requests, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[
    Table {
        name: "request",
        label: "Vos demandes",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: &[
                Column::data("id", "Numéro interne", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                Column::data("reference", "Référence", Kind::Text),
                Column::data("kind", "Type", Kind::Text),
                Column::data("module_id", "Service", Kind::Text),
                Column::identifying("title", "Objet", Kind::Text, Erase::Empty),
                Column::identifying("details", "Détails", Kind::Text, Erase::Empty),
                Column::data("status", "État", Kind::Text),
                Column::data("created_at", "Déposée le", Kind::Time),
                Column::data("updated_at", "Mise à jour le", Kind::Time),
                Column::technical("assignee_id", Kind::Int),
                Column::data("closed_at", "Close le", Kind::Time),
            ],
        },
    },
    Table {
        name: "request_event",
        label: "Historique de vos demandes",
        holds: Holds::Resident {
            rows: Rows::Parent {
                column: "request_id",
                parent: "request",
                parent_column: "account_id",
            },
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::data("request_id", "Demande (numéro interne)", Kind::Int),
                Column::data("status", "État", Kind::Text),
                Column::identifying("note", "Message", Kind::Text, Erase::Null),
                Column::data("at", "Date", Kind::Time),
                Column::data("author", "Auteur", Kind::Text),
            ],
        },
    },
    Table {
        name: "request_note",
        label: "Notes internes des agents sur vos demandes",
        holds: Holds::Resident {
            rows: Rows::Parent {
                column: "request_id",
                parent: "request",
                parent_column: "account_id",
            },
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::data("request_id", "Demande (numéro interne)", Kind::Int),
                Column::technical("staff_id", Kind::Int),
                Column::technical("staff_label", Kind::Text),
                Column::identifying("body", "Note", Kind::Text, Erase::Empty),
                Column::data("at", "Date", Kind::Time),
            ],
        },
    },
    Table {
        name: "request_counter",
        label: "Compteur des références",
        holds: Holds::Nothing("the last reference given in each town"),
    },
];
