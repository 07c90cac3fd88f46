//! Issued documents, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[
    Table {
        name: "issued_document",
        label: "Documents délivrés",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            // An attestation is the resident's, not a record the town must
            // keep: deleted, its code no longer verifies (the paper stays
            // what it is).
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                Column::data("number", "Numéro", Kind::Text),
                Column::data("module_id", "Service", Kind::Text),
                Column::data("document_id", "Document", Kind::Text),
                Column::identifying("title", "Titre", Kind::Text, Erase::Empty),
                Column::identifying("params", "Paramètres", Kind::Json, Erase::Empty),
                Column::technical("code_hash", Kind::Secret),
                // The file's SHA-256, for the verification by file.
                Column::technical("sha256", Kind::Text),
                Column::identifying("pdf", "Fichier", Kind::Pdf, Erase::Null),
                Column::data("issued_by_kind", "Délivré par", Kind::Text),
                Column::technical("issued_by_id", Kind::Int),
                Column::technical("issued_by_label", Kind::Text),
                Column::data("issued_at", "Délivré le", Kind::Time),
            ],
        },
    },
    Table {
        name: "document_counter",
        label: "Compteur des numéros",
        holds: Holds::Nothing("the last number given per town and year"),
    },
    Table {
        name: "document_settings",
        label: "Signataire des documents",
        holds: Holds::Others("who signs the town's documents: an elected official, by office"),
    },
];
