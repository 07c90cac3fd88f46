//! A module of an interface newer than the host's: it imports
//! `guichet:module/host@0.3.0`, which the host must name when refusing it.

// The generated glue is `unsafe` by nature; it is wit-bindgen's.
#[allow(unsafe_code, unused_qualifications, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "guichet:module/module@0.3.0",
    });
}

struct Future;

impl bindings::Guest for Future {
    fn describe() -> String {
        // Called, so that the import stays in the component.
        bindings::guichet::module::host::log("describe");
        "future".to_owned()
    }
}

// The exported functions are wit-bindgen's `unsafe` glue too.
#[allow(unsafe_code)]
mod exported {
    use super::{Future, bindings};
    bindings::export!(Future with_types_in bindings);
}
