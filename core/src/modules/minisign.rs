//! Minisign's formats: the keys and signatures of module releases.
//!
//! A publisher signs a release with Ed25519 in the format of
//! [minisign](https://jedisct1.github.io/minisign/), a small standard tool
//! with a documented format, so a publisher may sign with `guichet module
//! sign` or with `minisign -S` and the operator verify with either:
//!
//! - public key: `base64("Ed" ‖ key id (8 bytes) ‖ Ed25519 public key (32))`,
//!   in a file after an `untrusted comment:` line;
//! - secret key (unencrypted, as `minisign -G -W` writes it):
//!   `base64("Ed" ‖ kdf "\0\0" ‖ "B2" ‖ salt (32) ‖ ops (8) ‖ mem (8) ‖
//!   key id ‖ Ed25519 secret key (64) ‖ BLAKE2b-256 of "Ed" ‖ id ‖ key)`;
//! - signature file (`FILE.minisig`): an `untrusted comment:` line,
//!   `base64("ED" ‖ key id ‖ Ed25519 signature of BLAKE2b-512(file))`,
//!   a `trusted comment:` line, and `base64(signature of the first
//!   signature ‖ the trusted comment)`. Legacy `"Ed"` signatures (of the
//!   file itself) are verified too; signing writes `"ED"`.
//!
//! This file depends on `ed25519-dalek`, `blake2` and `base64` only: the
//! build script includes it to sign the first-party modules.

use base64::Engine as _;
use blake2::Digest as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

const ALGORITHM: &[u8; 2] = b"Ed";
const PREHASHED: &[u8; 2] = b"ED";
const NO_KDF: &[u8; 2] = &[0, 0];
const CHECKSUM: &[u8; 2] = b"B2";
const UNTRUSTED: &str = "untrusted comment: ";
const TRUSTED: &str = "trusted comment: ";

/// Why a key or a signature cannot be used; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MinisignError {
    #[error("not a minisign public key (expected 56 base64 characters starting with RW)")]
    PublicKey,
    #[error("not a minisign secret key")]
    SecretKey,
    #[error(
        "this secret key is protected by a password: sign with `minisign -S`, or create a key with `guichet module keygen`"
    )]
    EncryptedSecretKey,
    #[error("the secret key is damaged (its checksum does not match)")]
    SecretKeyChecksum,
    #[error("not a minisign signature file")]
    SignatureFile,
    #[error("the signature does not match the file (tampered with, or signed for other bytes)")]
    Mismatch,
    #[error("the signature's trusted comment does not match its signature")]
    TrustedComment,
}

/// A publisher's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub id: KeyId,
    key: VerifyingKey,
}

/// The 8 bytes naming a key in its signatures, shown as minisign shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl KeyId {
    /// As [`Display`](std::fmt::Display) writes it.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16)
            .ok()
            .map(|id| Self(id.to_le_bytes()))
    }
}

impl PublicKey {
    /// The base64 line (`RW…`), or a whole `.pub` file.
    pub fn parse(text: &str) -> Result<Self, MinisignError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with(UNTRUSTED))
            .ok_or(MinisignError::PublicKey)?;
        let bytes = decode(line).ok_or(MinisignError::PublicKey)?;
        let (algorithm, rest) = bytes.split_at_checked(2).ok_or(MinisignError::PublicKey)?;
        if algorithm != ALGORITHM || rest.len() != 40 {
            return Err(MinisignError::PublicKey);
        }
        let (id, key) = rest.split_at(8);
        let key: [u8; 32] = key.try_into().map_err(|_| MinisignError::PublicKey)?;
        Ok(Self {
            id: KeyId(id.try_into().map_err(|_| MinisignError::PublicKey)?),
            key: VerifyingKey::from_bytes(&key).map_err(|_| MinisignError::PublicKey)?,
        })
    }

    /// The base64 line, as operators paste it in their configuration.
    pub fn encoded(&self) -> String {
        let mut bytes = Vec::with_capacity(42);
        bytes.extend_from_slice(ALGORITHM);
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(self.key.as_bytes());
        encode(&bytes)
    }

    /// Whether both are the same Ed25519 key, whatever id each carries (an
    /// id is not covered by a signature: it only names the key).
    pub fn same_key(&self, other: &Self) -> bool {
        self.key == other.key
    }

    /// The `.pub` file minisign writes.
    pub fn file(&self) -> String {
        format!(
            "{UNTRUSTED}minisign public key {}\n{}\n",
            self.id,
            self.encoded()
        )
    }
}

