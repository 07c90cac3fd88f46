//! Who published a release: signatures checked against the keys the
//! operator trusts.
//!
//! A publisher signs a release with its minisign key ([`super::minisign`]);
//! the operator names the keys it trusts in `module_publishers` (a name →
//! public key table of `guichet.toml`). `guichet module publish` verifies
//! the signature beside the file and records the publisher's name and key
//! with the release. Guichet's own key signs the first-party modules at
//! build time (its public half is in the binary, which checks those
//! signatures at `tenant apply`); `module publish` trusts it as "guichet"
//! only when it is the release key (`MODULES_SIGNING_KEY` at build time):
//! a checkout's own build key sits unencrypted in its `target/`, and
//! whoever reads that folder must not sign as Guichet.
//!
//! Policy: a release that is not signed, or signed by a key nobody
//! trusts, is refused unless the operator allows unsigned modules
//! (`allow_unsigned_modules`, for development: the demo does); it is then
//! recorded as unsigned. A signature that does not match its file is
//! refused whatever the allowance: it means the bytes changed after
//! signing.

use std::collections::BTreeMap;

use super::minisign::{KeyId, MinisignError, PublicKey, Signature};

include!(concat!(env!("OUT_DIR"), "/guichet_publisher_key.rs"));

/// The name Guichet's own key is known by.
pub const GUICHET_PUBLISHER: &str = "guichet";

/// The keys this server trusts, and whether it takes unsigned releases.
#[derive(Debug, Clone)]
pub struct PublisherTrust {
    keys: BTreeMap<KeyId, (String, PublicKey)>,
    allow_unsigned: bool,
}

/// What a signature (or its absence) proves about a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provenance {
    /// Signed with Guichet's own key, or built into the binary.
    Guichet,
    /// Signed with a key the operator trusts (boxed: a verifying key is
    /// large, the other variants are empty).
    Signed { name: String, key: Box<PublicKey> },
    /// Not signed, or signed by a key nobody trusts, published under the
    /// operator's allowance.
    Unsigned,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error(
        "the release is not signed (no signature file): sign it with a key the operator trusts (`guichet module sign --key KEY FILE.wasm`, or `minisign -S`), or allow unsigned modules for development (`allow_unsigned_modules = true`)"
    )]
    Unsigned,
    #[error(
        "the release is signed by key {key}, which this server does not trust: the operator adds the publisher's public key to `module_publishers` in guichet.toml, or allows unsigned modules for development (`allow_unsigned_modules = true`)"
    )]
    UnknownKey { key: KeyId },
    #[error("the signature file cannot be read: {0}")]
    SignatureFile(MinisignError),
    #[error("the signature of publisher `{name}` (key {key}) does not verify: {reason}")]
    Invalid {
        name: String,
        key: KeyId,
        reason: MinisignError,
    },
}

impl PublisherTrust {
    /// Guichet's key and the configured ones (`name → "RW…"`); an invalid
    /// key names its entry.
    pub fn new(
        configured: &BTreeMap<String, String>,
        allow_unsigned: bool,
    ) -> Result<Self, (String, String)> {
        let mut keys = BTreeMap::new();
        let guichet =
            guichet_key().map_err(|error| (GUICHET_PUBLISHER.to_owned(), error.to_string()))?;
        if GUICHET_KEY_IS_RELEASE_KEY {
            keys.insert(guichet.id, (GUICHET_PUBLISHER.to_owned(), guichet.clone()));
        }
        for (name, key) in configured {
            let refuse = |reason: &str| Err((name.clone(), reason.to_owned()));
            if name.trim().is_empty() || name.trim().eq_ignore_ascii_case(GUICHET_PUBLISHER) {
                return refuse("this name is Guichet's own (or empty): name the publisher");
            }
            let key = PublicKey::parse(key).map_err(|error| (name.clone(), error.to_string()))?;
            if key.same_key(&guichet) {
                return refuse("this is Guichet's own key, not a publisher's");
            }
            if let Some((other, _)) = keys.values().find(|(_, known)| known.same_key(&key)) {
                return refuse(&format!(
                    "this key is also `{other}`'s: one key, one publisher"
                ));
            }
            // A key id is 8 bytes its owner chose: two keys under one id
            // would let one publisher's signatures be judged by the other.
            if let Some((other, _)) = keys.get(&key.id) {
                return refuse(&format!(
                    "its key id {} is also the id of `{other}`'s key: ask the publisher for a new key",
                    key.id
                ));
            }
            keys.insert(key.id, (name.clone(), key));
        }
        Ok(Self {
            keys,
            allow_unsigned,
        })
    }

    /// Whether unsigned releases are taken.
    pub fn allows_unsigned(&self) -> bool {
        self.allow_unsigned
    }

