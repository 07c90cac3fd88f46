//! A module that misbehaves on purpose: each tile is one misdeed the host
//! must contain, and `espion` reports what its snooping got, for the tests
//! to check it got nothing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};

use guichet_module_sdk::storage::{self, Scope};
use guichet_module_sdk::*;

struct Hostile;

impl Module for Hostile {
    fn describe() -> Manifest {
        Manifest::new("hostile", "Module hostile", env!("CARGO_PKG_VERSION"))
            .description("Un module de test qui se conduit mal.")
            .tile("sain", "Tuile saine", Slot::Dashboard)
            .tile("boucle", "Boucle infinie", Slot::Dashboard)
            .tile("memoire", "Bombe mémoire", Slot::Dashboard)
            .tile("panique", "Panique", Slot::Dashboard)
            .tile("debordement", "Débordement", Slot::Dashboard)
            .tile("sommeil", "Sommeil", Slot::Dashboard)
            .tile("espion", "Espion", Slot::Family)
            .action("deposer", "Déposer un secret", "espion")
            .capability(Capability::TownStorage)
            .capability(Capability::ResidentStorage)
    }

    fn render(_: Context, request: ViewRequest) -> Result<View, ModuleError> {
        match request.view.as_str() {
            "sain" => Ok(View::new("Tuile saine").paragraph("Tout va bien ici.")),
            "boucle" => {
                let mut turns: u64 = 0;
                loop {
                    turns = std::hint::black_box(turns.wrapping_add(1));
                }
            }
            "memoire" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panique" => panic!("panique volontaire"),
            "debordement" => Ok(View::new("Débordement").paragraph("x".repeat(4 << 20))),
            "sommeil" => {
                // Waiting costs no CPU: only the wall-clock timeout stops it.
                std::thread::sleep(std::time::Duration::from_secs(30));
                Ok(View::new("Sommeil").paragraph("Bien dormi."))
            }
            "espion" => Ok(snoop()),
            other => Err(ModuleError::NotFound(other.to_owned())),
        }
    }

    fn act(
        _: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        if action != "deposer" {
            return Err(ModuleError::NotFound(action));
        }
        let secret = Fields::from(fields).get("secret").to_owned();
        storage::put(Scope::Town, "secret", &secret)?;
        storage::put(Scope::Resident, "secret", &secret)?;
        Ok(Outcome::done("Secret déposé.", "espion"))
    }
}

/// Non-zero: in the component's data image. Counted by every render of
/// `espion`.
static CALLS: AtomicU32 = AtomicU32::new(41);
/// Zero: in the zero-filled memory past the image. Set by every render.
static SEEN: AtomicU32 = AtomicU32::new(0);
/// A string on the heap, reached from the data image. Set by every render.
static TRACE: Mutex<Option<String>> = Mutex::new(None);

/// What an earlier call left in this instance's memory — the data image,
/// the zero-filled part, the heap. Each call has a fresh instance, whose
/// memory is the component's image again even when the host reuses the
/// pages: nothing, always.
fn remembered() -> String {
    let calls = CALLS.fetch_add(1, Ordering::Relaxed);
    let seen = SEEN.swap(1, Ordering::Relaxed);
    let trace = TRACE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .replace("trace d'un appel précédent".to_owned());
    match (trace, calls, seen) {
        (Some(found), _, _) => found,
        (None, 41, 0) => "rien".to_owned(),
        (None, calls, seen) => format!("compteur à {calls}, marque à {seen}"),
    }
}

/// Everything a module could try to reach beyond its own scope, and what it
/// got, one line each.
fn snoop() -> View {
    let read = |scope: Scope, key: &str| match storage::get(scope, key) {
        Ok(Some(value)) => format!("valeur « {value} »"),
        Ok(None) => "rien".to_owned(),
        Err(error) => format!("refus ({error:?})"),
    };
    let rows = vec![
        ("mémoire des appels précédents", remembered()),
        ("commune : secret", read(Scope::Town, "secret")),
        ("résident : secret", read(Scope::Resident, "secret")),
        ("commune : ../secret", read(Scope::Town, "../secret")),
        ("commune : %", read(Scope::Town, "%")),
        (
            "liste commune",
            match storage::list(Scope::Town, "") {
                Ok(entries) => format!("{} entrée(s)", entries.len()),
                Err(error) => format!("refus ({error:?})"),
            },
        ),
        (
            "écriture en rendu",
            match storage::put(Scope::Town, "graffiti", "x") {
                Ok(()) => "acceptée".to_owned(),
                Err(error) => format!("refus ({error:?})"),
            },
        ),
        (
            "foyer",
            match household() {
                Ok(members) => format!("{} membre(s)", members.len()),
                Err(error) => format!("refus ({error:?})"),
            },
        ),
    ];
    let pairs = rows
        .into_iter()
        .map(|(key, value)| (key, Value::text(value)))
        .collect();
    View::new("Espion").key_values(pairs).form(
        "deposer",
        "Déposer",
        vec![Field::new("secret", "Secret", FieldKind::Text).required()],
    )
}

export!(Hostile);
