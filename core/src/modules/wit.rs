//! Host bindings of each supported version of the WIT interface
//! (`modules/wit/<version>/`). A new interface version gets a module of its
//! own here, beside the older ones, which keep serving the modules built
//! against them.
//!
//! The host speaks the newest version inside: the rest of core sees 0.2.0
//! types only ([`super::compat`] turns what a 0.1.0 module answers into
//! them, and the context of a call back into 0.1.0 for it).

/// `guichet:module@0.1.0`.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../modules/wit/0.1.0",
        world: "guichet:module/module@0.1.0",
        imports: { default: async },
        exports: { default: async },
        // Manifests are stored as JSON.
        additional_derives: [serde::Serialize, serde::Deserialize],
    });

    pub use self::guichet::module::{host, types};

    /// The version string stored with each release built against it.
    pub const INTERFACE: &str = "0.1.0";
}

/// `guichet:module@0.2.0`: what the host's model is made of.
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../modules/wit/0.2.0",
        world: "guichet:module/module@0.2.0",
        imports: { default: async },
        exports: { default: async },
        // Manifests are stored as JSON.
        additional_derives: [serde::Serialize, serde::Deserialize],
    });

    pub use self::guichet::module::{host, types};

    /// The version string stored with each release built against it.
    pub const INTERFACE: &str = "0.2.0";
}

/// The interface version a release implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Interface {
    V0_1,
    V0_2,
}

impl Interface {
    /// As stored in `module_release.interface`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_1 => v0_1::INTERFACE,
            Self::V0_2 => v0_2::INTERFACE,
        }
    }

    /// As stored; `None` for a version this binary does not serve.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            v0_1::INTERFACE => Some(Self::V0_1),
            v0_2::INTERFACE => Some(Self::V0_2),
            _ => None,
        }
    }
}
