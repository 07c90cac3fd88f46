//! "places": a day has a capacity (the town's configuration `capacite`,
//! or what the staff set for that day); a booking locks the day, counts
//! its bookings and writes one only while places are left. Each tile and
//! action exercises one host function of interface 0.2.0, for the host's
//! tests (tests/integration/modules_v2.rs).

// The generated glue is `unsafe` by nature; it is wit-bindgen's.
#[allow(unsafe_code, unused_qualifications, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/0.2.0",
        world: "guichet:module/module@0.2.0",
    });
}

use bindings::guichet::module::host::{self, Recipient, Scope, StorageError};
use bindings::guichet::module::types::*;

struct Places;

fn storage_error(error: &StorageError) -> &'static str {
    match error {
        StorageError::NotAllowed => "not-allowed",
        StorageError::InvalidKey => "invalid-key",
        StorageError::TooLarge => "too-large",
        StorageError::Unavailable => "unavailable",
    }
}

fn host_error(error: &host::HostError) -> String {
    match error {
        host::HostError::NotAllowed => "not-allowed".to_owned(),
        host::HostError::Invalid(message) => format!("invalid: {message}"),
        host::HostError::Unavailable => "unavailable".to_owned(),
    }
}

fn failed(error: &StorageError) -> ModuleError {
    ModuleError::Failed(format!("storage: {}", storage_error(error)))
}

fn field(name: &str, label: &str, kind: FieldKind, value: &str) -> Field {
    Field {
        name: name.to_owned(),
        label: label.to_owned(),
        kind,
        value: value.to_owned(),
        required: false,
        disabled: false,
        hint: None,
        error: None,
    }
}

fn notice(tone: Tone, text: &str) -> Notice {
    Notice {
        tone,
        text: text.to_owned(),
    }
}

fn fields_get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, value)| value.as_str())
}

/// The day's capacity: what the staff set, else the town's configuration.
fn capacity(context: &Context, day: &str) -> Result<u32, ModuleError> {
    if let Some(set) = host::get(Scope::Town, &format!("capacite:{day}")).map_err(|e| failed(&e))? {
        return Ok(set.parse().unwrap_or(0));
    }
    let config: serde_json::Value = serde_json::from_str(&context.config)
        .map_err(|e| ModuleError::InvalidConfig(e.to_string()))?;
    Ok(config
        .get("capacite")
        .and_then(serde_json::Value::as_u64)
        .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)))
}

fn booking_form(day: &str, error: Option<String>) -> Block {
    Block::Form(Form {
        action: "reserver".to_owned(),
        submit_label: "Réserver".to_owned(),
        fields: vec![field("jour", "Jour", FieldKind::Date, day)],
        groups: vec![FieldGroup {
            legend: "Options".to_owned(),
            hint: Some("Cochez ce qui vous convient.".to_owned()),
            fields: vec![
                Field {
                    error,
                    ..field(
                        "notifier",
                        "Me prévenir par courriel",
                        FieldKind::Checkbox,
                        "on",
                    )
                },
                Field {
                    disabled: true,
                    ..field("passe", "Jour passé", FieldKind::Checkbox, "")
                },
                field("origine", "", FieldKind::Hidden, "tuile"),
            ],
        }],
    })
}

