//! What module authors run, through the real `guichet` binary: `module
//! check` (each problem kind), `module keygen` / `module sign` and the
//! signatures `module publish` verifies (with the real `minisign` tool
//! too), an id kept by its publisher, an interface newer than the host's,
//! and `module preview` serving a tile, running an action on the sample
//! data and saying which limit a call hit. `module new` is built and
//! tested by tests/authoring/walk, which follows modules/README.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;

use crate::harness::{TestDatabase, Visitor, free_port, run_guichet};

fn built(crate_name: &str) -> PathBuf {
    PathBuf::from(env!("MODULES_BUILD_DIR")).join(format!("{crate_name}.wasm"))
}

/// Runs `guichet ARGS` in `dir`, with only the given `GUICHET_*` variables.
fn guichet(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_guichet(dir, args, env)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A copy of a built component in `dir`, under `name`.
fn copy(dir: &Path, crate_name: &str, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(built(crate_name), &path).unwrap();
    path
}

/// `guichet module keygen --output DIR/NAME`: the public key line.
fn keygen(dir: &Path, name: &str) -> String {
    let output = guichet(dir, &["module", "keygen", "--output", name], &[]);
    assert!(output.status.success(), "{}", text(&output));
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    public.lines().nth(1).unwrap().to_owned()
}

fn sign(dir: &Path, key: &str, file: &Path) {
    let output = guichet(
        dir,
        &["module", "sign", "--key", key, file.to_str().unwrap()],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output));
}

/// A configuration trusting `publishers` (name, key), on `database`.
fn configure(dir: &Path, database: &str, publishers: &[(&str, &str)], allow_unsigned: bool) {
    let table: Vec<String> = publishers
        .iter()
        .map(|(name, key)| format!("{name:?} = {key:?}"))
        .collect();
    std::fs::write(
        dir.join("guichet.toml"),
        format!(
            "database_url = {database:?}\nallow_unsigned_modules = {allow_unsigned}\nmodule_publishers = {{ {} }}\n",
            table.join(", ")
        ),
    )
    .unwrap();
}

#[test]
fn module_check_reports_each_problem_kind_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let check = |file: &str| guichet(dir.path(), &["module", "check", file], &[]);

    // A sound module: what towns will read, and nothing in the way.
    let template = copy(dir.path(), "guichet_module_places", "places.wasm");
    let sound = check(template.to_str().unwrap());
    assert!(sound.status.success(), "{}", text(&sound));
    let report = text(&sound);
    assert!(
        report.contains("interface: guichet:module@0.2.0"),
        "{report}"
    );
    assert!(
        report.contains("ok: nothing stops its publication"),
        "{report}"
    );
    assert!(report.contains("signature: none"), "{report}");
    assert!(report.contains("towns read"), "{report}");

    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (
            {
                let path = dir.path().join("texte.wasm");
                std::fs::write(&path, b"not a component").unwrap();
                path
            },
            vec!["problem: component:"],
        ),
        (
            {
                let path = dir.path().join("enorme.wasm");
                std::fs::write(&path, vec![0u8; 17 * 1024 * 1024]).unwrap();
                path
            },
            vec!["problem: size: the component weighs 17408 KiB; at most 16384 KiB"],
        ),
        (
            copy(dir.path(), "guichet_module_network", "network.wasm"),
            vec!["problem: component: the component needs imports Guichet does not give"],
        ),
        (
            copy(dir.path(), "guichet_module_future", "future.wasm"),
            vec![
                "problem: component: the module is built for interface guichet:module@0.3.0, newer than this Guichet serves (0.1.0 and 0.2.0)",
            ],
        ),
        (
            copy(dir.path(), "guichet_module_careless", "careless.wasm"),
            vec![
                "problem: manifest: id `Mon_Module` must be",
                "problem: manifest: version `un` is not a semantic version",
                "problem: manifest: name is empty",
                "problem: manifest: tile `accueil`: invalid or repeated id",
                "problem: manifest: tile `accueil` has no title",
                "problem: manifest: action `envoyer` needs a label and a view",
                "problem: manifest: capability module-config(`Autre Module`): not a module id",
                "problem: manifest: config-schema is not JSON",
            ],
        ),
        (
            copy(dir.path(), "guichet_module_impostor", "impostor.wasm"),
            vec!["problem: manifest: the id `invoices` belongs to Guichet's own modules"],
        ),
    ];
    for (file, expected) in cases {
        let output = check(file.to_str().unwrap());
        let report = text(&output);
        assert_eq!(output.status.code(), Some(1), "{report}");
        for line in expected {
            assert!(report.contains(line), "`{line}` missing from:\n{report}");
        }
        // Each problem is one line: the problems end the report, every
        // line of them is one, and there are as many as the count says.
        let stdout = String::from_utf8_lossy(&output.stdout);
        let problems: Vec<&str> = stdout
            .lines()
            .skip_while(|line| !line.starts_with("problem: "))
            .collect();
        assert!(
            problems.iter().all(|line| line.starts_with("problem: ")),
            "{stdout}"
        );
        assert!(
            report.contains(&format!("error: {} problem(s) would stop", problems.len())),
            "{report}"
        );
        assert!(
            report.contains("problem(s) would stop the publication"),
            "{report}"
        );
    }

    // A signature that does not match the file is a problem too, when its
    // key is one the configuration trusts.
    let key = keygen(dir.path(), "editeur");
    std::fs::write(
        dir.path().join("guichet.toml"),
        format!("module_publishers = {{ editeur = {key:?} }}\n"),
    )
    .unwrap();
    sign(dir.path(), "editeur.key", &template);
    let trusted = check(template.to_str().unwrap());
    assert!(trusted.status.success(), "{}", text(&trusted));
    assert!(
        text(&trusted).contains("trusted here as `editeur`"),
        "{}",
        text(&trusted)
    );
    std::fs::copy(built("guichet_module_hoarder"), &template).unwrap();
    let tampered = check(template.to_str().unwrap());
    assert_eq!(tampered.status.code(), Some(1), "{}", text(&tampered));
    assert!(
        text(&tampered).contains("problem: signature: the signature of publisher `editeur`"),
        "{}",
        text(&tampered)
    );
}

