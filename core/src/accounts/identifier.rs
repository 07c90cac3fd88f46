//! Login identifiers: `prenom.nom`, plain ASCII, unique within a town.

/// The identifier's stem for a resident: "Michel", "ARPÈGE" → "michel.arpege".
pub fn stem(first_name: &str, last_name: &str) -> String {
    let part = |name: &str| -> String {
        let ascii = deunicode::deunicode(name).to_ascii_lowercase();
        let mut out = String::with_capacity(ascii.len());
        for c in ascii.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                // Spaces, apostrophes and hyphens become one hyphen.
                out.push('-');
            }
        }
        out.trim_matches('-').to_owned()
    };
    let (first, last) = (part(first_name), part(last_name));
    match (first.is_empty(), last.is_empty()) {
        (false, false) => format!("{first}.{last}"),
        (true, false) => last,
        (false, true) => first,
        (true, true) => "usager".to_owned(),
    }
}

/// The first of `stem`, `stem2`, `stem3`… that `taken` does not hold.
pub fn first_free(stem: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == stem) {
        return stem.to_owned();
    }
    (2..)
        .map(|n| format!("{stem}{n}"))
        .find(|candidate| !taken.iter().any(|t| t == candidate))
        .unwrap_or_else(|| stem.to_owned())
}

/// What a resident types, made comparable: trimmed, lowercase.
pub fn normalize_login(input: &str) -> String {
    input.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_ascii_first_dot_last() {
        assert_eq!(stem("Michel", "ARPEGE"), "michel.arpege");
        assert_eq!(stem("Léa", "Arpège"), "lea.arpege");
        assert_eq!(
            stem("Jean-Éric", "d'Ornano Le Bris"),
            "jean-eric.d-ornano-le-bris"
        );
        assert_eq!(stem("  ", "Ñúñez"), "nunez");
        assert_eq!(stem("", "---"), "usager");
    }

    #[test]
    fn homonyms_are_numbered() {
        let taken = vec!["michel.arpege".to_owned(), "michel.arpege2".to_owned()];
        assert_eq!(first_free("michel.arpege", &taken), "michel.arpege3");
        assert_eq!(first_free("lea.arpege", &taken), "lea.arpege");
    }
}
