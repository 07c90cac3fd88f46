//! Write a Guichet service module in ordinary Rust — interface 0.2.0.
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
//! resident or the staff member, the town's configuration of the module);
//! the module answers with data ([`View`]: headings, tables, forms…) that
//! Guichet renders in the town's theme. Data is reached only through
//! [`storage`], [`household`], [`requests`], [`notify`] and
//! [`module_config`], which the host scopes to the town and resident of the
//! call.
//!
//! Only `describe`, `render` and `act` must be written: staff views and
//! actions, documents and events answer "not found" (or do nothing) until a
//! module declares and implements them.
//!
//! The SDK of interface 0.1.0 is kept, frozen, as `guichet-module-sdk-v0-1`
//! (`modules/sdk-0.1`), for the modules built against it.

#![allow(clippy::new_ret_no_self)]

/// The bindings of the WIT interface (`modules/wit/0.2.0`).
// The generated glue between Rust and the component model is `unsafe` by
// nature (raw pointers into linear memory); it is wit-bindgen's, not ours.
#[allow(unsafe_code, unused_qualifications, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.2.0",
        world: "guichet:module/module@0.2.0",
        pub_export_macro: true,
        default_bindings_module: "guichet_module_sdk::bindings",
        // Views and outcomes compare in a module's own tests.
        additional_derives: [PartialEq],
    });
}

pub mod forms;
pub mod storage;
mod views;

pub use bindings::guichet::module::host::{
    HostError, Level, Member, NewRequest, Notification, Recipient,
};
pub use bindings::guichet::module::types::{
    ActionDeclaration, Block, Capability, Choice, Context, DateTime, Document, DocumentDeclaration,
    Done, Event, Field, FieldGroup, FieldKind, Form, KeyValue, Link, Manifest, ModuleError, Notice,
    Outcome, Payable, Payment, Resident, Slot, StaffActionDeclaration, StaffMember, StaffRole,
    StaffViewDeclaration, Table, TileDeclaration, Tone, Town, Value, View, ViewRequest,
};
pub use forms::Fields;

/// The parameter the host adds when it renders a tile on "Mon accueil":
/// `affichage=tuile`. A tile is a summary — the figure that matters first
/// (e.g. "45,00 € à régler"), then the main action as a link to the view
/// itself without the parameter, its page, where full tables and forms go.
/// A module that ignores it shows the same view in both places.
pub const TILE_PARAM: (&str, &str) = ("affichage", "tuile");

/// Whether `request` renders its view as a tile on "Mon accueil".
pub fn is_tile(request: &ViewRequest) -> bool {
    request
        .params
        .iter()
        .any(|(name, value)| name == TILE_PARAM.0 && value == TILE_PARAM.1)
}

/// What a module implements. `describe`, `render` and `act` are required;
/// the other exports have defaults for a module that declares no staff
/// view, staff action or document and handles no event.
pub trait Module {
    /// Describes the module; called when it is published.
    fn describe() -> Manifest;

    /// Renders a resident's view: a tile (its id is a view) or a page.
    fn render(context: Context, request: ViewRequest) -> Result<View, ModuleError>;

