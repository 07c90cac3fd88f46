//! Terms of use, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[
    Table {
        name: "terms_version",
        label: "Conditions d'utilisation",
        holds: Holds::Nothing("the town's texts"),
    },
    Table {
        name: "terms_acceptance",
        label: "Vos acceptations des conditions d'utilisation",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            // The proof: which text (version, hash) was accepted when, by
            // the pseudonym the account became.
            closure: Closure::Keep(
                "la preuve de l'acceptation (version, empreinte du texte, date), sous \
                 pseudonyme, tant qu'elle peut servir",
            ),
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                Column::data("terms_version_id", "Version (numéro interne)", Kind::Int),
                Column::data("content_hash", "Empreinte du texte (SHA-256)", Kind::Text),
                Column::data("action", "Action", Kind::Text),
                Column::data("created_at", "Date", Kind::Time),
                Column::identifying("ip", "Adresse IP", Kind::Text, Erase::Null),
                Column::identifying("user_agent", "Navigateur", Kind::Text, Erase::Null),
            ],
        },
    },
];
