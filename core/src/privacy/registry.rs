//! Every table of the schema, declared by the domain that owns it: the one
//! list the export, the closure and the schema tests read.

use super::declare::{Holds, Table};

/// The migrations' own bookkeeping.
const SCHEMA: &[Table] = &[Table {
    name: "seaql_migrations",
    label: "Migrations",
    holds: Holds::Nothing("the schema's version"),
}];

/// Every declaration, domain by domain. A table may be declared twice
/// when two kinds of its rows follow two rules (module storage: the
/// resident's scope and the town's entries naming them).
pub fn tables() -> impl Iterator<Item = &'static Table> {
    [
        crate::tenancy::personal_data::TABLES,
        crate::accounts::personal_data::TABLES,
        crate::households::personal_data::TABLES,
        crate::franceconnect::personal_data::TABLES,
        crate::terms::personal_data::TABLES,
        crate::requests::personal_data::TABLES,
        crate::feedback::personal_data::TABLES,
        crate::modules::personal_data::TABLES,
        crate::documents::personal_data::TABLES,
        crate::payments::personal_data::TABLES,
        crate::mail::personal_data::TABLES,
        crate::audit::personal_data::TABLES,
        crate::staff::personal_data::TABLES,
        crate::api::personal_data::TABLES,
        super::personal_data::TABLES,
        crate::versions::personal_data::TABLES,
        SCHEMA,
    ]
    .into_iter()
    .flatten()
}

/// The declarations of residents' data, in the order the export shows them.
pub fn residents() -> impl Iterator<Item = &'static Table> {
    tables().filter(|table| matches!(table.holds, Holds::Resident { .. }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::declare::{Closure, Erase, Holds, Kind};
    use super::*;

    /// A kept row keeps nothing that identifies: every identifying column
    /// of a kept table is erased.
    #[test]
    fn kept_rows_erase_every_identifying_column() {
        for table in residents() {
            let Holds::Resident {
                columns,
                closure: Closure::Keep(why),
                ..
            } = &table.holds
            else {
                continue;
            };
            assert!(!why.is_empty());
            for column in *columns {
                if column.identifying {
                    assert_ne!(column.erase, Erase::Keep, "{}.{}", table.name, column.name);
                }
            }
        }
    }

    #[test]
    fn columns_are_declared_once_and_secrets_never_exported() {
        for table in residents() {
            let Holds::Resident { columns, .. } = &table.holds else {
                continue;
            };
            let mut seen = HashSet::new();
            for column in *columns {
                assert!(
                    seen.insert(column.name),
                    "{}.{} twice",
                    table.name,
                    column.name
                );
                if column.kind == Kind::Secret {
                    assert!(
                        column.label.is_none(),
                        "{}.{} is exported",
                        table.name,
                        column.name
                    );
                }
            }
        }
    }

    /// A table declared twice is declared with the same columns (the
    /// schema test compares each declaration with the table).
    #[test]
    fn tables_declared_twice_only_for_module_storage() {
        let mut names: Vec<&str> = tables().map(|table| table.name).collect();
        names.sort_unstable();
        let twice: Vec<&str> = names
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        assert_eq!(twice, ["module_data"]);
    }
}
