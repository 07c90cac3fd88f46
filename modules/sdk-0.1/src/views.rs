//! Builders for manifests and views, so a module reads as a description.

use crate::{
    ActionDeclaration, Block, Capability, Field, Form, KeyValue, Link, Manifest, Notice, Outcome,
    Slot, Table, TileDeclaration, Tone, Value, View, ViewRequest,
};

impl Manifest {
    pub fn new(id: &str, name: &str, version: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            description: String::new(),
            tiles: Vec::new(),
            actions: Vec::new(),
            config_schema: r#"{"type":"object"}"#.to_owned(),
            capabilities: Vec::new(),
        }
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    pub fn tile(mut self, id: &str, title: &str, slot: Slot) -> Self {
        self.tiles.push(TileDeclaration {
            id: id.to_owned(),
            title: title.to_owned(),
            slot,
        });
        self
    }

    /// A form the module handles; `view` shows it.
    pub fn action(mut self, id: &str, label: &str, view: &str) -> Self {
        self.actions.push(ActionDeclaration {
            id: id.to_owned(),
            label: label.to_owned(),
            view: view.to_owned(),
        });
        self
    }

    /// The JSON Schema of the town's configuration.
    pub fn config_schema(mut self, schema: &str) -> Self {
        self.config_schema = schema.to_owned();
        self
    }

    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities.push(capability);
        self
    }
}

impl View {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            blocks: Vec::new(),
        }
    }

    pub fn block(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn heading(self, text: impl Into<String>) -> Self {
        self.block(Block::Heading(text.into()))
    }

    pub fn paragraph(self, text: impl Into<String>) -> Self {
        self.block(Block::Paragraph(text.into()))
    }

    pub fn notice(self, tone: Tone, text: impl Into<String>) -> Self {
        self.block(Block::Notice(Notice::new(tone, text)))
    }

    pub fn key_values(self, pairs: Vec<(&str, Value)>) -> Self {
        self.block(Block::KeyValues(
            pairs
                .into_iter()
                .map(|(key, value)| KeyValue {
                    key: key.to_owned(),
                    value,
                })
                .collect(),
        ))
    }

    pub fn table(self, caption: &str, headers: &[&str], rows: Vec<Vec<Value>>) -> Self {
        self.block(Block::Table(Table {
            caption: caption.to_owned(),
            headers: headers.iter().map(|header| (*header).to_owned()).collect(),
            rows,
        }))
    }

    pub fn link(self, link: Link) -> Self {
        self.block(Block::Link(link))
    }

    pub fn form(self, action: &str, submit_label: &str, fields: Vec<Field>) -> Self {
        self.block(Block::Form(Form {
            action: action.to_owned(),
            submit_label: submit_label.to_owned(),
            fields,
        }))
    }
}

impl Notice {
    pub fn new(tone: Tone, text: impl Into<String>) -> Self {
        Self {
            tone,
            text: text.into(),
        }
    }
}

impl Link {
    pub fn new(label: &str, view: &str) -> Self {
        Self {
            label: label.to_owned(),
            view: view.to_owned(),
            params: Vec::new(),
        }
    }

    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl ViewRequest {
    pub fn new(view: &str) -> Self {
        Self {
            view: view.to_owned(),
            params: Vec::new(),
        }
    }
}

impl Value {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }
}

impl Outcome {
    /// Success: `message` shown on `view`.
    pub fn done(message: impl Into<String>, view: &str) -> Self {
        Self::Done((Notice::new(Tone::Success, message), ViewRequest::new(view)))
    }
}
