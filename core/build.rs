//! Builds the WebAssembly modules of `modules/` (a workspace of its own) for
//! `wasm32-wasip2`, as part of the normal build, the way Spin and wasmtime
//! build their test components: no manual step, no extra tool.
//!
//! The first-party modules are embedded in the binary (applying towns
//! publishes them); the folder of every built module is given to the tests
//! and benches through `MODULES_BUILD_DIR` (not `GUICHET_…`: cargo also sets
//! it when running them, and `GUICHET_*` variables are configuration).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates of `modules/` embedded in the binary, by module id.
const EMBEDDED: &[(&str, &str)] = &[
    ("invoices", "guichet_module_invoices"),
    ("absences", "guichet_module_absences"),
    ("tariffs", "guichet_module_tariffs"),
    ("bloc-notes", "guichet_module_template"),
    ("bookings", "guichet_module_bookings"),
];

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.clone());
    let modules = root.join("modules");
    println!("cargo:rerun-if-changed={}", modules.display());

    // A target directory of its own: the outer cargo holds a lock on its own.
    let target_dir = root.join("target").join("modules");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(&modules)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // What the outer build sets for its own target must not leak into the
    // guests' (clippy's driver, host RUSTFLAGS, a forced target).
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        command.env_remove(variable);
    }
    // The same sources give the same bytes wherever the checkout and the
    // cargo home are: a first-party release is identified by its SHA-256,
    // and a demo or a deployment restarted from another clone must find
    // the release it published unchanged, not "other content".
    let mut remaps = vec![format!("--remap-path-prefix={}=/guichet", root.display())];
    if let Some(cargo_home) = cargo_home() {
        remaps.push(format!(
            "--remap-path-prefix={}=/cargo",
            cargo_home.display()
        ));
    }
    command.env("CARGO_ENCODED_RUSTFLAGS", remaps.join("\x1f"));
    let status = command.status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!(
            "building the modules failed ({status}); run `cargo build --release --target wasm32-wasip2` in modules/ to see why"
        )),
        Err(error) => fail(&format!("cannot run cargo to build the modules: {error}")),
    }

    let built = target_dir.join("wasm32-wasip2").join("release");
    println!("cargo:rustc-env=MODULES_BUILD_DIR={}", built.display());

    let mut embedded = String::from(
        "/// First-party modules built from `modules/`: (module id, component bytes).\n\
         pub const FIRST_PARTY_MODULES: &[(&str, &[u8])] = &[\n",
    );
    for (id, crate_name) in EMBEDDED {
        let path = built.join(format!("{crate_name}.wasm"));
        if !path.is_file() {
            fail(&format!("{} was not built", path.display()));
        }
        embedded.push_str(&format!(
            "    ({id:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    embedded.push_str("];\n");
    let out = PathBuf::from(env("OUT_DIR")).join("first_party_modules.rs");
    if let Err(error) = std::fs::write(&out, embedded) {
        fail(&format!("cannot write {}: {error}", out.display()));
    }
}

/// Where cargo keeps the crates' sources: `CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(&format!("cargo did not set {name}")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
