//! Where theme files come from: a folder on disk, or the copy in the binary.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rust_embed::RustEmbed;

use super::ThemeError;

#[derive(RustEmbed)]
#[folder = "../themes/"]
struct EmbeddedThemes;

#[derive(Debug, Clone)]
pub enum ThemeFiles {
    Disk(PathBuf),
    Embedded,
}

impl ThemeFiles {
    /// Names of the theme folders.
    pub fn theme_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Self::Disk(root) => std::fs::read_dir(root)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter(|entry| entry.path().is_dir())
                        .map(|entry| entry.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Self::Embedded => EmbeddedThemes::iter()
                .filter_map(|path| path.split_once('/').map(|(theme, _)| theme.to_owned()))
                .collect(),
        };
        names.sort();
        names.dedup();
        names
    }

    /// `(template name, path relative to the theme)` for every `.hbs` file
    /// under `<theme>/templates/`, the name being the path without extension.
    pub fn templates(&self, theme: &str) -> Vec<(String, String)> {
        self.files_under(theme, "templates")
            .into_iter()
            .filter_map(|relative| {
                let name = relative
                    .strip_prefix("templates/")?
                    .strip_suffix(".hbs")?
                    .to_owned();
                Some((name, relative))
            })
            .collect()
    }

    /// Paths relative to the theme of every file under `<theme>/static/`.
    pub fn static_files(&self, theme: &str) -> Vec<String> {
        self.files_under(theme, "static")
    }

    /// The file on disk, when themes come from disk.
    pub fn disk_path(&self, theme: &str, relative: &str) -> Option<PathBuf> {
        match self {
            Self::Disk(root) => Some(root.join(theme).join(relative)),
            Self::Embedded => None,
        }
    }

    pub fn read(&self, theme: &str, relative: &str) -> Result<Cow<'static, [u8]>, ThemeError> {
        let display = format!("{theme}/{relative}");
        match self {
            Self::Disk(root) => std::fs::read(root.join(theme).join(relative))
                .map(Cow::Owned)
                .map_err(|source| ThemeError::Read {
                    path: display,
                    source,
                }),
            Self::Embedded => EmbeddedThemes::get(&display)
                .map(|file| file.data)
                .ok_or_else(|| ThemeError::Read {
                    path: display,
                    source: std::io::ErrorKind::NotFound.into(),
                }),
        }
    }

    pub fn read_text(&self, theme: &str, relative: &str) -> Result<String, ThemeError> {
        let bytes = self.read(theme, relative)?;
        String::from_utf8(bytes.into_owned()).map_err(|_| ThemeError::Read {
            path: format!("{theme}/{relative}"),
            source: std::io::ErrorKind::InvalidData.into(),
        })
    }

    fn files_under(&self, theme: &str, folder: &str) -> Vec<String> {
        let mut files = match self {
            Self::Disk(root) => {
                let base = root.join(theme);
                let mut found = Vec::new();
                walk(&base, &base.join(folder), &mut found);
                found
            }
            Self::Embedded => {
                let prefix = format!("{theme}/{folder}/");
                EmbeddedThemes::iter()
                    .filter(|path| path.starts_with(&prefix))
                    .filter_map(|path| path.strip_prefix(&format!("{theme}/")).map(str::to_owned))
                    .collect()
            }
        };
        files.sort();
        files
    }
}

/// Every file below `dir`, as `/`-separated paths relative to `base`.
fn walk(base: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            walk(base, &path, found);
        } else if let Ok(relative) = path.strip_prefix(base) {
            let parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            found.push(parts.join("/"));
        }
    }
}
