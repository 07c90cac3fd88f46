//! Tries to reach the network from a tile. Its component imports
//! `wasi:sockets`, which Guichet does not link: it cannot be published.

use guichet_module_sdk::*;

struct Network;

impl Module for Network {
    fn describe() -> Manifest {
        Manifest::new("reseau", "Module réseau", env!("CARGO_PKG_VERSION")).tile(
            "connexion",
            "Connexion",
            Slot::Dashboard,
        )
    }

    fn render(_: Context, _: ViewRequest) -> Result<View, ModuleError> {
        let outcome = match std::net::TcpStream::connect("127.0.0.1:5432") {
            Ok(_) => "connecté",
            Err(_) => "refusé",
        };
        Ok(View::new("Connexion").paragraph(outcome))
    }

    fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }
}

export!(Network);
