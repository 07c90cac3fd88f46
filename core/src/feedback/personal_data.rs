//! "Votre avis nous intéresse", as the privacy rules see it
//! (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[Table {
    name: "feedback",
    label: "Vos avis",
    holds: Holds::Resident {
        rows: Rows::Column("account_id"),
        closure: Closure::Delete,
        columns: &[
            Column::technical("id", Kind::Int),
            Column::technical("tenant_id", Kind::Int),
            Column::technical("account_id", Kind::Int),
            Column::data("topic", "Sujet", Kind::Text),
            Column::identifying("message", "Message", Kind::Text, Erase::Empty),
            Column::data("created_at", "Envoyé le", Kind::Time),
            Column::data("read_at", "Lu le", Kind::Time),
            Column::data("handled_at", "Traité le", Kind::Time),
            Column::identifying("reply", "Réponse de la mairie", Kind::Text, Erase::Null),
            Column::data("replied_at", "Répondu le", Kind::Time),
        ],
    },
}];
