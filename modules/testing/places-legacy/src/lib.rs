//! `places` 0.1.0: one tile saying which interface serves it.

use guichet_module_sdk::*;

struct Places;

impl Module for Places {
    fn describe() -> Manifest {
        Manifest::new("places", "Places", env!("CARGO_PKG_VERSION"))
            .description("Des places à réserver par jour (module de test, interface 0.1.0).")
            .tile("places", "Places du jour", Slot::Dashboard)
    }

    fn render(_: Context, request: ViewRequest) -> Result<View, ModuleError> {
        match request.view.as_str() {
            "places" => Ok(View::new("Places du jour").paragraph("Servi par l'interface 0.1.0.")),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }
}

export!(Places);
