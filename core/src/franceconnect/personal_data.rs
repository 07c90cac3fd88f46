//! FranceConnect's links, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[Table {
    name: "franceconnect_link",
    label: "Association à FranceConnect",
    holds: Holds::Resident {
        rows: Rows::Column("account_id"),
        closure: Closure::Delete,
        columns: &[
            Column::technical("id", Kind::Int),
            Column::technical("tenant_id", Kind::Int),
            Column::technical("account_id", Kind::Int),
            Column::data("issuer", "Fournisseur d'identité", Kind::Text),
            Column::identifying(
                "subject",
                "Identifiant FranceConnect",
                Kind::Text,
                Erase::Empty,
            ),
            Column::data("linked_at", "Associé le", Kind::Time),
        ],
    },
}];
