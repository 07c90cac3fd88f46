//! A terms file: Markdown, with an optional TOML header giving its kind.
//!
//! ```text
//! +++
//! kind = "minor"
//! +++
//! # CONDITIONS GÉNÉRALES D'UTILISATION
//! …
//! ```
//! Without a header, a version is major.

use serde::Deserialize;

use super::TermsKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsFile {
    /// Where it came from, for messages.
    pub origin: String,
    pub kind: TermsKind,
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct TermsFileError {
    pub origin: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    kind: TermsKind,
}

pub fn parse_terms_file(text: &str, origin: &str) -> Result<TermsFile, TermsFileError> {
    let error = |message: String| TermsFileError {
        origin: origin.to_owned(),
        message,
    };
    let text = text.replace("\r\n", "\n");
    let (kind, source) = match text.strip_prefix("+++\n") {
        Some(rest) => {
            let (header, body) = rest
                .split_once("\n+++\n")
                .ok_or_else(|| error("the header opened by +++ is not closed".to_owned()))?;
            let header: Header = toml::from_str(header)
                .map_err(|e| error(format!("header: {}", e.to_string().trim_end())))?;
            (header.kind, body.to_owned())
        }
        None => (TermsKind::Major, text),
    };
    let source = source.trim().to_owned();
    if source.is_empty() {
        return Err(error("the terms text is empty".to_owned()));
    }
    Ok(TermsFile {
        origin: origin.to_owned(),
        kind,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_header() {
        let major = parse_terms_file("# CGU\n\nTexte.\n", "a.md").unwrap();
        assert_eq!(major.kind, TermsKind::Major);
        assert_eq!(major.source, "# CGU\n\nTexte.");
        let minor = parse_terms_file("+++\nkind = \"minor\"\n+++\n# CGU\r\n", "b.md").unwrap();
        assert_eq!(minor.kind, TermsKind::Minor);
        assert_eq!(minor.source, "# CGU");
        let bad = parse_terms_file("+++\nkind = \"huge\"\n+++\nx", "c.md").unwrap_err();
        assert!(bad.to_string().starts_with("c.md: header:"), "{bad}");
        assert!(parse_terms_file("+++\nkind = \"minor\"\n", "d.md").is_err());
        assert!(parse_terms_file("  \n", "e.md").is_err());
    }
}
