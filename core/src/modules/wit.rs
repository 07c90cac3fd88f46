//! Host bindings of each supported version of the WIT interface
//! (`modules/wit/<version>/`). A new interface version gets a module of its
//! own here, beside the older ones, which keep serving the modules built
//! against them.
//!
//! The host speaks the newest version inside: the rest of core sees 0.2.0
//! types only ([`super::compat`] turns what a 0.1.0 module answers into
//! them, and the context of a call back into 0.1.0 for it).

/// A fresh instance whose exports are type-checked one at a time, each when
/// it is called, and the calls of the given exports on it.
///
/// The bindings' own `ModulePre::instantiate_async` type-checks every export
/// of the world at each instantiation (`ModuleIndices::load`), seven for
/// 0.2.0, though a call uses one: about a tenth of a tile's instructions,
/// the `View` and `Manifest` types being deep (docs/PERFORMANCE.md, eighth
/// round). The check is redundant with the one `ModulePre::new` made once
/// against the component's types (`ModuleIndices::new`), which is what
/// refuses a component whose exports do not match; the export called is
/// still checked again here, by `get_typed_func`, so that no typed call
/// is made without a check (`TypedFunc::new_unchecked` would save that one
/// too, at the price of an `unsafe` block).
macro_rules! lean_exports {
    ($(
        $(#[$doc:meta])*
        fn $call:ident = $field:ident($($arg:ident: $ty:ty),*) -> $answer:ty;
    )*) => {
        /// A fresh instance of the component (see `lean_exports!`).
        pub struct LeanInstance<'a> {
            instance: wasmtime::component::Instance,
            indices: &'a ModuleIndices,
        }

        impl std::fmt::Debug for LeanInstance<'_> {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.debug_struct("LeanInstance").finish_non_exhaustive()
            }
        }

        impl<T: Send + 'static> ModulePre<T> {
            /// Instantiates the component in `store`, its exports not yet
            /// type-checked.
            pub async fn instantiate_lean(
                &self,
                store: &mut wasmtime::Store<T>,
            ) -> wasmtime::Result<LeanInstance<'_>> {
                let instance = self.instance_pre.instantiate_async(&mut *store).await?;
                Ok(LeanInstance {
                    instance,
                    indices: &self.indices,
                })
            }
        }

        impl LeanInstance<'_> {
            $(
                $(#[$doc])*
                pub async fn $call<T: Send>(
                    &self,
                    store: &mut wasmtime::Store<T>,
                    $($arg: $ty),*
                ) -> wasmtime::Result<$answer> {
                    let func = self
                        .instance
                        .get_typed_func::<($($ty,)*), ($answer,)>(&mut *store, &self.indices.$field)?;
                    let (answer,) = func.call_async(&mut *store, ($($arg,)*)).await?;
                    Ok(answer)
                }
            )*
        }
    };
}

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
    lean_exports! {
        /// `describe`: the manifest.
        fn call_describe = describe() -> Manifest;
        /// `render`: a resident's view.
        fn call_render = render(context: &Context, request: &ViewRequest) -> Result<View, ModuleError>;
        /// `act`: a resident's submitted form.
        fn call_act = act(
            context: &Context,
            action: &str,
            fields: &[(String, String)]
        ) -> Result<Outcome, ModuleError>;
    }

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
        // PartialEq: a reused view's context is compared with the call's
        // (view_cache.rs).
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });

    pub use self::guichet::module::{host, types};
    lean_exports! {
        /// `describe`: the manifest.
        fn call_describe = describe() -> Manifest;
        /// `render`: a resident's view.
        fn call_render = render(context: &Context, request: &ViewRequest) -> Result<View, ModuleError>;
        /// `render-staff`: a staff view.
        fn call_render_staff = render_staff(
            context: &Context,
            request: &ViewRequest
        ) -> Result<View, ModuleError>;
        /// `act`: a resident's submitted form.
        fn call_act = act(
            context: &Context,
            action: &str,
            fields: &[(String, String)]
        ) -> Result<Outcome, ModuleError>;
        /// `act-staff`: a staff member's submitted form.
        fn call_act_staff = act_staff(
            context: &Context,
            action: &str,
            fields: &[(String, String)]
        ) -> Result<Outcome, ModuleError>;
        /// `document`: one of the module's documents.
        fn call_document = document(
            context: &Context,
            id: &str,
            params: &[(String, String)]
        ) -> Result<Document, ModuleError>;
        /// `handle-event`: an event the module subscribed to.
        fn call_handle_event = handle_event(context: &Context, event: &Event) -> Result<(), ModuleError>;
    }

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
    /// Every version this binary serves, oldest first.
    pub const SERVED: [Self; 2] = [Self::V0_1, Self::V0_2];

    /// What the served versions are, for messages: "0.1.0 and 0.2.0".
    pub fn served() -> String {
        Self::SERVED
            .iter()
            .map(|interface| interface.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The versions of `guichet:module` a component's imports name
    /// (`guichet:module/host@0.2.0` → `0.2.0`), newest last.
    pub fn named_in<'a>(imports: impl Iterator<Item = &'a str>) -> Vec<semver::Version> {
        let mut versions: Vec<semver::Version> = imports
            .filter_map(|name| name.strip_prefix("guichet:module/"))
            .filter_map(|name| name.split_once('@'))
            .filter_map(|(_, version)| semver::Version::parse(version).ok())
            .collect();
        versions.sort();
        versions.dedup();
        versions
    }

    /// Why a component naming `version` is refused: built for a newer
    /// interface than this binary serves, or for one it never served.
    pub fn refusal(version: &semver::Version) -> Option<String> {
        if Self::parse(&version.to_string()).is_some() {
            return None;
        }
        let newest = Self::SERVED[Self::SERVED.len() - 1].as_str();
        let newer = semver::Version::parse(newest).is_ok_and(|newest| *version > newest);
        Some(if newer {
            format!(
                "the module is built for interface guichet:module@{version}, newer than this Guichet serves ({}): upgrade Guichet, or build the module against guichet-module-sdk {newest}",
                Self::served()
            )
        } else {
            format!(
                "the module is built for interface guichet:module@{version}, which this Guichet does not serve ({}): build it against guichet-module-sdk {newest}",
                Self::served()
            )
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_interface_is_refused_naming_both_versions() {
        let versions = Interface::named_in(
            [
                "wasi:io/streams@0.2.0",
                "guichet:module/host@0.3.0",
                "guichet:module/types@0.3.0",
            ]
            .into_iter(),
        );
        assert_eq!(versions, vec![semver::Version::new(0, 3, 0)]);
        let refusal = Interface::refusal(&versions[0]).unwrap();
        assert!(refusal.contains("guichet:module@0.3.0"), "{refusal}");
        assert!(refusal.contains("0.1.0 and 0.2.0"), "{refusal}");
        assert!(refusal.contains("upgrade Guichet"), "{refusal}");
        assert!(Interface::refusal(&semver::Version::new(0, 2, 0)).is_none());
        let odd = Interface::refusal(&semver::Version::new(0, 1, 5)).unwrap();
        assert!(odd.contains("does not serve"), "{odd}");
    }
}
