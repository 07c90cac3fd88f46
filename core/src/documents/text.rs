//! The documents' fonts: loaded once per theme, measured for line breaking,
//! and the text made printable with them.
//!
//! Widths come from the fonts' own advances (ttf-parser, which krilla's
//! shaping reads too), without kerning: a measured line is never shorter
//! than the drawn one, so wrapped text never overflows its column.

use std::collections::HashMap;
use std::sync::Arc;

/// Characters the host prints itself (the bullet of lists, the no-break
/// space of empty cells and amounts, the replacement "?", the euro sign,
/// "N°", French punctuation): a font without them is refused at startup.
const REQUIRED: &str = " ?•\u{a0}€°«»—’';:!.,-/0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêàçôûîÉ";

/// One face of the font, ready to draw and to measure.
#[derive(Clone)]
pub struct Face {
    pub(super) krilla: krilla::text::Font,
    /// Advance per character, in font units.
    advances: Arc<HashMap<char, u16>>,
    units_per_em: f32,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Face")
            .field("characters", &self.advances.len())
            .finish_non_exhaustive()
    }
}

impl Face {
    /// Reads a TrueType or OpenType font; the message says why it cannot.
    pub fn load(bytes: Vec<u8>) -> Result<Self, String> {
        let (advances, units_per_em) = {
            let face = ttf_parser::Face::parse(&bytes, 0).map_err(|error| error.to_string())?;
            let mut advances = HashMap::new();
            if let Some(table) = face.tables().cmap {
                for subtable in table.subtables {
                    if !subtable.is_unicode() {
                        continue;
                    }
                    subtable.codepoints(|codepoint| {
                        if let Some(character) = char::from_u32(codepoint)
                            && let Some(glyph) = subtable.glyph_index(codepoint)
                            && glyph.0 != 0
                            && let Some(advance) = face.glyph_hor_advance(glyph)
                        {
                            advances.insert(character, advance);
                        }
                    });
                }
            }
            (advances, f32::from(face.units_per_em()))
        };
        // What the host itself prints, whatever a module writes.
        if let Some(missing) = REQUIRED
            .chars()
            .find(|character| !advances.contains_key(character))
        {
            return Err(format!(
                "the font has no glyph for {missing:?} (U+{:04X}), which documents need",
                u32::from(missing)
            ));
        }
        let krilla = krilla::text::Font::new(krilla::Data::from(bytes), 0)
            .ok_or_else(|| "krilla cannot read the font".to_owned())?;
        Ok(Self {
            krilla,
            advances: Arc::new(advances),
            units_per_em,
        })
    }

    pub fn has(&self, character: char) -> bool {
        self.advances.contains_key(&character)
    }

    /// The width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|character| u32::from(self.advances.get(&character).copied().unwrap_or(0)))
            .sum();
        units as f32 * size / self.units_per_em
    }
}

/// The regular and bold faces of the documents' font.
#[derive(Debug, Clone)]
pub struct Fonts {
    pub regular: Face,
    pub bold: Face,
}

impl Fonts {
    /// `text` as these fonts can print it: line breaks and tabs as spaces,
    /// other control characters dropped, a narrow no-break space as a
    /// no-break space where the font lacks it, anything else it lacks as
    /// "?" (a PDF/UA file may not show a glyph without its character).
    pub fn printable(&self, text: &str) -> String {
        use unicode_normalization::UnicodeNormalization as _;
        text.nfc()
            .filter_map(|character| match character {
                '\n' | '\r' | '\t' => Some(' '),
                character if character.is_control() => None,
                '\u{feff}' | '\u{fffe}' | '\u{200b}' => None,
                character if self.regular.has(character) && self.bold.has(character) => {
                    Some(character)
                }
                '\u{202f}' | '\u{2009}' | '\u{2007}' if self.regular.has('\u{a0}') => {
                    Some('\u{a0}')
                }
                '‘' => Some('\''),
                '“' | '”' => Some('"'),
                '–' => Some('-'),
                _ => Some('?'),
            })
            .collect()
    }
}

/// `text` broken into lines of at most `width` points (a word longer than
/// a line is cut where it must). Spaces separate words; a no-break space
/// does not. Linear in the text's length: each character is measured once
/// (a module chooses the text; its layout must not cost more than its size).
pub fn wrap(face: &Face, size: f32, text: &str, width: f32) -> Vec<String> {
    let space = face.width(" ", size);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0_f32;
    for word in text.split(' ').filter(|word| !word.is_empty()) {
        let word_width = face.width(word, size);
        let joined = if line.is_empty() {
            word_width
        } else {
            line_width + space + word_width
        };
        if joined <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            line_width = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line_width = 0.0;
        }
        if word_width <= width {
            line.push_str(word);
            line_width = word_width;
            continue;
        }
        // A word wider than the line: cut it where it must be, a character
        // at a time (at least one character a line, however narrow).
        for character in word.chars() {
            let character_width = face.width(character.encode_utf8(&mut [0; 4]), size);
            if !line.is_empty() && line_width + character_width > width {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            line.push(character);
            line_width += character_width;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        let read = |name: &str| {
            std::fs::read(format!(
                "{}/../themes/default/documents/fonts/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        Fonts {
            regular: Face::load(read("AtkinsonHyperlegible-Regular.ttf")).unwrap(),
            bold: Face::load(read("AtkinsonHyperlegible-Bold.ttf")).unwrap(),
        }
    }

    #[test]
    fn the_shipped_font_prints_french() {
        let fonts = fonts();
        let text =
            "Évelyne CŒUR a réglé 1\u{202f}234,50\u{a0}€ à l'été — «\u{a0}déjà\u{a0}» ; ça coûte.";
        let printable = fonts.printable(text);
        assert!(!printable.contains('?'), "{printable}");
        assert!(printable.contains("1\u{a0}234,50\u{a0}€"));
        assert_eq!(fonts.printable("a\u{7}b\nc😀"), "ab c?");
        // Residents' names beyond French, and text typed decomposed.
        assert_eq!(
            fonts.printable("Łucja DVOŘÁK, Ștefan, L'HAŸ"),
            "Łucja DVOŘÁK, Ștefan, L'HAŸ"
        );
        assert_eq!(fonts.printable("Franc\u{327}ois"), "François");
    }

    #[test]
    fn a_huge_word_is_cut_into_lines() {
        let fonts = fonts();
        let word = "m".repeat(64 * 1024);
        let lines = wrap(&fonts.regular, 10.0, &word, 100.0);
        assert_eq!(lines.concat(), word);
        assert!(lines.len() > 500);
        assert!(
            lines
                .iter()
                .all(|line| fonts.regular.width(line, 10.0) <= 100.0)
        );
        // Narrower than one character: one character a line, never none.
        assert_eq!(wrap(&fonts.regular, 10.0, "abc", 0.5), ["a", "b", "c"]);
    }

    #[test]
    fn lines_are_never_wider_than_asked() {
        let fonts = fonts();
        let text = "La régie de recettes certifie avoir reçu la somme de soixante-quatorze euros et cinquante centimes au titre des factures ci-dessous.";
        let lines = wrap(&fonts.regular, 10.0, text, 150.0);
        assert!(lines.len() > 3, "{lines:?}");
        for line in &lines {
            assert!(fonts.regular.width(line, 10.0) <= 150.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
        let long = wrap(&fonts.regular, 10.0, &"x".repeat(200), 50.0);
        assert!(long.len() > 3);
        assert_eq!(long.concat(), "x".repeat(200));
        assert_eq!(wrap(&fonts.regular, 10.0, "", 50.0), [""]);
    }
}
