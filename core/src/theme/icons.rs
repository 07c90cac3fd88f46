//! The theme's icons (`static/icons.svg`, one `<symbol>` each), inserted
//! inline by `{{icon "name"}}`: an inline `<svg>` needs no request, takes
//! the text's colour and is not an image the content security policy would
//! have to allow; an icon font would be read aloud as letters.

use std::collections::HashMap;
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};

/// The file, under `static/`.
pub const FILE: &str = "icons.svg";

/// Each symbol's drawing, by id.
#[derive(Debug, Default)]
pub struct Icons(HashMap<String, String>);

impl Icons {
    /// The symbols of `svg`: `<symbol id="…" …>drawing</symbol>`.
    pub fn parse(svg: &str) -> Self {
        let mut icons = HashMap::new();
        let mut rest = svg;
        while let Some(start) = rest.find("<symbol ") {
            rest = &rest[start..];
            let Some(open_end) = rest.find('>') else {
                break;
            };
            let Some(close) = rest.find("</symbol>") else {
                break;
            };
            let open = &rest[..open_end];
            if let Some(id) = open
                .split_once("id=\"")
                .and_then(|(_, after)| after.split_once('"'))
                .map(|(id, _)| id)
                && let Some(drawing) = rest.get(open_end + 1..close)
            {
                icons.insert(id.to_owned(), drawing.to_owned());
            }
            rest = &rest[close + "</symbol>".len()..];
        }
        Self(icons)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// `{{icon "calendar"}}`: decorative, hidden from assistive technologies
/// (the text beside it says the same); `{{icon "alert" label="Erreur"}}`:
/// an image with that name, for an icon that stands alone.
pub(super) fn register_helper(registry: &mut Handlebars<'static>, icons: Arc<Icons>) {
    registry.register_helper(
        "icon",
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
                    .ok_or(RenderErrorReason::ParamNotFoundForIndex("icon", 0))?;
                let drawing = icons.get(name).ok_or_else(|| {
                    RenderErrorReason::Other(format!("the theme has no icon `{name}`"))
                })?;
                let label = helper
                    .hash_get("label")
                    .and_then(|label| label.value().as_str());
                let role = match label {
                    Some(label) => format!(
                        "role=\"img\" aria-label=\"{}\"",
                        handlebars::html_escape(label)
                    ),
                    None => "aria-hidden=\"true\"".to_owned(),
                };
                out.write(&format!(
                    "<svg class=\"icon icon--{name}\" viewBox=\"0 0 24 24\" {role} focusable=\"false\">{drawing}</svg>"
                ))?;
                Ok(())
            },
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_s_icons_are_read_by_id() {
        let icons = Icons::parse(include_str!("../../../themes/default/static/icons.svg"));
        for name in [
            "home", "menu", "close", "euro", "calendar", "check", "alert", "arrow",
        ] {
            let drawing = icons.get(name).unwrap_or_else(|| panic!("{name}"));
            assert!(
                drawing.contains("<path") || drawing.contains("<rect"),
                "{name}"
            );
            assert!(!drawing.contains("symbol"), "{name}");
        }
        assert_eq!(icons.get("nothing"), None);
    }
}
