//! A town's colours, as tokens: `theme.toml` names one or two brand colours
//! and a few style choices; Guichet derives every other colour from them and
//! serves the result as `theme.css` (CSS custom properties), after checking
//! each pair of colours the pages put together against WCAG 2.1 AA.
//!
//! Why generated rather than written by each town: a town theme used to
//! replace the whole palette file, and one that forgot a token lost the base
//! font; a town that picks a pale yellow would have given residents links
//! nobody can read. Here a town overrides tokens key by key (the default
//! theme's `theme.toml` holds them all), the font and spacing scales stay in
//! `guichet.css`, and a palette that cannot meet AA is refused when the
//! themes load (`guichet serve`, `guichet tenant apply`), with the failing
//! pair, its ratio and a darker shade that would pass.

use std::fmt;

use serde::Deserialize;

/// The file, in a theme's folder.
pub const FILE: &str = "theme.toml";

/// `theme.toml`: every key optional in a town's theme (the default theme's
/// value stands), all present in the default theme's.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeTokens {
    #[serde(default)]
    pub palette: PaletteInput,
    #[serde(default)]
    pub style: StyleInput,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaletteInput {
    /// The town's main colour: the header, links, headings.
    pub primary: Option<Colour>,
    /// The second colour: main buttons; the primary one when absent.
    pub accent: Option<Colour>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleInput {
    pub corners: Option<Corners>,
    pub header: Option<HeaderAlign>,
    pub headings: Option<Headings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Corners {
    Square,
    Rounded,
    Round,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderAlign {
    Start,
    Center,
}

/// The body text is always the theme's own font (Atkinson Hyperlegible);
/// a town may set its titles in a serif face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Headings {
    Sans,
    Serif,
}

/// An sRGB colour, written `#rrggbb` (or `#rgb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Colour {
    pub const WHITE: Colour = Colour::rgb(0xff, 0xff, 0xff);
    /// The text colour: near black, softer than pure black on white.
    pub const TEXT: Colour = Colour::rgb(0x1b, 0x1f, 0x24);
    pub const MUTED: Colour = Colour::rgb(0x4a, 0x53, 0x60);
    /// Input borders: 3:1 at least on white and on every tint below.
    pub const BORDER: Colour = Colour::rgb(0x6b, 0x74, 0x80);
    /// The focus ring: dark orange, told apart from blues, greens and reds.
    pub const FOCUS: Colour = Colour::rgb(0xb3, 0x5c, 0x00);

    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix('#')?;
        if !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |at: usize, len: usize| u8::from_str_radix(hex.get(at..at + len)?, 16).ok();
        match hex.len() {
            6 => Some(Self::rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
            3 => {
                let short = |at| digit(at, 1).map(|value| value * 17);
                Some(Self::rgb(short(0)?, short(1)?, short(2)?))
            }
            _ => None,
        }
    }

    /// WCAG 2.1's relative luminance.
    pub fn luminance(self) -> f64 {
        let channel = |value: u8| {
            let c = f64::from(value) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)
    }

    /// WCAG 2.1's contrast ratio, 1 to 21.
    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// `self` mixed with `other`, `share` of `other` (0 to 1).
    pub fn mix(self, other: Colour, share: f64) -> Self {
        let blend = |a: u8, b: u8| {
            let value = f64::from(a) * (1.0 - share) + f64::from(b) * share;
            // In 0..=255 by construction.
            value.round().clamp(0.0, 255.0) as u8
        };
        Self::rgb(
            blend(self.r, other.r),
            blend(self.g, other.g),
            blend(self.b, other.b),
        )
    }

    fn darker(self, share: f64) -> Self {
        self.mix(Colour::rgb(0, 0, 0), share)
    }

    /// White or black text on this colour, whichever reads better.
    fn text_on(self) -> Colour {
        let black = Colour::rgb(0, 0, 0);
        if Colour::WHITE.contrast(self) >= black.contrast(self) {
            Colour::WHITE
        } else {
            black
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Colour::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a colour: write it `#rrggbb`, e.g. \"#0b4f8a\""
            ))
        })
    }
}

