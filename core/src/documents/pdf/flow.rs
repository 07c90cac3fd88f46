//! The layout pass: the letterhead, the module's blocks, the signature
//! and the verification box as a display list of marks, page by page, beside
//! the document's logical structure (see the parent module).

use krilla::tagging::{ArtifactType, TableHeaderScope};

use super::super::layout::{DocumentTheme, Rgb};
use super::super::text::{Face, Fonts, wrap};
use super::{Recipient, RenderError, Sheet, Signature, Verification};
use crate::modules::{Block, Tone, Value};

/// A4, in points.
pub(super) const PAGE_WIDTH: f32 = 595.28;
pub(super) const PAGE_HEIGHT: f32 = 841.89;
const TEXT: Rgb = Rgb(0x1a, 0x1a, 0x1a);
/// Secondary text (the address, the footer): 9.7:1 on white.
const MUTED: Rgb = Rgb(0x44, 0x44, 0x44);
const RULE: Rgb = Rgb(0x9a, 0xa5, 0xb1);
const CELL_PADDING: f32 = 4.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Weight {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Right,
}

#[derive(Debug)]
pub(super) enum Paint {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        weight: Weight,
        colour: Rgb,
        text: String,
    },
    Rect {
        rect: (f32, f32, f32, f32),
        colour: Rgb,
    },
    Logo {
        x: f32,
        y: f32,
        size: f32,
    },
    Qr {
        x: f32,
        y: f32,
        size: f32,
    },
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Content {
    Artifact(ArtifactType),
    Text,
    Figure,
}

/// What is drawn at once on one page, under one tag.
#[derive(Debug)]
pub(super) struct Mark {
    pub(super) page: usize,
    pub(super) content: Content,
    pub(super) paints: Vec<Paint>,
}

/// The logical structure, in reading order; leaves are marks.
#[derive(Debug)]
pub(super) enum Node {
    Group(Group, Vec<Node>),
    Leaf(usize),
}

#[derive(Debug)]
pub(super) enum Group {
    Paragraph,
    Title(String),
    Heading(String),
    Table,
    Caption,
    Head,
    Body,
    Row,
    HeaderCell(TableHeaderScope),
    Cell,
    List,
    Item,
    Label,
    ItemBody,
    Figure(String),
    Section,
}

/// A table cell as laid out.
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) numeric: bool,
    pub(super) weight: Weight,
}

pub(super) struct Writer<'a> {
    pub(super) theme: &'a DocumentTheme,
    pub(super) fonts: &'a Fonts,
    pub(super) marks: Vec<Mark>,
    pub(super) page: usize,
    /// Top of the free space on the page, from the top.
    pub(super) y: f32,
    /// The running header of the pages after the first.
    pub(super) running: String,
    /// Outline entries: title, page, top.
    pub(super) outline: Vec<(String, usize, f32)>,
    /// Why the content cannot be laid out (too many pages, columns too
    /// narrow, a row taller than a page): set once, the layout then stops
    /// adding marks and the document is refused.
    pub(super) refused: Option<RenderError>,
}

/// Pages a document may take: a year of attendance takes a dozen.
pub(super) const MAX_PAGES: usize = 50;
/// The narrowest column a table may have, in points (a few characters).
const MIN_COLUMN: f32 = 30.0;

impl<'a> Writer<'a> {
    pub(super) fn new(theme: &'a DocumentTheme, sheet: &Sheet<'_>) -> Self {
        Self {
            theme,
            fonts: &theme.fonts,
            marks: Vec::new(),
            page: 0,
            y: theme.layout.margin_top,
            running: theme.fonts.printable(&format!(
                "{} — {} — N° {}",
                sheet.letterhead.town, sheet.title, sheet.number
            )),
            outline: Vec::new(),
            refused: None,
        }
    }

    fn refuse(&mut self, error: RenderError) {
        if self.refused.is_none() {
            self.refused = Some(error);
        }
    }

