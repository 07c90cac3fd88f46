//! Files only their owner may read: secret keys (a module publisher's,
//! the demo's), the demo's configuration (it holds the key), a town's
//! export (residents' data, the hashes of their passwords and tokens).

use std::fs::File;
use std::io;
use std::path::Path;

/// Whether an existing file at the path may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Never: a key or an export is not overwritten.
    Refused,
    /// Truncated and narrowed to its owner (the mode given at creation
    /// does not apply to a file already there).
    Replaced,
}

/// Opens `path` for writing, readable and writable by its owner only.
pub fn create(path: &Path, existing: Existing) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    match existing {
        Existing::Refused => options.create_new(true),
        Existing::Replaced => options.create(true).truncate(true),
    };
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    if existing == Existing::Replaced {
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    }
    Ok(file)
}
