//! Text to lines: the separator (`;` or `,`, whichever the header line
//! uses), the header (required; case, accents, spaces and hyphens do not
//! matter), then one [`Row`] per non-blank line with its line number as a
//! spreadsheet shows it (the header is line 1).

use serde::{Deserialize, Serialize};

use super::MAX_LINES;
use super::decode::FileRefusal;

/// The columns of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Column {
    Civilite,
    Prenom,
    Nom,
    Courriel,
    Adresse,
    Telephone,
}

impl Column {
    pub const ALL: [Self; 6] = [
        Self::Civilite,
        Self::Prenom,
        Self::Nom,
        Self::Courriel,
        Self::Adresse,
        Self::Telephone,
    ];

    /// As the header names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Civilite => "civilite",
            Self::Prenom => "prenom",
            Self::Nom => "nom",
            Self::Courriel => "courriel",
            Self::Adresse => "adresse",
            Self::Telephone => "telephone",
        }
    }

    fn required(self) -> bool {
        matches!(self, Self::Prenom | Self::Nom | Self::Courriel)
    }

    /// The column a header cell means: "Prénom", " PRENOM ", "E-mail"…
    fn of_header(cell: &str) -> Option<Self> {
        let key: String = deunicode::deunicode(cell)
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        match key.as_str() {
            "civilite" => Some(Self::Civilite),
            "prenom" => Some(Self::Prenom),
            "nom" => Some(Self::Nom),
            "courriel" | "email" | "mail" | "adressecourriel" | "adresseelectronique" => {
                Some(Self::Courriel)
            }
            "adresse" | "adressepostale" => Some(Self::Adresse),
            "telephone" | "tel" => Some(Self::Telephone),
            _ => None,
        }
    }
}

/// One line of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Row {
    pub line: u64,
    /// The cells of each column, in [`Column::ALL`]'s order (empty when
    /// the header has no such column).
    pub cells: [String; 6],
    /// The line's number of cells, when it is not the header's.
    pub width: Option<(usize, usize)>,
}

impl Row {
    pub fn cell(&self, column: Column) -> &str {
        let index = Column::ALL
            .iter()
            .position(|c| *c == column)
            .unwrap_or_default();
        self.cells.get(index).map_or("", String::as_str)
    }
}

/// `;` unless the header line holds more commas than semicolons.
fn separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    let count = |separator: char| header.chars().filter(|c| *c == separator).count();
    if count(',') > count(';') { b',' } else { b';' }
}

pub(super) fn parse(text: &str) -> Result<Vec<Row>, FileRefusal> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator(text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(_)) => return Err(FileRefusal::Unreadable { line: 1 }),
        None => return Err(FileRefusal::Empty),
    };
    // Where each header cell goes: a column, or nowhere (a blank cell).
    let mut positions: Vec<Option<Column>> = Vec::with_capacity(header.len());
    let mut unknown = Vec::new();
    for cell in &header {
        if cell.trim().is_empty() {
            positions.push(None);
            continue;
        }
        match Column::of_header(cell) {
            Some(column) if positions.contains(&Some(column)) => {
                return Err(FileRefusal::DuplicateColumn(column.name()));
            }
            Some(column) => positions.push(Some(column)),
            None => {
                unknown.push(cell.trim().chars().take(60).collect());
                positions.push(None);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(FileRefusal::UnknownColumns(unknown));
    }
    let missing: Vec<&'static str> = Column::ALL
        .into_iter()
        .filter(|column| column.required() && !positions.contains(&Some(*column)))
        .map(Column::name)
        .collect();
    if !missing.is_empty() {
        return Err(FileRefusal::MissingColumns(missing));
    }

    let mut rows = Vec::new();
    // Lines counted from the bytes: the reader's own count skips the
    // blank lines a spreadsheet shows as rows.
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut line_at = |byte: u64| -> u64 {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        // A record's position is where the reader started, before the
        // blank lines it skipped.
        while matches!(text.as_bytes().get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        if byte > counted_to {
            let newlines = text.as_bytes()[counted_to..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            line += u64::try_from(newlines).unwrap_or(0);
            counted_to = byte;
        }
        line
    };
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                return Err(FileRefusal::Unreadable {
                    line: line_at(error.position().map_or(0, csv::Position::byte)),
                });
            }
        };
        // Spreadsheets save the empty rows below a table as `;;;;;`.
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_LINES {
            return Err(FileRefusal::TooManyLines);
        }
        let mut row = Row {
            line: line_at(record.position().map_or(0, csv::Position::byte)),
            ..Row::default()
        };
        for (cell, position) in record.iter().zip(&positions) {
            if let Some(column) = position
                && let Some(index) = Column::ALL.iter().position(|c| c == column)
                && let Some(slot) = row.cells.get_mut(index)
            {
                cell.clone_into(slot);
            }
        }
        if record.len() != positions.len() {
            row.width = Some((record.len(), positions.len()));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(FileRefusal::NoLines);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_told_by_the_header() {
        let rows = parse("Civilité,Prénom,NOM,E-mail\nM,Jean,Dupont,\"j@x.fr\"\n").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].cell(Column::Nom), "Dupont");
        assert_eq!(rows[0].cell(Column::Courriel), "j@x.fr");
        assert_eq!(rows[0].cell(Column::Adresse), "");
        let rows = parse(
            "prenom;nom;courriel;adresse\nLéa;Arpège;l@x.fr;\"1, rue; haute\"\n;;;\n\nA;B;c@x.fr\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cell(Column::Adresse), "1, rue; haute");
        assert_eq!(rows[1].line, 5);
        assert_eq!(rows[1].width, Some((3, 4)));
    }

    #[test]
    fn the_header_is_required_and_checked() {
        assert_eq!(
            parse("Jean;Dupont;j@x.fr\n").unwrap_err(),
            FileRefusal::UnknownColumns(vec!["Jean".into(), "Dupont".into(), "j@x.fr".into()])
        );
        assert_eq!(
            parse("prenom;nom;courriel;naissance\n").unwrap_err(),
            FileRefusal::UnknownColumns(vec!["naissance".into()])
        );
        assert_eq!(
            parse("civilite;nom\nM;X\n").unwrap_err(),
            FileRefusal::MissingColumns(vec!["prenom", "courriel"])
        );
        assert_eq!(
            parse("prenom;nom;courriel;Nom\n").unwrap_err(),
            FileRefusal::DuplicateColumn("nom")
        );
        assert_eq!(
            parse("prenom;nom;courriel\n").unwrap_err(),
            FileRefusal::NoLines
        );
        let many = format!(
            "prenom;nom;courriel\n{}",
            "a;b;c@x.fr\n".repeat(MAX_LINES + 1)
        );
        assert_eq!(parse(&many).unwrap_err(), FileRefusal::TooManyLines);
    }
}
