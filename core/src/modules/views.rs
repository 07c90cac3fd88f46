//! What a module's view may hold, checked by the host as soon as the view
//! leaves the sandbox, before anything renders it.
//!
//! Counting text alone is not enough: a million empty table rows, 300,000
//! empty cells or select fields with huge choice lists carry almost no
//! text, yet each element becomes markup (`<tr></tr>`, `<td></td>`,
//! `<option value=""></option>`…), a value the template engine copies, and
//! time spent rendering. So a view is bounded by its counts of elements and
//! by an estimate of its size once rendered, computed while walking it:
//! each element's markup, plus its text as the templates escape it (`"`
//! becomes six bytes). The walk stops at the first bound passed, and it
//! checks a list's length before walking the list, so refusing a view
//! costs little more than its size in bounds.

use super::host::{CallFailure, MAX_OUTPUT_BYTES};
use super::wit::v0_2::types::{Block, Field, FieldKind, Form, Link, Table, Value, View};

/// Bounds on one view (a tile, a page, or the view of an `invalid`
/// outcome). A view past any of them is refused: the call fails with
/// [`CallFailure::ViewTooLarge`] and the tile shows "indisponible".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewLimits {
    /// Blocks (headings, paragraphs, lists, tables, notices, links, forms).
    pub blocks: usize,
    /// Table rows, key/value pairs and list items, all blocks together.
    pub rows: usize,
    /// Table cells and column headers, all tables together.
    pub cells: usize,
    /// Form fields (and field groups), all forms together.
    pub fields: usize,
    /// Choices of select fields, all fields together.
    pub choices: usize,
    /// Estimated size of the view once rendered as HTML, in bytes.
    pub rendered_bytes: usize,
}

impl ViewLimits {
    /// Generous for real modules: the first-party views are 40 to 1,000
    /// times below each bound (modules/README.md). Rendering cost grows
    /// with rows and cells (each cell is a template partial), so those are
    /// the tightest: the largest table allowed (10,000 cells) renders in
    /// about a quarter of a second in a debug build.
    pub const DEFAULT: Self = Self {
        blocks: 200,
        rows: 1_000,
        cells: 10_000,
        fields: 200,
        choices: 5_000,
        rendered_bytes: 512 * 1024,
    };
}

impl Default for ViewLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Which bound a view passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewPart {
    Blocks,
    Rows,
    Cells,
    Fields,
    Choices,
    RenderedBytes,
}

impl std::fmt::Display for ViewPart {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::Blocks => "blocks",
            Self::Rows => "rows",
            Self::Cells => "cells",
            Self::Fields => "fields",
            Self::Choices => "choices",
            Self::RenderedBytes => "bytes once rendered",
        })
    }
}

/// What a view holds, as counted by [`ViewLimits::check`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewMeasure {
    pub blocks: usize,
    pub rows: usize,
    pub cells: usize,
    pub fields: usize,
    pub choices: usize,
    /// The text the view carries (bounded by [`MAX_OUTPUT_BYTES`]).
    pub text_bytes: usize,
    /// The estimate of its rendered size.
    pub rendered_bytes: usize,
}

// Markup around each element, in bytes, after partials/module_view and
// partials/module_value of the default theme (rounded up; a theme's own
// markup may differ a little, the bounds leave room for it).
/// Line breaks the template writes for every block, whatever its type.
const BLOCK: usize = 16;
const HEADING: usize = 40;
const PARAGRAPH: usize = 8;
const NOTICE: usize = 44;
const LINK_BLOCK: usize = 24;
const KEY_VALUES: usize = 32;
const PAIR: usize = 80;
const TABLE: usize = 180;
const HEADER: usize = 24;
const ROW: usize = 12;
/// `<td data-label="" class="numeric"></td>`, the label counted apart.
const CELL: usize = 40;
/// `<a href=""></a>`.
const LINK_VALUE: usize = 16;
/// `<span class="status status--warning"></span>`.
const STATUS: usize = 48;
/// "-92 233 720 368 547 758,08 €", at most.
const AMOUNT: usize = 40;
/// "15/06/2020".
const DATE: usize = 10;
/// `/services/` `/` `?`.
const HREF: usize = 12;
/// The form, its CSRF token, its button and the error summary's frame.
const FORM: usize = 400;
/// A field's label, hint, error and input markup (aria attributes
/// included); its id, written up to six times, is counted apart.
const FIELD: usize = 420;
const ID_USES: usize = 6;
/// A line of the error summary.
const ERROR_LINK: usize = 40;
/// `<fieldset aria-describedby=""><legend></legend><p id=""></p></fieldset>`,
/// its id counted apart.
const FIELDSET: usize = 140;
/// `<ul class="module__items"></ul>`.
const ITEMS: usize = 32;
/// `<li></li>`.
const ITEM: usize = 10;
/// The frame of an amount to pay, its label and "Montant à payer".
const PAYABLE: usize = 160;
/// "-9 223 372 036 854 775 808".
const NUMBER: usize = 40;
/// `<option value="" selected></option>`.
const CHOICE: usize = 40;

