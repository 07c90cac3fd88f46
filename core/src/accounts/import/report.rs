//! What an import did or would do, line by line: kept as JSON with the
//! import, shown as tables, downloaded as CSV.

use serde::{Deserialize, Serialize};

use super::parse::Column;
use crate::spreadsheet::CsvWriter;

/// What became (or would become) of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    /// A new account (with its activation mail).
    Create,
    /// A known resident, updated from the file.
    Update,
    /// A known resident, left alone: nothing differs, or the import does
    /// not update known residents.
    Unchanged,
    /// Not imported: see the report's errors.
    Error,
}

impl LineOutcome {
    /// In French, as a simulation (`done` false) or an execution says it.
    pub fn label(self, done: bool) -> &'static str {
        match (self, done) {
            (Self::Create, false) => "à créer",
            (Self::Create, true) => "créé",
            (Self::Update, false) => "à mettre à jour",
            (Self::Update, true) => "mis à jour",
            (Self::Unchanged, _) => "déjà connu, inchangé",
            (Self::Error, _) => "erreur",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineReport {
    pub line: u64,
    pub email: String,
    pub outcome: LineOutcome,
    /// The account's identifier (the one it would get, for a simulation).
    pub identifier: Option<String>,
    /// Known, different from the file, and not updated (the import does
    /// not update known residents).
    #[serde(default)]
    pub differs: bool,
}

/// One thing wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line: u64,
    /// None for the line as a whole (its number of cells).
    pub column: Option<Column>,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub to_create: usize,
    pub to_update: usize,
    pub unchanged: usize,
    /// Lines with at least one error.
    pub error_lines: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// An execution's report (a simulation's otherwise).
    pub executed: bool,
    pub update_known: bool,
    pub lines: Vec<LineReport>,
    /// In line order, then column order.
    pub errors: Vec<LineError>,
}

impl ImportReport {
    pub fn counts(&self) -> ImportCounts {
        let mut counts = ImportCounts::default();
        for line in &self.lines {
            match line.outcome {
                LineOutcome::Create => counts.to_create += 1,
                LineOutcome::Update => counts.to_update += 1,
                LineOutcome::Unchanged => counts.unchanged += 1,
                LineOutcome::Error => counts.error_lines += 1,
            }
        }
        counts
    }

    /// Known residents whose data differ from the file but were left alone.
    pub fn differing(&self) -> usize {
        self.lines.iter().filter(|line| line.differs).count()
    }

    /// The report as CSV (`,`-separated, UTF-8 with its byte-order mark so
    /// that Excel reads the accents): one row per line, and one per error.
    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut out = b"\xEF\xBB\xBF".to_vec();
        let mut writer = CsvWriter::new(&mut out);
        writer.write_row([
            "ligne",
            "courriel",
            "résultat",
            "identifiant",
            "colonne",
            "motif",
        ])?;
        let mut errors = self.errors.iter().peekable();
        for line in &self.lines {
            let number = line.line.to_string();
            if line.outcome == LineOutcome::Error {
                while let Some(error) = errors.next_if(|error| error.line == line.line) {
                    writer.write_row([
                        number.as_str(),
                        line.email.as_str(),
                        line.outcome.label(self.executed),
                        "",
                        error.column.map_or("", Column::name),
                        error.reason.as_str(),
                    ])?;
                }
                continue;
            }
            let note = if line.differs {
                "différences non reprises (mise à jour des usagers connus non demandée)"
            } else {
                ""
            };
            writer.write_row([
                number.as_str(),
                line.email.as_str(),
                line.outcome.label(self.executed),
                line.identifier.as_deref().unwrap_or_default(),
                "",
                note,
            ])?;
        }
        writer.flush()?;
        drop(writer);
        Ok(out)
    }
}
