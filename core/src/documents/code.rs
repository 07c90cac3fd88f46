//! Verification codes: printed on each document (with its address and a QR
//! code), typed by whoever holds the paper.
//!
//! 16 characters of Crockford's base32 (no I, L, O, U: nothing to confuse
//! when typed from paper), 80 bits from the CSPRNG, shown in groups of four
//! ("K7QF-3M2P-XW9A-TC4D"). Nobody can find a document by trying codes, so
//! the public page needs no throttling; the database keeps only the code's
//! SHA-256, so a copy of it cannot print a valid code either.

use rand::RngExt as _;
use sha2::{Digest as _, Sha256};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 16;

/// A new code, grouped for reading: "K7QF-3M2P-XW9A-TC4D".
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let plain: String = (0..LENGTH)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    grouped(&plain)
}

fn grouped(plain: &str) -> String {
    plain
        .as_bytes()
        .chunks(4)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as typed, read the forgiving way (case, spaces and dashes do
/// not matter; O is 0, I and L are 1), grouped; none when it cannot be a
/// code.
pub fn normalize(typed: &str) -> Option<String> {
    let mut plain = String::with_capacity(LENGTH);
    for character in typed.chars() {
        let character = match character.to_ascii_uppercase() {
            ' ' | '-' | '\u{a0}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        if !character.is_ascii() || !ALPHABET.contains(&(character as u8)) {
            return None;
        }
        plain.push(character);
        if plain.len() > LENGTH {
            return None;
        }
    }
    (plain.len() == LENGTH).then(|| grouped(&plain))
}

/// What the database keeps of a code (grouped, as [`normalize`] gives it).
pub fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sixteen_characters_in_four_groups() {
        let code = new_code();
        assert_eq!(code.len(), 19);
        assert_eq!(code.split('-').count(), 4);
        assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
        assert_ne!(new_code(), code);
    }

    #[test]
    fn a_typed_code_is_read_the_forgiving_way() {
        assert_eq!(
            normalize(" k7qf 3m2p-xw9a tc4d ").as_deref(),
            Some("K7QF-3M2P-XW9A-TC4D")
        );
        assert_eq!(
            normalize("O0IL-3M2P-XW9A-TC4D").as_deref(),
            Some("0011-3M2P-XW9A-TC4D")
        );
        assert_eq!(normalize("K7QF-3M2P-XW9A-TC4"), None);
        assert_eq!(normalize("K7QF-3M2P-XW9A-TC4DD"), None);
        assert_eq!(normalize("K7QF-3M2P-XW9A-TC4U"), None);
        assert_eq!(normalize("K7QF-3M2P-XW9A-TC4É"), None);
        assert_eq!(normalize(""), None);
    }

    #[test]
    fn only_the_hash_is_kept() {
        let code = "K7QF-3M2P-XW9A-TC4D";
        assert_eq!(hash(code).len(), 64);
        assert!(!hash(code).contains("K7QF"));
        assert_eq!(hash(code), hash(code));
    }
}
