//! How a domain declares the personal data its tables hold: one
//! [`Table`] per table, in the domain's own `personal_data.rs`. The
//! export, the closure of an account and the tests that hold them to
//! the schema all read these declarations (registry.rs); nothing else
//! lists a domain's tables.
//!
//! This file is the ground floor of the privacy domain: it imports
//! nothing, so that every domain can declare its tables without importing
//! the services above it.

/// One table of the schema, as the privacy rules see it.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    /// What the export calls it, in French ("Votre compte").
    pub label: &'static str,
    pub holds: Holds,
}

/// What a table holds, of the residents' personal data.
#[derive(Debug)]
pub enum Holds {
    /// A resident's data: which rows are theirs, each column, and what the
    /// closure of their account does to those rows.
    Resident {
        rows: Rows,
        columns: &'static [Column],
        closure: Closure,
    },
    /// Nothing of any resident (why not: the town's own settings, counters).
    Nothing(&'static str),
    /// Personal data of people who are not residents (the staff), under
    /// their own rule (which).
    Others(&'static str),
    /// Residents' data that cannot be told apart per resident (a CSV file
    /// of many residents), erased by a retention job after a short time
    /// (which, and when).
    Transient(&'static str),
}

/// Which rows of a table are a resident's.
#[derive(Debug, Clone, Copy)]
pub enum Rows {
    /// The account row itself (`id`).
    Account,
    /// `column` holds the account's id.
    Column(&'static str),
    /// `column` holds the id of a row of `parent` whose `parent_column`
    /// holds the account's id (a request's history).
    Parent {
        column: &'static str,
        parent: &'static str,
        parent_column: &'static str,
    },
    /// The journal's events whose subject is the account, or which the
    /// resident did.
    Journal,
    /// `column` holds the account's e-mail address (the outbox).
    Recipient(&'static str),
    /// A module's town storage (`account_id` null) naming the resident by
    /// their reference (`resident.reference`, the identifier) in a key's
    /// segment or as a JSON string of the value: a booking, a waiting list.
    Mentions,
    /// Throttling counters named after the account (`account:<id>`,
    /// `mail-to:<id>`, `device:<id>:…`) or its identifier (`name:<id>`).
    ThrottleKeys,
}

/// What the closure of an account does to its rows of a table.
#[derive(Debug, Clone, Copy)]
pub enum Closure {
    /// The rows are deleted.
    Delete,
    /// The law makes the town keep the rows (why, how long): each column's
    /// [`Erase`] pseudonymises them.
    Keep(&'static str),
}

/// One column of a resident's table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// What the export calls it, in French; `None` for what is not the
    /// resident's data but the machinery's (a hash, a lease, a foreign
    /// key), which the export leaves out.
    pub label: Option<&'static str>,
    pub kind: Kind,
    /// Whether the column identifies the resident, alone or with little
    /// else (names, addresses, identifiers, free text, network addresses):
    /// a kept row must erase every such column.
    pub identifying: bool,
    /// What the closure does to it in a kept row.
    pub erase: Erase,
}

/// How a column's values are read for the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A 32-bit integer (an id).
    Int,
    /// A 64-bit integer (an amount in cents, a size).
    BigInt,
    Bool,
    /// An instant (UTC).
    Time,
    /// A calendar date.
    Date,
    /// JSON text, exported as JSON.
    Json,
    /// A PDF, exported as a file of the archive.
    Pdf,
    /// Bytes or a secret (a hash) never exported.
    Secret,
}

/// What the closure writes in a kept row's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erase {
    /// Kept as it is (not identifying: an amount, a date, a state).
    Keep,
    Null,
    /// The empty string (a column that cannot be null).
    Empty,
    /// The account's pseudonym (`anonyme-…`): what still tells the kept
    /// records of one former account apart, and nothing about who.
    Pseudonym,
}

/// Shorthand constructors, so that the declarations read as tables.
impl Column {
    /// A column exported under `label`, deleted with its row or kept.
    pub const fn data(name: &'static str, label: &'static str, kind: Kind) -> Self {
        Self {
            name,
            label: Some(label),
            kind,
            identifying: false,
            erase: Erase::Keep,
        }
    }

    /// An identifying column exported under `label`, erased by `erase` in
    /// a kept row.
    pub const fn identifying(
        name: &'static str,
        label: &'static str,
        kind: Kind,
        erase: Erase,
    ) -> Self {
        Self {
            name,
            label: Some(label),
            kind,
            identifying: true,
            erase,
        }
    }

    /// The machinery's: not exported, kept as it is in a kept row.
    pub const fn technical(name: &'static str, kind: Kind) -> Self {
        Self {
            name,
            label: None,
            kind,
            identifying: false,
            erase: Erase::Keep,
        }
    }

    /// The machinery's, but identifying (a secret's hash tied to the
    /// person, a foreign key to the account): not exported, erased.
    pub const fn technical_erased(name: &'static str, kind: Kind, erase: Erase) -> Self {
        Self {
            name,
            label: None,
            kind,
            identifying: true,
            erase,
        }
    }
}
