//! Themes: handlebars templates and static assets, per town.
//!
//! A theme is a folder `themes/<name>/` with `templates/**/*.hbs` and
//! `static/**`. Every theme inherits from `themes/default/`: a town's theme
//! holds only what it overrides (a partial, its logo, its favicon) and its
//! tokens (`theme.toml`: brand colours and style choices, key by key, from
//! which [`palette`] derives `theme.css` after checking every pair of colours
//! against WCAG AA). The kit's own files (`guichet.css`, `admin.css`, the
//! font, the icons, the scripts) cannot be replaced by a town's theme: a
//! town changes tokens, never the base font, spacing or behaviour. Each theme chain gets one
//! handlebars registry, in strict mode, built at startup.
//!
//! Themes are read from `themes_dir` when it exists, else from the copy built
//! into the binary, so that `guichet` runs from any folder. In dev mode,
//! templates and assets are read again on every use.
//!
//! Error policy: a template that does not parse stops startup
//! ([`ThemeError::Template`]); a template that fails to render is a
//! [`ThemeError::Render`], which the web layer turns into an error page and
//! a log line — never a half-rendered page.

mod assets;
mod files;
mod icons;
pub mod palette;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use handlebars::Handlebars;
use serde::Serialize;

pub use assets::Asset;
use assets::AssetTable;
pub use files::ThemeFiles;

/// The theme every other theme inherits from.
pub const DEFAULT_THEME: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("the theme folder has no `{DEFAULT_THEME}` theme")]
    NoDefault,
    #[error("cannot read the theme file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template {0}")]
    Template(#[from] Box<handlebars::TemplateError>),
    #[error("theme `{theme}`, {file}: {reason}")]
    Tokens {
        theme: String,
        file: String,
        reason: String,
    },
    #[error(
        "theme `{theme}` replaces the kit's file static/{file}; a town's theme changes tokens in theme.toml (colours, corners, header, titles) and may add its own logo, favicon and templates"
    )]
    KitFile { theme: String, file: String },
    #[error("cannot render the template `{template}`: {source}")]
    Render {
        template: String,
        source: Box<handlebars::RenderError>,
    },
}

/// Every theme, by name.
#[derive(Debug)]
pub struct ThemeSet {
    themes: HashMap<String, Arc<Theme>>,
    default: Arc<Theme>,
    files: ThemeFiles,
}

/// One theme chain (`default`, then the theme itself), ready to render.
#[derive(Debug)]
pub struct Theme {
    /// HTML templates, values escaped.
    registry: Handlebars<'static>,
    /// Plain-text templates (`*.txt.hbs`: mail subjects and text parts),
    /// values as they are.
    text_registry: Handlebars<'static>,
    assets: Arc<AssetTable>,
    /// Where its files come from, and its layers (`default` first), for
    /// the files other features read from it (the documents' layout).
    files: ThemeFiles,
    chain: Vec<String>,
}

impl ThemeSet {
    /// Loads the themes of `dir` if it is a folder, else the built-in ones.
    pub fn load(dir: &Path, dev_mode: bool) -> Result<Self, ThemeError> {
        let files = if dir.is_dir() {
            ThemeFiles::Disk(dir.to_owned())
        } else {
            ThemeFiles::Embedded
        };
        Self::from_files(files, dev_mode)
    }

    pub fn from_files(files: ThemeFiles, dev_mode: bool) -> Result<Self, ThemeError> {
        let mut themes = HashMap::new();
        for name in files.theme_names() {
            let theme = Theme::load(&files, &name, dev_mode)?;
            themes.insert(name, Arc::new(theme));
        }
        let default = themes
            .get(DEFAULT_THEME)
            .cloned()
            .ok_or(ThemeError::NoDefault)?;
        Ok(Self {
            themes,
            default,
            files,
        })
    }

    /// Where the themes were read from, for the startup log.
    pub fn files(&self) -> &ThemeFiles {
        &self.files
    }

    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.themes.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub fn contains(&self, name: &str) -> bool {
        self.themes.contains_key(name)
    }

    /// The named theme, or the default one (with a warning) if it is missing.
    pub fn get(&self, name: &str) -> Arc<Theme> {
        if let Some(theme) = self.themes.get(name) {
            return theme.clone();
        }
        tracing::warn!(theme = name, "unknown theme, using the default one");
        self.default_theme()
    }

