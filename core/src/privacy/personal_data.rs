//! The privacy domain's own tables (privacy/declare.rs).

use super::declare::{Closure, Column, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[
    Table {
        name: "data_export",
        label: "Vos exports de données",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                Column::data("requested_by", "Demandé par", Kind::Text),
                Column::technical("staff_label", Kind::Text),
                Column::data("state", "État", Kind::Text),
                Column::technical("token_hash", Kind::Secret),
                // The export itself: not exported again.
                Column::technical("archive", Kind::Secret),
                Column::technical("archive_bytes", Kind::BigInt),
                Column::technical("attempts", Kind::Int),
                Column::technical("claimed_until", Kind::Time),
                Column::technical("error", Kind::Text),
                Column::data("created_at", "Demandé le", Kind::Time),
                Column::data("ready_at", "Prêt le", Kind::Time),
                Column::data("expires_at", "Lien valable jusqu'au", Kind::Time),
                Column::data("downloaded_at", "Téléchargé le", Kind::Time),
            ],
        },
    },
    Table {
        name: "privacy_settings",
        label: "Réglages de la protection des données",
        holds: Holds::Others(
            "the controller and the DPO of the notice: an office's professional contact",
        ),
    },
    Table {
        name: "retention_run",
        label: "Passages des tâches de conservation",
        holds: Holds::Nothing("what each retention round did, counts only"),
    },
];
