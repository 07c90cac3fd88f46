//! Payments, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

const KEPT: &str = "pièces comptables : 10 ans (Code général des collectivités \
                    territoriales), détachées du compte, sous pseudonyme";

pub const TABLES: &[Table] = &[
    Table {
        name: "payment",
        label: "Vos paiements en ligne",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Keep(KEPT),
            columns: &[
                Column::data("id", "Numéro", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                // Detached: the kept payment names the pseudonym only.
                Column::technical_erased("account_id", Kind::Int, Erase::Null),
                Column::identifying(
                    "resident_identifier",
                    "Identifiant",
                    Kind::Text,
                    Erase::Pseudonym,
                ),
                Column::data("provider", "Prestataire", Kind::Text),
                Column::data("module_id", "Service", Kind::Text),
                Column::data("reference", "Référence de la facture", Kind::Text),
                Column::identifying("label", "Objet", Kind::Text, Erase::Empty),
                Column::data("amount_cents", "Montant (centimes d'euro)", Kind::BigInt),
                Column::identifying("email", "Adresse électronique", Kind::Text, Erase::Empty),
                Column::technical("numcli", Kind::Text),
                Column::technical("saisie", Kind::Text),
                Column::technical("return_path", Kind::Text),
                Column::technical("return_token", Kind::Secret),
                Column::data("provider_id", "Opération du prestataire", Kind::Text),
                Column::data("state", "État", Kind::Text),
                Column::data("result", "Résultat", Kind::Text),
                Column::data("authorization", "Autorisation", Kind::Text),
                Column::data("paid_at", "Payé le", Kind::Time),
                Column::data("created_at", "Commencé le", Kind::Time),
                Column::technical("updated_at", Kind::Time),
                Column::technical("recorded_at", Kind::Time),
                Column::technical("asked_at", Kind::Time),
                Column::technical("event_delivered_at", Kind::Time),
                Column::technical("event_next_at", Kind::Time),
                Column::technical("event_attempts", Kind::Int),
                Column::technical("event_error", Kind::Text),
            ],
        },
    },
    Table {
        name: "payment_answer",
        label: "Réponses du prestataire de paiement",
        holds: Holds::Resident {
            rows: Rows::Parent {
                column: "payment_id",
                parent: "payment",
                parent_column: "account_id",
            },
            closure: Closure::Keep(KEPT),
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::data("payment_id", "Paiement (numéro)", Kind::Int),
                Column::data("source", "Reçue par", Kind::Text),
                Column::data("outcome", "Réponse", Kind::Text),
                // The provider's answer as received, with the address the
                // payment carried.
                Column::identifying("detail", "Détail", Kind::Text, Erase::Empty),
                Column::data("received_at", "Reçue le", Kind::Time),
            ],
        },
    },
    Table {
        name: "payment_settings",
        label: "Réglages du paiement en ligne",
        holds: Holds::Nothing("the town's contract with the provider"),
    },
];
