//! The documents' layout, from the theme: `documents/layout.toml` of the
//! default theme, overridden key by key by the town's theme; the
//! letterhead's logo (`documents/logo.png`) and the fonts
//! (`documents/fonts/AtkinsonHyperlegible-{Regular,Bold}.ttf`) from the
//! nearest theme that has them.

use serde::Deserialize;

use super::text::{Face, Fonts};
use crate::theme::Theme;

/// The file of the layout, in a theme.
pub const LAYOUT_FILE: &str = "documents/layout.toml";
pub const LOGO_FILE: &str = "documents/logo.png";
const REGULAR_FONT: &str = "documents/fonts/AtkinsonHyperlegible-Regular.ttf";
const BOLD_FONT: &str = "documents/fonts/AtkinsonHyperlegible-Bold.ttf";

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).ok();
        Some(Self(channel(0)?, channel(2)?, channel(4)?))
    }

    /// WCAG 2.1's relative luminance.
    fn luminance(self) -> f64 {
        let linear = |channel: u8| {
            let value = f64::from(channel) / 255.0;
            if value <= 0.039_28 {
                value / 12.92
            } else {
                ((value + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }

    /// WCAG 2.1's contrast ratio with white.
    pub fn contrast_with_white(self) -> f64 {
        1.05 / (self.luminance() + 0.05)
    }
}

/// Where things go and how large they are, in points.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub margin_top: f32,
    pub margin_bottom: f32,
    pub margin_side: f32,
    pub logo_size: f32,
    pub town_size: f32,
    pub text_size: f32,
    pub heading_size: f32,
    pub title_size: f32,
    pub small_size: f32,
    pub line_height: f32,
    pub accent: Rgb,
    pub table_header_background: Rgb,
    pub qr_size: f32,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            margin_top: 48.0,
            margin_bottom: 56.0,
            margin_side: 56.0,
            logo_size: 56.0,
            town_size: 15.0,
            text_size: 10.5,
            heading_size: 12.5,
            title_size: 17.0,
            small_size: 8.5,
            line_height: 1.35,
            accent: Rgb(0x1f, 0x3a, 0x5f),
            table_header_background: Rgb(0xe8, 0xed, 0xf3),
            qr_size: 72.0,
        }
    }
}

/// One layer of `layout.toml`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutLayer {
    margin_top: Option<f32>,
    margin_bottom: Option<f32>,
    margin_side: Option<f32>,
    logo_size: Option<f32>,
    town_size: Option<f32>,
    text_size: Option<f32>,
    heading_size: Option<f32>,
    title_size: Option<f32>,
    small_size: Option<f32>,
    line_height: Option<f32>,
    accent: Option<String>,
    table_header_background: Option<String>,
    qr_size: Option<f32>,
}

impl Layout {
    /// The layout of these layers of `layout.toml` (default theme first),
    /// each named by its origin for the message that says what is wrong.
    pub fn from_layers(layers: &[(String, String)]) -> Result<Self, String> {
        let mut layout = Self::default();
        for (origin, text) in layers {
            let layer: LayoutLayer = toml::from_str(text)
                .map_err(|error| format!("{origin}: {}", error.to_string().trim_end()))?;
            layout
                .apply(layer)
                .map_err(|message| format!("{origin}: {message}"))?;
        }
        Ok(layout)
    }

    fn apply(&mut self, layer: LayoutLayer) -> Result<(), String> {
        let lengths = [
            (
                "margin_top",
                layer.margin_top,
                &mut self.margin_top,
                20.0,
                150.0,
            ),
            (
                "margin_bottom",
                layer.margin_bottom,
                &mut self.margin_bottom,
                30.0,
                150.0,
            ),
            (
                "margin_side",
                layer.margin_side,
                &mut self.margin_side,
                20.0,
                150.0,
            ),
            (
                "logo_size",
                layer.logo_size,
                &mut self.logo_size,
                0.0,
                150.0,
            ),
            ("town_size", layer.town_size, &mut self.town_size, 8.0, 30.0),
            ("text_size", layer.text_size, &mut self.text_size, 9.0, 16.0),
            (
                "heading_size",
                layer.heading_size,
                &mut self.heading_size,
                9.0,
                24.0,
            ),
            (
                "title_size",
                layer.title_size,
                &mut self.title_size,
                11.0,
                30.0,
            ),
            (
                "small_size",
                layer.small_size,
                &mut self.small_size,
                7.0,
                12.0,
            ),
            (
                "line_height",
                layer.line_height,
                &mut self.line_height,
                1.1,
                2.0,
            ),
            ("qr_size", layer.qr_size, &mut self.qr_size, 50.0, 150.0),
        ];
        for (key, value, slot, min, max) in lengths {
            if let Some(value) = value {
                if !(min..=max).contains(&value) {
                    return Err(format!("{key} = {value} is not between {min} and {max}"));
                }
                *slot = value;
            }
        }
        if let Some(accent) = layer.accent {
            let colour = Rgb::parse(&accent)
                .ok_or_else(|| format!("accent = \"{accent}\" is not a colour \"#rrggbb\""))?;
            let contrast = colour.contrast_with_white();
            if contrast < 4.5 {
                return Err(format!(
                    "accent = \"{accent}\" has a contrast of {contrast:.1}:1 with white, under the 4.5:1 text needs (WCAG 2.1 AA)"
                ));
            }
            self.accent = colour;
        }
        if let Some(background) = layer.table_header_background {
            let colour = Rgb::parse(&background).ok_or_else(|| {
                format!("table_header_background = \"{background}\" is not a colour \"#rrggbb\"")
            })?;
            // Dark text is drawn on it.
            if colour.contrast_with_white() > 1.3 {
                return Err(format!(
                    "table_header_background = \"{background}\" is too dark for the text drawn on it"
                ));
            }
            self.table_header_background = colour;
        }
        Ok(())
    }
}

