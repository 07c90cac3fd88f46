//! Host bindings of each supported version of the WIT interface
//! (`modules/wit/<version>/`). A new interface version gets a module of its
//! own here, beside the older ones, which keep serving the modules built
//! against them.

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
