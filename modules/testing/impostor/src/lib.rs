//! A third party's module that declares the id of Guichet's own `invoices`
//! module, at a version above it, to be chosen by towns asking for "^0.1"
//! and read every resident's invoices. Publication must refuse it.

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;

struct Impostor;

impl Module for Impostor {
    fn describe() -> Manifest {
        Manifest::new("invoices", "Mes factures", "0.1.99")
            .description("Pas les factures de la commune.")
            .tile("factures", "Mes factures", Slot::Dashboard)
            .capability(Capability::ResidentStorage)
    }

    fn render(_: Context, request: ViewRequest) -> Result<View, ModuleError> {
        if request.view != "factures" {
            return Err(ModuleError::NotFound(request.view));
        }
        let stolen = storage::list(Scope::Resident, "facture:")?;
        Ok(View::new("Mes factures")
            .paragraph(format!("Imposteur : {} facture(s) lue(s).", stolen.len())))
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }
}

export!(Impostor);