    /// Judges a release's bytes and its signature file, if any.
    pub fn judge(&self, bytes: &[u8], signature: Option<&str>) -> Result<Provenance, TrustError> {
        let Some(signature) = signature else {
            return if self.allow_unsigned {
                Ok(Provenance::Unsigned)
            } else {
                Err(TrustError::Unsigned)
            };
        };
        let signature = Signature::parse(signature).map_err(TrustError::SignatureFile)?;
        let Some((name, key)) = self.keys.get(&signature.key_id) else {
            return if self.allow_unsigned {
                Ok(Provenance::Unsigned)
            } else {
                Err(TrustError::UnknownKey {
                    key: signature.key_id,
                })
            };
        };
        signature
            .verify(key, bytes)
            .map_err(|reason| TrustError::Invalid {
                name: name.clone(),
                key: key.id,
                reason,
            })?;
        // By the key, never by the name: a publisher may not be called so.
        Ok(
            if GUICHET_KEY_IS_RELEASE_KEY && guichet_key().is_ok_and(|guichet| *key == guichet) {
                Provenance::Guichet
            } else {
                Provenance::Signed {
                    name: name.clone(),
                    key: Box::new(key.clone()),
                }
            },
        )
    }
}

/// Checks the build's signature of a module built into the binary: a
/// build whose signing went wrong stops at the first `tenant apply`.
pub fn verify_first_party(module: &super::FirstPartyModule) -> Result<(), TrustError> {
    let key = guichet_key().map_err(TrustError::SignatureFile)?;
    let signature = Signature::parse(module.signature).map_err(TrustError::SignatureFile)?;
    signature
        .verify(&key, module.bytes)
        .map_err(|reason| TrustError::Invalid {
            name: GUICHET_PUBLISHER.to_owned(),
            key: key.id,
            reason,
        })
}

/// The public half of the key that signed this binary's first-party
/// modules.
pub fn guichet_key() -> Result<PublicKey, MinisignError> {
    PublicKey::parse(GUICHET_PUBLISHER_KEY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::minisign::SecretKey;

    fn publisher() -> SecretKey {
        SecretKey::from_random([3; 32], [8, 7, 6, 5, 4, 3, 2, 1])
    }

    fn trust(allow_unsigned: bool) -> PublisherTrust {
        let configured = BTreeMap::from([("civitas".to_owned(), publisher().public().encoded())]);
        PublisherTrust::new(&configured, allow_unsigned).unwrap()
    }

    #[test]
    fn a_trusted_signature_names_its_publisher() {
        let signature = publisher().sign(b"wasm", "agenda 1.0.0");
        assert_eq!(
            trust(false).judge(b"wasm", Some(&signature)),
            Ok(Provenance::Signed {
                name: "civitas".to_owned(),
                key: Box::new(publisher().public())
            })
        );
    }

    #[test]
    fn tampered_bytes_are_refused_even_where_unsigned_is_allowed() {
        let signature = publisher().sign(b"wasm", "agenda 1.0.0");
        for allow in [false, true] {
            assert!(matches!(
                trust(allow).judge(b"wasm!", Some(&signature)),
                Err(TrustError::Invalid {
                    reason: MinisignError::Mismatch,
                    ..
                })
            ));
        }
    }

    #[test]
    fn unsigned_and_unknown_publishers_need_the_operators_allowance() {
        let stranger = SecretKey::from_random([5; 32], [1; 8]);
        let signature = stranger.sign(b"wasm", "");
        assert_eq!(
            trust(false).judge(b"wasm", Some(&signature)),
            Err(TrustError::UnknownKey {
                key: stranger.public().id
            })
        );
        assert_eq!(trust(false).judge(b"wasm", None), Err(TrustError::Unsigned));
        assert_eq!(
            trust(true).judge(b"wasm", Some(&signature)),
            Ok(Provenance::Unsigned)
        );
        assert_eq!(trust(true).judge(b"wasm", None), Ok(Provenance::Unsigned));
    }

    #[test]
    fn the_first_party_modules_carry_the_builds_signature() {
        for module in crate::modules::FIRST_PARTY_MODULES {
            assert_eq!(verify_first_party(module), Ok(()), "{}", module.id);
            // A checkout's own key signs, and is not trusted to publish.
            let judged = trust(false).judge(module.bytes, Some(module.signature));
            if GUICHET_KEY_IS_RELEASE_KEY {
                assert_eq!(judged, Ok(Provenance::Guichet));
            } else {
                assert!(
                    matches!(judged, Err(TrustError::UnknownKey { .. })),
                    "{judged:?}"
                );
            }
        }
    }

    #[test]
    fn a_bad_configured_key_is_named() {
        let configured = BTreeMap::from([("civitas".to_owned(), "RWQ…".to_owned())]);
        let error = PublisherTrust::new(&configured, false).unwrap_err();
        assert_eq!(error.0, "civitas");
    }

    #[test]
    fn no_publisher_passes_for_guichet_or_shares_a_key_id() {
        let key = publisher().public().encoded();
        for name in ["guichet", "Guichet", " "] {
            let configured = BTreeMap::from([(name.to_owned(), key.clone())]);
            let error = PublisherTrust::new(&configured, false).unwrap_err();
            assert!(error.1.contains("Guichet's own"), "{error:?}");
        }
        let configured =
            BTreeMap::from([("imitateur".to_owned(), guichet_key().unwrap().encoded())]);
        assert!(PublisherTrust::new(&configured, false).is_err());
        // Another key under civitas's key id.
        let twin = SecretKey::from_random([6; 32], [8, 7, 6, 5, 4, 3, 2, 1]).public();
        let configured = BTreeMap::from([
            ("civitas".to_owned(), key),
            ("jumeau".to_owned(), twin.encoded()),
        ]);
        let error = PublisherTrust::new(&configured, false).unwrap_err();
        assert!(error.1.contains("also the id of `civitas`"), "{error:?}");
    }
}
