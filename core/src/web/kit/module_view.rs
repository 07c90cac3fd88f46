//! A module's view (data) turned into what the theme renders
//! (`partials/module_view`), for both faces: the residents' pages
//! (`/services/…`) and the back-office's (`/admin/services/…`). Text is
//! escaped by the templates, links only ever point to the module's own
//! views of the same face, forms always carry the CSRF token.

use serde::Serialize;

use crate::modules::{Block, Field, FieldKind, Form, Tone, Value, View};

/// Which face a view is shown in: where its links and forms lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewFace<'a> {
    /// `/services/<module>/<view>`, forms to `/services/<module>/actions/<action>`.
    Resident,
    /// `/admin/services/<module>/<view>`, forms to
    /// `/admin/services/<module>/<action>?vue=<view>` (POST): the view the
    /// form came from, shown again if the form is refused before the
    /// module sees it.
    Staff { view: &'a str },
    /// A document's parameters ("Edition de documents"): the form posts to
    /// `/documents/etablir/<module>/<document>`; no links.
    Documents,
    /// The same, filled by the staff for a resident: the form posts to
    /// `/admin/usagers/<identifier>/documents/<module>/<document>`.
    StaffDocuments { identifier: &'a str },
}

impl ViewFace<'_> {
    /// The page of one of the module's views, when both names are plain.
    pub fn view_href(
        self,
        module_id: &str,
        view: &str,
        params: &[(String, String)],
    ) -> Option<String> {
        match self {
            Self::Resident => crate::modules::view_path(module_id, view, params),
            Self::Staff { .. } => crate::modules::staff_view_path(module_id, view, params),
            Self::Documents | Self::StaffDocuments { .. } => None,
        }
    }

    /// Where a form of the module posts.
    pub fn action_href(self, module_id: &str, action: &str) -> Option<String> {
        if !crate::modules::registry::is_valid_module_id(module_id)
            || !crate::modules::registry::is_valid_module_id(action)
        {
            return None;
        }
        Some(match self {
            Self::Resident => format!("/services/{module_id}/actions/{action}"),
            Self::Staff { view } if crate::modules::registry::is_valid_module_id(view) => {
                format!("/admin/services/{module_id}/{action}?vue={view}")
            }
            Self::Staff { .. } => format!("/admin/services/{module_id}/{action}"),
            Self::Documents => format!("/documents/etablir/{module_id}/{action}"),
            Self::StaffDocuments { identifier } => {
                let identifier: String =
                    url::form_urlencoded::byte_serialize(identifier.as_bytes()).collect();
                format!("/admin/usagers/{identifier}/documents/{module_id}/{action}")
            }
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ViewHtml {
    title: String,
    /// Inside a tile of the home page (headings one level lower).
    in_tile: bool,
    blocks: Vec<BlockHtml>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum BlockHtml {
    Heading {
        text: String,
    },
    Paragraph {
        text: String,
    },
    KeyValues {
        pairs: Vec<PairHtml>,
    },
    Table {
        caption: String,
        headers: Vec<String>,
        rows: Vec<Vec<ValueHtml>>,
    },
    Notice {
        tone: &'static str,
        text: String,
    },
    Link {
        label: String,
        href: Option<String>,
    },
    Form {
        href: Option<String>,
        submit_label: String,
        csrf: String,
        fields: Vec<FieldHtml>,
        groups: Vec<GroupHtml>,
        errors: Vec<ErrorLink>,
    },
    Items {
        items: Vec<String>,
    },
    Payable {
        label: String,
        amount: String,
        /// "Payer en ligne", where the town takes payments online.
        pay: Option<PayHtml>,
        /// The page of a payment of it under way.
        in_progress: Option<String>,
        /// The page of its payment received, not yet recorded by the module.
        received: Option<String>,
    },
}

/// The hidden fields of "Payer en ligne" (web/resident/payments.rs): the
/// module, the view it is on and its reference; never the amount, which
/// is read again from the module.
#[derive(Debug, Serialize)]
struct PayHtml {
    csrf: String,
    module: String,
    view: String,
    params: String,
    reference: String,
}

/// What a resident's page needs to offer "Payer en ligne": the view shown
/// (to read it again when paying) and the payments under way or received.
#[derive(Debug)]
pub struct PayOffer<'a> {
    pub view: &'a crate::modules::ViewRequest,
    pub states: std::collections::HashMap<String, crate::payments::PayableState>,
}

#[derive(Debug, Serialize)]
struct PairHtml {
    key: String,
    value: ValueHtml,
}

#[derive(Debug, Serialize)]
struct ValueHtml {
    text: String,
    href: Option<String>,
    tone: Option<&'static str>,
    numeric: bool,
    /// Kept on one line (dates).
    date: bool,
    /// A table cell's column header, shown beside it where the table is
    /// laid out as a list (a phone).
    label: String,
}

#[derive(Debug, Serialize)]
struct ChoiceHtml {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug, Serialize)]
struct FieldHtml {
    id: String,
    name: String,
    label: String,
    kind: &'static str,
    value: String,
    /// A checkbox whose value is not empty.
    checked: bool,
    disabled: bool,
    required: bool,
    hint: Option<String>,
    error: Option<String>,
    choices: Vec<ChoiceHtml>,
}

#[derive(Debug, Serialize)]
struct GroupHtml {
    id: String,
    legend: String,
    hint: Option<String>,
    fields: Vec<FieldHtml>,
}

#[derive(Debug, Serialize)]
struct ErrorLink {
    id: String,
    label: String,
    error: String,
}

pub fn tone_name(tone: Tone) -> &'static str {
    match tone {
        Tone::Info => "info",
        Tone::Success => "success",
        Tone::Warning => "warning",
        Tone::Error => "error",
    }
}

impl ValueHtml {
    fn of(value: &Value, module_id: &str, face: ViewFace<'_>) -> Self {
        let plain = |text: String| Self {
            text,
            href: None,
            tone: None,
            numeric: false,
            date: false,
            label: String::new(),
        };
        match value {
            Value::Text(text) => plain(text.clone()),
            Value::Amount(cents) => Self {
                numeric: true,
                ..plain(crate::format::amount(*cents))
            },
            Value::Number(number) => Self {
                numeric: true,
                ..plain(crate::format::number(*number))
            },
            Value::Date(iso) => Self {
                date: true,
                ..plain(crate::format::iso_date(iso))
            },
            Value::Link(link) => Self {
                href: face.view_href(module_id, &link.view, &link.params),
                ..plain(link.label.clone())
            },
            Value::Status(notice) => Self {
                tone: Some(tone_name(notice.tone)),
                ..plain(notice.text.clone())
            },
        }
    }
}

fn field_html(field: &Field, prefix: &str) -> FieldHtml {
    let (kind, choices) = match &field.kind {
        FieldKind::Text => ("text", Vec::new()),
        FieldKind::LongText => ("textarea", Vec::new()),
        FieldKind::Number => ("number", Vec::new()),
        FieldKind::Date => ("date", Vec::new()),
        FieldKind::Checkbox => ("checkbox", Vec::new()),
        FieldKind::Hidden => ("hidden", Vec::new()),
        FieldKind::Select(choices) => (
            "select",
            choices
                .iter()
                .map(|choice| ChoiceHtml {
                    selected: choice.value == field.value,
                    value: choice.value.clone(),
                    label: choice.label.clone(),
                })
                .collect(),
        ),
    };
    FieldHtml {
        id: format!("{prefix}-{}", field.name),
        name: field.name.clone(),
        label: field.label.clone(),
        kind,
        checked: matches!(field.kind, FieldKind::Checkbox) && !field.value.is_empty(),
        value: field.value.clone(),
        disabled: field.disabled,
        required: field.required,
        hint: field.hint.clone(),
        error: field.error.clone(),
        choices,
    }
}

fn form_html(form: &Form, module_id: &str, csrf: &str, face: ViewFace<'_>) -> BlockHtml {
    let prefix = format!("{module_id}-{}", form.action);
    let fields: Vec<FieldHtml> = form
        .fields
        .iter()
        .map(|field| field_html(field, &prefix))
        .collect();
    let groups: Vec<GroupHtml> = form
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| GroupHtml {
            id: format!("{prefix}-groupe-{}", index + 1),
            legend: group.legend.clone(),
            hint: group.hint.clone(),
            fields: group
                .fields
                .iter()
                .map(|field| field_html(field, &prefix))
                .collect(),
        })
        .collect();
    let errors = fields
        .iter()
        .chain(groups.iter().flat_map(|group| group.fields.iter()))
        .filter_map(|field| {
            field.error.as_ref().map(|error| ErrorLink {
                id: field.id.clone(),
                label: field.label.clone(),
                error: error.clone(),
            })
        })
        .collect();
    BlockHtml::Form {
        href: face.action_href(module_id, &form.action),
        submit_label: form.submit_label.clone(),
        csrf: csrf.to_owned(),
        fields,
        groups,
        errors,
    }
}

impl ViewHtml {
    pub fn of(view: &View, module_id: &str, csrf: &str, in_tile: bool, face: ViewFace<'_>) -> Self {
        let blocks = view
            .blocks
            .iter()
            .map(|block| match block {
                Block::Heading(text) => BlockHtml::Heading { text: text.clone() },
                Block::Paragraph(text) => BlockHtml::Paragraph { text: text.clone() },
                Block::KeyValues(pairs) => BlockHtml::KeyValues {
                    pairs: pairs
                        .iter()
                        .map(|pair| PairHtml {
                            key: pair.key.clone(),
                            value: ValueHtml::of(&pair.value, module_id, face),
                        })
                        .collect(),
                },
                Block::Table(table) => BlockHtml::Table {
                    caption: table.caption.clone(),
                    headers: table.headers.clone(),
                    rows: table
                        .rows
                        .iter()
                        .map(|row| {
                            row.iter()
                                .enumerate()
                                .map(|(column, value)| ValueHtml {
                                    label: table.headers.get(column).cloned().unwrap_or_default(),
                                    ..ValueHtml::of(value, module_id, face)
                                })
                                .collect()
                        })
                        .collect(),
                },
                Block::Notice(notice) => BlockHtml::Notice {
                    tone: tone_name(notice.tone),
                    text: notice.text.clone(),
                },
                Block::Link(link) => BlockHtml::Link {
                    label: link.label.clone(),
                    href: face.view_href(module_id, &link.view, &link.params),
                },
                Block::Form(form) => form_html(form, module_id, csrf, face),
                Block::Items(items) => BlockHtml::Items {
                    items: items.clone(),
                },
                Block::Payable(payable) => BlockHtml::Payable {
                    label: payable.label.clone(),
                    amount: crate::format::amount(payable.amount),
                    pay: None,
                    in_progress: None,
                    received: None,
                },
            })
            .collect();
        Self {
            title: view.title.clone(),
            in_tile,
            blocks,
        }
    }
}

impl ViewHtml {
    /// The view's amounts to pay with "Payer en ligne" (or the payment
    /// under way, or received): a resident's page in a town that takes
    /// payments online.
    pub fn with_payments(
        mut self,
        view: &View,
        module_id: &str,
        csrf: &str,
        offer: &PayOffer<'_>,
    ) -> Self {
        use crate::payments::PayableState;
        let params = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&offer.view.params)
            .finish();
        for (html, block) in self.blocks.iter_mut().zip(&view.blocks) {
            let (
                BlockHtml::Payable {
                    pay,
                    in_progress,
                    received,
                    ..
                },
                Block::Payable(payable),
            ) = (html, block)
            else {
                continue;
            };
            match offer.states.get(&payable.reference) {
                Some(PayableState::InProgress { payment_id }) => {
                    *in_progress = Some(format!("/paiements/{payment_id}"));
                }
                Some(PayableState::Received { payment_id }) => {
                    *received = Some(format!("/paiements/{payment_id}"));
                }
                None => {
                    *pay = Some(PayHtml {
                        csrf: csrf.to_owned(),
                        module: module_id.to_owned(),
                        view: offer.view.view.clone(),
                        params: params.clone(),
                        reference: payable.reference.clone(),
                    });
                }
            }
        }
        self
    }
}

