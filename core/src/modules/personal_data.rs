//! The modules' tables, as the privacy rules see them
//! (privacy/declare.rs). A module's storage has two scopes: the
//! resident's (`account_id`), theirs alone, and the town's, where a
//! module may name residents by their reference (a booking, a waiting
//! list): those entries are found by the reference and rewritten
//! (privacy/rows.rs), since they are the town's records.

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

const STORAGE_COLUMNS: &[Column] = &[
    Column::technical("id", Kind::Int),
    Column::technical("tenant_id", Kind::Int),
    Column::data("module_id", "Service", Kind::Text),
    Column::technical("account_id", Kind::Int),
    Column::identifying("key", "Clé", Kind::Text, Erase::Pseudonym),
    Column::identifying("value", "Contenu", Kind::Json, Erase::Pseudonym),
    Column::data("updated_at", "Modifié le", Kind::Time),
];

pub const TABLES: &[Table] = &[
    Table {
        name: "module_data",
        label: "Données des services (votre espace)",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: STORAGE_COLUMNS,
        },
    },
    Table {
        name: "module_data",
        label: "Données des services vous concernant (espace commun du service)",
        holds: Holds::Resident {
            rows: Rows::Mentions,
            closure: Closure::Keep(
                "les réservations et autres registres du service, que la mairie facture \
                 et garde : votre référence y devient le pseudonyme, les noms y sont effacés",
            ),
            columns: STORAGE_COLUMNS,
        },
    },
    Table {
        name: "module_resident_usage",
        label: "Place occupée par vos données",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("module_id", Kind::Text),
                Column::technical("account_id", Kind::Int),
                Column::technical("bytes", Kind::BigInt),
                Column::technical("entries", Kind::BigInt),
            ],
        },
    },
    Table {
        name: "module_release",
        label: "Versions des modules",
        holds: Holds::Nothing("the modules' published code and manifests"),
    },
    Table {
        name: "town_module",
        label: "Modules de la mairie",
        holds: Holds::Nothing("the town's modules and their configuration"),
    },
    Table {
        name: "module_usage",
        label: "Place occupée par les services",
        holds: Holds::Nothing("a town's storage figures per module"),
    },
    Table {
        name: "town_module_edit",
        label: "Modifications des modules",
        holds: Holds::Nothing("when the back-office last changed a town's modules"),
    },
];
