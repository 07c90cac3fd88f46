//! A manifest with every kind of mistake `guichet module check` reports:
//! an id that is not one, no name, a version that is not semantic, a tile
//! twice and one without a title, an action leading nowhere, a
//! configuration schema that is not JSON, a capability naming no module.

use guichet_module_sdk::*;

struct Careless;

impl Module for Careless {
    fn describe() -> Manifest {
        Manifest::new("Mon_Module", " ", "un")
            .tile("accueil", "Accueil", Slot::Dashboard)
            .tile("accueil", "", Slot::Dashboard)
            .action("envoyer", "", "nulle part/")
            .config_schema("{pas du JSON")
            .capability(Capability::ModuleConfig("Autre Module".to_owned()))
    }

    fn render(_: Context, request: ViewRequest) -> Result<View, ModuleError> {
        Err(ModuleError::NotFound(request.view))
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }
}

export!(Careless);
