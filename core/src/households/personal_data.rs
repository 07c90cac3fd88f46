//! Households, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[Table {
    name: "household_member",
    label: "Membres de votre foyer",
    holds: Holds::Resident {
        rows: Rows::Column("account_id"),
        closure: Closure::Delete,
        columns: &[
            Column::technical("id", Kind::Int),
            Column::technical("tenant_id", Kind::Int),
            Column::technical("account_id", Kind::Int),
            Column::identifying("first_name", "Prénom", Kind::Text, Erase::Empty),
            Column::identifying("last_name", "Nom", Kind::Text, Erase::Empty),
            Column::identifying("birth_date", "Date de naissance", Kind::Date, Erase::Null),
            Column::data("relation", "Lien", Kind::Text),
            Column::identifying(
                "external_ref",
                "Référence de la mairie",
                Kind::Text,
                Erase::Null,
            ),
            Column::data("created_at", "Ajouté le", Kind::Time),
        ],
    },
}];