/// Every token of a theme, the brand colours checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub primary: Colour,
    pub primary_contrast: Colour,
    pub accent: Colour,
    pub accent_hover: Colour,
    pub accent_contrast: Colour,
    pub background: Colour,
    pub surface: Colour,
    pub text: Colour,
    pub muted: Colour,
    pub border: Colour,
    pub focus: Colour,
    pub corners: Corners,
    pub header: HeaderAlign,
    pub headings: Headings,
}

/// A pair of colours the pages put together that does not reach its ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct PoorContrast {
    /// E.g. "the primary colour #ffcc00 as link text on white".
    pub pair: String,
    pub ratio: f64,
    pub needed: f64,
    /// A darker shade of the brand colour that would pass, if one does.
    pub suggestion: Option<Colour>,
}

impl fmt::Display for PoorContrast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} has a contrast of {:.2}:1, WCAG AA needs {}:1",
            self.pair,
            // Rounded down: 4.497 must not read "4.50".
            (self.ratio * 100.0).floor() / 100.0,
            self.needed
        )?;
        if let Some(shade) = self.suggestion {
            write!(f, " (a darker shade such as \"{shade}\" would pass)")?;
        }
        Ok(())
    }
}

/// Text: 4.5:1 (WCAG 1.4.3). Shapes of controls and the focus ring: 3:1
/// (1.4.11).
const TEXT_RATIO: f64 = 4.5;
const SHAPE_RATIO: f64 = 3.0;

impl ThemeTokens {
    /// `self` (the default theme's) with `town`'s keys over it.
    pub fn overlaid(&self, town: &ThemeTokens) -> ThemeTokens {
        ThemeTokens {
            palette: PaletteInput {
                primary: town.palette.primary.or(self.palette.primary),
                // A town that sets its primary colour only gets buttons of it,
                // not of the default theme's green.
                accent: town.palette.accent.or(if town.palette.primary.is_some() {
                    town.palette.primary
                } else {
                    self.palette.accent
                }),
            },
            style: StyleInput {
                corners: town.style.corners.or(self.style.corners),
                header: town.style.header.or(self.style.header),
                headings: town.style.headings.or(self.style.headings),
            },
        }
    }

