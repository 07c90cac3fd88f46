//! Random secrets — tokens, temporary passwords — and how they are stored;
//! values the browser carries sealed under the server's key.
//!
//! Tokens carry 256 bits from the operating system's CSPRNG and are stored
//! only as their SHA-256: a database leak gives no usable link or session.

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use rand::RngExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// A new token, URL-safe (43 characters).
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Letters and digits that cannot be mistaken for one another when copied
/// from a mail (no 0/O, 1/l/I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A temporary password: 14 characters, about 81 bits.
pub fn new_temporary_password() -> String {
    let mut rng = rand::rng();
    (0..14)
        .map(|_| {
            let index = rng.random_range(0..PASSWORD_ALPHABET.len());
            char::from(PASSWORD_ALPHABET[index])
        })
        .collect()
}

/// `<payload>.<hmac>`, both base64url: `value` serialized, then signed
/// with HMAC-SHA-256 under the server's `key` and a `purpose` label, so that
/// a value sealed for one purpose does not open as another. Not encrypted:
/// the browser can read what it carries.
pub fn seal<T: Serialize>(value: &T, key: &[u8], purpose: &str) -> Option<String> {
    let payload = serde_json::to_vec(value).ok()?;
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(&payload);
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    Some(format!(
        "{}.{}",
        engine.encode(&payload),
        engine.encode(mac.finalize().into_bytes())
    ))
}

/// The value [`seal`] sealed with this key and purpose; nothing for
/// anything else (another key or purpose, a changed byte, garbage).
pub fn open<T: DeserializeOwned>(sealed: &str, key: &[u8], purpose: &str) -> Option<T> {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, tag) = sealed.split_once('.')?;
    let payload = engine.decode(payload).ok()?;
    let tag = engine.decode(tag).ok()?;
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(&payload);
    mac.verify_slice(&tag).ok()?;
    serde_json::from_slice(&payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn temporary_passwords_use_the_unambiguous_alphabet() {
        let password = new_temporary_password();
        assert_eq!(password.chars().count(), 14);
        assert!(password.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
    }
}
