//! Bytes to text: UTF-8, with or without its byte-order mark. Anything else
//! is refused with how to save the file as UTF-8 — guessing Latin-1 or
//! Windows-1252 would turn an "é" into a wrong letter on some files and
//! silently store the names wrong.

use super::{MAX_FILE_BYTES, MAX_LINES};

/// Why a whole file is refused, before any line is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRefusal {
    Empty,
    TooLarge,
    /// Not UTF-8; the first unreadable byte is on this line.
    NotUtf8 {
        line: usize,
    },
    TooManyLines,
    /// Only the header.
    NoLines,
    /// Header cells that are not columns of the import, as written.
    UnknownColumns(Vec<String>),
    /// Required columns the header lacks.
    MissingColumns(Vec<&'static str>),
    DuplicateColumn(&'static str),
    /// The CSV reader gave up on this line.
    Unreadable {
        line: u64,
    },
}

/// How to save a CSV file as UTF-8, in both spreadsheets towns use.
pub const HOW_TO_SAVE_AS_UTF8: &str = "Dans LibreOffice Calc : « Fichier › Enregistrer sous… », type « Texte CSV (.csv) », cochez « Éditer les paramètres du filtre », puis choisissez le jeu de caractères « Unicode (UTF-8) ». Dans Excel : « Fichier › Enregistrer sous », type « CSV UTF-8 (délimité par des virgules) ».";

/// The columns, in the order of the model header.
pub const EXPECTED_HEADER: &str = "civilite;prenom;nom;courriel;adresse;telephone";

impl FileRefusal {
    /// The French message shown above the upload form.
    pub fn message(&self) -> String {
        match self {
            Self::Empty => format!(
                "Le fichier est vide. Sa première ligne doit être l'en-tête : {EXPECTED_HEADER}."
            ),
            Self::TooLarge => format!(
                "Le fichier dépasse {} Mo : découpez-le en plusieurs fichiers.",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            Self::NotUtf8 { line } => format!(
                "Le fichier n'est pas enregistré en UTF-8 (premier caractère illisible ligne {line}). \
                 Enregistrez-le de nouveau en UTF-8 puis déposez-le. {HOW_TO_SAVE_AS_UTF8}"
            ),
            Self::TooManyLines => format!(
                "Le fichier compte plus de {} lignes (en-tête non comprise) : découpez-le en plusieurs fichiers.",
                thousands(MAX_LINES)
            ),
            Self::NoLines => {
                "Le fichier ne contient que l'en-tête : aucune ligne à importer.".to_owned()
            }
            Self::UnknownColumns(names) => format!(
                "{} : {}. Les colonnes possibles sont : civilite, prenom, nom, courriel, adresse, telephone \
                 (la première ligne du fichier doit être l'en-tête).",
                if names.len() > 1 {
                    "Colonnes inconnues"
                } else {
                    "Colonne inconnue"
                },
                names
                    .iter()
                    .map(|name| format!("« {name} »"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::MissingColumns(names) => format!(
                "{} de l'en-tête : {}. La première ligne du fichier doit être l'en-tête : {EXPECTED_HEADER}.",
                if names.len() > 1 {
                    "Colonnes obligatoires absentes"
                } else {
                    "Colonne obligatoire absente"
                },
                names.join(", ")
            ),
            Self::DuplicateColumn(name) => {
                format!("La colonne « {name} » figure deux fois dans l'en-tête.")
            }
            Self::Unreadable { line } => format!(
                "La ligne {line} ne peut pas être lue (guillemets mal fermés ?) : corrigez-la puis déposez de nouveau le fichier."
            ),
        }
    }
}

/// "20 000": French digit groups (a no-break space between them).
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(digit);
    }
    out
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file's text, without its byte-order mark.
pub(super) fn decode(bytes: &[u8]) -> Result<String, FileRefusal> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileRefusal::TooLarge);
    }
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(FileRefusal::Empty);
    }
    match std::str::from_utf8(bytes) {
        // A UTF-16 file (Excel's "Texte Unicode") is valid UTF-8 only
        // when it holds nothing but its NUL bytes' neighbours: refused too.
        Ok(text) if !text.contains('\0') => Ok(text.to_owned()),
        Ok(text) => Err(FileRefusal::NotUtf8 {
            line: line_of(text.as_bytes(), text.find('\0').unwrap_or(0)),
        }),
        Err(error) => Err(FileRefusal::NotUtf8 {
            line: line_of(bytes, error.valid_up_to()),
        }),
    }
}

/// The line (from 1) holding byte `at`.
fn line_of(bytes: &[u8], at: usize) -> usize {
    1 + bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_bom_and_nothing_else() {
        assert_eq!(
            decode(b"prenom;nom\nL\xC3\xA9a;A").unwrap(),
            "prenom;nom\nLéa;A"
        );
        assert_eq!(decode(b"\xEF\xBB\xBFprenom\n").unwrap(), "prenom\n");
        assert_eq!(
            decode(b"prenom;nom\nx;y\nL\xE9a;A"),
            Err(FileRefusal::NotUtf8 { line: 3 })
        );
        assert_eq!(
            decode(b"\xFF\xFEp\x00r\x00"),
            Err(FileRefusal::NotUtf8 { line: 1 })
        );
        assert_eq!(decode(b"p\x00r\x00"), Err(FileRefusal::NotUtf8 { line: 1 }));
        assert_eq!(decode(b"\xEF\xBB\xBF \n"), Err(FileRefusal::Empty));
        assert_eq!(
            decode(&vec![b'a'; MAX_FILE_BYTES + 1]),
            Err(FileRefusal::TooLarge)
        );
        let message = FileRefusal::NotUtf8 { line: 3 }.message();
        assert!(
            message.contains("Unicode (UTF-8)")
                && message.contains("CSV UTF-8 (délimité par des virgules)")
        );
    }
}
