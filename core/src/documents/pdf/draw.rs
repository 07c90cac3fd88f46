//! The drawing pass: the marks written page by page with krilla, their
//! identifiers set in the structure tree, the outline and the metadata,
//! and the file checked by krilla's PDF/UA-1 validator.

use std::num::NonZeroU16;

use krilla::configure::{Accessibility, ConfigurationBuilder};
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::paint::Fill;
use krilla::tagging::{
    Artifact, ContentTag, Identifier, ListNumbering, SpanTag, Tag, TagGroup, TagKind, TagTree,
};
use krilla::text::TextDirection;
use krilla::{Document, SerializeSettings};

use super::super::layout::Rgb;
use super::super::text::Fonts;
use super::flow::{Content, Group, Node, PAGE_HEIGHT, PAGE_WIDTH, Paint, Weight, Writer};
use super::{RenderError, Sheet};

const BLACK: Rgb = Rgb(0, 0, 0);

impl Writer<'_> {
    pub(super) fn finish(
        self,
        roots: Vec<Node>,
        sheet: &Sheet<'_>,
    ) -> Result<Vec<u8>, RenderError> {
        let configuration = ConfigurationBuilder::new()
            .with_accessibility_validator(Accessibility::UA1)
            .finish()
            .map_err(|error| RenderError::Pdf(format!("{error:?}")))?;
        let settings = SerializeSettings {
            configuration,
            enable_tagging: true,
            ..SerializeSettings::default()
        };
        let mut document = Document::new_with(settings);
        let logo = self.theme.logo.as_ref();
        let qr = qr_path(&sheet.verification.url)?;
        let pages = self.page + 1;
        let mut identifiers: Vec<Option<Identifier>> = Vec::with_capacity(self.marks.len());
        identifiers.resize_with(self.marks.len(), || None);
        let size = Size::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| RenderError::Pdf("page size".to_owned()))?;
        // The marks of each page, in order: each page reads only its own.
        let mut by_page: Vec<Vec<usize>> = vec![Vec::new(); pages];
        for (index, mark) in self.marks.iter().enumerate() {
            if let Some(page) = by_page.get_mut(mark.page) {
                page.push(index);
            }
        }
        for indexes in &by_page {
            let mut page = document.start_page_with(krilla::page::PageSettings::new(size));
            let mut surface = page.surface();
            for &index in indexes {
                let Some(mark) = self.marks.get(index) else {
                    continue;
                };
                let identifier = match mark.content {
                    Content::Artifact(kind) => {
                        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(kind)));
                        None
                    }
                    Content::Text => Some(surface.start_tagged(ContentTag::Span(SpanTag::empty()))),
                    Content::Figure => Some(surface.start_tagged(ContentTag::Other)),
                };
                for paint in &mark.paints {
                    draw(&mut surface, paint, self.fonts, logo, qr.as_ref());
                }
                surface.end_tagged();
                identifiers[index] = identifier;
            }
            surface.finish();
            page.finish();
        }

        let mut tree = TagTree::new().with_lang(Some("fr-FR".to_owned()));
        for root in roots {
            if let Some(node) = tag_node(root, &mut identifiers) {
                tree.push(node);
            }
        }
        document.set_tag_tree(tree);

        let mut outline = Outline::new();
        let mut entries = self.outline.into_iter();
        if let Some((title, page, y)) = entries.next() {
            let mut root = OutlineNode::new(
                title,
                krilla::destination::XyzDestination::new(page, Point::from_xy(0.0, y)),
            )
            .with_open(true);
            for (heading, page, y) in entries {
                root.push_child(OutlineNode::new(
                    heading,
                    krilla::destination::XyzDestination::new(page, Point::from_xy(0.0, y)),
                ));
            }
            outline.push_child(root);
        }
        document.set_outline(outline);

        let issued = sheet.issued_at;
        use chrono::{Datelike as _, Timelike as _};
        let created = krilla::metadata::DateTime::new(u16::try_from(issued.year()).unwrap_or(2026))
            .month(u8::try_from(issued.month()).unwrap_or(1))
            .day(u8::try_from(issued.day()).unwrap_or(1))
            .hour(u8::try_from(issued.hour()).unwrap_or(0))
            .minute(u8::try_from(issued.minute()).unwrap_or(0))
            .second(u8::try_from(issued.second()).unwrap_or(0))
            .utc_offset_hour(0);
        document.set_metadata(
            Metadata::new()
                .title(format!("{} — N° {}", sheet.title, sheet.number))
                .language("fr-FR".to_owned())
                .authors(vec![sheet.letterhead.town.clone()])
                .creator("Guichet".to_owned())
                .description(format!("Document délivré par {}", sheet.letterhead.town))
                .creation_date(created)
                .document_id(sheet.number.to_owned()),
        );
        document
            .finish()
            .map_err(|error| RenderError::Pdf(format!("{error:?}")))
    }
}