on_both_databases! {
    async fn a_release_is_published_only_with_a_signature_the_operator_trusts(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        let civitas = keygen(path, "civitas");
        let other = keygen(path, "autre");
        let hoarder = copy(path, "guichet_module_hoarder", "hoarder.wasm");
        let publish = |file: &Path| {
            guichet(path, &["module", "publish", file.to_str().unwrap()], &[])
        };

        // Unsigned: refused, unless the operator allows it.
        configure(path, &database.url, &[("civitas", &civitas)], false);
        let unsigned = publish(&hoarder);
        assert_eq!(unsigned.status.code(), Some(1));
        assert!(text(&unsigned).contains("the release is not signed"), "{}", text(&unsigned));

        // Signed by a key nobody trusts: refused.
        sign(path, "autre.key", &hoarder);
        let unknown = publish(&hoarder);
        assert_eq!(unknown.status.code(), Some(1));
        assert!(text(&unknown).contains("which this server does not trust"), "{}", text(&unknown));

        // The right key, but the bytes changed after signing: refused.
        sign(path, "civitas.key", &hoarder);
        let tampered = path.join("tampered.wasm");
        let mut bytes = std::fs::read(&hoarder).unwrap();
        bytes.push(0);
        std::fs::write(&tampered, &bytes).unwrap();
        std::fs::copy(path.join("hoarder.wasm.minisig"), path.join("tampered.wasm.minisig")).unwrap();
        let refused = publish(&tampered);
        assert_eq!(refused.status.code(), Some(1));
        assert!(text(&refused).contains("does not verify"), "{}", text(&refused));

        // A wrong key under a trusted key's id: refused.
        let forged = path.join("forged.wasm");
        std::fs::copy(&hoarder, &forged).unwrap();
        let genuine = std::fs::read_to_string(path.join("hoarder.wasm.minisig")).unwrap();
        sign(path, "autre.key", &forged);
        let decode = |line: &str| base64::engine::general_purpose::STANDARD.decode(line).unwrap();
        let civitas_id = decode(genuine.lines().nth(1).unwrap())[2..10].to_vec();
        let forged_signature = std::fs::read_to_string(path.join("forged.wasm.minisig")).unwrap();
        let mut lines: Vec<String> = forged_signature.lines().map(str::to_owned).collect();
        let mut first = decode(&lines[1]);
        first[2..10].copy_from_slice(&civitas_id);
        lines[1] = base64::engine::general_purpose::STANDARD.encode(first);
        std::fs::write(path.join("forged.wasm.minisig"), lines.join("\n") + "\n").unwrap();
        let forged_out = publish(&forged);
        assert_eq!(forged_out.status.code(), Some(1));
        assert!(text(&forged_out).contains("does not verify"), "{}", text(&forged_out));

        // Valid: published, with its publisher.
        let valid = publish(&hoarder);
        assert!(valid.status.success(), "{}", text(&valid));
        assert!(text(&valid).contains("publisher: signed by civitas"), "{}", text(&valid));
        let listed = guichet(path, &["module", "list"], &[]);
        assert!(text(&listed).contains("signed by civitas"), "{}", text(&listed));

        // The id is civitas's now: another trusted publisher cannot take
        // it, nor an unsigned build where unsigned modules are allowed.
        configure(path, &database.url, &[("civitas", &civitas), ("autre", &other)], true);
        let next = copy(path, "guichet_module_hoarder_next", "hoarder-next.wasm");
        sign(path, "autre.key", &next);
        let taken = publish(&next);
        assert_eq!(taken.status.code(), Some(1));
        assert!(
            text(&taken).contains("the module id `hoarder` belongs to publisher `civitas`"),
            "{}",
            text(&taken)
        );
        std::fs::remove_file(path.join("hoarder-next.wasm.minisig")).unwrap();
        let unsigned_next = publish(&next);
        assert_eq!(unsigned_next.status.code(), Some(1));
        assert!(text(&unsigned_next).contains("belongs to publisher `civitas`"), "{}", text(&unsigned_next));
        sign(path, "civitas.key", &next);
        let own_next = publish(&next);
        assert!(own_next.status.success(), "{}", text(&own_next));

        // Unsigned where the operator allows it: published, as unsigned.
        let places = copy(path, "guichet_module_places", "places.wasm");
        let allowed = publish(&places);
        assert!(allowed.status.success(), "{}", text(&allowed));
        assert!(text(&allowed).contains("publisher: unsigned"), "{}", text(&allowed));

        // A module built for a newer interface: refused, both versions named.
        let future = copy(path, "guichet_module_future", "future.wasm");
        let newer = publish(&future);
        assert_eq!(newer.status.code(), Some(1));
        assert!(
            text(&newer).contains("built for interface guichet:module@0.3.0, newer than this Guichet serves (0.1.0 and 0.2.0)"),
            "{}",
            text(&newer)
        );

        // Guichet's own build, signed at build time: published as Guichet's.
        let invoices = path.join("invoices.wasm");
        std::fs::copy(built("guichet_module_invoices"), &invoices).unwrap();
        std::fs::copy(
            PathBuf::from(env!("MODULES_BUILD_DIR")).join("guichet_module_invoices.wasm.minisig"),
            path.join("invoices.wasm.minisig"),
        )
        .unwrap();
        configure(path, &database.url, &[], false);
        let own = publish(&invoices);
        assert!(own.status.success(), "{}", text(&own));
        assert!(text(&own).contains("publisher: guichet"), "{}", text(&own));
    }
}

