//! A publisher's key pair and a release's signature, as files in
//! minisign's format ([`crate::modules::minisign`]): `guichet module keygen`
//! and `guichet module sign` write what `minisign -G -W` and `minisign -S`
//! would, and read what they write.

use std::path::{Path, PathBuf};

use super::AuthoringError;
use crate::modules::minisign::{PublicKey, SecretKey};

/// The files a new key pair was written to.
#[derive(Debug)]
pub struct KeyPair {
    pub secret: PathBuf,
    pub public: PathBuf,
    pub key: PublicKey,
}

/// Makes a key pair: `PREFIX.key` (the secret, readable by its owner
/// only, unencrypted: keep it as an SSH key) and `PREFIX.pub`. Refuses to
/// overwrite either: a lost secret key is a publisher's identity lost.
pub fn keygen(prefix: &Path) -> Result<KeyPair, AuthoringError> {
    let secret_path = with_suffix(prefix, "key");
    let public_path = with_suffix(prefix, "pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(AuthoringError::Refused(format!(
                "{} already exists: a key pair is never overwritten (choose another --output)",
                path.display()
            )));
        }
    }
    let mut seed = [0u8; 32];
    let mut id = [0u8; 8];
    rand::fill(&mut seed);
    rand::fill(&mut id);
    let secret = SecretKey::from_random(seed, id);
    crate::private_file::create(&secret_path, crate::private_file::Existing::Refused)
        .and_then(|mut file| std::io::Write::write_all(&mut file, secret.file().as_bytes()))
        .map_err(AuthoringError::file(&secret_path))?;
    let key = secret.public();
    std::fs::write(&public_path, key.file()).map_err(AuthoringError::file(&public_path))?;
    Ok(KeyPair {
        secret: secret_path,
        public: public_path,
        key,
    })
}

/// Signs `file` with the secret key at `key`; the signature goes to
/// `FILE.minisig` (where `module publish` and `minisign -V` look for it).
pub fn sign(key: &Path, file: &Path) -> Result<(PathBuf, PublicKey), AuthoringError> {
    let text = std::fs::read_to_string(key).map_err(AuthoringError::file(key))?;
    let secret = SecretKey::parse(&text)
        .map_err(|error| AuthoringError::Refused(format!("{}: {error}", key.display())))?;
    let bytes = std::fs::read(file).map_err(AuthoringError::file(file))?;
    let name = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // minisign's own trusted comment: when, and which file.
    let comment = format!(
        "timestamp:{}\tfile:{name}\thashed",
        chrono::Utc::now().timestamp()
    );
    let signature = secret.sign(&bytes, &comment);
    let path = signature_path(file);
    std::fs::write(&path, signature).map_err(AuthoringError::file(&path))?;
    Ok((path, secret.public()))
}

/// Where a release's signature is looked for: `FILE.minisig`.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

/// The signature file beside `file` (or the one named), if there is one.
pub fn read_signature(file: &Path, named: Option<&Path>) -> Result<Option<String>, AuthoringError> {
    match named {
        Some(path) => std::fs::read_to_string(path)
            .map(Some)
            .map_err(AuthoringError::file(path)),
        None => {
            let path = signature_path(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(AuthoringError::file(path)(error)),
            }
        }
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}
