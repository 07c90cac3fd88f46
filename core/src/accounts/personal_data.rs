//! The accounts' tables, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Closure, Column, Erase, Holds, Kind, Rows, Table};

pub const TABLES: &[Table] = &[
    Table {
        name: "account",
        label: "Votre compte",
        holds: Holds::Resident {
            rows: Rows::Account,
            closure: Closure::Keep(
                "le pseudonyme auquel renvoient les paiements et les acceptations des \
                 conditions d'utilisation que la mairie doit garder",
            ),
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::identifying("identifier", "Identifiant", Kind::Text, Erase::Pseudonym),
                Column::identifying("email", "Adresse électronique", Kind::Text, Erase::Empty),
                Column::technical_erased("email_key", Kind::Text, Erase::Pseudonym),
                Column::identifying("civility", "Civilité", Kind::Text, Erase::Null),
                Column::identifying("first_name", "Prénom", Kind::Text, Erase::Empty),
                Column::identifying("last_name", "Nom", Kind::Text, Erase::Empty),
                Column::identifying("address", "Adresse", Kind::Text, Erase::Null),
                Column::identifying("phone", "Téléphone", Kind::Text, Erase::Null),
                Column::technical_erased("password_hash", Kind::Secret, Erase::Empty),
                Column::technical("password_is_temporary", Kind::Bool),
                Column::technical("temporary_password_expires_at", Kind::Time),
                Column::data("status", "État du compte", Kind::Text),
                Column::data("created_at", "Créé le", Kind::Time),
                Column::data("activated_at", "Activé le", Kind::Time),
                Column::data("password_changed_at", "Mot de passe modifié le", Kind::Time),
                Column::data("last_login_at", "Dernière connexion", Kind::Time),
                Column::data("previous_login_at", "Connexion précédente", Kind::Time),
                Column::data("disabled_at", "Désactivé par la mairie le", Kind::Time),
                Column::identifying(
                    "disabled_reason",
                    "Motif de la désactivation",
                    Kind::Text,
                    Erase::Null,
                ),
                Column::technical_erased("sort_key", Kind::Text, Erase::Empty),
                Column::data("closure_requested_at", "Fermeture demandée le", Kind::Time),
                Column::data("closes_at", "Fermeture prévue le", Kind::Time),
                Column::data(
                    "inactivity_warned_at",
                    "Averti de la fermeture pour inactivité le",
                    Kind::Time,
                ),
                Column::technical("closed_at", Kind::Time),
            ],
        },
    },
    Table {
        name: "account_token",
        label: "Liens envoyés par courriel",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                Column::data("purpose", "Objet du lien", Kind::Text),
                Column::technical("token_hash", Kind::Secret),
                Column::data("created_at", "Envoyé le", Kind::Time),
                Column::data("expires_at", "Valable jusqu'au", Kind::Time),
                Column::data("used_at", "Utilisé le", Kind::Time),
                Column::identifying("payload", "Contenu", Kind::Text, Erase::Null),
            ],
        },
    },
    Table {
        name: "session",
        label: "Connexions ouvertes",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                Column::technical("token_hash", Kind::Secret),
                Column::data("created_at", "Ouverte le", Kind::Time),
                Column::data("last_seen_at", "Dernière activité", Kind::Time),
                Column::data("expires_at", "Expire le", Kind::Time),
                Column::identifying("ip", "Adresse IP", Kind::Text, Erase::Null),
                Column::identifying("user_agent", "Navigateur", Kind::Text, Erase::Null),
                Column::technical("franceconnect_id_token", Kind::Secret),
            ],
        },
    },
    Table {
        name: "account_search_word",
        label: "Index de recherche des agents",
        holds: Holds::Resident {
            rows: Rows::Column("account_id"),
            closure: Closure::Delete,
            columns: &[
                Column::technical("tenant_id", Kind::Int),
                Column::technical("account_id", Kind::Int),
                // The names' words again: deleted with the account's data.
                Column::technical_erased("word", Kind::Text, Erase::Empty),
            ],
        },
    },
    Table {
        name: "auth_throttle",
        label: "Compteurs contre les essais répétés",
        holds: Holds::Resident {
            rows: Rows::ThrottleKeys,
            closure: Closure::Delete,
            columns: &[
                Column::technical("id", Kind::Int),
                Column::technical("tenant_id", Kind::Int),
                Column::technical_erased("key", Kind::Text, Erase::Empty),
                Column::technical("failures", Kind::Int),
                Column::technical("window_started_at", Kind::Time),
                Column::technical("blocked_until", Kind::Time),
            ],
        },
    },
    Table {
        name: "retired_identifier",
        label: "Identifiants retirés",
        holds: Holds::Nothing(
            "digests of closed accounts' identifiers, linked to no account, so that none \
             is given to someone else",
        ),
    },
    Table {
        name: "account_import",
        label: "Imports de comptes",
        holds: Holds::Transient(
            "the CSV files of many residents and their reports by line: both are \
             erased 30 days after the import, its counts kept (privacy/retention.rs)",
        ),
    },
];