/// Whether a view holds an amount to pay.
pub fn has_payable(view: &View) -> bool {
    view.blocks
        .iter()
        .any(|block| matches!(block, Block::Payable(_)))
}

/// The tables of a view as one CSV file (a table's caption, its headers,
/// its rows as the page shows them; a blank line between tables): what the
/// staff take to their own tools, e.g. the children booked on a day. None
/// when the view has no table.
pub fn tables_csv(view: &View) -> Result<Option<Vec<u8>>, csv::Error> {
    let tables: Vec<_> = view
        .blocks
        .iter()
        .filter_map(|block| match block {
            Block::Table(table) => Some(table),
            _ => None,
        })
        .collect();
    if tables.is_empty() {
        return Ok(None);
    }
    let mut out = crate::spreadsheet::CsvWriter::flexible(Vec::new());
    for (index, table) in tables.iter().enumerate() {
        if index > 0 {
            out.write_row([""])?;
        }
        if !table.caption.trim().is_empty() {
            out.write_row([table.caption.as_str()])?;
        }
        out.write_row(table.headers.iter().map(String::as_str))?;
        for row in &table.rows {
            out.write_row(row.iter().map(value_text))?;
        }
    }
    out.into_inner().map(Some)
}

/// A value as text, as the page shows it.
fn value_text(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone(),
        Value::Amount(cents) => crate::format::amount(*cents),
        Value::Number(number) => crate::format::number(*number),
        Value::Date(iso) => crate::format::iso_date(iso),
        Value::Link(link) => link.label.clone(),
        Value::Status(notice) => notice.text.clone(),
    }
}

