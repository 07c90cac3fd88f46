//! The counters' table, as the privacy rules see it.

use crate::privacy::declare::{Holds, Table};

pub const TABLES: &[Table] = &[Table {
    name: "data_version",
    label: "Compteurs de versions",
    holds: Holds::Nothing("counters of changes per town, subject and account id: numbers only"),
}];