    /// The palette, or the first pair that fails WCAG AA.
    pub fn palette(&self) -> Result<Palette, PoorContrast> {
        let primary = self
            .palette
            .primary
            .unwrap_or(Colour::rgb(0x1f, 0x3a, 0x5f));
        let accent = self.palette.accent.unwrap_or(primary);
        // A light tint of the town's colour behind the page's cards.
        let background_of = |primary: Colour| primary.mix(Colour::WHITE, 0.94);
        let background = background_of(primary);
        let accent_contrast = accent.text_on();
        // Hover darkens: more contrast for white text; for black text it is
        // slight, and checked below like the accent itself.
        let accent_hover = if accent_contrast == Colour::WHITE {
            accent.darker(0.2)
        } else {
            accent.darker(0.1)
        };
        let palette = Palette {
            primary,
            primary_contrast: primary.text_on(),
            accent,
            accent_hover,
            accent_contrast,
            background,
            surface: Colour::WHITE,
            text: Colour::TEXT,
            muted: Colour::MUTED,
            border: Colour::BORDER,
            focus: Colour::FOCUS,
            corners: self.style.corners.unwrap_or(Corners::Rounded),
            header: self.style.header.unwrap_or(HeaderAlign::Start),
            headings: self.style.headings.unwrap_or(Headings::Sans),
        };
        let link_passes = |c: Colour| {
            c.contrast(Colour::WHITE) >= TEXT_RATIO && c.contrast(background_of(c)) >= TEXT_RATIO
        };
        let shape_passes = |c: Colour| {
            c.contrast(Colour::WHITE) >= SHAPE_RATIO && c.contrast(background) >= SHAPE_RATIO
        };
        let checks: [(String, Colour, Colour, f64, Option<Colour>); 10] = [
            (
                format!("the primary colour {primary} as link text on white"),
                primary,
                Colour::WHITE,
                TEXT_RATIO,
                lightest_passing_shade(primary, link_passes),
            ),
            (
                format!(
                    "the primary colour {primary} as link text on the page's tint {background}"
                ),
                primary,
                background,
                TEXT_RATIO,
                lightest_passing_shade(primary, link_passes),
            ),
            (
                format!("the header's text on the primary colour {primary}"),
                palette.primary_contrast,
                primary,
                TEXT_RATIO,
                None,
            ),
            (
                format!("the accent colour {accent} as a button on white"),
                accent,
                Colour::WHITE,
                SHAPE_RATIO,
                lightest_passing_shade(accent, shape_passes),
            ),
            (
                format!("the accent colour {accent} as a button on the page's tint {background}"),
                accent,
                background,
                SHAPE_RATIO,
                lightest_passing_shade(accent, shape_passes),
            ),
            (
                format!("a button's text on the accent colour {accent}"),
                accent_contrast,
                accent,
                TEXT_RATIO,
                None,
            ),
            (
                format!("a button's text on its hover colour {accent_hover}"),
                accent_contrast,
                accent_hover,
                TEXT_RATIO,
                None,
            ),
            (
                format!("the accent's hover colour {accent_hover} as a button on white"),
                accent_hover,
                Colour::WHITE,
                SHAPE_RATIO,
                None,
            ),
            (
                format!("the muted text on the page's tint {background}"),
                palette.muted,
                background,
                TEXT_RATIO,
                None,
            ),
            (
                format!("the focus ring on the page's tint {background}"),
                palette.focus,
                background,
                SHAPE_RATIO,
                None,
            ),
        ];
        for (pair, foreground, behind, needed, suggestion) in checks {
            let ratio = foreground.contrast(behind);
            if ratio < needed {
                return Err(PoorContrast {
                    pair,
                    ratio,
                    needed,
                    suggestion,
                });
            }
        }
        Ok(palette)
    }
}

/// The lightest shade of `colour`, darkened in steps of 5 %, that `passes`.
fn lightest_passing_shade(colour: Colour, passes: impl Fn(Colour) -> bool) -> Option<Colour> {
    (1..=19)
        .map(|step| colour.darker(f64::from(step) * 0.05))
        .find(|shade| passes(*shade))
}

