//! Builders for manifests, views, outcomes and documents, so a module reads
//! as a description.

use crate::{
    ActionDeclaration, Block, Capability, Document, DocumentDeclaration, Done, Field, Form,
    KeyValue, Link, Manifest, Notice, Outcome, Payable, Slot, StaffActionDeclaration, StaffRole,
    StaffViewDeclaration, Table, TileDeclaration, Tone, Value, View, ViewRequest,
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
            staff_views: Vec::new(),
            staff_actions: Vec::new(),
            documents: Vec::new(),
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

    /// A back-office page (`render-staff`), for `role` and above.
    pub fn staff_view(mut self, id: &str, title: &str, role: StaffRole) -> Self {
        self.staff_views.push(StaffViewDeclaration {
            id: id.to_owned(),
            title: title.to_owned(),
            role,
        });
        self
    }

    /// A back-office form (`act-staff`), for `role` and above.
    pub fn staff_action(mut self, id: &str, label: &str, role: StaffRole) -> Self {
        self.staff_actions.push(StaffActionDeclaration {
            id: id.to_owned(),
            label: label.to_owned(),
            role,
        });
        self
    }

    /// A document (`document`), its parameters asked by a form of `params`.
    pub fn document(
        mut self,
        id: &str,
        title: &str,
        description: &str,
        params: Vec<Field>,
    ) -> Self {
        self.documents.push(DocumentDeclaration {
            id: id.to_owned(),
            title: title.to_owned(),
            description: description.to_owned(),
            params,
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

/// The blocks both views and documents hold.
macro_rules! block_builders {
    ($type:ty) => {
        impl $type {
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

            /// A list of short items (e.g. what a change did).
            pub fn items(self, items: Vec<String>) -> Self {
                self.block(Block::Items(items))
            }

            pub fn link(self, link: Link) -> Self {
                self.block(Block::Link(link))
            }
        }
    };
}

block_builders!(View);
block_builders!(Document);

impl View {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            blocks: Vec::new(),
        }
    }

    /// A form of plain fields; [`View::form_with`] for fieldsets.
    pub fn form(self, action: &str, submit_label: &str, fields: Vec<Field>) -> Self {
        self.block(Block::Form(Form {
            action: action.to_owned(),
            submit_label: submit_label.to_owned(),
            fields,
            groups: Vec::new(),
        }))
    }

    /// A form built with [`Form::new`] (fields and fieldsets).
    pub fn form_with(self, form: Form) -> Self {
        self.block(Block::Form(form))
    }

    /// An amount the resident may pay online.
    pub fn payable(self, reference: &str, label: &str, amount_cents: i64) -> Self {
        self.block(Block::Payable(Payable {
            reference: reference.to_owned(),
            label: label.to_owned(),
            amount: amount_cents,
        }))
    }
}

impl Document {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            blocks: Vec::new(),
        }
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

    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.to_owned(), value.to_owned()));
        self
    }
}

impl Value {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }
}

impl Done {
    /// `message`, with its tone, shown on `then`.
    pub fn new(tone: Tone, message: impl Into<String>, then: ViewRequest) -> Self {
        Self {
            notice: Notice::new(tone, message),
            details: Vec::new(),
            then,
        }
    }

    /// One line of what was done (e.g. "Lundi 8 juin : réservé").
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }

    pub fn details(mut self, details: Vec<String>) -> Self {
        self.details.extend(details);
        self
    }
}

impl Outcome {
    /// Success: `message` shown on `view`.
    pub fn done(message: impl Into<String>, view: &str) -> Self {
        Self::Done(Done::new(Tone::Success, message, ViewRequest::new(view)))
    }
}

impl From<Done> for Outcome {
    fn from(done: Done) -> Self {
        Self::Done(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_declare_staff_views_actions_and_documents() {
        let manifest = Manifest::new("bookings", "Réservations", "0.2.0")
            .staff_view("jour", "Réservations du jour", StaffRole::Agent)
            .staff_action("fermeture", "Fermer un jour", StaffRole::Gestionnaire)
            .document(
                "attestation",
                "Attestation de présence",
                "Par année",
                Vec::new(),
            )
            .capability(Capability::ModuleConfig("tariffs".to_owned()));
        assert_eq!(manifest.staff_views[0].role, StaffRole::Agent);
        assert_eq!(manifest.staff_actions[0].id, "fermeture");
        assert_eq!(manifest.documents[0].title, "Attestation de présence");
        assert_eq!(
            manifest.capabilities,
            vec![Capability::ModuleConfig("tariffs".to_owned())]
        );
    }

    #[test]
    fn outcomes_list_what_was_done() {
        let done = Done::new(
            Tone::Warning,
            "1 jour réservé, 1 refusé.",
            ViewRequest::new("planning").param("semaine", "2026-06-08"),
        )
        .detail("Lundi 8 juin : réservé")
        .details(vec!["Mardi 9 juin : refusé".to_owned()]);
        assert_eq!(done.details.len(), 2);
        assert_eq!(
            done.then.params,
            vec![("semaine".to_owned(), "2026-06-08".to_owned())]
        );
        assert_eq!(Outcome::from(done.clone()), Outcome::Done(done));
        let view = View::new("Planning")
            .items(vec!["a".to_owned()])
            .payable("F42", "Facture", 1250);
        assert_eq!(view.blocks.len(), 2);
        let document = Document::new("Attestation")
            .paragraph("Léa")
            .heading("Présences");
        assert_eq!(document.blocks.len(), 2);
    }
}
