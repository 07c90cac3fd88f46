//! Builds the WebAssembly modules of `modules/` (a workspace of its own) for
//! `wasm32-wasip2`, as part of the normal build, the way Spin and wasmtime
//! build their test components: no manual step, no extra tool.
//!
//! The first-party modules are embedded in the binary (applying towns
//! publishes them) and signed with Guichet's key (minisign's format, the
//! signature beside each `.wasm` as `.wasm.minisig`, and in the binary):
//! the key named by `MODULES_SIGNING_KEY` (a minisign secret key file:
//! release builds; not `GUICHET_…`, which is configuration), else this
//! checkout's own, made at its first build in
//! `target/modules/guichet-build.key` and never committed. The binary
//! checks its modules' signatures with the public half; `module publish`
//! trusts it as Guichet only when it is the release key (a checkout's key
//! is readable by whoever reads its `target/`). The folder of every built module is given to the tests
//! and benches through `MODULES_BUILD_DIR` (not `GUICHET_…`: cargo also sets
//! it when running them, and `GUICHET_*` variables are configuration).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/modules/minisign.rs"]
#[allow(dead_code)]
mod minisign;

/// A release build signs with this key (a minisign secret key file).
const SIGNING_KEY_VARIABLE: &str = "MODULES_SIGNING_KEY";

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
    ensure_wasm_target(&root);

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

    let (key, is_release_key) = signing_key(&target_dir);
    let mut embedded = String::from(
        "/// First-party modules built from `modules/`, signed with Guichet's key.\n\
         pub const FIRST_PARTY_MODULES: &[FirstPartyModule] = &[\n",
    );
    for (id, crate_name) in EMBEDDED {
        let path = built.join(format!("{crate_name}.wasm"));
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|error| fail(&format!("{} was not built: {error}", path.display())));
        let signature = key.sign(&bytes, &format!("guichet module {id} ({crate_name}.wasm)"));
        let signature_path = built.join(format!("{crate_name}.wasm.minisig"));
        if let Err(error) = std::fs::write(&signature_path, &signature) {
            fail(&format!(
                "cannot write {}: {error}",
                signature_path.display()
            ));
        }
        embedded.push_str(&format!(
            "    FirstPartyModule {{ id: {id:?}, bytes: include_bytes!({:?}), signature: {signature:?} }},\n",
            path.display().to_string()
        ));
    }
    embedded.push_str("];\n");
    let out = PathBuf::from(env("OUT_DIR"));
    write(&out.join("first_party_modules.rs"), &embedded);
    write(
        &out.join("guichet_publisher_key.rs"),
        &format!(
            "/// The public key of the build that signed the first-party modules.\n\
             const GUICHET_PUBLISHER_KEY: &str = {:?};\n\
             /// Whether it is the release key (`{SIGNING_KEY_VARIABLE}`), trusted to publish.\n\
             const GUICHET_KEY_IS_RELEASE_KEY: bool = {is_release_key};\n",
            key.public().encoded()
        ),
    );
}

/// The modules' target, `wasm32-wasip2`, listed by rust-toolchain.toml:
/// rustup installs the toolchain the file names but, with auto-install off
/// or for a toolchain already there, not always its targets. Checked (and
/// installed through rustup, as `rustup toolchain install` would) before
/// anything is built, so that a first build stops in its first minute
/// with the one command that fixes it, not after the heavy crates.
fn ensure_wasm_target(root: &Path) {
    const TARGET: &str = "wasm32-wasip2";
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let installed = || {
        Command::new(&rustc)
            .args(["--print", "target-libdir", "--target", TARGET])
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
            .is_some_and(|libdir| libdir.is_dir())
    };
    if installed() {
        return;
    }
    // The toolchain rustup's proxy runs (`1.95.0-x86_64-…`), if any.
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    let mut rustup = Command::new("rustup");
    rustup.current_dir(root).args(["target", "add", TARGET]);
    if let Some(toolchain) = &toolchain {
        rustup.args(["--toolchain", toolchain]);
    }
    println!(
        "cargo:warning=the {TARGET} target (rust-toolchain.toml) was missing: installing it with `rustup target add {TARGET}`"
    );
    let added = rustup
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !(added && installed()) {
        let command = match &toolchain {
            Some(toolchain) => format!("rustup target add {TARGET} --toolchain {toolchain}"),
            None => format!("rustup target add {TARGET}"),
        };
        fail(&format!(
            "the modules are built for {TARGET}, which this Rust toolchain lacks; run `{command}` \
             (or `rustup toolchain install` in the checkout, which installs what \
             rust-toolchain.toml lists), then build again"
        ));
    }
}

/// The release key if one is named (true), else this checkout's (made
/// once).
fn signing_key(target_dir: &Path) -> (minisign::SecretKey, bool) {
    println!("cargo:rerun-if-env-changed={SIGNING_KEY_VARIABLE}");
    if let Some(path) = std::env::var_os(SIGNING_KEY_VARIABLE) {
        let path = PathBuf::from(path);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            fail(&format!(
                "{SIGNING_KEY_VARIABLE}: cannot read {}: {error}",
                path.display()
            ))
        });
        let key = minisign::SecretKey::parse(&text).unwrap_or_else(|error| match error {
            minisign::MinisignError::EncryptedSecretKey => fail(&format!(
                "{SIGNING_KEY_VARIABLE}: {} is protected by a password; a build signs without a prompt: give the absolute path of an unencrypted key (`guichet module keygen`, or `minisign -G -W`)",
                path.display()
            )),
            error => fail(&format!(
                "{SIGNING_KEY_VARIABLE}: {}: {error}",
                path.display()
            )),
        });
        return (key, true);
    }
    let path = target_dir.join("guichet-build.key");
    if let Some(key) = read_key(&path) {
        return (key, false);
    }
    let mut seed = [0; 32];
    let mut id = [0; 8];
    if let Err(error) = getrandom::fill(&mut seed).and_then(|()| getrandom::fill(&mut id)) {
        fail(&format!(
            "no randomness for the build's signing key: {error}"
        ));
    }
    let key = minisign::SecretKey::from_random(seed, id);
    if let Err(error) = std::fs::create_dir_all(target_dir) {
        fail(&format!("cannot create {}: {error}", target_dir.display()));
    }
    if !write_private(&path, &key.file()) {
        // Another build made it meanwhile (cargo and an editor's checker
        // building at once): theirs is the checkout's key.
        if let Some(key) = read_key(&path) {
            return (key, false);
        }
    }
    (key, false)
}

fn read_key(path: &Path) -> Option<minisign::SecretKey> {
    // Another build may be writing it this very moment: a few tries
    // before calling it damaged.
    let mut tries = 0;
    loop {
        let text = std::fs::read_to_string(path).ok()?;
        match minisign::SecretKey::parse(&text) {
            Ok(key) => return Some(key),
            Err(_) if tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(error) => fail(&format!(
                "{}: {error} (delete it: a new one is made)",
                path.display()
            )),
        }
    }
}

/// Writes a secret, readable by its owner only where the system says so;
/// false when the file already exists.
fn write_private(path: &Path, text: &str) -> bool {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            if let Err(error) = std::io::Write::write_all(&mut file, text.as_bytes()) {
                fail(&format!("cannot write {}: {error}", path.display()));
            }
            true
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(error) => fail(&format!("cannot write {}: {error}", path.display())),
    }
}

fn write(path: &Path, text: &str) {
    if let Err(error) = std::fs::write(path, text) {
        fail(&format!("cannot write {}: {error}", path.display()));
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
