//! The data API's keys, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Holds, Table};

pub const TABLES: &[Table] = &[Table {
    name: "api_key",
    label: "Clés d'API",
    holds: Holds::Nothing("the towns' software's keys, hashed"),
}];
