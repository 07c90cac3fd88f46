//! Bloc-notes: the resident keeps short notes; the town words the
//! introduction. The module `guichet module new` starts from (interface
//! 0.2.0): a tile, a page, a form and its action, the resident's storage,
//! the town's configuration, and unit tests of the plain logic.

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;
use serde::{Deserialize, Serialize};

/// The module's id: a town's `tenant.toml` names it, and it belongs to
/// its first signed publisher on each server.
const ID: &str = "bloc-notes";
/// Its name, as towns and residents read it.
const NAME: &str = "Bloc-notes";

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
        Manifest::new(ID, NAME, env!("CARGO_PKG_VERSION"))
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
        let error = note_error(text);
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

/// What is wrong with a note, in the words the form shows under the field.
/// Plain logic of plain data: tested natively (`cargo test`), no host.
fn note_error(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        Some("Écrivez votre note.".to_owned())
    } else if text.chars().count() > MAX_NOTE_CHARS {
        Some(format!("Votre note dépasse {MAX_NOTE_CHARS} caractères."))
    } else {
        None
    }
}

/// "Aucune note pour le moment", "1 note", "3 notes".
fn headline(count: u32) -> String {
    match count {
        0 => "Aucune note pour le moment".to_owned(),
        1 => "1 note".to_owned(),
        _ => format!("{count} notes"),
    }
}

/// The tile: how many notes and the way to the page (the town's words are
/// there, above the notes).
fn summary() -> Result<View, ModuleError> {
    let count = storage::count(Scope::Resident, "note:")?;
    Ok(View::new("Mon bloc-notes")
        .paragraph(headline(count))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_needs_words_and_no_more_than_the_limit() {
        assert_eq!(note_error("Acheter du pain"), None);
        assert_eq!(note_error("  "), Some("Écrivez votre note.".to_owned()));
        let long = "a".repeat(MAX_NOTE_CHARS + 1);
        assert!(note_error(&long).is_some_and(|error| error.contains("280")));
        // Characters, not bytes: accents count once.
        assert_eq!(note_error(&"é".repeat(MAX_NOTE_CHARS)), None);
    }

    #[test]
    fn the_tile_counts_in_french() {
        assert_eq!(headline(0), "Aucune note pour le moment");
        assert_eq!(headline(1), "1 note");
        assert_eq!(headline(12), "12 notes");
    }

    #[test]
    fn the_manifest_declares_what_the_module_uses() {
        let manifest = Notes::describe();
        assert_eq!(manifest.id, ID);
        assert_eq!(manifest.tiles.len(), 1);
        assert_eq!(manifest.capabilities, vec![Capability::ResidentStorage]);
    }
}