fn tag_node(node: Node, identifiers: &mut [Option<Identifier>]) -> Option<krilla::tagging::Node> {
    match node {
        Node::Leaf(index) => identifiers
            .get_mut(index)
            .and_then(Option::take)
            .map(krilla::tagging::Node::from),
        Node::Group(group, children) => {
            let children: Vec<krilla::tagging::Node> = children
                .into_iter()
                .filter_map(|child| tag_node(child, identifiers))
                .collect();
            if children.is_empty() {
                return None;
            }
            Some(TagGroup::with_children(tag_kind(group), children).into())
        }
    }
}

fn tag_kind(group: Group) -> TagKind {
    let level = |level: u16| NonZeroU16::new(level).unwrap_or(NonZeroU16::MIN);
    match group {
        Group::Paragraph => Tag::P.into(),
        Group::Title(title) => Tag::Hn(level(1), Some(title)).into(),
        Group::Heading(title) => Tag::Hn(level(2), Some(title)).into(),
        Group::Table => Tag::Table.into(),
        Group::Caption => Tag::Caption.into(),
        Group::Head => Tag::THead.into(),
        Group::Body => Tag::TBody.into(),
        Group::Row => Tag::TR.into(),
        Group::HeaderCell(scope) => Tag::TH(scope).into(),
        Group::Cell => Tag::TD.into(),
        Group::List => Tag::L(ListNumbering::Disc).into(),
        Group::Item => Tag::LI.into(),
        Group::Label => Tag::Lbl.into(),
        Group::ItemBody => Tag::LBody.into(),
        Group::Figure(alt) => Tag::Figure(Some(alt)).into(),
        Group::Section => Tag::Section.into(),
    }
}

fn fill(colour: Rgb) -> Fill {
    Fill {
        paint: krilla::color::rgb::Color::new(colour.0, colour.1, colour.2).into(),
        ..Fill::default()
    }
}

fn draw(
    surface: &mut krilla::surface::Surface<'_>,
    paint: &Paint,
    fonts: &Fonts,
    logo: Option<&krilla::image::Image>,
    qr: Option<&krilla::geom::Path>,
) {
    match paint {
        Paint::Text {
            x,
            baseline,
            size,
            weight,
            colour,
            text,
        } => {
            let face = match weight {
                Weight::Regular => &fonts.regular,
                Weight::Bold => &fonts.bold,
            };
            surface.set_fill(Some(fill(*colour)));
            surface.draw_text(
                Point::from_xy(*x, *baseline),
                face.krilla.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Paint::Rect {
            rect: (x, y, width, height),
            colour,
        } => {
            if let Some(rect) = Rect::from_xywh(*x, *y, *width, *height) {
                let mut builder = PathBuilder::new();
                builder.push_rect(rect);
                if let Some(path) = builder.finish() {
                    surface.set_fill(Some(fill(*colour)));
                    surface.draw_path(&path);
                }
            }
        }
        Paint::Logo { x, y, size } => {
            if let (Some(logo), Some(area)) = (logo, Size::from_wh(*size, *size)) {
                surface.push_transform(&Transform::from_translate(*x, *y));
                surface.draw_image(logo.clone(), area);
                surface.pop();
            }
        }
        Paint::Qr { x, y, size } => {
            if let Some(path) = qr {
                // The path is drawn in a unit square.
                surface.push_transform(&Transform::from_row(*size, 0.0, 0.0, *size, *x, *y));
                surface.set_fill(Some(fill(BLACK)));
                surface.draw_path(path);
                surface.pop();
            }
        }
    }
}

/// The QR code of `url` as one path in a unit square (its dark modules,
/// merged into runs per row).
fn qr_path(url: &str) -> Result<Option<krilla::geom::Path>, RenderError> {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|error| RenderError::Pdf(format!("QR code: {error}")))?;
    let width = code.width();
    let colours = code.to_colors();
    let unit = 1.0 / width as f32;
    let mut builder = PathBuilder::new();
    for row in 0..width {
        let mut column = 0;
        while column < width {
            if colours[row * width + column] == qrcode::Color::Dark {
                let start = column;
                while column < width && colours[row * width + column] == qrcode::Color::Dark {
                    column += 1;
                }
                if let Some(rect) = Rect::from_xywh(
                    start as f32 * unit,
                    row as f32 * unit,
                    (column - start) as f32 * unit,
                    unit,
                ) {
                    builder.push_rect(rect);
                }
            } else {
                column += 1;
            }
        }
    }
    Ok(builder.finish())
}