impl ViewLimits {
    /// Counts what `view` holds and estimates its rendered size, refusing
    /// it at the first bound passed: its text past [`MAX_OUTPUT_BYTES`]
    /// ([`CallFailure::OutputTooLarge`]), or one of these limits
    /// ([`CallFailure::ViewTooLarge`]). `module_id` is part of every link
    /// and field id the page will hold.
    pub fn check(&self, view: &View, module_id: &str) -> Result<ViewMeasure, CallFailure> {
        let mut walk = Walk {
            limits: self,
            module_id_bytes: module_id.len(),
            measure: ViewMeasure::default(),
        };
        walk.view(view)?;
        Ok(walk.measure)
    }
}

struct Walk<'a> {
    limits: &'a ViewLimits,
    module_id_bytes: usize,
    measure: ViewMeasure,
}

/// A string's size once escaped by the templates (handlebars' HTML
/// escaping: `<` and `>` take 4 bytes, `&` 5, `"`, `'`, `` ` `` and `=` 6).
fn escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'<' | b'>' => 4,
            b'&' => 5,
            b'"' | b'\'' | b'`' | b'=' => 6,
            _ => 1,
        })
        .sum()
}

/// A string's size in a query string, at most (every byte `%XX`).
fn url_encoded_len(text: &str) -> usize {
    text.len().saturating_mul(3)
}