/// A publisher's secret key (unencrypted).
pub struct SecretKey {
    id: KeyId,
    key: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key itself never reaches a log.
        formatter
            .debug_struct("SecretKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A new key from 32 random bytes and an 8-byte id.
    pub fn from_random(seed: [u8; 32], id: [u8; 8]) -> Self {
        Self {
            id: KeyId(id),
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// A `.key` file as minisign reads and writes it.
    pub fn parse(text: &str) -> Result<Self, MinisignError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with(UNTRUSTED))
            .ok_or(MinisignError::SecretKey)?;
        let bytes = decode(line).ok_or(MinisignError::SecretKey)?;
        if bytes.len() != 158 || &bytes[0..2] != ALGORITHM || &bytes[4..6] != CHECKSUM {
            return Err(MinisignError::SecretKey);
        }
        if &bytes[2..4] != NO_KDF {
            return Err(MinisignError::EncryptedSecretKey);
        }
        // Salt (32) and the scrypt limits (8 + 8) are unused without a KDF.
        let keynum_sk = &bytes[54..];
        let (id, rest) = keynum_sk.split_at(8);
        let (secret, checksum) = rest.split_at(64);
        // minisign 0.11 leaves the checksum of an unencrypted key zeroed;
        // the key's two halves are checked against each other below.
        if checksum != key_checksum(id, secret) && checksum.iter().any(|byte| *byte != 0) {
            return Err(MinisignError::SecretKeyChecksum);
        }
        let seed: [u8; 32] = secret[..32]
            .try_into()
            .map_err(|_| MinisignError::SecretKey)?;
        let key = SigningKey::from_bytes(&seed);
        if key.verifying_key().as_bytes() != &secret[32..] {
            return Err(MinisignError::SecretKeyChecksum);
        }
        Ok(Self {
            id: KeyId(id.try_into().map_err(|_| MinisignError::SecretKey)?),
            key,
        })
    }

    /// The `.key` file (unencrypted: keep it as you keep an SSH key).
    pub fn file(&self) -> String {
        let secret = self.key.to_keypair_bytes();
        let mut bytes = Vec::with_capacity(158);
        bytes.extend_from_slice(ALGORITHM);
        bytes.extend_from_slice(NO_KDF);
        bytes.extend_from_slice(CHECKSUM);
        bytes.extend_from_slice(&[0; 48]);
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&secret);
        bytes.extend_from_slice(&key_checksum(&self.id.0, &secret));
        format!(
            "{UNTRUSTED}minisign secret key {} (unencrypted)\n{}\n",
            self.id,
            encode(&bytes)
        )
    }

    /// A signature file for `data` (pre-hashed, as minisign signs today).
    /// The trusted comment is one line: line breaks become spaces.
    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> String {
        let trusted_comment = trusted_comment.replace(['\r', '\n'], " ");
        let signature = self.key.sign(&blake2b512(data)).to_bytes();
        let mut first = Vec::with_capacity(74);
        first.extend_from_slice(PREHASHED);
        first.extend_from_slice(&self.id.0);
        first.extend_from_slice(&signature);
        let mut global = signature.to_vec();
        global.extend_from_slice(trusted_comment.as_bytes());
        let global = self.key.sign(&global).to_bytes();
        format!(
            "{UNTRUSTED}signature from guichet secret key {}\n{}\n{TRUSTED}{trusted_comment}\n{}\n",
            self.id,
            encode(&first),
            encode(&global)
        )
    }
}

/// A signature file, read but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The key that made it.
    pub key_id: KeyId,
    prehashed: bool,
    signature: ed25519_dalek::Signature,
    trusted_comment: String,
    global: ed25519_dalek::Signature,
}

