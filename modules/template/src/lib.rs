//! Bloc-notes: the resident keeps short notes; the town words the
//! introduction. A module to copy when writing a new one (interface 0.2.0).

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;
use serde::{Deserialize, Serialize};

const MAX_NOTE_CHARS: usize = 280;

/// The town's configuration, as declared by the schema below.
#[derive(Deserialize)]
struct Config {
    intro: String,
}

const CONFIG_SCHEMA: &str = r#"{
  "type": "object",
  "properties": { "intro": { "type": "string", "minLength": 1 } },
  "required": ["intro"],
  "additionalProperties": false
}"#;

#[derive(Serialize, Deserialize)]
struct Note {
    written_on: String,
    text: String,
}

struct Notes;

impl Module for Notes {
    fn describe() -> Manifest {
        Manifest::new("bloc-notes", "Bloc-notes", env!("CARGO_PKG_VERSION"))
            .description("Des notes personnelles, gardées dans votre espace.")
            .tile("notes", "Mon bloc-notes", Slot::Dashboard)
            .action("ajouter", "Ajouter une note", "notes")
            .config_schema(CONFIG_SCHEMA)
            .capability(Capability::ResidentStorage)
    }

    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        match request.view.as_str() {
            // On "Mon accueil", a summary; the notes and the form on the page.
            "notes" if is_tile(&request) => summary(),
            "notes" => notes_view(&context, &Fields::default(), None),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        if action != "ajouter" {
            return Err(ModuleError::NotFound(action));
        }
        let fields = Fields::from(fields);
        let text = fields.get("texte");
        let error = if text.is_empty() {
            Some("Écrivez votre note.".to_owned())
        } else if text.chars().count() > MAX_NOTE_CHARS {
            Some(format!("Votre note dépasse {MAX_NOTE_CHARS} caractères."))
        } else {
            None
        };
        if error.is_some() {
            return notes_view(&context, &fields, error).map(Outcome::Invalid);
        }
        let now = now();
        let count = storage::list(Scope::Resident, "note:")?.len();
        let note = Note {
            written_on: now.date.clone(),
            text: text.to_owned(),
        };
        storage::put_json(
            Scope::Resident,
            &format!("note:{}T{}:{count:04}", now.date, now.time),
            &note,
        )?;
        Ok(Outcome::done("Votre note est enregistrée.", "notes"))
    }
}

/// The tile: how many notes and the way to the page (the town's words are
/// there, above the notes).
fn summary() -> Result<View, ModuleError> {
    let count = storage::count(Scope::Resident, "note:")?;
    let headline = match count {
        0 => "Aucune note pour le moment".to_owned(),
        1 => "1 note".to_owned(),
        _ => format!("{count} notes"),
    };
    Ok(View::new("Mon bloc-notes")
        .paragraph(headline)
        .link(Link::new("Écrire une note", "notes")))
}

fn notes_view(
    context: &Context,
    typed: &Fields,
    error: Option<String>,
) -> Result<View, ModuleError> {
    let config: Config = config(context)?;
    let notes: Vec<(String, Note)> = storage::list_json(Scope::Resident, "note:")?;
    let mut view = View::new("Mon bloc-notes").paragraph(config.intro);
    if notes.is_empty() {
        view = view.paragraph("Vous n'avez pas encore de note.");
    } else {
        let rows = notes
            .into_iter()
            .rev()
            .map(|(_, note)| vec![Value::Date(note.written_on), Value::text(note.text)])
            .collect();
        view = view.table("Mes notes", &["Date", "Note"], rows);
    }
    Ok(view.form(
        "ajouter",
        "Ajouter la note",
        vec![
            Field::new("texte", "Nouvelle note", FieldKind::LongText)
                .required()
                .hint(&format!("{MAX_NOTE_CHARS} caractères au plus."))
                .value(typed.get("texte"))
                .error(error),
        ],
    ))
}

export!(Notes);
