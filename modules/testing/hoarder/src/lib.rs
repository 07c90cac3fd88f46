//! A module that stores as much as it is allowed to: `remplir` puts
//! `nombre` values of `taille` bytes (keys `<prefixe>:000000`, …), `vider`
//! deletes `nombre` such keys, in one call. By default a refused write fails
//! the call, as `?` does in most modules; with `signaler = oui` the module
//! reports the host's answer instead and keeps what was accepted. Its tile
//! says how many entries each scope holds, and its version.

use guichet_module_sdk::storage::{self, Scope, StorageError};
use guichet_module_sdk::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");

struct Hoarder;

impl Module for Hoarder {
    fn describe() -> Manifest {
        let manifest = Manifest::new("hoarder", "Réserve", VERSION)
            .description("Un module de test qui stocke autant qu'on le laisse faire.")
            .tile("etat", "Réserve", Slot::Dashboard)
            .action("remplir", "Remplir la réserve", "etat")
            .action("vider", "Vider la réserve", "etat")
            .capability(Capability::TownStorage)
            .capability(Capability::ResidentStorage);
        // The next release asks for one more capability, for the tests of
        // what an upgrade shows.
        if VERSION == "0.1.0" {
            manifest
        } else {
            manifest.capability(Capability::Household)
        }
    }

    fn render(_: Context, request: ViewRequest) -> Result<View, ModuleError> {
        if request.view != "etat" {
            return Err(ModuleError::NotFound(request.view));
        }
        let count = |scope: Scope| match storage::list(scope, "") {
            Ok(entries) => entries.len().to_string(),
            Err(error) => format!("refus ({error:?})"),
        };
        let fields = |with_size: bool| {
            let mut fields = vec![
                Field::new("portee", "Portée", FieldKind::Text).value("resident"),
                Field::new("nombre", "Nombre", FieldKind::Number).value("1"),
                Field::new("prefixe", "Préfixe", FieldKind::Text).value("k"),
                Field::new("signaler", "Signaler les refus", FieldKind::Text),
            ];
            if with_size {
                fields.push(Field::new("taille", "Taille", FieldKind::Number).value("10"));
            }
            fields
        };
        Ok(View::new("Réserve")
            .key_values(vec![
                ("version", Value::text(VERSION)),
                ("entrées du résident", Value::text(count(Scope::Resident))),
                ("entrées de la commune", Value::text(count(Scope::Town))),
            ])
            .form("remplir", "Remplir", fields(true))
            .form("vider", "Vider", fields(false)))
    }

    fn act(
        _: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        let fields = Fields::from(fields);
        let scope = if fields.get("portee") == "commune" {
            Scope::Town
        } else {
            Scope::Resident
        };
        let number = |name: &str, default: usize| fields.get(name).parse().unwrap_or(default);
        let count = number("nombre", 1);
        let value = "x".repeat(number("taille", 10));
        let prefix = match fields.get("prefixe") {
            "" => "k",
            prefix => prefix,
        };
        let report = fields.get("signaler") == "oui";
        let mut done = 0;
        for index in 0..count {
            let key = format!("{prefix}:{index:06}");
            let written: Result<(), StorageError> = match action.as_str() {
                "remplir" => storage::put(scope, &key, &value),
                "vider" => storage::delete(scope, &key),
                _ => return Err(ModuleError::NotFound(action)),
            };
            match written {
                Ok(()) => done += 1,
                Err(error) if report => {
                    return Ok(Outcome::done(
                        format!("{done} écriture(s) acceptée(s), puis refus : {error:?}."),
                        "etat",
                    ));
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Outcome::done(
            format!("{done} écriture(s) acceptée(s)."),
            "etat",
        ))
    }
}

export!(Hoarder);