impl Signature {
    pub fn parse(text: &str) -> Result<Self, MinisignError> {
        let mut lines = text.lines().map(|line| line.trim_end_matches('\r'));
        let (Some(untrusted), Some(first), Some(trusted), Some(global)) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(MinisignError::SignatureFile);
        };
        if !untrusted.starts_with(UNTRUSTED) {
            return Err(MinisignError::SignatureFile);
        }
        let trusted_comment = trusted
            .strip_prefix(TRUSTED)
            .ok_or(MinisignError::SignatureFile)?;
        let first = decode(first.trim()).ok_or(MinisignError::SignatureFile)?;
        if first.len() != 74 {
            return Err(MinisignError::SignatureFile);
        }
        let prehashed = match &first[0..2] {
            algorithm if algorithm == PREHASHED => true,
            algorithm if algorithm == ALGORITHM => false,
            _ => return Err(MinisignError::SignatureFile),
        };
        let global: [u8; 64] = decode(global.trim())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(MinisignError::SignatureFile)?;
        let signature: [u8; 64] = first[10..]
            .try_into()
            .map_err(|_| MinisignError::SignatureFile)?;
        Ok(Self {
            key_id: KeyId(
                first[2..10]
                    .try_into()
                    .map_err(|_| MinisignError::SignatureFile)?,
            ),
            prehashed,
            signature: ed25519_dalek::Signature::from_bytes(&signature),
            trusted_comment: trusted_comment.to_owned(),
            global: ed25519_dalek::Signature::from_bytes(&global),
        })
    }

    /// Checks the signature of `data` and of the trusted comment with
    /// `key`, whose id must be the signature's (the caller picks the key
    /// by [`Signature::key_id`]).
    pub fn verify(&self, key: &PublicKey, data: &[u8]) -> Result<(), MinisignError> {
        if key.id != self.key_id {
            return Err(MinisignError::Mismatch);
        }
        let verified = if self.prehashed {
            key.key.verify_strict(&blake2b512(data), &self.signature)
        } else {
            key.key.verify_strict(data, &self.signature)
        };
        verified.map_err(|_| MinisignError::Mismatch)?;
        let mut global = self.signature.to_bytes().to_vec();
        global.extend_from_slice(self.trusted_comment.as_bytes());
        key.key
            .verify_strict(&global, &self.global)
            .map_err(|_| MinisignError::TrustedComment)
    }

    /// What the signer wrote in the signed comment (shown, never obeyed).
    pub fn trusted_comment(&self) -> &str {
        &self.trusted_comment
    }
}

fn key_checksum(id: &[u8], secret: &[u8]) -> [u8; 32] {
    let mut hasher = blake2::Blake2b256::new();
    hasher.update(ALGORITHM);
    hasher.update(id);
    hasher.update(secret);
    hasher.finalize().into()
}

fn blake2b512(data: &[u8]) -> [u8; 64] {
    blake2::Blake2b512::digest(data).into()
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_random([7; 32], [1, 2, 3, 4, 5, 6, 7, 8])
    }

    #[test]
    fn a_signature_verifies_and_nothing_else_does() {
        let key = key();
        let public = PublicKey::parse(&key.public().file()).unwrap();
        assert_eq!(public, key.public());
        let signature = Signature::parse(&key.sign(b"module bytes", "bloc-notes 0.1.2")).unwrap();
        assert_eq!(signature.key_id, key.public().id);
        assert_eq!(signature.trusted_comment(), "bloc-notes 0.1.2");
        assert_eq!(signature.verify(&public, b"module bytes"), Ok(()));
        assert_eq!(
            signature.verify(&public, b"module bytez"),
            Err(MinisignError::Mismatch)
        );
        let other = SecretKey::from_random([9; 32], [1, 2, 3, 4, 5, 6, 7, 8]).public();
        assert_eq!(
            signature.verify(&other, b"module bytes"),
            Err(MinisignError::Mismatch)
        );
    }

    #[test]
    fn a_changed_trusted_comment_is_refused() {
        let text = key().sign(b"x", "bloc-notes 0.1.2");
        let forged = text.replace("bloc-notes 0.1.2", "bloc-notes 9.9.9");
        let signature = Signature::parse(&forged).unwrap();
        assert_eq!(
            signature.verify(&key().public(), b"x"),
            Err(MinisignError::TrustedComment)
        );
    }

    #[test]
    fn keys_round_trip_through_their_files() {
        let key = key();
        let again = SecretKey::parse(&key.file()).unwrap();
        assert_eq!(again.public(), key.public());
        assert_eq!(
            KeyId::parse(&key.public().id.to_string()),
            Some(key.public().id)
        );
        let mut damaged = key.file().into_bytes();
        let at = damaged.len() - 10;
        damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
        assert!(SecretKey::parse(&String::from_utf8(damaged).unwrap()).is_err());
        assert_eq!(
            PublicKey::parse("RWQnot a key"),
            Err(MinisignError::PublicKey)
        );
        assert_eq!(Signature::parse("hello"), Err(MinisignError::SignatureFile));
    }

    /// minisign's own public key, from its README: the format is minisign's.
    #[test]
    fn minisign_public_keys_parse() {
        let key =
            PublicKey::parse("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3").unwrap();
        assert_eq!(
            key.encoded(),
            "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3"
        );
        assert_eq!(key.id.to_string(), "E7620F1842B4E81F");
    }
}