    pub fn default_theme(&self) -> Arc<Theme> {
        self.default.clone()
    }
}

/// The files of `default` a town's theme may not replace.
fn is_kit_file(name: &str) -> bool {
    matches!(
        name,
        "guichet.css"
            | "admin.css"
            | "theme.css"
            | "icons.svg"
            | "nav.js"
            | "password.js"
            | "terms.js"
    ) || name.starts_with("fonts/")
}

/// The chain's tokens, each layer's `theme.toml` over the previous one's,
/// checked; a town's theme replacing a kit file is refused here too.
fn tokens(files: &ThemeFiles, chain: &[&str]) -> Result<palette::Palette, ThemeError> {
    let mut tokens = palette::ThemeTokens::default();
    for layer in chain {
        if *layer != DEFAULT_THEME
            && let Some(file) = files
                .static_files(layer)
                .iter()
                .filter_map(|relative| relative.strip_prefix("static/"))
                .find(|name| is_kit_file(name))
        {
            // A theme written before tokens set its colours in theme.css.
            if file == "theme.css" {
                return Err(ThemeError::Tokens {
                    theme: (*layer).to_owned(),
                    file: "static/theme.css".to_owned(),
                    reason: "this file is now generated from the theme's theme.toml: move its colours to `[palette] primary` and `accent` (and its corners, header alignment and title face to `[style]`), then delete it".to_owned(),
                });
            }
            return Err(ThemeError::KitFile {
                theme: (*layer).to_owned(),
                file: file.to_owned(),
            });
        }
        let text = match files.read_text(layer, palette::FILE) {
            Ok(text) => text,
            Err(ThemeError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                continue;
            }
            Err(error) => return Err(error),
        };
        let layer_tokens: palette::ThemeTokens =
            toml::from_str(&text).map_err(|error| ThemeError::Tokens {
                theme: (*layer).to_owned(),
                file: palette::FILE.to_owned(),
                reason: match error.span() {
                    Some(span) => format!(
                        "line {}: {}",
                        text.get(..span.start)
                            .map_or(0, |before| before.matches('\n').count())
                            + 1,
                        error.message()
                    ),
                    None => error.message().to_owned(),
                },
            })?;
        tokens = if *layer == DEFAULT_THEME {
            layer_tokens
        } else {
            tokens.overlaid(&layer_tokens)
        };
    }
    let theme = chain.last().copied().unwrap_or(DEFAULT_THEME);
    tokens.palette().map_err(|poor| ThemeError::Tokens {
        theme: theme.to_owned(),
        file: palette::FILE.to_owned(),
        reason: format!("the palette is refused: {poor}"),
    })
}

impl Theme {
    fn load(files: &ThemeFiles, name: &str, dev_mode: bool) -> Result<Self, ThemeError> {
        let chain: Vec<&str> = if name == DEFAULT_THEME {
            vec![DEFAULT_THEME]
        } else {
            vec![DEFAULT_THEME, name]
        };

        let reload = dev_mode && matches!(files, ThemeFiles::Disk(_));
        let new_registry = || {
            let mut registry = Handlebars::new();
            registry.set_strict_mode(true);
            registry.set_prevent_indent(true);
            registry.set_dev_mode(reload);
            registry
        };
        let mut registry = new_registry();
        let mut text_registry = new_registry();
        text_registry.register_escape_fn(handlebars::no_escape);

        // Later layers override earlier ones, template by template.
        for layer in &chain {
            for (template, relative) in files.templates(layer) {
                let target = if template.ends_with(".txt") {
                    &mut text_registry
                } else {
                    &mut registry
                };
                match files.disk_path(layer, &relative) {
                    Some(path) if reload => target
                        .register_template_file(&template, path)
                        .map_err(Box::new)?,
                    _ => {
                        let text = files.read_text(layer, &relative)?;
                        target
                            .register_template_string(&template, text)
                            .map_err(Box::new)?;
                    }
                }
            }
        }

        let palette = tokens(files, &chain)?;
        let assets = Arc::new(AssetTable::load(files, &chain, reload, palette.css())?);
        assets::register_helper(&mut registry, assets.clone());
        let icons = assets
            .get(icons::FILE)
            .map(|asset| icons::Icons::parse(&String::from_utf8_lossy(&asset.bytes)))
            .unwrap_or_default();
        icons::register_helper(&mut registry, Arc::new(icons));
        Ok(Self {
            registry,
            text_registry,
            assets,
            files: files.clone(),
            chain: chain.iter().map(|layer| (*layer).to_owned()).collect(),
        })
    }

