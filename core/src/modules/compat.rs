//! Interface 0.1.0 as the host's model (0.2.0) sees it: what a 0.1.0 module
//! answers (manifest, views, outcomes, errors) turned into 0.2.0 types, and
//! the context and request of a call turned back into 0.1.0 for it. 0.2.0
//! is a superset: nothing a 0.1.0 module says is lost, and nothing 0.2.0
//! adds reaches a 0.1.0 module (no staff, no resident reference).

use super::wit::v0_1::types as old;
use super::wit::v0_2::types as new;

pub fn manifest(manifest: old::Manifest) -> new::Manifest {
    new::Manifest {
        id: manifest.id,
        name: manifest.name,
        version: manifest.version,
        description: manifest.description,
        tiles: manifest
            .tiles
            .into_iter()
            .map(|tile| new::TileDeclaration {
                id: tile.id,
                title: tile.title,
                slot: match tile.slot {
                    old::Slot::Dashboard => new::Slot::Dashboard,
                    old::Slot::Family => new::Slot::Family,
                },
            })
            .collect(),
        actions: manifest
            .actions
            .into_iter()
            .map(|action| new::ActionDeclaration {
                id: action.id,
                label: action.label,
                view: action.view,
            })
            .collect(),
        staff_views: Vec::new(),
        staff_actions: Vec::new(),
        documents: Vec::new(),
        config_schema: manifest.config_schema,
        capabilities: manifest
            .capabilities
            .into_iter()
            .map(|capability| match capability {
                old::Capability::TownStorage => new::Capability::TownStorage,
                old::Capability::ResidentStorage => new::Capability::ResidentStorage,
                old::Capability::Household => new::Capability::Household,
                old::Capability::Requests => new::Capability::Requests,
            })
            .collect(),
    }
}

/// The context of a 0.1.0 call: no staff, no resident reference.
pub fn context(context: &new::Context) -> old::Context {
    old::Context {
        town: old::Town {
            slug: context.town.slug.clone(),
            name: context.town.name.clone(),
        },
        resident: context.resident.as_ref().map(|resident| old::Resident {
            display_name: resident.display_name.clone(),
            first_name: resident.first_name.clone(),
            last_name: resident.last_name.clone(),
        }),
        config: context.config.clone(),
        now: old::DateTime {
            date: context.now.date.clone(),
            time: context.now.time.clone(),
        },
    }
}

pub fn request(request: &new::ViewRequest) -> old::ViewRequest {
    old::ViewRequest {
        view: request.view.clone(),
        params: request.params.clone(),
    }
}

pub fn view(view: old::View) -> new::View {
    new::View {
        title: view.title,
        blocks: view.blocks.into_iter().map(block).collect(),
    }
}

pub fn outcome(outcome: old::Outcome) -> new::Outcome {
    match outcome {
        old::Outcome::Done((done, then)) => new::Outcome::Done(new::Done {
            notice: notice(done),
            details: Vec::new(),
            then: new::ViewRequest {
                view: then.view,
                params: then.params,
            },
        }),
        old::Outcome::Invalid(invalid) => new::Outcome::Invalid(view(invalid)),
    }
}

pub fn error(error: old::ModuleError) -> new::ModuleError {
    match error {
        old::ModuleError::NotFound(what) => new::ModuleError::NotFound(what),
        old::ModuleError::InvalidConfig(message) => new::ModuleError::InvalidConfig(message),
        old::ModuleError::Failed(message) => new::ModuleError::Failed(message),
    }
}

fn notice(notice: old::Notice) -> new::Notice {
    new::Notice {
        tone: match notice.tone {
            old::Tone::Info => new::Tone::Info,
            old::Tone::Success => new::Tone::Success,
            old::Tone::Warning => new::Tone::Warning,
            old::Tone::Error => new::Tone::Error,
        },
        text: notice.text,
    }
}

fn link(link: old::Link) -> new::Link {
    new::Link {
        label: link.label,
        view: link.view,
        params: link.params,
    }
}

fn value(value: old::Value) -> new::Value {
    match value {
        old::Value::Text(text) => new::Value::Text(text),
        old::Value::Amount(cents) => new::Value::Amount(cents),
        old::Value::Date(date) => new::Value::Date(date),
        old::Value::Link(target) => new::Value::Link(link(target)),
        old::Value::Status(status) => new::Value::Status(notice(status)),
    }
}

fn field(field: old::Field) -> new::Field {
    new::Field {
        name: field.name,
        label: field.label,
        kind: match field.kind {
            old::FieldKind::Text => new::FieldKind::Text,
            old::FieldKind::LongText => new::FieldKind::LongText,
            old::FieldKind::Number => new::FieldKind::Number,
            old::FieldKind::Date => new::FieldKind::Date,
            old::FieldKind::Select(choices) => new::FieldKind::Select(
                choices
                    .into_iter()
                    .map(|choice| new::Choice {
                        value: choice.value,
                        label: choice.label,
                    })
                    .collect(),
            ),
        },
        value: field.value,
        required: field.required,
        disabled: false,
        hint: field.hint,
        error: field.error,
    }
}

fn block(block: old::Block) -> new::Block {
    match block {
        old::Block::Heading(text) => new::Block::Heading(text),
        old::Block::Paragraph(text) => new::Block::Paragraph(text),
        old::Block::KeyValues(pairs) => new::Block::KeyValues(
            pairs
                .into_iter()
                .map(|pair| new::KeyValue {
                    key: pair.key,
                    value: value(pair.value),
                })
                .collect(),
        ),
        old::Block::Table(table) => new::Block::Table(new::Table {
            caption: table.caption,
            headers: table.headers,
            rows: table
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(value).collect())
                .collect(),
        }),
        old::Block::Notice(text) => new::Block::Notice(notice(text)),
        old::Block::Link(target) => new::Block::Link(link(target)),
        old::Block::Form(form) => new::Block::Form(new::Form {
            action: form.action,
            submit_label: form.submit_label,
            fields: form.fields.into_iter().map(field).collect(),
            groups: Vec::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_0_1_outcome_keeps_its_notice_and_view() {
        let done = outcome(old::Outcome::Done((
            old::Notice {
                tone: old::Tone::Success,
                text: "Enregistré.".to_owned(),
            },
            old::ViewRequest {
                view: "liste".to_owned(),
                params: vec![("id".to_owned(), "3".to_owned())],
            },
        )));
        let new::Outcome::Done(done) = done else {
            panic!("done expected");
        };
        assert_eq!(done.notice.text, "Enregistré.");
        assert_eq!(done.notice.tone, new::Tone::Success);
        assert!(done.details.is_empty());
        assert_eq!(done.then.view, "liste");
        assert_eq!(done.then.params, vec![("id".to_owned(), "3".to_owned())]);
    }

    #[test]
    fn a_0_1_form_becomes_a_0_2_form_without_groups() {
        let converted = view(old::View {
            title: "Absence".to_owned(),
            blocks: vec![old::Block::Form(old::Form {
                action: "signaler".to_owned(),
                submit_label: "Envoyer".to_owned(),
                fields: vec![old::Field {
                    name: "date".to_owned(),
                    label: "Date".to_owned(),
                    kind: old::FieldKind::Date,
                    value: String::new(),
                    required: true,
                    hint: None,
                    error: Some("Obligatoire".to_owned()),
                }],
            })],
        });
        let new::Block::Form(form) = &converted.blocks[0] else {
            panic!("form expected");
        };
        assert!(form.groups.is_empty());
        assert!(!form.fields[0].disabled);
        assert_eq!(form.fields[0].error.as_deref(), Some("Obligatoire"));
    }
}