impl Palette {
    /// The tokens as CSS custom properties: `theme.css`.
    pub fn css(&self) -> String {
        let radius = match self.corners {
            Corners::Square => "2px",
            Corners::Rounded => "8px",
            Corners::Round => "16px",
        };
        // A centred name gets as much room on its left as the account
        // takes on the right (large screens), so it sits at the page's centre.
        let (align, room) = match self.header {
            HeaderAlign::Start => ("flex-start", "0px"),
            HeaderAlign::Center => ("center", "23rem"),
        };
        let headings = match self.headings {
            Headings::Sans => "var(--font-body)",
            Headings::Serif => "Georgia, Cambria, \"Times New Roman\", serif",
        };
        let ratio = |a: Colour, b: Colour| format!("{:.1}:1", a.contrast(b));
        format!(
            "/* Generated by Guichet from the theme's theme.toml: every pair of colours\n   below was checked against WCAG 2.1 AA when the themes loaded. */\n:root {{\n  --color-primary: {primary}; /* {primary_on_white} on white */\n  --color-primary-contrast: {primary_contrast};\n  --color-accent: {accent};\n  --color-accent-hover: {accent_hover};\n  --color-accent-contrast: {accent_contrast}; /* {accent_text} */\n  --color-background: {background};\n  --color-surface: {surface};\n  --color-text: {text};\n  --color-muted: {muted};\n  --color-border: {border};\n  --color-focus: {focus};\n  --radius: {radius};\n  --header-align: {align};\n  --header-room-start: {room};\n  --font-headings: {headings};\n}}\n",
            primary = self.primary,
            primary_on_white = ratio(self.primary, Colour::WHITE),
            primary_contrast = self.primary_contrast,
            accent = self.accent,
            accent_hover = self.accent_hover,
            accent_contrast = self.accent_contrast,
            accent_text = ratio(self.accent_contrast, self.accent),
            background = self.background,
            surface = self.surface,
            text = self.text,
            muted = self.muted,
            border = self.border,
            focus = self.focus,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> ThemeTokens {
        toml::from_str(text).unwrap()
    }

    fn default_tokens() -> ThemeTokens {
        tokens(include_str!("../../../themes/default/theme.toml"))
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        let black = Colour::rgb(0, 0, 0);
        assert!((Colour::WHITE.contrast(black) - 21.0).abs() < 1e-9);
        assert!((Colour::WHITE.contrast(Colour::WHITE) - 1.0).abs() < 1e-9);
        // #767676 is the lightest grey that passes 4.5:1 on white.
        let grey = Colour::parse("#767676").unwrap();
        assert!((grey.contrast(Colour::WHITE) - 4.54).abs() < 0.01);
        assert!(Colour::parse("#777777").unwrap().contrast(Colour::WHITE) < 4.5);
        assert_eq!(Colour::parse("#abc"), Some(Colour::rgb(0xaa, 0xbb, 0xcc)));
        for wrong in ["0b4f8a", "#0b4f8", "#gggggg", "#0b4f8a00", "bleu"] {
            assert_eq!(Colour::parse(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn the_shipped_themes_meet_aa() {
        let base = default_tokens();
        for town in [
            include_str!("../../../themes/villeneuve/theme.toml"),
            include_str!("../../../themes/saint-martin/theme.toml"),
            "",
        ] {
            let palette = base.overlaid(&tokens(town)).palette().unwrap();
            let css = palette.css();
            assert!(css.contains("--color-primary: #"), "{css}");
            assert!(css.contains("--font-headings"), "{css}");
        }
    }

    #[test]
    fn a_pale_brand_colour_is_refused_with_a_darker_shade_that_passes() {
        let base = default_tokens();
        let poor = base.overlaid(&tokens("[palette]\nprimary = \"#ffcc00\"\n"));
        let error = poor.palette().unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("#ffcc00 as link text on white"),
            "{message}"
        );
        assert!(message.contains("WCAG AA needs 4.5:1"), "{message}");
        let shade = error.suggestion.expect("a darker yellow passes");
        let fixed = base.overlaid(&ThemeTokens {
            palette: PaletteInput {
                primary: Some(shade),
                accent: None,
            },
            style: StyleInput::default(),
        });
        assert!(fixed.palette().is_ok(), "{shade}");
    }

    #[test]
    fn a_pale_accent_is_refused_as_a_button_even_with_a_dark_primary() {
        let base = default_tokens();
        let poor = base.overlaid(&tokens(
            "[palette]\nprimary = \"#0b4f8a\"\naccent = \"#e8f0ff\"\n",
        ));
        let message = poor.palette().unwrap_err().to_string();
        assert!(
            message.contains("accent colour #e8f0ff as a button"),
            "{message}"
        );
    }

    #[test]
    fn button_text_is_black_on_a_light_accent_and_white_on_a_dark_one() {
        let base = default_tokens();
        let light = base
            .overlaid(&tokens(
                "[palette]\nprimary = \"#0b4f8a\"\naccent = \"#ce7106\"\n",
            ))
            .palette()
            .unwrap();
        assert_eq!(light.accent_contrast, Colour::rgb(0, 0, 0));
        let dark = base.palette().unwrap();
        assert_eq!(dark.accent_contrast, Colour::WHITE);
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        assert!(toml::from_str::<ThemeTokens>("[palette]\nsecondary = \"#000000\"\n").is_err());
        assert!(toml::from_str::<ThemeTokens>("[style]\ncorners = \"oval\"\n").is_err());
        let error = toml::from_str::<ThemeTokens>("[palette]\nprimary = \"blue\"\n").unwrap_err();
        assert!(error.to_string().contains("write it `#rrggbb`"), "{error}");
    }
}