    fn face(&self, weight: Weight) -> &'a Face {
        match weight {
            Weight::Regular => &self.fonts.regular,
            Weight::Bold => &self.fonts.bold,
        }
    }

    fn left(&self) -> f32 {
        self.theme.layout.margin_side
    }

    fn width(&self) -> f32 {
        PAGE_WIDTH - 2.0 * self.theme.layout.margin_side
    }

    fn bottom(&self) -> f32 {
        PAGE_HEIGHT - self.theme.layout.margin_bottom
    }

    fn leading(&self, size: f32) -> f32 {
        size * self.theme.layout.line_height
    }

    fn mark(&mut self, content: Content, mut paints: Vec<Paint>) -> usize {
        if self.refused.is_some() {
            // The document will not be written: keep no more of it.
            paints.clear();
        }
        self.marks.push(Mark {
            page: self.page,
            content,
            paints,
        });
        self.marks.len() - 1
    }

    fn artifact(&mut self, kind: ArtifactType, paints: Vec<Paint>) {
        self.mark(Content::Artifact(kind), paints);
    }

    fn rule(&mut self, y: f32, colour: Rgb, thickness: f32) {
        let rect = (self.left(), y, self.width(), thickness);
        self.artifact(ArtifactType::Layout, vec![Paint::Rect { rect, colour }]);
    }

    fn new_page(&mut self) {
        if self.page + 1 >= MAX_PAGES {
            self.refuse(RenderError::Forbidden("more than 50 pages"));
            // Nothing more is drawn: start again at the top of this page.
            self.y = self.theme.layout.margin_top;
            return;
        }
        self.page += 1;
        let layout = &self.theme.layout;
        let size = layout.small_size;
        let top = layout.margin_top;
        let text = self.running.clone();
        let x = self.left();
        self.artifact(
            ArtifactType::Header,
            vec![Paint::Text {
                x,
                baseline: top + size,
                size,
                weight: Weight::Regular,
                colour: MUTED,
                text,
            }],
        );
        self.rule(top + size * 1.8, RULE, 0.5);
        self.y = top + size * 1.8 + 12.0;
    }

    /// Starts a new page unless `height` fits on this one.
    fn ensure(&mut self, height: f32) {
        if self.y + height > self.bottom() && self.y > self.theme.layout.margin_top + 60.0 {
            self.new_page();
        }
    }

    /// One line of text at the current position, as tagged content.
    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        text: String,
        x: f32,
        width: f32,
        size: f32,
        weight: Weight,
        colour: Rgb,
        align: Align,
    ) -> Node {
        let leading = self.leading(size);
        self.ensure(leading);
        let x = match align {
            Align::Left => x,
            Align::Right => x + width - self.face(weight).width(&text, size),
        };
        let baseline = self.y + (leading - size) / 2.0 + size * 0.8;
        // An empty cell still holds its place in the structure.
        let text = if text.is_empty() {
            "\u{a0}".to_owned()
        } else {
            text
        };
        let leaf = self.mark(
            Content::Text,
            vec![Paint::Text {
                x,
                baseline,
                size,
                weight,
                colour,
                text,
            }],
        );
        self.y += leading;
        Node::Leaf(leaf)
    }

    /// `text` wrapped at `width`, line by line.
    #[allow(clippy::too_many_arguments)]
    fn lines(
        &mut self,
        text: &str,
        x: f32,
        width: f32,
        size: f32,
        weight: Weight,
        colour: Rgb,
        align: Align,
    ) -> Vec<Node> {
        let text = self.fonts.printable(text);
        wrap(self.face(weight), size, &text, width)
            .into_iter()
            .map(|line| self.line(line, x, width, size, weight, colour, align))
            .collect()
    }

    fn paragraph(&mut self, text: &str, size: f32, weight: Weight, colour: Rgb) -> Node {
        let (x, width) = (self.left(), self.width());
        let lines = self.lines(text, x, width, size, weight, colour, Align::Left);
        self.y += size * 0.6;
        Node::Group(Group::Paragraph, lines)
    }

    /// The whole document, in reading order.
    pub(super) fn document(&mut self, sheet: &Sheet<'_>) -> Vec<Node> {
        let mut roots = vec![self.letterhead(sheet)];
        roots.push(self.recipient(sheet.recipient));
        roots.extend(self.title(sheet));
        for block in sheet.blocks {
            if let Some(node) = self.block(block) {
                roots.push(node);
            }
        }
        roots.extend(self.signature(sheet.signature));
        roots.push(self.verification(sheet.verification));
        roots
    }

    fn letterhead(&mut self, sheet: &Sheet<'_>) -> Node {
        let layout = self.theme.layout.clone();
        let top = layout.margin_top;
        let mut x = self.left();
        if self.theme.logo.is_some() && layout.logo_size > 0.0 {
            self.artifact(
                ArtifactType::Layout,
                vec![Paint::Logo {
                    x,
                    y: top,
                    size: layout.logo_size,
                }],
            );
            x += layout.logo_size + 14.0;
        }
        let width = PAGE_WIDTH - layout.margin_side - x;
        let mut children = self.lines(
            &sheet.letterhead.town,
            x,
            width,
            layout.town_size,
            Weight::Bold,
            layout.accent,
            Align::Left,
        );
        for line in &sheet.letterhead.address {
            children.extend(self.lines(
                line,
                x,
                width,
                layout.small_size + 1.0,
                Weight::Regular,
                MUTED,
                Align::Left,
            ));
        }
        if let Some(contact) = &sheet.letterhead.contact {
            children.extend(self.lines(
                contact,
                x,
                width,
                layout.small_size,
                Weight::Regular,
                MUTED,
                Align::Left,
            ));
        }
        self.y = self.y.max(top + layout.logo_size) + 10.0;
        let y = self.y;
        self.rule(y, layout.accent, 1.2);
        self.y += 16.0;
        Node::Group(Group::Paragraph, children)
    }

    /// The resident's name and address, on the right half as in a letter.
    fn recipient(&mut self, recipient: &Recipient) -> Node {
        let size = self.theme.layout.text_size;
        let x = PAGE_WIDTH / 2.0 + 20.0;
        let width = PAGE_WIDTH - self.theme.layout.margin_side - x;
        let mut children = self.lines(
            &recipient.name,
            x,
            width,
            size,
            Weight::Bold,
            TEXT,
            Align::Left,
        );
        for line in &recipient.address {
            children.extend(self.lines(line, x, width, size, Weight::Regular, TEXT, Align::Left));
        }
        self.y += 18.0;
        Node::Group(Group::Paragraph, children)
    }

    fn title(&mut self, sheet: &Sheet<'_>) -> Vec<Node> {
        let layout = self.theme.layout.clone();
        let title = self.fonts.printable(sheet.title);
        let title = if title.trim().is_empty() {
            "Document".to_owned()
        } else {
            title
        };
        self.outline.push((title.clone(), self.page, self.y));
        let (x, width) = (self.left(), self.width());
        let lines = self.lines(
            &title,
            x,
            width,
            layout.title_size,
            Weight::Bold,
            layout.accent,
            Align::Left,
        );
        let heading = Node::Group(Group::Title(title), lines);
        self.y += 2.0;
        let meta = self.paragraph(
            &format!("N° {} — délivré le {}", sheet.number, sheet.issued_on),
            layout.text_size,
            Weight::Regular,
            MUTED,
        );
        self.y += 8.0;
        vec![heading, meta]
    }

    fn block(&mut self, block: &Block) -> Option<Node> {
        let layout = self.theme.layout.clone();
        match block {
            Block::Heading(text) => {
                let text = self.fonts.printable(text);
                // A heading with nothing to read is no heading (PDF/UA
                // wants every heading titled).
                if text.trim().is_empty() {
                    return None;
                }
                // Kept with at least two lines of what follows.
                self.y += 6.0;
                self.ensure(
                    self.leading(layout.heading_size) + 2.0 * self.leading(layout.text_size),
                );
                self.outline.push((text.clone(), self.page, self.y));
                let (x, width) = (self.left(), self.width());
                let lines = self.lines(
                    &text,
                    x,
                    width,
                    layout.heading_size,
                    Weight::Bold,
                    layout.accent,
                    Align::Left,
                );
                self.y += 3.0;
                Some(Node::Group(Group::Heading(text), lines))
            }
            Block::Paragraph(text) => {
                Some(self.paragraph(text, layout.text_size, Weight::Regular, TEXT))
            }
            Block::Notice(notice) => Some(self.notice(notice.tone, &notice.text)),
            Block::KeyValues(pairs) => {
                let rows = pairs
                    .iter()
                    .map(|pair| {
                        vec![
                            Cell {
                                text: pair.key.clone(),
                                numeric: false,
                                weight: Weight::Bold,
                            },
                            cell(&pair.value),
                        ]
                    })
                    .collect();
                Some(self.table(None, None, rows, true))
            }
            Block::Table(table) => {
                let rows = table
                    .rows
                    .iter()
                    .map(|row| row.iter().map(cell).collect())
                    .collect();
                let caption = Some(table.caption.as_str()).filter(|text| !text.trim().is_empty());
                let headers = Some(table.headers.as_slice()).filter(|headers| !headers.is_empty());
                Some(self.table(caption, headers, rows, false))
            }
            Block::Items(items) => Some(self.items(items)),
            // Refused by `check_blocks` before the layout.
            Block::Link(_) | Block::Form(_) | Block::Payable(_) => None,
        }
    }

    fn notice(&mut self, tone: Tone, text: &str) -> Node {
        let layout = self.theme.layout.clone();
        // The tone is said in words, never by colour alone.
        let text = match tone {
            Tone::Warning => format!("Important : {text}"),
            Tone::Error => format!("Attention : {text}"),
            Tone::Info | Tone::Success => text.to_owned(),
        };
        let indent = 10.0;
        let (x, width) = (self.left() + indent, self.width() - indent);
        let printable = self.fonts.printable(&text);
        let count = wrap(
            self.face(Weight::Regular),
            layout.text_size,
            &printable,
            width,
        )
        .len();
        self.ensure(count as f32 * self.leading(layout.text_size));
        let (page, top) = (self.page, self.y);
        let lines = self.lines(
            &text,
            x,
            width,
            layout.text_size,
            Weight::Regular,
            TEXT,
            Align::Left,
        );
        if self.page == page {
            let rect = (self.left(), top, 3.0, self.y - top);
            self.artifact(
                ArtifactType::Layout,
                vec![Paint::Rect {
                    rect,
                    colour: layout.accent,
                }],
            );
        }
        self.y += layout.text_size * 0.6;
        Node::Group(Group::Paragraph, lines)
    }

    fn items(&mut self, items: &[String]) -> Node {
        let size = self.theme.layout.text_size;
        let indent = 14.0;
        let mut children = Vec::new();
        for item in items {
            // The bullet and the item's first line on the same page.
            self.ensure(self.leading(size));
            let top = self.y;
            let x = self.left();
            let label = self.line(
                "•".to_owned(),
                x,
                indent,
                size,
                Weight::Regular,
                TEXT,
                Align::Left,
            );
            self.y = top;
            let body = self.lines(
                item,
                x + indent,
                self.width() - indent,
                size,
                Weight::Regular,
                TEXT,
                Align::Left,
            );
            children.push(Node::Group(
                Group::Item,
                vec![
                    Node::Group(Group::Label, vec![label]),
                    Node::Group(Group::ItemBody, body),
                ],
            ));
        }
        self.y += size * 0.6;
        Node::Group(Group::List, children)
    }

    /// A table; `key_values` makes the first column row headers and draws
    /// no header row.
    fn table(
        &mut self,
        caption: Option<&str>,
        headers: Option<&[String]>,
        rows: Vec<Vec<Cell>>,
        key_values: bool,
    ) -> Node {
        let size = self.theme.layout.text_size;
        let columns = rows
            .iter()
            .map(Vec::len)
            .chain(headers.map(<[String]>::len))
            .max()
            .unwrap_or(0);
        let mut children = Vec::new();
        if let Some(caption) = caption {
            self.ensure(self.leading(size) * 3.0);
            let (x, width) = (self.left(), self.width());
            let lines = self.lines(caption, x, width, size, Weight::Bold, TEXT, Align::Left);
            children.push(Node::Group(Group::Caption, lines));
            self.y += 2.0;
        }
        if columns == 0 {
            return Node::Group(Group::Table, children);
        }
        if columns as f32 * MIN_COLUMN > self.width() {
            self.refuse(RenderError::Forbidden("tables too wide for the page"));
            return Node::Group(Group::Table, children);
        }
        let header_cells: Option<Vec<Cell>> = headers.map(|headers| {
            headers
                .iter()
                .map(|header| Cell {
                    text: header.clone(),
                    numeric: false,
                    weight: Weight::Bold,
                })
                .collect()
        });
        let widths = self.column_widths(columns, header_cells.as_deref(), &rows, key_values);
        if let Some(header) = &header_cells {
            let row = self.row(header, &widths, true, None, true);
            children.push(Node::Group(Group::Head, vec![row]));
        }
        let mut body = Vec::new();
        for cells in &rows {
            let row = self.row(cells, &widths, false, header_cells.as_deref(), key_values);
            body.push(row);
        }
        children.push(Node::Group(Group::Body, body));
        self.y += size * 0.8;
        Node::Group(Group::Table, children)
    }

    /// Column widths filling the text width: each column gets its longest
    /// word at least, then a share of what is left by how much it holds.
    fn column_widths(
        &self,
        columns: usize,
        header: Option<&[Cell]>,
        rows: &[Vec<Cell>],
        key_values: bool,
    ) -> Vec<f32> {
        let size = self.theme.layout.text_size;
        let total = self.width();
        let mut natural = vec![0.0_f32; columns];
        let mut minimum = vec![0.0_f32; columns];
        for cells in header.into_iter().chain(rows.iter().map(Vec::as_slice)) {
            for (index, cell) in cells.iter().enumerate().take(columns) {
                let face = self.face(cell.weight);
                let text = self.fonts.printable(&cell.text);
                natural[index] = natural[index].max(face.width(&text, size) + 2.0 * CELL_PADDING);
                let longest_word = text
                    .split(' ')
                    .map(|word| face.width(word, size))
                    .fold(0.0, f32::max);
                minimum[index] = minimum[index].max(longest_word + 2.0 * CELL_PADDING);
            }
        }
        if key_values && columns == 2 {
            // Keys take what they need, up to half the width.
            let key = natural[0].min(total * 0.5).max(minimum[0].min(total * 0.5));
            return vec![key, total - key];
        }
        let cap = total / columns as f32;
        let minimum: Vec<f32> = minimum.iter().map(|width| width.min(cap)).collect();
        let natural_sum: f32 = natural.iter().sum();
        if natural_sum <= total {
            // Everything fits on one line: spread the rest evenly.
            let extra = (total - natural_sum) / columns as f32;
            return natural.iter().map(|width| width + extra).collect();
        }
        let minimum_sum: f32 = minimum.iter().sum();
        let wanted: Vec<f32> = natural
            .iter()
            .zip(&minimum)
            .map(|(natural, minimum)| (natural - minimum).max(0.0))
            .collect();
        let wanted_sum: f32 = wanted.iter().sum();
        let spare = (total - minimum_sum).max(0.0);
        minimum
            .iter()
            .zip(&wanted)
            .map(|(minimum, wanted)| {
                if wanted_sum > 0.0 {
                    minimum + spare * wanted / wanted_sum
                } else {
                    minimum + spare / columns as f32
                }
            })
            .collect()
    }

    /// One row; a row that does not fit starts a new page, where the
    /// header row is drawn again (as an artifact: it was read once).
    fn row(
        &mut self,
        cells: &[Cell],
        widths: &[f32],
        header: bool,
        repeat: Option<&[Cell]>,
        row_headers: bool,
    ) -> Node {
        let size = self.theme.layout.text_size;
        let leading = self.leading(size);
        let wrapped: Vec<Vec<String>> = widths
            .iter()
            .enumerate()
            .map(|(index, width)| {
                cells.get(index).map_or_else(
                    || vec![String::new()],
                    |cell| {
                        let text = self.fonts.printable(&cell.text);
                        wrap(
                            self.face(cell.weight),
                            size,
                            &text,
                            width - 2.0 * CELL_PADDING,
                        )
                    },
                )
            })
            .collect();
        let count = wrapped.iter().map(Vec::len).max().unwrap_or(1);
        let height = count as f32 * leading + 2.0 * CELL_PADDING;
        // A row is drawn on one page: its cells side by side.
        if height > self.bottom() - self.theme.layout.margin_top - 60.0 {
            self.refuse(RenderError::Forbidden("a table row longer than a page"));
            return Node::Group(Group::Row, Vec::new());
        }
        let page = self.page;
        self.ensure(height);
        if self.page != page
            && let Some(repeat) = repeat
        {
            self.repeated_header(repeat, widths);
        }
        let top = self.y;
        if header {
            let rect = (self.left(), top, self.width(), height);
            let colour = self.theme.layout.table_header_background;
            self.artifact(ArtifactType::Layout, vec![Paint::Rect { rect, colour }]);
        }
        let mut x = self.left();
        let mut row = Vec::new();
        for (index, (width, lines)) in widths.iter().zip(wrapped).enumerate() {
            let (numeric, weight) = cells
                .get(index)
                .map_or((false, Weight::Regular), |cell| (cell.numeric, cell.weight));
            self.y = top + CELL_PADDING;
            let inner = width - 2.0 * CELL_PADDING;
            let align = if numeric { Align::Right } else { Align::Left };
            let leaves: Vec<Node> = lines
                .into_iter()
                .map(|line| self.line(line, x + CELL_PADDING, inner, size, weight, TEXT, align))
                .collect();
            let group = if header {
                Group::HeaderCell(TableHeaderScope::Column)
            } else if row_headers && index == 0 {
                Group::HeaderCell(TableHeaderScope::Row)
            } else {
                Group::Cell
            };
            row.push(Node::Group(group, leaves));
            x += width;
        }
        self.y = top + height;
        let y = self.y;
        self.rule(y - 0.5, RULE, 0.5);
        Node::Group(Group::Row, row)
    }

    fn repeated_header(&mut self, header: &[Cell], widths: &[f32]) {
        let size = self.theme.layout.text_size;
        let height = self.leading(size) + 2.0 * CELL_PADDING;
        let top = self.y;
        let mut paints = vec![Paint::Rect {
            rect: (self.left(), top, self.width(), height),
            colour: self.theme.layout.table_header_background,
        }];
        let mut x = self.left();
        for (cell, width) in header.iter().zip(widths) {
            let face = self.face(Weight::Bold);
            let inner = width - 2.0 * CELL_PADDING;
            let text = wrap(face, size, &self.fonts.printable(&cell.text), inner)
                .into_iter()
                .next()
                .unwrap_or_default();
            paints.push(Paint::Text {
                x: x + CELL_PADDING,
                baseline: top + CELL_PADDING + (self.leading(size) - size) / 2.0 + size * 0.8,
                size,
                weight: Weight::Bold,
                colour: TEXT,
                text,
            });
            x += width;
        }
        self.artifact(ArtifactType::PaginationOther, paints);
        self.y = top + height;
    }

    fn signature(&mut self, signature: &Signature) -> Vec<Node> {
        let size = self.theme.layout.text_size;
        let lines =
            1 + usize::from(signature.title.is_some()) + usize::from(signature.name.is_some());
        self.y += 6.0;
        self.ensure(self.leading(size) * (lines as f32 + 1.0) + 30.0);
        let place = self.paragraph(&signature.place_and_date, size, Weight::Regular, TEXT);
        let x = PAGE_WIDTH / 2.0 + 20.0;
        let width = PAGE_WIDTH - self.theme.layout.margin_side - x;
        let mut signed = Vec::new();
        if let Some(title) = &signature.title {
            signed.extend(self.lines(title, x, width, size, Weight::Regular, TEXT, Align::Left));
        }
        if let Some(name) = &signature.name {
            signed.extend(self.lines(name, x, width, size, Weight::Bold, TEXT, Align::Left));
        }
        self.y += 14.0;
        let mut nodes = vec![place];
        if !signed.is_empty() {
            nodes.push(Node::Group(Group::Paragraph, signed));
        }
        nodes
    }

    /// The box that says how to verify the document: its text, then the
    /// QR code (a figure, its address as alternative text).
    fn verification(&mut self, verification: &Verification) -> Node {
        let layout = self.theme.layout.clone();
        let size = layout.small_size + 0.5;
        let height = layout.qr_size.max(self.leading(size) * 6.0) + 16.0;
        self.ensure(height);
        let top = self.y;
        self.rule(top, RULE, 0.5);
        self.y += 8.0;
        let qr_x = self.left();
        let x = qr_x + layout.qr_size + 12.0;
        let width = PAGE_WIDTH - layout.margin_side - x;
        let mut children = Vec::new();
        let heading = self.lines(
            "Vérifier ce document",
            x,
            width,
            size + 0.5,
            Weight::Bold,
            TEXT,
            Align::Left,
        );
        children.push(Node::Group(Group::Paragraph, heading));
        let text = format!(
            "La mairie confirme l'avoir délivré, avec son type et sa date, à l'adresse {} — ou sur la page « Vérifier un document » de son site, avec le code {}. La page compare aussi un fichier PDF au document délivré.",
            verification.url, verification.code
        );
        let lines = self.lines(&text, x, width, size, Weight::Regular, TEXT, Align::Left);
        children.push(Node::Group(Group::Paragraph, lines));
        let code = self.lines(
            &format!("Code de vérification : {}", verification.code),
            x,
            width,
            size + 1.0,
            Weight::Bold,
            TEXT,
            Align::Left,
        );
        children.push(Node::Group(Group::Paragraph, code));
        let qr = self.mark(
            Content::Figure,
            vec![Paint::Qr {
                x: qr_x,
                y: top + 8.0,
                size: layout.qr_size,
            }],
        );
        children.push(Node::Group(
            Group::Figure(format!(
                "QR code menant à la page de vérification : {}",
                verification.url
            )),
            vec![Node::Leaf(qr)],
        ));
        self.y = self.y.max(top + 8.0 + layout.qr_size) + 8.0;
        Node::Group(Group::Section, children)
    }

    /// Each page's footer: the document and "Page 1 sur 2".
    pub(super) fn footers(&mut self, sheet: &Sheet<'_>) {
        let pages = self.page + 1;
        let size = self.theme.layout.small_size;
        let baseline = PAGE_HEIGHT - self.theme.layout.margin_bottom + 26.0;
        let left = self
            .fonts
            .printable(&format!("{} — N° {}", sheet.title, sheet.number));
        for page in 0..pages {
            let number = format!("Page {} sur {pages}", page + 1);
            let width = self.fonts.regular.width(&number, size);
            let right = PAGE_WIDTH - self.theme.layout.margin_side - width;
            let left_width = right - self.left() - 12.0;
            let left_text = wrap(&self.fonts.regular, size, &left, left_width)
                .into_iter()
                .next()
                .unwrap_or_default();
            self.marks.push(Mark {
                page,
                content: Content::Artifact(ArtifactType::Footer),
                paints: vec![Paint::Text {
                    x: self.theme.layout.margin_side,
                    baseline,
                    size,
                    weight: Weight::Regular,
                    colour: MUTED,
                    text: left_text,
                }],
            });
            self.marks.push(Mark {
                page,
                content: Content::Artifact(ArtifactType::PageNumber),
                paints: vec![Paint::Text {
                    x: right,
                    baseline,
                    size,
                    weight: Weight::Regular,
                    colour: MUTED,
                    text: number,
                }],
            });
        }
    }
}

fn cell(value: &Value) -> Cell {
    let (text, numeric) = match value {
        Value::Text(text) => (text.clone(), false),
        Value::Amount(cents) => (crate::format::amount(*cents), true),
        Value::Number(number) => (crate::format::number(*number), true),
        Value::Date(iso) => (crate::format::iso_date(iso), false),
        Value::Link(link) => (link.label.clone(), false),
        Value::Status(notice) => (notice.text.clone(), false),
    };
    Cell {
        text,
        numeric,
        weight: Weight::Regular,
    }
}