impl bindings::Guest for Places {
    fn describe() -> Manifest {
        Manifest {
            id: "places".to_owned(),
            name: "Places".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: "Des places à réserver par jour (module de test).".to_owned(),
            tiles: vec![
                TileDeclaration {
                    id: "places".to_owned(),
                    title: "Places du jour".to_owned(),
                    slot: Slot::Dashboard,
                },
                TileDeclaration {
                    id: "essais".to_owned(),
                    title: "Essais de l'hôte".to_owned(),
                    slot: Slot::Family,
                },
            ],
            actions: vec![
                ActionDeclaration {
                    id: "reserver".to_owned(),
                    label: "Réserver une place".to_owned(),
                    view: "places".to_owned(),
                },
                ActionDeclaration {
                    id: "prevenir".to_owned(),
                    label: "Prévenir un usager".to_owned(),
                    view: "essais".to_owned(),
                },
            ],
            staff_views: vec![
                StaffViewDeclaration {
                    id: "inscrits".to_owned(),
                    title: "Inscrits du jour".to_owned(),
                    role: StaffRole::Agent,
                },
                StaffViewDeclaration {
                    id: "reglages".to_owned(),
                    title: "Capacité des jours".to_owned(),
                    role: StaffRole::Administrateur,
                },
            ],
            staff_actions: vec![StaffActionDeclaration {
                id: "capacite".to_owned(),
                label: "Changer la capacité d'un jour".to_owned(),
                role: StaffRole::Gestionnaire,
            }],
            // Documents a module may not give: a link, and more pages than
            // a document may take (the host refuses both: "indisponible").
            documents: vec![
                DocumentDeclaration {
                    id: "lien".to_owned(),
                    title: "Document à lien".to_owned(),
                    description: "Un document qui contient un lien (refusé).".to_owned(),
                    params: Vec::new(),
                },
                DocumentDeclaration {
                    id: "fleuve".to_owned(),
                    title: "Document fleuve".to_owned(),
                    description: "Un document de cent pages (refusé).".to_owned(),
                    params: Vec::new(),
                },
            ],
            config_schema:
                r#"{"type":"object","properties":{"capacite":{"type":"integer","minimum":0}}}"#
                    .to_owned(),
            capabilities: vec![
                Capability::TownStorage,
                Capability::ResidentStorage,
                Capability::Notifications,
                Capability::ModuleConfig("bloc-notes".to_owned()),
            ],
        }
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        match request.view.as_str() {
            "places" => {
                let day = request
                    .params
                    .iter()
                    .find(|(name, _)| name == "jour")
                    .map_or_else(|| context.now.date.clone(), |(_, day)| day.clone());
                let booked =
                    host::count(Scope::Town, &format!("resa:{day}:")).map_err(|e| failed(&e))?;
                let capacity = capacity(&context, &day)?;
                Ok(View {
                    title: "Places du jour".to_owned(),
                    blocks: vec![
                        Block::KeyValues(vec![
                            KeyValue {
                                key: "Réservées".to_owned(),
                                value: Value::Number(i64::from(booked)),
                            },
                            KeyValue {
                                key: "Capacité".to_owned(),
                                value: Value::Number(i64::from(capacity)),
                            },
                        ]),
                        Block::Items(vec![format!(
                            "Référence : {}",
                            context
                                .resident
                                .as_ref()
                                .map_or("aucune", |r| r.reference.as_str())
                        )]),
                        Block::Payable(Payable {
                            reference: "P1".to_owned(),
                            label: "Place du jour".to_owned(),
                            amount: 1250,
                        }),
                        booking_form(&day, None),
                    ],
                })
            }
            "essais" => {
                let lock = match host::lock(Scope::Town, "jour") {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => storage_error(&error).to_owned(),
                };
                let put = match host::put(Scope::Town, "x", "y") {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => storage_error(&error).to_owned(),
                };
                let own = match host::module_config("bloc-notes") {
                    Ok(Some(config)) => format!("config {config}"),
                    Ok(None) => "absent".to_owned(),
                    Err(error) => host_error(&error),
                };
                let other = match host::module_config("invoices") {
                    Ok(Some(config)) => format!("config {config}"),
                    Ok(None) => "absent".to_owned(),
                    Err(error) => host_error(&error),
                };
                Ok(View {
                    title: "Essais".to_owned(),
                    blocks: vec![
                        Block::Paragraph(format!("verrou en affichage : {lock}")),
                        Block::Paragraph(format!("écriture en affichage : {put}")),
                        Block::Paragraph(format!("configuration bloc-notes : {own}")),
                        Block::Paragraph(format!("configuration invoices : {other}")),
                    ],
                })
            }
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        match action.as_str() {
            "reserver" => {
                let day = fields_get(&fields, "jour")
                    .unwrap_or(&context.now.date)
                    .to_owned();
                // Who books: the resident, or a name the tests give to book
                // many times as one resident.
                let who = fields_get(&fields, "qui")
                    .map(str::to_owned)
                    .or_else(|| context.resident.as_ref().map(|r| r.reference.clone()))
                    .unwrap_or_default();
                if fields_get(&fields, "sans-verrou") != Some("on") {
                    host::lock(Scope::Town, &format!("jour:{day}")).map_err(|e| failed(&e))?;
                }
                let booked =
                    host::count(Scope::Town, &format!("resa:{day}:")).map_err(|e| failed(&e))?;
                let capacity = capacity(&context, &day)?;
                if let Some(pause) = fields_get(&fields, "pause-ms").and_then(|ms| ms.parse().ok())
                {
                    // Between the count and the write: where a race would be.
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                }
                if booked >= capacity {
                    return Ok(Outcome::Invalid(View {
                        title: "Places du jour".to_owned(),
                        blocks: vec![booking_form(
                            &day,
                            Some(format!("Complet : {capacity} place(s).")),
                        )],
                    }));
                }
                host::put(Scope::Town, &format!("resa:{day}:{who}"), "1")
                    .map_err(|e| failed(&e))?;
                host::put(Scope::Resident, &format!("resa:{day}"), &who).map_err(|e| failed(&e))?;
                if fields_get(&fields, "notifier") == Some("on") {
                    host::notify(
                        &Recipient::ResidentOfCall,
                        &host::Notification {
                            subject: format!("Réservation du {day}"),
                            paragraphs: vec![format!("Votre place du {day} est réservée.")],
                            link: Some(Link {
                                label: "Voir mes places".to_owned(),
                                view: "places".to_owned(),
                                params: vec![("jour".to_owned(), day.clone())],
                            }),
                        },
                    )
                    .map_err(|e| ModuleError::Failed(host_error(&e)))?;
                }
                if fields_get(&fields, "echouer") == Some("on") {
                    return Err(ModuleError::Failed("échec voulu après écriture".to_owned()));
                }
                Ok(Outcome::Done(Done {
                    notice: notice(Tone::Success, "Réservation enregistrée."),
                    details: vec![
                        format!("{day} : réservé"),
                        format!("Place {} sur {capacity}", booked + 1),
                    ],
                    then: ViewRequest {
                        view: "places".to_owned(),
                        params: vec![("jour".to_owned(), day)],
                    },
                }))
            }
            "prevenir" => {
                let reference = fields_get(&fields, "reference")
                    .unwrap_or_default()
                    .to_owned();
                match host::notify(
                    &Recipient::Resident(reference.clone()),
                    &host::Notification {
                        subject: "Un message de test".to_owned(),
                        paragraphs: vec!["Bonjour de la part du module.".to_owned()],
                        link: None,
                    },
                ) {
                    Ok(()) => Ok(Outcome::Done(Done {
                        notice: notice(Tone::Success, "Usager prévenu."),
                        details: Vec::new(),
                        then: ViewRequest {
                            view: "essais".to_owned(),
                            params: Vec::new(),
                        },
                    })),
                    Err(error) => Ok(Outcome::Invalid(View {
                        title: "Essais".to_owned(),
                        blocks: vec![Block::Notice(notice(Tone::Error, &host_error(&error)))],
                    })),
                }
            }
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn render_staff(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        let staff = context.staff.as_ref().map_or_else(
            || "personne".to_owned(),
            |s| {
                let role = match s.role {
                    StaffRole::Agent => "agent",
                    StaffRole::Gestionnaire => "gestionnaire",
                    StaffRole::Administrateur => "administrateur",
                };
                format!("{} ({role})", s.display_name)
            },
        );
        let resident = match host::get(Scope::Resident, "x") {
            Ok(_) => "ok".to_owned(),
            Err(error) => storage_error(&error).to_owned(),
        };
        match request.view.as_str() {
            "inscrits" => {
                let day = request
                    .params
                    .iter()
                    .find(|(name, _)| name == "jour")
                    .map_or_else(|| context.now.date.clone(), |(_, day)| day.clone());
                // Paged, three at a time, to exercise list-after.
                let mut rows = Vec::new();
                let mut after = String::new();
                loop {
                    let page = host::list_after(Scope::Town, &format!("resa:{day}:"), &after, 3)
                        .map_err(|e| failed(&e))?;
                    let Some(last) = page.last() else { break };
                    after = last.key.clone();
                    for entry in &page {
                        rows.push(vec![Value::Text(entry.key.clone())]);
                    }
                }
                Ok(View {
                    title: format!("Inscrits du {day}"),
                    blocks: vec![
                        Block::Paragraph(format!("Agent : {staff}")),
                        Block::Paragraph(format!("Stockage usager : {resident}")),
                        Block::Table(Table {
                            caption: format!("{} inscrit(s)", rows.len()),
                            headers: vec!["Clé".to_owned()],
                            rows,
                        }),
                        Block::Form(Form {
                            action: "capacite".to_owned(),
                            submit_label: "Enregistrer".to_owned(),
                            fields: vec![
                                field("jour", "Jour", FieldKind::Date, &day),
                                field("capacite", "Capacité", FieldKind::Number, ""),
                                field(
                                    "prevenir",
                                    "Usager à prévenir (référence)",
                                    FieldKind::Text,
                                    "",
                                ),
                            ],
                            groups: Vec::new(),
                        }),
                    ],
                })
            }
            "reglages" => Ok(View {
                title: "Capacité des jours".to_owned(),
                blocks: vec![Block::Paragraph(format!("Réglages pour {staff}"))],
            }),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act_staff(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        if action != "capacite" {
            return Err(ModuleError::NotFound(action));
        }
        let day = fields_get(&fields, "jour")
            .unwrap_or(&context.now.date)
            .to_owned();
        let Some(capacity) =
            fields_get(&fields, "capacite").and_then(|c| c.trim().parse::<u32>().ok())
        else {
            return Ok(Outcome::Invalid(View {
                title: "Capacité".to_owned(),
                blocks: vec![Block::Form(Form {
                    action: "capacite".to_owned(),
                    submit_label: "Enregistrer".to_owned(),
                    fields: vec![
                        field("jour", "Jour", FieldKind::Date, &day),
                        Field {
                            error: Some("Indiquez un nombre de places.".to_owned()),
                            ..field(
                                "capacite",
                                "Capacité",
                                FieldKind::Number,
                                fields_get(&fields, "capacite").unwrap_or_default(),
                            )
                        },
                    ],
                    groups: Vec::new(),
                })],
            }));
        };
        // A staff call has no resident: its storage is refused.
        if !matches!(
            host::put(Scope::Resident, "x", "y"),
            Err(StorageError::NotAllowed)
        ) {
            return Err(ModuleError::Failed(
                "resident storage reached from a staff call".to_owned(),
            ));
        }
        host::lock(Scope::Town, &format!("jour:{day}")).map_err(|e| failed(&e))?;
        host::put(
            Scope::Town,
            &format!("capacite:{day}"),
            &capacity.to_string(),
        )
        .map_err(|e| failed(&e))?;
        if let Some(reference) = fields_get(&fields, "prevenir").filter(|r| !r.is_empty()) {
            host::notify(
                &Recipient::Resident(reference.to_owned()),
                &host::Notification {
                    subject: format!("Capacité du {day}"),
                    paragraphs: vec![format!(
                        "La capacité du {day} est maintenant de {capacity} place(s)."
                    )],
                    link: None,
                },
            )
            .map_err(|e| ModuleError::Failed(host_error(&e)))?;
        }
        Ok(Outcome::Done(Done {
            notice: notice(Tone::Success, "Capacité enregistrée."),
            details: vec![format!("{day} : {capacity} place(s)")],
            then: ViewRequest {
                view: "inscrits".to_owned(),
                params: vec![("jour".to_owned(), day)],
            },
        }))
    }

    fn document(_: Context, id: String, _: Vec<(String, String)>) -> Result<Document, ModuleError> {
        match id.as_str() {
            "lien" => Ok(Document {
                title: "Document à lien".to_owned(),
                blocks: vec![Block::Link(Link {
                    label: "Ailleurs".to_owned(),
                    view: "places".to_owned(),
                    params: Vec::new(),
                })],
            }),
            "fleuve" => Ok(Document {
                title: "Document fleuve".to_owned(),
                blocks: (0..180)
                    .map(|line| {
                        Block::Paragraph(format!("Paragraphe {line} : {}", "mot ".repeat(300)))
                    })
                    .collect(),
            }),
            _ => Err(ModuleError::NotFound(id)),
        }
    }

    fn handle_event(_: Context, _: Event) -> Result<(), ModuleError> {
        Ok(())
    }
}

// The exported functions are wit-bindgen's `unsafe` glue too.
#[allow(unsafe_code)]
mod exported {
    use super::{Places, bindings};
    bindings::export!(Places with_types_in bindings);
}
