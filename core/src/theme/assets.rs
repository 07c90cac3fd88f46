//! Static files of a theme chain, fingerprinted for long-lived caching.

use std::collections::HashMap;
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use sha2::{Digest as _, Sha256};

use super::{ThemeError, ThemeFiles};

/// A static file, with the tag that changes whenever its bytes do.
#[derive(Debug, Clone)]
pub struct Asset {
    pub bytes: Arc<[u8]>,
    /// First 16 hex digits of the SHA-256 of `bytes`.
    pub fingerprint: String,
    /// False in dev mode, where files may change under a running server.
    pub immutable: bool,
}

impl Asset {
    fn new(bytes: Vec<u8>, immutable: bool) -> Self {
        let digest = hex::encode(Sha256::digest(&bytes));
        Self {
            bytes: bytes.into(),
            fingerprint: digest[..16].to_owned(),
            immutable,
        }
    }
}

#[derive(Debug)]
pub(super) struct AssetTable {
    /// Name (relative to `static/`) to file, the last layer winning.
    assets: HashMap<String, Asset>,
    /// In dev mode: read files again from the chain at every request.
    live: Option<(ThemeFiles, Vec<String>)>,
    /// `theme.css`, generated from the chain's tokens (never read from disk).
    generated: Asset,
}

/// The generated stylesheet's name.
const GENERATED: &str = "theme.css";

impl AssetTable {
    pub(super) fn load(
        files: &ThemeFiles,
        chain: &[&str],
        reload: bool,
        tokens_css: String,
    ) -> Result<Self, ThemeError> {
        let mut assets = HashMap::new();
        for layer in chain {
            for relative in files.static_files(layer) {
                let Some(name) = relative.strip_prefix("static/") else {
                    continue;
                };
                let bytes = files.read(layer, &relative)?.into_owned();
                assets.insert(name.to_owned(), Asset::new(bytes, !reload));
            }
        }
        let live = reload.then(|| {
            (
                files.clone(),
                chain
                    .iter()
                    .rev()
                    .map(|layer| (*layer).to_owned())
                    .collect(),
            )
        });
        Ok(Self {
            assets,
            live,
            generated: Asset::new(tokens_css.into_bytes(), true),
        })
    }

    pub(super) fn get(&self, name: &str) -> Option<Asset> {
        if name.split('/').any(|part| part.is_empty() || part == "..") {
            return None;
        }
        if name == GENERATED {
            return Some(self.generated.clone());
        }
        if let Some((files, layers_last_first)) = &self.live {
            return layers_last_first.iter().find_map(|layer| {
                let relative = format!("static/{name}");
                files
                    .read(layer, &relative)
                    .ok()
                    .map(|bytes| Asset::new(bytes.into_owned(), false))
            });
        }
        self.assets.get(name).cloned()
    }
}

/// `{{asset "guichet.css"}}` → `/static/guichet.css?v=<fingerprint>`.
///
/// Naming a file the theme does not have is a render error, caught by the
/// template tests rather than by a resident's browser.
pub(super) fn register_helper(registry: &mut Handlebars<'static>, assets: Arc<AssetTable>) {
    registry.register_helper(
        "asset",
        Box::new(
            move |helper: &Helper<'_>,
                  _: &Handlebars<'_>,
                  _: &Context,
                  _: &mut RenderContext<'_, '_>,
                  out: &mut dyn Output|
                  -> HelperResult {
                let name = helper
                    .param(0)
                    .and_then(|param| param.value().as_str())
                    .ok_or(RenderErrorReason::ParamNotFoundForIndex("asset", 0))?;
                let asset = assets.get(name).ok_or_else(|| {
                    RenderErrorReason::Other(format!("the theme has no static file `{name}`"))
                })?;
                out.write(&format!("/static/{name}?v={}", asset.fingerprint))?;
                Ok(())
            },
        ),
    );
}