    /// Handles a submitted form of one of the manifest's actions.
    fn act(
        context: Context,
        action: String,
        fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError>;

    /// Renders one of the manifest's staff views (`context.staff` is set).
    fn render_staff(_context: Context, request: ViewRequest) -> Result<View, ModuleError> {
        Err(ModuleError::NotFound(request.view))
    }

    /// Handles a submitted form of one of the manifest's staff actions.
    fn act_staff(
        _context: Context,
        action: String,
        _fields: Vec<(String, String)>,
    ) -> Result<Outcome, ModuleError> {
        Err(ModuleError::NotFound(action))
    }

    /// Produces one of the manifest's documents for the resident of the
    /// call. Never writes.
    fn document(
        _context: Context,
        id: String,
        _params: Vec<(String, String)>,
    ) -> Result<Document, ModuleError> {
        Err(ModuleError::NotFound(id))
    }

    /// Handles an event (a confirmed payment); may write, as `act` does.
    /// A module that handles none ignores them.
    fn handle_event(_context: Context, _event: Event) -> Result<(), ModuleError> {
        Ok(())
    }
}

/// Exports a type implementing [`Module`] as the component's exports.
#[macro_export]
macro_rules! export {
    ($module:ty) => {
        #[doc(hidden)]
        struct __GuichetModuleExports;

        impl $crate::bindings::Guest for __GuichetModuleExports {
            fn describe() -> $crate::Manifest {
                <$module as $crate::Module>::describe()
            }
            fn render(
                context: $crate::Context,
                request: $crate::ViewRequest,
            ) -> ::core::result::Result<$crate::View, $crate::ModuleError> {
                <$module as $crate::Module>::render(context, request)
            }
            fn act(
                context: $crate::Context,
                action: ::std::string::String,
                fields: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<$crate::Outcome, $crate::ModuleError> {
                <$module as $crate::Module>::act(context, action, fields)
            }
            fn render_staff(
                context: $crate::Context,
                request: $crate::ViewRequest,
            ) -> ::core::result::Result<$crate::View, $crate::ModuleError> {
                <$module as $crate::Module>::render_staff(context, request)
            }
            fn act_staff(
                context: $crate::Context,
                action: ::std::string::String,
                fields: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<$crate::Outcome, $crate::ModuleError> {
                <$module as $crate::Module>::act_staff(context, action, fields)
            }
            fn document(
                context: $crate::Context,
                id: ::std::string::String,
                params: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<$crate::Document, $crate::ModuleError> {
                <$module as $crate::Module>::document(context, id, params)
            }
            fn handle_event(
                context: $crate::Context,
                event: $crate::Event,
            ) -> ::core::result::Result<(), $crate::ModuleError> {
                <$module as $crate::Module>::handle_event(context, event)
            }
        }

        $crate::bindings::export!(__GuichetModuleExports with_types_in $crate::bindings);
    };
}

/// Reads the town's configuration of the module (JSON valid against the
/// manifest's schema, checked by Guichet when the town enabled the module).
pub fn config<T: serde::de::DeserializeOwned>(context: &Context) -> Result<T, ModuleError> {
    serde_json::from_str(&context.config)
        .map_err(|error| ModuleError::InvalidConfig(error.to_string()))
}

/// The town's configuration of another module, decoded; `None` when the
/// town has not enabled it. Needs [`Capability::ModuleConfig`] naming it.
pub fn module_config<T: serde::de::DeserializeOwned>(
    module: &str,
) -> Result<Option<T>, ModuleError> {
    match bindings::guichet::module::host::module_config(module)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|error| {
            ModuleError::InvalidConfig(format!("the configuration of `{module}`: {error}"))
        }),
    }
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

/// E-mailing residents, through the outbox, in the town's mail theme, once
/// the writing call's writes are committed (never when it fails; at most
/// 50 per call). Needs [`Capability::Notifications`].
pub mod notify {
    use super::{HostError, Link, Notification, Recipient, bindings};

    /// E-mails the resident of the call.
    pub fn resident_of_call(notification: &Notification) -> Result<(), HostError> {
        bindings::guichet::module::host::notify(&Recipient::ResidentOfCall, notification)
    }

    /// E-mails a resident of the town, by `resident.reference` (as stored
    /// by the module when the resident called it).
    pub fn resident(reference: &str, notification: &Notification) -> Result<(), HostError> {
        bindings::guichet::module::host::notify(
            &Recipient::Resident(reference.to_owned()),
            notification,
        )
    }

    impl Notification {
        /// A mail with its subject (at most 150 characters).
        pub fn new(subject: impl Into<String>) -> Self {
            Self {
                subject: subject.into(),
                paragraphs: Vec::new(),
                link: None,
            }
        }

        /// A paragraph of plain text (at most 20, 8 KiB in all).
        pub fn paragraph(mut self, text: impl Into<String>) -> Self {
            self.paragraphs.push(text.into());
            self
        }

        /// A link to one of the module's resident views.
        pub fn link(mut self, link: Link) -> Self {
            self.link = Some(link);
            self
        }
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
