//! The towns' own tables, as the privacy rules see them
//! (privacy/declare.rs — the one part of a feature tenancy may read: it
//! imports nothing).

use crate::privacy::declare::{Holds, Table};

pub const TABLES: &[Table] = &[
    Table {
        name: "tenant",
        label: "Communes",
        holds: Holds::Nothing("the towns' definitions"),
    },
    Table {
        name: "tenant_hostname",
        label: "Adresses des communes",
        holds: Holds::Nothing("the towns' host names"),
    },
    Table {
        name: "tenant_removal",
        label: "Communes retirées",
        holds: Holds::Nothing("which town was removed when, and how many rows went with it"),
    },
];