    pub fn render<T: Serialize>(&self, template: &str, data: &T) -> Result<String, ThemeError> {
        self.registry
            .render(template, data)
            .map_err(|source| ThemeError::Render {
                template: template.to_owned(),
                source: Box::new(source),
            })
    }

    /// True when the templates are read from disk again at each render
    /// (`dev_mode`): a page rendered before may not be shown again.
    pub fn reloads_templates(&self) -> bool {
        self.registry.dev_mode()
    }

    /// Renders a plain-text template (`name` ends with `.txt`), unescaped.
    pub fn render_text<T: Serialize>(
        &self,
        template: &str,
        data: &T,
    ) -> Result<String, ThemeError> {
        self.text_registry
            .render(template, data)
            .map_err(|source| ThemeError::Render {
                template: template.to_owned(),
                source: Box::new(source),
            })
    }

    /// A static file of this theme chain.
    pub fn asset(&self, name: &str) -> Option<Asset> {
        self.assets.get(name)
    }

    /// The file at `relative` (e.g. `documents/layout.toml`) in each layer
    /// of the chain that has it, `default` first, with its layer's name.
    pub fn chain_files(&self, relative: &str) -> Vec<(String, Vec<u8>)> {
        self.chain
            .iter()
            .filter_map(|layer| {
                self.files
                    .read(layer, relative)
                    .ok()
                    .map(|bytes| (layer.clone(), bytes.into_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_themes_load_and_render() {
        let themes = ThemeSet::from_files(ThemeFiles::Embedded, false).unwrap();
        assert_eq!(themes.names(), ["default", "saint-martin", "villeneuve"]);
        let view =
            serde_json::json!({ "code": 404, "heading": "Adresse inconnue", "explanation": "x" });
        let html = themes
            .default_theme()
            .render("errors/neutral", &view)
            .unwrap();
        assert!(
            html.contains("<h1 class=\"card__title\" id=\"error-title\">Adresse inconnue</h1>")
        );
        assert!(html.contains("/static/guichet.css?v="));
    }

    #[test]
    fn strict_mode_refuses_missing_values() {
        let themes = ThemeSet::from_files(ThemeFiles::Embedded, false).unwrap();
        let error = themes
            .default_theme()
            .render("errors/neutral", &serde_json::json!({}))
            .unwrap_err();
        assert!(matches!(error, ThemeError::Render { .. }), "{error}");
    }

    #[test]
    fn a_theme_folder_needs_a_default_theme_and_valid_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("town/templates")).unwrap();
        let missing = ThemeSet::from_files(ThemeFiles::Disk(dir.path().to_owned()), false);
        assert!(matches!(missing, Err(ThemeError::NoDefault)));

        std::fs::create_dir_all(dir.path().join("default/templates")).unwrap();
        std::fs::write(dir.path().join("default/templates/page.hbs"), "{{#if}}").unwrap();
        let broken = ThemeSet::from_files(ThemeFiles::Disk(dir.path().to_owned()), false);
        assert!(matches!(broken, Err(ThemeError::Template(_))));
    }

    #[test]
    fn dev_mode_reads_changes_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let templates = dir.path().join("default/templates");
        std::fs::create_dir_all(&templates).unwrap();
        std::fs::create_dir_all(dir.path().join("default/static")).unwrap();
        std::fs::write(templates.join("page.hbs"), "avant").unwrap();
        std::fs::write(dir.path().join("default/static/a.css"), "a{}").unwrap();
        let themes = ThemeSet::from_files(ThemeFiles::Disk(dir.path().to_owned()), true).unwrap();
        let theme = themes.default_theme();
        assert_eq!(theme.render("page", &()).unwrap(), "avant");
        std::fs::write(templates.join("page.hbs"), "après").unwrap();
        std::fs::write(dir.path().join("default/static/a.css"), "b{}").unwrap();
        assert_eq!(theme.render("page", &()).unwrap(), "après");
        let asset = theme.asset("a.css").unwrap();
        assert_eq!(&*asset.bytes, b"b{}");
        assert!(!asset.immutable);
    }
}