/// What a theme gives the documents: layout, logo, fonts.
#[derive(Debug, Clone)]
pub struct DocumentTheme {
    pub layout: Layout,
    /// Read once: every document of the town draws the same image.
    pub logo: Option<krilla::image::Image>,
    pub fonts: Fonts,
}

impl DocumentTheme {
    /// Reads a theme chain's documents files; the message names the file
    /// and what is wrong (startup stops on it).
    pub fn load(theme: &Theme, theme_name: &str) -> Result<Self, String> {
        let layers: Vec<(String, String)> = theme
            .chain_files(LAYOUT_FILE)
            .into_iter()
            .map(|(layer, bytes)| {
                let origin = format!("themes/{layer}/{LAYOUT_FILE}");
                String::from_utf8(bytes)
                    .map(|text| (origin.clone(), text))
                    .map_err(|_| format!("{origin}: not UTF-8 text"))
            })
            .collect::<Result<_, _>>()?;
        let layout = Layout::from_layers(&layers)?;
        let logo = theme
            .chain_files(LOGO_FILE)
            .pop()
            .map(|(layer, bytes)| {
                krilla::image::Image::from_png(krilla::Data::from(bytes), true).map_err(|error| {
                    format!("themes/{layer}/{LOGO_FILE}: not a PNG image ({error})")
                })
            })
            .transpose()?;
        let face = |file: &str| {
            let (layer, bytes) = theme
                .chain_files(file)
                .pop()
                .ok_or_else(|| format!("theme `{theme_name}`: {file} is missing"))?;
            Face::load(bytes).map_err(|error| format!("themes/{layer}/{file}: {error}"))
        };
        Ok(Self {
            layout,
            logo,
            fonts: Fonts {
                regular: face(REGULAR_FONT)?,
                bold: face(BOLD_FONT)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_town_overrides_the_layout_key_by_key() {
        let layout = Layout::from_layers(&[
            (
                "default".to_owned(),
                "text_size = 11\naccent = \"#1f3a5f\"".to_owned(),
            ),
            ("town".to_owned(), "accent = \"#6d1a36\"".to_owned()),
        ])
        .unwrap();
        assert_eq!(layout.text_size, 11.0);
        assert_eq!(layout.accent, Rgb(0x6d, 0x1a, 0x36));
        assert_eq!(layout.margin_side, Layout::default().margin_side);
    }

    #[test]
    fn a_layout_that_would_harm_reading_is_refused() {
        let refused = |text: &str| {
            Layout::from_layers(&[("themes/x/documents/layout.toml".to_owned(), text.to_owned())])
                .unwrap_err()
        };
        assert!(refused("accent = \"#ffcc00\"").contains("contrast of 1.5:1"));
        assert!(refused("accent = \"blue\"").contains("not a colour"));
        assert!(refused("text_size = 5").contains("text_size = 5 is not between 9 and 16"));
        assert!(refused("table_header_background = \"#333333\"").contains("too dark"));
        assert!(refused("colour = 1").starts_with("themes/x/documents/layout.toml: "));
    }

    #[test]
    fn contrast_follows_wcag() {
        assert!((Rgb(0, 0, 0).contrast_with_white() - 21.0).abs() < 0.01);
        assert!(Rgb(0x0b, 0x4f, 0x8a).contrast_with_white() > 8.0);
    }
}