/// The view's forms with the values submitted (checkboxes: checked when
/// submitted, unchecked when absent), so that nothing typed is lost.
pub fn with_values(mut view: View, submitted: &[(String, String)]) -> View {
    for block in &mut view.blocks {
        if let Block::Form(form) = block {
            let fields = form.fields.iter_mut().chain(
                form.groups
                    .iter_mut()
                    .flat_map(|group| group.fields.iter_mut()),
            );
            for field in fields {
                with_value(field, submitted);
            }
        }
    }
    view
}

/// One field with the value submitted for it (see [`with_values`]); a
/// disabled field, never submitted, keeps what the module said.
pub fn with_value(field: &mut Field, submitted: &[(String, String)]) {
    if field.disabled {
        return;
    }
    let found = submitted
        .iter()
        .find(|(name, _)| *name == field.name)
        .map(|(_, value)| value.clone());
    let value = match field.kind {
        FieldKind::Checkbox => Some(found.unwrap_or_default()),
        _ => found,
    };
    if let Some(value) = value {
        field.value = value;
    }
}

/// A module's form: its fields as posted, in order (a module declares its
/// own field names, so the host cannot name them in a struct).
#[derive(Debug, Default)]
pub struct ModuleFields(pub Vec<(String, String)>);

#[rocket::async_trait]
impl<'r> rocket::form::FromForm<'r> for ModuleFields {
    type Context = (Self, rocket::form::Errors<'r>);

    fn init(_: rocket::form::Options) -> Self::Context {
        (ModuleFields(Vec::new()), rocket::form::Errors::new())
    }

    fn push_value(ctxt: &mut Self::Context, field: rocket::form::ValueField<'r>) {
        ctxt.0.0.push((
            field.name.source().as_str().to_owned(),
            field.value.to_owned(),
        ));
    }

    async fn push_data(ctxt: &mut Self::Context, field: rocket::form::DataField<'r, '_>) {
        // Modules' forms are never multipart: a file is refused.
        ctxt.1.push(
            rocket::form::Error::from(rocket::form::error::ErrorKind::Unexpected)
                .with_name(field.name),
        );
    }

    fn push_error(ctxt: &mut Self::Context, error: rocket::form::Error<'r>) {
        ctxt.1.push(error);
    }

    fn finalize((fields, errors): Self::Context) -> rocket::form::Result<'r, Self> {
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
}