impl Walk<'_> {
    fn count(&mut self, part: ViewPart, added: usize) -> Result<(), CallFailure> {
        let (count, limit) = match part {
            ViewPart::Blocks => (&mut self.measure.blocks, self.limits.blocks),
            ViewPart::Rows => (&mut self.measure.rows, self.limits.rows),
            ViewPart::Cells => (&mut self.measure.cells, self.limits.cells),
            ViewPart::Fields => (&mut self.measure.fields, self.limits.fields),
            ViewPart::Choices => (&mut self.measure.choices, self.limits.choices),
            ViewPart::RenderedBytes => {
                (&mut self.measure.rendered_bytes, self.limits.rendered_bytes)
            }
        };
        *count = count.saturating_add(added);
        if *count > limit {
            return Err(CallFailure::ViewTooLarge { what: part });
        }
        Ok(())
    }

    fn markup(&mut self, bytes: usize) -> Result<(), CallFailure> {
        self.count(ViewPart::RenderedBytes, bytes)
    }

    /// Text shown `times` times on the page. The text cap is checked
    /// before the text is scanned for escaping.
    fn text(&mut self, text: &str, times: usize) -> Result<(), CallFailure> {
        self.measure.text_bytes = self.measure.text_bytes.saturating_add(text.len());
        if self.measure.text_bytes > MAX_OUTPUT_BYTES {
            return Err(CallFailure::OutputTooLarge);
        }
        self.markup(escaped_len(text).saturating_mul(times))
    }

    fn view(&mut self, view: &View) -> Result<(), CallFailure> {
        self.text(&view.title, 2)?;
        self.count(ViewPart::Blocks, view.blocks.len())?;
        self.markup(BLOCK.saturating_mul(view.blocks.len()))?;
        for block in &view.blocks {
            self.block(block)?;
        }
        Ok(())
    }

    fn block(&mut self, block: &Block) -> Result<(), CallFailure> {
        match block {
            Block::Heading(text) => {
                self.markup(HEADING)?;
                self.text(text, 1)
            }
            Block::Paragraph(text) => {
                self.markup(PARAGRAPH)?;
                self.text(text, 1)
            }
            Block::Notice(notice) => {
                self.markup(NOTICE)?;
                self.text(&notice.text, 1)
            }
            Block::Link(link) => {
                self.markup(LINK_BLOCK)?;
                self.link(link)
            }
            Block::KeyValues(pairs) => {
                self.count(ViewPart::Rows, pairs.len())?;
                self.markup(KEY_VALUES.saturating_add(PAIR.saturating_mul(pairs.len())))?;
                for pair in pairs {
                    self.text(&pair.key, 1)?;
                    self.value(&pair.value)?;
                }
                Ok(())
            }
            Block::Table(table) => self.table(table),
            Block::Form(form) => self.form(form),
            Block::Items(items) => {
                self.count(ViewPart::Rows, items.len())?;
                self.markup(ITEMS.saturating_add(ITEM.saturating_mul(items.len())))?;
                for item in items {
                    self.text(item, 1)?;
                }
                Ok(())
            }
            Block::Payable(payable) => {
                self.markup(PAYABLE.saturating_add(AMOUNT))?;
                self.text(&payable.reference, 0)?;
                self.text(&payable.label, 1)
            }
        }
    }

    fn table(&mut self, table: &Table) -> Result<(), CallFailure> {
        self.count(ViewPart::Rows, table.rows.len())?;
        self.count(ViewPart::Cells, table.headers.len())?;
        self.markup(
            TABLE
                .saturating_add(HEADER.saturating_mul(table.headers.len()))
                .saturating_add(ROW.saturating_mul(table.rows.len())),
        )?;
        self.text(&table.caption, 1)?;
        for header in &table.headers {
            self.text(header, 1)?;
        }
        // Each cell repeats its column's header (`data-label`, shown beside
        // the value where a phone lays the table out as a list): a long
        // header costs once per row.
        let labels: Vec<usize> = table
            .headers
            .iter()
            .map(|header| escaped_len(header))
            .collect();
        for row in &table.rows {
            self.count(ViewPart::Cells, row.len())?;
            self.markup(CELL.saturating_mul(row.len()))?;
            let repeated = labels
                .iter()
                .take(row.len())
                .fold(0usize, |sum, label| sum.saturating_add(*label));
            self.markup(repeated)?;
            for value in row {
                self.value(value)?;
            }
        }
        Ok(())
    }

    fn value(&mut self, value: &Value) -> Result<(), CallFailure> {
        match value {
            Value::Text(text) => self.text(text, 1),
            Value::Amount(_) => self.markup(AMOUNT),
            Value::Number(_) => self.markup(NUMBER),
            Value::Date(text) => {
                // Shown as "15/06/2020", or as given when it is no date.
                self.markup(DATE)?;
                self.text(text, 1)
            }
            Value::Link(link) => {
                self.markup(LINK_VALUE)?;
                self.link(link)
            }
            Value::Status(notice) => {
                self.markup(STATUS)?;
                self.text(&notice.text, 1)
            }
        }
    }

    fn link(&mut self, link: &Link) -> Result<(), CallFailure> {
        self.text(&link.label, 1)?;
        self.href(&link.view)?;
        for (name, value) in &link.params {
            self.text(name, 0)?;
            self.text(value, 0)?;
            self.markup(
                url_encoded_len(name)
                    .saturating_add(url_encoded_len(value))
                    .saturating_add(2),
            )?;
        }
        Ok(())
    }

    /// `/services/<module>/<target>`, the target counted as text.
    fn href(&mut self, target: &str) -> Result<(), CallFailure> {
        self.markup(HREF.saturating_add(self.module_id_bytes))?;
        self.text(target, 1)
    }

    fn form(&mut self, form: &Form) -> Result<(), CallFailure> {
        self.count(ViewPart::Fields, form.fields.len())?;
        // A group counts as a field (its fieldset), its fields each too.
        self.count(ViewPart::Fields, form.groups.len())?;
        self.markup(FORM)?;
        self.href(&form.action)?;
        self.text(&form.submit_label, 1)?;
        // Each field's id: `<module>-<action>-<name>`.
        let id_base = self
            .module_id_bytes
            .saturating_add(form.action.len())
            .saturating_add(2);
        for field in &form.fields {
            self.field(field, id_base)?;
        }
        for group in &form.groups {
            self.count(ViewPart::Fields, group.fields.len())?;
            // The group's id: `<module>-<action>-groupe-<n>`, three times.
            self.markup(FIELDSET.saturating_add(id_base.saturating_add(12).saturating_mul(3)))?;
            self.text(&group.legend, 1)?;
            if let Some(hint) = &group.hint {
                self.text(hint, 1)?;
            }
            for field in &group.fields {
                self.field(field, id_base)?;
            }
        }
        Ok(())
    }

    fn field(&mut self, field: &Field, id_base: usize) -> Result<(), CallFailure> {
        let id = id_base.saturating_add(escaped_len(&field.name));
        self.markup(FIELD.saturating_add(id.saturating_mul(ID_USES)))?;
        self.text(&field.name, 1)?;
        self.text(&field.value, 1)?;
        if let Some(hint) = &field.hint {
            self.text(hint, 1)?;
        }
        match &field.error {
            Some(error) => {
                // Beside the field and in the summary at the top, with the
                // label and a link to the field.
                self.markup(ERROR_LINK.saturating_add(id))?;
                self.text(&field.label, 2)?;
                self.text(error, 2)?;
            }
            None => self.text(&field.label, 1)?,
        }
        if let FieldKind::Select(choices) = &field.kind {
            self.count(ViewPart::Choices, choices.len())?;
            self.markup(CHOICE.saturating_mul(choices.len()))?;
            for choice in choices {
                self.text(&choice.value, 1)?;
                self.text(&choice.label, 1)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::wit::v0_2::types::{Choice, FieldGroup, KeyValue, Notice, Tone};

    fn view(blocks: Vec<Block>) -> View {
        View {
            title: "Vue".to_owned(),
            blocks,
        }
    }

    fn table(rows: usize, cells: usize) -> Block {
        Block::Table(Table {
            caption: "Tableau".to_owned(),
            headers: Vec::new(),
            rows: vec![vec![Value::Text(String::new()); cells]; rows],
        })
    }

    fn field(name: &str, kind: FieldKind) -> Field {
        Field {
            name: name.to_owned(),
            label: "Champ".to_owned(),
            kind,
            value: String::new(),
            required: false,
            disabled: false,
            hint: None,
            error: None,
        }
    }

    fn form(fields: Vec<Field>) -> Block {
        Block::Form(Form {
            action: "envoyer".to_owned(),
            submit_label: "Envoyer".to_owned(),
            fields,
            groups: Vec::new(),
        })
    }

    fn refused(view: &View) -> CallFailure {
        ViewLimits::DEFAULT.check(view, "module").unwrap_err()
    }

    #[test]
    fn each_kind_of_element_is_bounded_even_when_empty() {
        let too_many = |what| CallFailure::ViewTooLarge { what };
        let blocks = view(vec![Block::Paragraph(String::new()); 201]);
        assert_eq!(refused(&blocks), too_many(ViewPart::Blocks));
        assert_eq!(
            refused(&view(vec![table(1_000_000, 0)])),
            too_many(ViewPart::Rows)
        );
        let pairs = Block::KeyValues(vec![
            KeyValue {
                key: String::new(),
                value: Value::Amount(0),
            };
            1_001
        ]);
        assert_eq!(refused(&view(vec![pairs])), too_many(ViewPart::Rows));
        assert_eq!(
            refused(&view(vec![table(600, 500)])),
            too_many(ViewPart::Cells)
        );
        let fields = form(vec![field("x", FieldKind::Text); 201]);
        assert_eq!(refused(&view(vec![fields])), too_many(ViewPart::Fields));
        let choices = vec![
            Choice {
                value: String::new(),
                label: String::new(),
            };
            10_000
        ];
        let select = form(vec![field("x", FieldKind::Select(choices))]);
        assert_eq!(refused(&view(vec![select])), too_many(ViewPart::Choices));
        let items = Block::Items(vec![String::new(); 1_001]);
        assert_eq!(refused(&view(vec![items])), too_many(ViewPart::Rows));
        // Fields inside groups count with the others, and so do the groups.
        let grouped = Block::Form(Form {
            action: "reserver".to_owned(),
            submit_label: "Réserver".to_owned(),
            fields: Vec::new(),
            groups: vec![
                FieldGroup {
                    legend: "Semaine".to_owned(),
                    hint: None,
                    fields: vec![field("jour", FieldKind::Checkbox); 40],
                };
                5
            ],
        });
        assert_eq!(refused(&view(vec![grouped])), too_many(ViewPart::Fields));
        let groups_only = Block::Form(Form {
            action: "reserver".to_owned(),
            submit_label: "Réserver".to_owned(),
            fields: Vec::new(),
            groups: vec![
                FieldGroup {
                    legend: String::new(),
                    hint: None,
                    fields: Vec::new(),
                };
                201
            ],
        });
        assert_eq!(
            refused(&view(vec![groups_only])),
            too_many(ViewPart::Fields)
        );
    }

    #[test]
    fn counts_add_up_across_blocks() {
        // Two tables of 600 rows: each alone is allowed, not both.
        let half = table(600, 1);
        assert!(
            ViewLimits::DEFAULT
                .check(&view(vec![half.clone()]), "m")
                .is_ok()
        );
        assert_eq!(
            refused(&view(vec![half.clone(), half])),
            CallFailure::ViewTooLarge {
                what: ViewPart::Rows
            }
        );
    }

    #[test]
    fn escaping_counts_towards_the_rendered_size_and_text_towards_the_text_cap() {
        // 200 KB of text, under the text cap: 1.2 MB once escaped.
        let quotes = view(vec![Block::Paragraph("\"".repeat(200_000))]);
        assert_eq!(
            refused(&quotes),
            CallFailure::ViewTooLarge {
                what: ViewPart::RenderedBytes
            }
        );
        let plain = view(vec![Block::Paragraph("x".repeat(200_000))]);
        let measure = ViewLimits::DEFAULT.check(&plain, "m").unwrap();
        assert_eq!(measure.text_bytes, 200_003);
        assert!(measure.rendered_bytes > 200_000);
        let huge = view(vec![Block::Paragraph("x".repeat(4 << 20))]);
        assert_eq!(refused(&huge), CallFailure::OutputTooLarge);
    }

    #[test]
    fn a_long_header_counts_once_per_row() {
        // A 10 KB header over 100 rows: 1 MB of labels once rendered.
        let header = "x".repeat(10_000);
        let rows = (0..100).map(|_| vec![Value::Text(String::new())]).collect();
        let wide = view(vec![Block::Table(Table {
            caption: "c".to_owned(),
            headers: vec![header],
            rows,
        })]);
        assert!(matches!(
            ViewLimits::DEFAULT.check(&wide, "m"),
            Err(CallFailure::ViewTooLarge { .. })
        ));
    }

    #[test]
    fn markup_is_counted_for_every_element() {
        let limits = ViewLimits {
            rendered_bytes: 10_000,
            ..ViewLimits::DEFAULT
        };
        // 400 empty cells: no text at all, some 13 KB of `<td></td>`.
        let cells = view(vec![table(40, 10)]);
        assert_eq!(
            limits.check(&cells, "m").unwrap_err(),
            CallFailure::ViewTooLarge {
                what: ViewPart::RenderedBytes
            }
        );
        let small = view(vec![
            Block::Heading("Mes factures".to_owned()),
            Block::Notice(Notice {
                tone: Tone::Info,
                text: "Payable en mairie.".to_owned(),
            }),
            table(5, 5),
        ]);
        let measure = limits.check(&small, "invoices").unwrap();
        assert_eq!((measure.blocks, measure.rows, measure.cells), (3, 5, 25));
        assert!(measure.rendered_bytes > 25 * CELL, "{measure:?}");
    }
}
