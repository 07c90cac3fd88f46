//! The second factor: TOTP (RFC 6238: HOTP of RFC 4226 over 30-second
//! steps, HMAC-SHA-1, six digits — what every authenticator app reads from
//! an `otpauth://` QR code), the QR code drawn here as SVG, and the secret
//! as the database keeps it.
//!
//! HOTP is thirty lines on the `hmac` and `sha1` crates the build already
//! has; a TOTP crate would add its own copies of them (and, by default, an
//! image library for its QR codes) for no more than that.
//!
//! The secret is encrypted before it is stored: XORed with a keystream that
//! is an HMAC-SHA-256, under the server key, of a random nonce (a PRF used
//! as a stream cipher; the secret is 20 bytes, one block), then sealed
//! (`accounts::secrets::seal`, purpose `staff-totp`) so that a changed byte
//! does not open. A copy of the database alone gives no usable secret.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::accounts::secrets::{open, seal};

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a secret (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;
const PURPOSE: &str = "staff-totp";

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let bytes: [u8; SECRET_BYTES] = rand::rng().random();
    bytes.to_vec()
}

/// HOTP (RFC 4226): the code of `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    binary % 10_u32.pow(DIGITS)
}

/// The time step of `now`.
pub fn step_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECONDS)
}

/// The code of `now`, as the app shows it ("042917").
pub fn code_at(secret: &[u8], now: DateTime<Utc>) -> String {
    format_code(hotp(secret, u64::try_from(step_of(now)).unwrap_or(0)))
}

fn format_code(code: u32) -> String {
    format!("{code:0width$}", width = DIGITS as usize)
}

/// The step `typed` is the code of, within one step either side of `now`
/// (clocks drift, people type slowly) and after `last_step` (a code is
/// accepted once); none otherwise.
pub fn verify(
    secret: &[u8],
    typed: &str,
    now: DateTime<Utc>,
    last_step: Option<i64>,
) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    (current - 1..=current + 1)
        .filter(|step| last_step.is_none_or(|last| *step > last))
        .find(|step| {
            let expected = format_code(hotp(secret, u64::try_from(*step).unwrap_or(0)));
            bool::from(expected.as_bytes().ct_eq(typed.as_bytes()))
        })
}

/// RFC 4648 base32 without padding: how apps take a secret typed by hand.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The reverse of [`base32`] (spaces and case ignored); none for other
/// characters.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The secret in groups of four, as people copy it.
pub fn grouped(secret: &[u8]) -> String {
    base32(secret)
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…`, what the QR code
/// holds.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let encode = |text: &str| -> String {
        url::form_urlencoded::byte_serialize(text.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        encode(issuer),
        encode(account),
        base32(secret),
        encode(issuer)
    )
}

/// The QR code of `text` as an inline SVG element (no XML declaration),
/// labelled for screen readers; none if the text is too long for a code.
pub fn qr_svg(text: &str, label: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    let start = image.find("<svg")?;
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Some(image[start..].replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" class=\"qr-code\" "),
        1,
    ))
}

#[derive(Serialize, Deserialize)]
struct Stored {
    nonce: String,
    data: String,
}

fn keystream(key: &[u8], nonce: &[u8]) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(b"staff-totp-keystream\0");
    mac.update(nonce);
    Some(mac.finalize().into_bytes().into())
}

/// What the database keeps of `secret` (see the module's doc).
pub fn seal_secret(secret: &[u8], key: &[u8]) -> Option<String> {
    let nonce: [u8; 16] = rand::rng().random();
    let stream = keystream(key, &nonce)?;
    if secret.len() > stream.len() {
        return None;
    }
    let data: Vec<u8> = secret.iter().zip(stream).map(|(a, b)| a ^ b).collect();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    seal(
        &Stored {
            nonce: engine.encode(nonce),
            data: engine.encode(data),
        },
        key,
        PURPOSE,
    )
}

/// The secret [`seal_secret`] stored; none for anything else.
pub fn open_secret(stored: &str, key: &[u8]) -> Option<Vec<u8>> {
    let stored: Stored = open(stored, key, PURPOSE)?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let nonce = engine.decode(stored.nonce).ok()?;
    let data = engine.decode(stored.data).ok()?;
    let stream = keystream(key, &nonce)?;
    if data.len() > stream.len() {
        return None;
    }
    Some(data.iter().zip(stream).map(|(a, b)| a ^ b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4226, appendix D.
    #[test]
    fn hotp_matches_the_rfc() {
        let secret = b"12345678901234567890";
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64), *code);
        }
    }

    /// RFC 6238, appendix B (SHA-1, 8 digits there: the last 6 here).
    #[test]
    fn totp_matches_the_rfc() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let now = DateTime::from_timestamp(time, 0).unwrap();
            assert_eq!(code_at(secret, now), code, "at {time}");
        }
    }

    #[test]
    fn codes_are_accepted_one_step_either_side_and_once() {
        let secret = new_secret();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let step = step_of(now);
        let before = code_at(&secret, now - chrono::Duration::seconds(30));
        let after = code_at(&secret, now + chrono::Duration::seconds(30));
        let far = code_at(&secret, now + chrono::Duration::seconds(90));
        assert_eq!(verify(&secret, &before, now, None), Some(step - 1));
        assert_eq!(verify(&secret, &after, now, None), Some(step + 1));
        if far != before && far != after && far != code_at(&secret, now) {
            assert_eq!(verify(&secret, &far, now, None), None);
        }
        let current = code_at(&secret, now);
        assert_eq!(verify(&secret, &current, now, Some(step)), None);
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
    }

    #[test]
    fn base32_round_trips() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        let secret = new_secret();
        assert_eq!(from_base32(&grouped(&secret)).unwrap(), secret);
        assert_eq!(base32(&secret).len(), 32);
    }

    #[test]
    fn secrets_are_stored_encrypted_and_sealed() {
        let key = b"a key of the server, 32 bytes...";
        let secret = new_secret();
        let stored = seal_secret(&secret, key).unwrap();
        assert!(!stored.contains(&base32(&secret)));
        assert_eq!(open_secret(&stored, key).unwrap(), secret);
        assert!(open_secret(&stored, b"another key").is_none());
        let mut tampered = stored.clone().into_bytes();
        tampered[3] ^= 1;
        assert!(open_secret(&String::from_utf8_lossy(&tampered), key).is_none());
    }

    #[test]
    fn the_qr_code_is_an_inline_svg() {
        let svg = qr_svg(&otpauth_uri(&new_secret(), "Villeneuve", "a@b.fr"), "QR").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(!svg.contains("style"));
    }
}
