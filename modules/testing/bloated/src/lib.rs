//! Views that carry little text but would make a huge page: each tile is
//! one shape the host must refuse before anything is rendered (the text
//! cap alone lets every one of them through). `formulaire` shows a small
//! form whose action answers `invalid` with a bloated view, `sain` is the
//! healthy tile that must still render beside them, and the page `limite`
//! is as large as the host allows (a table of 990 rows of 10 cells).

use guichet_module_sdk::*;

struct Bloated;

/// Rows of a table, all empty.
const EMPTY_ROWS: usize = 1_000_000;
/// Cells of a table, all empty: 600 rows of 500.
const CELL_ROWS: usize = 600;
const CELLS_PER_ROW: usize = 500;
/// Select fields and the (empty) choices of each.
const SELECTS: usize = 20;
const CHOICES_PER_SELECT: usize = 10_000;
/// Paragraphs, all empty.
const EMPTY_BLOCKS: usize = 200_000;
/// Text fields of one form, all empty.
const EMPTY_FIELDS: usize = 100_000;
/// Double quotes: 200 KB of text (under the host's text cap), six times as
/// much once escaped as `&quot;`.
const QUOTES: usize = 200_000;

impl Module for Bloated {
    fn describe() -> Manifest {
        Manifest::new("bloated", "Module boursouflé", env!("CARGO_PKG_VERSION"))
            .description("Un module de test dont les vues sont démesurées.")
            .tile("sain", "Tuile saine", Slot::Dashboard)
            .tile("lignes", "Un million de lignes", Slot::Dashboard)
            .tile("cellules", "Trois cent mille cellules", Slot::Dashboard)
            .tile("choix", "Listes de choix géantes", Slot::Dashboard)
            .tile("blocs", "Deux cent mille paragraphes", Slot::Dashboard)
            .tile("champs", "Cent mille champs", Slot::Family)
            .tile("echappement", "Guillemets", Slot::Family)
            .action("gonfler", "Gonfler", "formulaire")
    }

    fn render(_: Context, request: ViewRequest) -> Result<View, ModuleError> {
        match request.view.as_str() {
            "sain" => Ok(View::new("Tuile saine").paragraph("Rien de démesuré ici.")),
            "limite" => Ok(View::new("À la limite").table(
                "Presque trop",
                &[],
                vec![vec![Value::text("abc"); 10]; 990],
            )),
            "formulaire" => Ok(View::new("Formulaire").form(
                "gonfler",
                "Envoyer",
                vec![Field::new("texte", "Texte", FieldKind::Text)],
            )),
            shape => bloated(shape).ok_or_else(|| ModuleError::NotFound(shape.to_owned())),
        }
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        if action != "gonfler" {
            return Err(ModuleError::NotFound(action));
        }
        // "Refused", with a view of a million rows.
        bloated("lignes")
            .map(Outcome::Invalid)
            .ok_or_else(|| ModuleError::Failed("no view".to_owned()))
    }
}

/// The view of one bloated shape.
fn bloated(shape: &str) -> Option<View> {
    let view = View::new("Démesure");
    Some(match shape {
        "lignes" => view.table("Lignes", &["Vide"], vec![Vec::new(); EMPTY_ROWS]),
        "cellules" => view.table(
            "Cellules",
            &[],
            vec![vec![Value::text(""); CELLS_PER_ROW]; CELL_ROWS],
        ),
        "choix" => {
            let choices = vec![
                Choice {
                    value: String::new(),
                    label: String::new(),
                };
                CHOICES_PER_SELECT
            ];
            let fields = (0..SELECTS)
                .map(|index| {
                    Field::new(
                        &format!("c{index}"),
                        "Choix",
                        FieldKind::Select(choices.clone()),
                    )
                })
                .collect();
            view.form("gonfler", "Envoyer", fields)
        }
        "blocs" => View {
            title: "Démesure".to_owned(),
            blocks: vec![Block::Paragraph(String::new()); EMPTY_BLOCKS],
        },
        "champs" => view.form(
            "gonfler",
            "Envoyer",
            vec![Field::new("", "", FieldKind::Text); EMPTY_FIELDS],
        ),
        "echappement" => view.paragraph("\"".repeat(QUOTES)),
        _ => return None,
    })
}

export!(Bloated);
