//! Write a Guichet service module in ordinary Rust — interface 0.1.0.
//!
//! **Frozen**: a copy of the SDK as it was when interface 0.2.0 came, kept
//! so the modules built against 0.1.0 keep building against it, unchanged
//! (they depend on this crate under the name `guichet-module-sdk`). New
//! modules use `modules/sdk`, the SDK of 0.2.0.
//!
//! A module is a type implementing [`Module`], exported with [`export!`]:
//!
//! ```ignore
//! use guichet_module_sdk::*;
//!
//! struct Hello;
//!
//! impl Module for Hello {
//!     fn describe() -> Manifest {
//!         Manifest::new("hello", "Bonjour", env!("CARGO_PKG_VERSION"))
//!             .tile("bonjour", "Bonjour", Slot::Dashboard)
//!     }
//!     fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError> {
//!         Ok(View::new("Bonjour").paragraph(format!("Bienvenue à {}", context.town.name)))
//!     }
//!     fn act(_: Context, action: String, _: Vec<(String, String)>) -> Result<Outcome, ModuleError> {
//!         Err(ModuleError::NotFound(action))
//!     }
//! }
//!
//! export!(Hello);
//! ```
//!
//! The host calls the module with a [`Context`] it built (the town, the
//! resident, the town's configuration of the module); the module answers
//! with data ([`View`]: headings, tables, forms…) that Guichet renders in the
//! town's theme. Data is reached only through [`storage`], [`household`] and
//! [`requests`], which the host scopes to the town and resident of the call.

#![allow(clippy::new_ret_no_self)]

/// The bindings of the WIT interface (`modules/wit/0.1.0`).
// The generated glue between Rust and the component model is `unsafe` by
// nature (raw pointers into linear memory); it is wit-bindgen's, not ours.
#[allow(unsafe_code, unused_qualifications, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.1.0",
        world: "guichet:module/module@0.1.0",
        pub_export_macro: true,
        default_bindings_module: "guichet_module_sdk::bindings",
    });
}

pub mod forms;
pub mod storage;
mod views;

pub use bindings::Guest as Module;
pub use bindings::export;
pub use bindings::guichet::module::host::{HostError, Level, Member, NewRequest};
pub use bindings::guichet::module::types::{
    ActionDeclaration, Block, Capability, Choice, Context, DateTime, Field, FieldKind, Form,
    KeyValue, Link, Manifest, ModuleError, Notice, Outcome, Resident, Slot, Table, TileDeclaration,
    Tone, Town, Value, View, ViewRequest,
};
pub use forms::Fields;

/// Reads the town's configuration of the module (JSON valid against the
/// manifest's schema, checked by Guichet when the town enabled the module).
pub fn config<T: serde::de::DeserializeOwned>(context: &Context) -> Result<T, ModuleError> {
    serde_json::from_str(&context.config)
        .map_err(|error| ModuleError::InvalidConfig(error.to_string()))
}

/// The household of the resident of the call, the resident first.
/// Needs [`Capability::Household`].
pub fn household() -> Result<Vec<Member>, HostError> {
    bindings::guichet::module::host::household()
}

/// Creating requests ("demandes"). Needs [`Capability::Requests`].
pub mod requests {
    use super::{HostError, NewRequest, bindings};

    /// Creates a request for the resident of the call. It is recorded when
    /// `act` returns successfully; Guichet shows its reference with the
    /// outcome's notice.
    pub fn create(kind: &str, title: &str, details: &[(&str, &str)]) -> Result<(), HostError> {
        let request = NewRequest {
            kind: kind.to_owned(),
            title: title.to_owned(),
            details: details
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        };
        bindings::guichet::module::host::create_request(&request)
    }
}

/// Writes to Guichet's log, with the town, module and version of the call.
pub fn log(level: Level, message: &str) {
    bindings::guichet::module::host::log(level, message);
}

/// Now, in the town's time zone.
pub fn now() -> DateTime {
    bindings::guichet::module::host::now()
}

impl From<HostError> for ModuleError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::NotAllowed => {
                ModuleError::Failed("the manifest does not ask for this capability".to_owned())
            }
            HostError::Invalid(message) => ModuleError::Failed(message),
            HostError::Unavailable => ModuleError::Failed("the host is unavailable".to_owned()),
        }
    }
}

/// A parameter of a view request, by name.
pub fn param<'a>(request: &'a ViewRequest, name: &str) -> Option<&'a str> {
    request
        .params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}