/// Our signatures are minisign's: the real tool verifies them, and we
/// verify what it signs with a key it made.
#[test]
fn signatures_are_minisigns_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let minisign = |args: &[&str]| {
        Command::new("minisign")
            .current_dir(path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("minisign is installed (tests/run installs it: apt-get install minisign)")
    };
    let places = copy(path, "guichet_module_places", "places.wasm");

    keygen(path, "guichet-key");
    sign(path, "guichet-key.key", &places);
    let verified = minisign(&["-V", "-p", "guichet-key.pub", "-m", "places.wasm"]);
    assert!(verified.status.success(), "{}", text(&verified));

    let made = minisign(&["-G", "-W", "-p", "tool.pub", "-s", "tool.key"]);
    assert!(made.status.success(), "{}", text(&made));
    std::fs::remove_file(path.join("places.wasm.minisig")).unwrap();
    let signed = minisign(&[
        "-S",
        "-s",
        "tool.key",
        "-m",
        "places.wasm",
        "-t",
        "places 0.2.0",
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let key = std::fs::read_to_string(path.join("tool.pub")).unwrap();
    let key = key.lines().nth(1).unwrap().to_owned();
    configure(path, "sqlite://check.sqlite", &[("outil", &key)], false);
    let checked = guichet(path, &["module", "check", "places.wasm"], &[]);
    assert!(checked.status.success(), "{}", text(&checked));
    assert!(
        text(&checked).contains("trusted here as `outil`"),
        "{}",
        text(&checked)
    );

    // And a key minisign made signs through `guichet module sign` too…
    std::fs::remove_file(path.join("places.wasm.minisig")).unwrap();
    sign(path, "tool.key", &places);
    let again = minisign(&["-V", "-p", "tool.pub", "-m", "places.wasm"]);
    assert!(again.status.success(), "{}", text(&again));
    // …and minisign signs with a key `guichet module keygen` made.
    std::fs::remove_file(path.join("places.wasm.minisig")).unwrap();
    let theirs = minisign(&["-S", "-s", "guichet-key.key", "-m", "places.wasm"]);
    assert!(theirs.status.success(), "{}", text(&theirs));
    configure(
        path,
        "sqlite://check.sqlite",
        &[("nous", &keygen_public(path, "guichet-key"))],
        false,
    );
    let checked = guichet(path, &["module", "check", "places.wasm"], &[]);
    assert!(
        text(&checked).contains("trusted here as `nous`"),
        "{}",
        text(&checked)
    );
}

fn keygen_public(dir: &Path, name: &str) -> String {
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    public.lines().nth(1).unwrap().to_owned()
}

/// A running `guichet module preview`, killed when dropped.
struct Preview {
    child: std::process::Child,
    banners: std::sync::mpsc::Receiver<Vec<String>>,
    port: u16,
}

impl Preview {
    fn start(dir: &Path, file: &str, sample: Option<&str>) -> Self {
        use std::io::{BufRead as _, BufReader};

        let port = free_port();
        let mut args = vec![
            "module".to_owned(),
            "preview".to_owned(),
            file.to_owned(),
            "--port".to_owned(),
            port.to_string(),
        ];
        if let Some(sample) = sample {
            args.extend(["--sample".to_owned(), sample.to_owned()]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
            .current_dir(dir)
            .args(&args)
            .env_remove("GUICHET_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, banners) = std::sync::mpsc::channel();
        // Reads to the end: closing the pipe early would fail the next line.
        std::thread::spawn(move || {
            let mut banner = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push(line.clone());
                if line.starts_with("Rebuild the module") {
                    let _ = sender.send(std::mem::take(&mut banner));
                }
            }
        });
        Self {
            child,
            banners,
            port,
        }
    }

    fn banner(&self) -> Vec<String> {
        self.banners
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the preview prints its banner")
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn credentials(banner: &[String]) -> (String, String) {
    banner
        .iter()
        .find_map(|line| {
            let (identifier, password) = line
                .strip_prefix("  resident: identifiant ")?
                .split_once(", mot de passe ")?;
            Some((identifier.to_owned(), password.to_owned()))
        })
        .expect("the preview prints the resident's credentials")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_preview_serves_the_tile_and_runs_an_action_on_the_sample_data() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = copy(dir.path(), "guichet_module_template", "bloc-notes.wasm");
    std::fs::write(
        dir.path().join("essai.toml"),
        r#"
[town]
name = "Bourg-d'Essai"
[resident]
first_name = "Anne"
last_name = "Lefèvre"
email = "anne@example.org"
[config]
intro = "Les notes de la démonstration."
[storage.resident]
"note:2026-11-30T09:00:00:0000" = { written_on = "2026-11-30", text = "Note d'exemple" }
"#,
    )
    .unwrap();
    let preview = Preview::start(dir.path(), "bloc-notes.wasm", Some("essai.toml"));
    let banner = preview.banner();
    assert!(
        banner[0].starts_with("Preview of bloc-notes 0.1.4 (Bloc-notes): http://apercu.localhost:"),
        "{banner:?}"
    );
    let (identifier, password) = credentials(&banner);
    assert_eq!(identifier, "anne.lefevre");

    let mut browser = Visitor::new(preview.port, "apercu.localhost");
    assert_eq!(browser.login(&identifier, &password).await.status, 303);
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(
        home.body.contains("Bourg-d&#x27;Essai") || home.body.contains("Bourg-d'Essai"),
        "{}",
        home.body
    );
    assert!(home.body.contains("1 note"), "{}", home.body);
    let page = browser.get("/services/bloc-notes/notes").await;
    assert!(
        page.body.contains("Les notes de la démonstration."),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Note d&#x27;exemple") || page.body.contains("Note d'exemple"),
        "{}",
        page.body
    );

    let added = browser
        .submit(
            "/services/bloc-notes/notes",
            "/services/bloc-notes/actions/ajouter",
            &[("texte", "Écrite dans l'aperçu")],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert!(browser.get("/").await.body.contains("2 notes"));

    // A new build (here, the same bytes written again): the preview
    // reloads, the session and what the module stored stay.
    std::fs::write(&wasm, std::fs::read(&wasm).unwrap()).unwrap();
    let again = preview.banner();
    assert!(again[0].starts_with("Preview of bloc-notes"), "{again:?}");
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("2 notes"), "{}", home.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_preview_says_which_limit_a_call_hit() {
    let dir = tempfile::tempdir().unwrap();
    copy(dir.path(), "guichet_module_hostile", "hostile.wasm");
    let preview = Preview::start(dir.path(), "hostile.wasm", None);
    let (identifier, password) = credentials(&preview.banner());
    let mut browser = Visitor::new(preview.port, "apercu.localhost");
    assert_eq!(browser.login(&identifier, &password).await.status, 303);
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    let body = home.body.replace("&#x27;", "'");
    assert!(body.contains("Tout va bien ici."), "{body}");
    assert!(
        body.contains("Limite atteinte : temps de calcul, 100 ms par appel (module_cpu_ms)."),
        "{body}"
    );
    assert!(
        body.contains("Limite atteinte : mémoire, 32 Mio par appel (module_memory_mib)."),
        "{body}"
    );
    assert!(body.contains("Le module s'est arrêté (trap)"), "{body}");
}

/// In a Guichet checkout's `modules/`, a new module joins the workspace
/// (the standalone crate is built and tested by tests/authoring/walk); a
/// key pair is never overwritten.
#[test]
fn module_new_joins_a_modules_workspace_and_keygen_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("modules");
    std::fs::create_dir_all(modules.join("sdk")).unwrap();
    std::fs::write(
        modules.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\n    \"sdk\",\n    \"template\",\n]\n",
    )
    .unwrap();
    std::fs::write(
        modules.join("sdk/Cargo.toml"),
        "[package]\nname = \"guichet-module-sdk\"\n",
    )
    .unwrap();
    let made = guichet(&modules, &["module", "new", "agenda"], &[]);
    assert!(made.status.success(), "{}", text(&made));
    assert!(
        text(&made).contains("added to the members of modules/Cargo.toml"),
        "{}",
        text(&made)
    );
    assert!(
        text(&made).contains("guichet module check ../target/wasm32-wasip2/release/agenda.wasm"),
        "{}",
        text(&made)
    );
    let workspace: toml::Table =
        toml::from_str(&std::fs::read_to_string(modules.join("Cargo.toml")).unwrap()).unwrap();
    let members: Vec<&str> = workspace["workspace"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|member| member.as_str())
        .collect();
    assert_eq!(members, ["sdk", "template", "agenda"]);
    let manifest = std::fs::read_to_string(modules.join("agenda/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("guichet-module-sdk.workspace = true"),
        "{manifest}"
    );
    let source = std::fs::read_to_string(modules.join("agenda/src/lib.rs")).unwrap();
    assert!(source.contains("const ID: &str = \"agenda\";"), "{source}");
    assert!(modules.join("agenda/apercu.toml").is_file());

    let again = guichet(&modules, &["module", "new", "agenda"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    let theirs = guichet(&modules, &["module", "new", "invoices"], &[]);
    assert!(
        text(&theirs).contains("is Guichet's own"),
        "{}",
        text(&theirs)
    );

    keygen(dir.path(), "editeur");
    let secret = std::fs::read_to_string(dir.path().join("editeur.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("editeur.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let overwrite = guichet(
        dir.path(),
        &["module", "keygen", "--output", "editeur"],
        &[],
    );
    assert_eq!(overwrite.status.code(), Some(1));
    assert!(
        text(&overwrite).contains("is never overwritten"),
        "{}",
        text(&overwrite)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("editeur.key")).unwrap(),
        secret
    );
}
