//! The `guichet` binary: its commands, and its one-sentence errors.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::{TestDatabase, Visitor, free_port, repo_root, run_guichet};

/// Runs `guichet ARGS` in `dir`, with only the given `GUICHET_*` variables.
fn guichet(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_guichet(dir, args, env)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails with status 1 and one `error:` line mentioning every `expected`.
fn assert_fails_with(output: &Output, expected: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let line = text
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{text}"));
    for part in expected {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(dir.path(), &["--config", "nope.toml", "migrate"], &[]);
    assert_fails_with(&output, &["nope.toml", "does not exist"]);
}

#[test]
fn a_town_theme_whose_palette_fails_wcag_aa_is_refused_by_tenant_apply() {
    let dir = tempfile::tempdir().unwrap();
    let themes = dir.path().join("themes");
    std::fs::create_dir_all(themes.join("default")).unwrap();
    std::fs::copy(
        repo_root().join("themes/default/theme.toml"),
        themes.join("default/theme.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(themes.join("bourg")).unwrap();
    // A pale yellow: 1.5:1 as link text on white.
    std::fs::write(
        themes.join("bourg/theme.toml"),
        "[palette]\nprimary = \"#ffcc00\"\n",
    )
    .unwrap();
    let town = dir.path().join("towns/bourg");
    std::fs::create_dir_all(&town).unwrap();
    std::fs::write(
        town.join("tenant.toml"),
        "display_name = \"Bourg\"\ntheme = \"bourg\"\n[mail]\nsender_name = \"M\"\nsender_address = \"m@bourg.fr\"\n",
    )
    .unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("g.sqlite").display()
    );
    let env = [("GUICHET_DATABASE_URL", url.as_str())];
    let output = guichet(dir.path(), &["tenant", "apply", "towns"], &env);
    assert_fails_with(
        &output,
        &[
            "theme `bourg`",
            "theme.toml",
            "#ffcc00 as link text on white",
            "WCAG AA needs 4.5:1",
            "a darker shade such as",
        ],
    );

    // A town's theme changes tokens, never the kit's files.
    std::fs::write(
        themes.join("bourg/theme.toml"),
        "[palette]\nprimary = \"#0b4f8a\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(themes.join("bourg/static")).unwrap();
    std::fs::write(
        themes.join("bourg/static/guichet.css"),
        "body { font-family: serif }",
    )
    .unwrap();
    let output = guichet(dir.path(), &["tenant", "apply", "towns"], &env);
    assert_fails_with(
        &output,
        &["theme `bourg` replaces the kit's file static/guichet.css"],
    );
}

#[test]
fn an_unknown_key_in_the_file_is_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("guichet.toml"),
        "databse_url = \"sqlite://x\"\n",
    )
    .unwrap();
    let output = guichet(dir.path(), &["migrate"], &[]);
    assert_fails_with(
        &output,
        &["`databse_url`", "guichet.toml", "not a known setting"],
    );
}

#[test]
fn an_unknown_environment_variable_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(
        dir.path(),
        &["migrate"],
        &[("GUICHET_DATABSE_URL", "sqlite://x")],
    );
    assert_fails_with(&output, &["`databse_url`", "GUICHET_DATABSE_URL"]);
}

#[test]
fn a_bad_url_is_named_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(
        dir.path(),
        &["migrate"],
        &[("GUICHET_DATABASE_URL", "mysql://db/x")],
    );
    assert_fails_with(
        &output,
        &[
            "`database_url`",
            "environment variable GUICHET_DATABASE_URL",
            "mysql",
        ],
    );

    std::fs::write(dir.path().join("other.toml"), "smtp_url = \"not a url\"\n").unwrap();
    let output = guichet(
        dir.path(),
        &["migrate"],
        &[("GUICHET_CONFIG", "other.toml")],
    );
    assert_fails_with(&output, &["`smtp_url`", "other.toml", "not a URL"]);
}

#[test]
fn a_value_of_the_wrong_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(dir.path(), &["migrate"], &[("GUICHET_PORT", "eighty")]);
    assert_fails_with(&output, &["`port`", "GUICHET_PORT"]);
}

#[test]
fn serve_requires_a_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(dir.path(), &["serve"], &[]);
    assert_fails_with(&output, &["`secret_key`", "openssl rand -base64 32"]);
}

#[test]
fn usage_errors_exit_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(dir.path(), &["tenant", "frobnicate"], &[]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn sqlite_is_the_default_under_data() {
    let dir = tempfile::tempdir().unwrap();
    let output = guichet(dir.path(), &["migrate"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("applied"));
    assert!(dir.path().join("data/guichet.sqlite").is_file());
}

on_both_databases! {
    async fn migrate_then_tenant_apply_and_list(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = [("GUICHET_DATABASE_URL", database.url.as_str())];
        let tenants = repo_root().join("tenants");
        let tenants = tenants.to_str().unwrap();

        let first = guichet(dir.path(), &["migrate"], &env);
        assert!(first.status.success(), "{}", stderr(&first));
        assert!(stdout(&first).starts_with("23 migration(s) applied"), "{}", stdout(&first));
        let again = guichet(dir.path(), &["migrate"], &env);
        assert!(stdout(&again).starts_with("0 migration(s) applied"), "{}", stdout(&again));

        let applied = guichet(dir.path(), &["tenant", "apply", tenants], &env);
        assert!(applied.status.success(), "{}", stderr(&applied));
        assert_eq!(
            stdout(&applied),
            "created   saint-martin\ncreated   villeneuve\n\
             modules   saint-martin: invoices 0.1.5, bookings 0.2.3, absences 0.1.3, tariffs 0.1.4, bloc-notes 0.1.4\n\
             modules   villeneuve: invoices 0.1.5, bookings 0.2.3, absences 0.1.3, tariffs 0.1.4\n\
             published saint-martin terms version 1 (major)\n\
             published villeneuve terms version 1 (major)\n"
        );
        // Villeneuve's FranceConnect secret is not in this environment.
        assert!(
            stderr(&applied).contains(
                "warning: town villeneuve: FranceConnect needs its client secret in the \
                 environment variable VILLENEUVE_FRANCECONNECT_SECRET"
            ),
            "{}",
            stderr(&applied)
        );
        let reapplied = guichet(dir.path(), &["tenant", "apply", tenants], &env);
        assert_eq!(stdout(&reapplied), "unchanged saint-martin\nunchanged villeneuve\n");

        let listed = guichet(dir.path(), &["tenant", "list"], &env);
        let listed = stdout(&listed);
        assert!(listed.contains("villeneuve"), "{listed}");
        assert!(
            listed.contains("villeneuve.localhost, espace-citoyens.villeneuve.example.fr"),
            "{listed}"
        );
        assert!(listed.contains("saint-martin.localhost"), "{listed}");
    }

    async fn a_broken_definition_is_named_and_nothing_is_applied(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = [("GUICHET_DATABASE_URL", database.url.as_str())];
        let town = dir.path().join("towns/bourg");
        std::fs::create_dir_all(&town).unwrap();
        std::fs::write(town.join("tenant.toml"), "display_name = \"Bourg\"\ntimezone = \"Europe/Paname\"\n[mail]\nsender_name = \"M\"\nsender_address = \"m@bourg.fr\"\n").unwrap();
        assert!(guichet(dir.path(), &["migrate"], &env).status.success());
        let output = guichet(dir.path(), &["tenant", "apply", "towns"], &env);
        assert_fails_with(&output, &["towns/bourg/tenant.toml", "Europe/Paname"]);
        let listed = guichet(dir.path(), &["tenant", "list"], &env);
        assert!(stdout(&listed).contains("No town yet"), "{}", stdout(&listed));
    }

    async fn a_failing_migration_stops_startup(backend) {
        let database = TestDatabase::create(backend).await;
        // A table in the way of the first migration.
        let db = guichet::db::connect(&database.url).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(&db, "CREATE TABLE tenant (unrelated INTEGER)")
            .await
            .unwrap();
        db.close().await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let key = "GUICHET_SECRET_KEY";
        let env = [
            ("GUICHET_DATABASE_URL", database.url.as_str()),
            (key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ("GUICHET_PORT", "0"),
        ];
        let output = guichet(dir.path(), &["serve"], &env);
        assert_fails_with(&output, &["migration failed"]);
    }

    async fn terms_publish_and_export(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = [("GUICHET_DATABASE_URL", database.url.as_str())];
        let tenants = repo_root().join("tenants");
        guichet(dir.path(), &["tenant", "apply", tenants.to_str().unwrap()], &env);
        std::fs::write(dir.path().join("v2.md"), "# CGU\n\nVersion deux.\n").unwrap();
        let publish = ["terms", "publish", "--tenant", "villeneuve", "--file", "v2.md", "--minor"];
        let first = guichet(dir.path(), &publish, &env);
        assert_eq!(stdout(&first), "published villeneuve terms version 2 (minor)\n", "{}", stderr(&first));
        let again = guichet(dir.path(), &publish, &env);
        assert_eq!(stdout(&again), "unchanged: this text is already villeneuve terms version 2\n");
        let missing = guichet(dir.path(), &["terms", "publish", "--tenant", "villeneuve", "--file", "nope.md"], &env);
        assert_fails_with(&missing, &["cannot read nope.md"]);

        let export = guichet(dir.path(), &["terms", "export", "--tenant", "villeneuve", "--output", "cgu.csv"], &env);
        assert!(export.status.success(), "{}", stderr(&export));
        assert!(stderr(&export).contains("0 acceptance(s) exported."));
        let csv = std::fs::read_to_string(dir.path().join("cgu.csv")).unwrap();
        assert_eq!(csv, "identifiant,courriel,version,nature,empreinte_sha256,acceptee_le,adresse_ip,navigateur\n");
    }

    async fn staff_invite_queues_the_invitation_and_prints_its_link(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = [("GUICHET_DATABASE_URL", database.url.as_str())];
        let tenants = repo_root().join("tenants");
        guichet(dir.path(), &["tenant", "apply", tenants.to_str().unwrap()], &env);
        let args = ["staff", "invite", "--tenant", "villeneuve", "--email", "dgs@villeneuve.fr", "--role", "administrateur"];
        let invited = guichet(dir.path(), &args, &env);
        assert!(invited.status.success(), "{}", stderr(&invited));
        let text = stdout(&invited);
        assert!(text.starts_with("Invitation queued for dgs@villeneuve.fr (administrateur) in villeneuve"), "{text}");
        let link = text
            .lines()
            .find(|line| line.contains("/admin/invitation/"))
            .unwrap_or_else(|| panic!("no link in {text}"))
            .to_owned();
        let db = guichet::db::connect(&database.url).await.unwrap();
        let queued = <guichet::mail::entity::Entity as sea_orm::EntityTrait>::find().all(&db).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].kind, "staff_invitation");
        assert!(queued[0].text_body.contains(&link), "{}", queued[0].text_body);

        let bad_role = guichet(dir.path(), &[&args[..6], &["--role", "maire"]].concat(), &env);
        assert_fails_with(&bad_role, &["--role must be agent, gestionnaire or administrateur"]);
        let bad_email = guichet(dir.path(), &["staff", "invite", "--tenant", "villeneuve", "--email", "pas-une-adresse", "--role", "agent"], &env);
        assert_fails_with(&bad_email, &["`pas-une-adresse` is not an e-mail address"]);
        let unknown_town = guichet(dir.path(), &["staff", "invite", "--tenant", "nulle-part", "--email", "a@b.fr", "--role", "agent"], &env);
        assert_fails_with(&unknown_town, &["no town `nulle-part`"]);
    }

    async fn account_create_queues_the_activation_mail(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let keyless = [("GUICHET_DATABASE_URL", database.url.as_str())];
        let tenants = repo_root().join("tenants");
        guichet(dir.path(), &["tenant", "apply", tenants.to_str().unwrap()], &keyless);
        let args = [
            "account", "create", "--tenant", "villeneuve", "--email", "michel@example.org",
            "--first-name", "Michel", "--last-name", "ARPEGE", "--civility", "M",
            "--address", "10 LA RUE CREUSE",
        ];
        // The temporary password is keyed by the server's key: without it,
        // refused, naming the key.
        let without_key = guichet(dir.path(), &args, &keyless);
        assert_fails_with(&without_key, &["`secret_key`", "is missing"]);
        let env = [
            ("GUICHET_DATABASE_URL", database.url.as_str()),
            ("GUICHET_SECRET_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ];
        let created = guichet(dir.path(), &args, &env);
        assert!(created.status.success(), "{}", stderr(&created));
        assert!(stdout(&created).contains("identifier michel.arpege"), "{}", stdout(&created));
        let homonym = guichet(dir.path(), &[&args[..4], &["--email", "other@example.org"], &args[6..]].concat(), &env);
        assert!(stdout(&homonym).contains("identifier michel.arpege2"), "{}", stdout(&homonym));

        let taken = guichet(dir.path(), &args, &env);
        assert_fails_with(&taken, &["already uses the e-mail address michel@example.org"]);
        let unknown_town = guichet(dir.path(), &["account", "create", "--tenant", "nulle-part", "--email", "a@b.fr", "--first-name", "A", "--last-name", "B"], &env);
        assert_fails_with(&unknown_town, &["no town `nulle-part`"]);
        let bad_civility = guichet(dir.path(), &["account", "create", "--tenant", "villeneuve", "--email", "a@b.fr", "--first-name", "A", "--last-name", "B", "--civility", "Dr"], &env);
        assert_fails_with(&bad_civility, &["--civility must be M or Mme"]);

        // The mail waits in the outbox for `serve`.
        let db = guichet::db::connect(&database.url).await.unwrap();
        let queued = <guichet::mail::entity::Entity as sea_orm::EntityTrait>::find().all(&db).await.unwrap();
        assert_eq!(queued.len(), 2);
        assert!(queued[0].text_body.contains("Identifiant : michel.arpege"));
        assert_eq!(queued[0].status, guichet::mail::MailStatus::Pending);
    }
}

/// The README's demo: the printed resident logs in, and sees the seed's
/// last login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_resident_logs_in_with_the_printed_credentials() {
    use std::io::{BufRead as _, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut demo = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .current_dir(dir.path())
        .args(["demo", "--port", &port.to_string()])
        .env_remove("GUICHET_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let demo_stdout = demo.stdout.take().unwrap();
    let (found, banner) = tokio::sync::oneshot::channel();
    // Reads every line, to the end: closing the pipe early would make the
    // demo's next line fail.
    std::thread::spawn(move || {
        let mut found = Some(found);
        let mut lines = Vec::new();
        for line in BufReader::new(demo_stdout).lines().map_while(Result::ok) {
            lines.push(line.clone());
            if line.starts_with("Press Ctrl+C")
                && let Some(found) = found.take()
            {
                let _ = found.send(lines.clone());
            }
        }
    });
    let banner = banner.await.expect("the demo prints its banner");
    let (identifier, password) = banner
        .iter()
        .find_map(|line| {
            line.strip_prefix("Demo resident (every town): identifiant ")?
                .split_once(", mot de passe ")
        })
        .expect("the demo prints the resident's credentials");
    let (identifier, password) = (identifier.to_owned(), password.to_owned());

    let mut browser = Visitor::new(port, "villeneuve.localhost");
    assert_eq!(browser.login(&identifier, &password).await.status, 303);
    assert_eq!(browser.get("/").await.header("location"), Some("/cgu"));
    assert_eq!(browser.accept_terms().await.status, 303);
    let home = browser.get("/").await;
    assert!(
        home.body.contains("Bonjour Monsieur ARPEGE."),
        "{}",
        home.body
    );
    assert!(
        home.body
            .contains("Dernière connexion le 15/06/2020 à 12:55")
    );
    assert!(home.body.contains("10 LA RUE CREUSE"));
    // Its mailbox page exists in the demo, and only there.
    assert_eq!(browser.get("/demo/courriels").await.status, 200);

    // The demo staff: one member per role and town, whose codes the demo
    // shows at /demo/codes; the administrator logs in with them.
    let staff_password = banner
        .iter()
        .find_map(|line| line.split_once("mot de passe ")?.1.split_once(" ;"))
        .map(|(password, _)| password.to_owned())
        .expect("the demo prints the staff's password");
    for role in ["administrateur", "gestionnaire", "agent"] {
        for town in ["villeneuve", "saint-martin"] {
            let email = format!("{role}@{town}.example.fr");
            assert!(
                banner
                    .iter()
                    .any(|line| line.contains(&email) && line.contains("secret TOTP ")),
                "{email} in {banner:?}"
            );
        }
    }
    let mut staff = Visitor::new(port, "villeneuve.localhost");
    let step = staff
        .submit(
            "/admin/connexion",
            "/admin/connexion",
            &[
                ("email", "administrateur@villeneuve.example.fr"),
                ("password", &staff_password),
            ],
        )
        .await;
    assert_eq!(step.status, 303, "{}", step.body);
    let codes = staff.get("/demo/codes").await;
    assert_eq!(codes.status, 200);
    let row = codes
        .body
        .split("<tr>")
        .find(|row| row.contains("administrateur@villeneuve.example.fr"))
        .expect("the administrator's row");
    let code = row
        .split("<code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let done = staff
        .submit(
            "/admin/connexion/code",
            "/admin/connexion/code",
            &[("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let overview = staff.get("/admin").await;
    assert!(
        overview
            .text()
            .contains("Votre rôle : <strong>Administrateur</strong>"),
        "{}",
        overview.body
    );

    // Beside the running demo, from the same folder: without --demo, the
    // command refuses to create another, empty database, and says --demo.
    let account = [
        "account",
        "create",
        "--tenant",
        "villeneuve",
        "--email",
        "jeanne@example.org",
        "--first-name",
        "Jeanne",
        "--last-name",
        "MARTIN",
    ];
    let without = guichet(dir.path(), &account, &[]);
    assert_fails_with(&without, &["does not exist", "--demo"]);
    assert!(!dir.path().join("data/guichet.sqlite").exists());
    // With --demo: the demo's database, and its mailbox says where.
    let with = guichet(dir.path(), &[&["--demo"], &account[..]].concat(), &[]);
    assert!(with.status.success(), "{}", stderr(&with));
    assert!(
        stdout(&with).contains(&format!(
            "http://villeneuve.localhost:{port}/demo/courriels"
        )),
        "{}",
        stdout(&with)
    );
    let mailbox = browser.get("/demo/courriels").await;
    let link = mailbox
        .body
        .split('"')
        .find(|part| part.starts_with(&format!("http://villeneuve.localhost:{port}/activation/")))
        .unwrap_or_else(|| panic!("no activation link at the demo's port in {}", mailbox.body))
        .to_owned();
    let mut newcomer = Visitor::new(port, "villeneuve.localhost");
    let activation = newcomer
        .get(link.trim_start_matches(&format!("http://villeneuve.localhost:{port}")))
        .await;
    assert_eq!(activation.status, 200);
    assert!(
        activation
            .body
            .contains("Activation de votre espace personnel")
    );
    // The demo's key is kept for the next start, readable by its owner only.
    use std::os::unix::fs::PermissionsExt as _;
    for file in ["data/demo/secret.key", "data/demo/guichet.toml"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let _ = demo.kill();
    let _ = demo.wait();
}

on_both_databases! {
    async fn module_publish_list_and_api_keys(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        // These modules are not signed: the operator allows it.
        let env = [
            ("GUICHET_DATABASE_URL", database.url.as_str()),
            ("GUICHET_ALLOW_UNSIGNED_MODULES", "true"),
        ];
        let built = std::path::PathBuf::from(env!("MODULES_BUILD_DIR"));
        let hostile = built.join("guichet_module_hostile.wasm");
        let hostile = hostile.to_str().unwrap();

        let published = guichet(dir.path(), &["module", "publish", hostile], &env);
        assert!(published.status.success(), "{}", stderr(&published));
        let text = stdout(&published);
        assert!(text.starts_with("published hostile 0.1.0 (Module hostile), sha256 "), "{text}");
        assert!(text.contains("capabilities: town-storage, resident-storage"), "{text}");
        let again = guichet(dir.path(), &["module", "publish", hostile], &env);
        assert!(stdout(&again).starts_with("unchanged: hostile 0.1.0"), "{}", stdout(&again));

        let network = built.join("guichet_module_network.wasm");
        let refused = guichet(dir.path(), &["module", "publish", network.to_str().unwrap()], &env);
        assert_fails_with(&refused, &["guichet_module_network.wasm cannot be published", "wasi:sockets"]);
        let garbage = dir.path().join("garbage.wasm");
        std::fs::write(&garbage, b"not wasm").unwrap();
        let refused = guichet(dir.path(), &["module", "publish", "garbage.wasm"], &env);
        assert_fails_with(&refused, &["garbage.wasm cannot be published", "not a valid WebAssembly component"]);

        let listed = stdout(&guichet(dir.path(), &["module", "list"], &env));
        assert!(listed.lines().any(|line| line.starts_with("hostile") && line.contains("0.1.0")), "{listed}");

        let tenants = repo_root().join("tenants");
        let applied = guichet(dir.path(), &["tenant", "apply", tenants.to_str().unwrap()], &env);
        assert!(applied.status.success(), "{}", stderr(&applied));
        let listed = stdout(&guichet(dir.path(), &["module", "list"], &env));
        assert!(listed.contains("bloc-notes"), "the built-in modules are published with the towns: {listed}");

        let created = guichet(dir.path(), &["api-key", "create", "--tenant", "villeneuve", "--name", "Facturation"], &env);
        assert!(created.status.success(), "{}", stderr(&created));
        let text = stdout(&created);
        let key = text.lines().find(|line| line.starts_with("gk_")).unwrap_or_else(|| panic!("{text}"));
        let listed = stdout(&guichet(dir.path(), &["api-key", "list", "--tenant", "villeneuve"], &env));
        assert!(listed.contains("Facturation") && listed.contains("never used"), "{listed}");
        assert!(!listed.contains(key), "the secret is shown only once");
        let prefix: String = key.chars().take(10).collect();
        let revoked = guichet(dir.path(), &["api-key", "revoke", "--tenant", "villeneuve", "--prefix", &prefix], &env);
        assert_eq!(stdout(&revoked), "1 key(s) revoked.\n");
        let again = guichet(dir.path(), &["api-key", "revoke", "--tenant", "villeneuve", "--prefix", &prefix], &env);
        assert_fails_with(&again, &["no live key starting with"]);
    }
}

on_both_databases! {
    async fn module_upgrade_says_what_changes_and_usage_shows_the_quota(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        // These modules are not signed: the operator allows it.
        let env = [
            ("GUICHET_DATABASE_URL", database.url.as_str()),
            ("GUICHET_ALLOW_UNSIGNED_MODULES", "true"),
        ];
        let built = std::path::PathBuf::from(env!("MODULES_BUILD_DIR"));
        let wasm = |name: &str| built.join(format!("{name}.wasm")).to_str().unwrap().to_owned();
        let town = dir.path().join("towns/bourg");
        std::fs::create_dir_all(&town).unwrap();
        std::fs::write(
            town.join("tenant.toml"),
            "display_name = \"Bourg\"\n[mail]\nsender_name = \"M\"\nsender_address = \"m@bourg.fr\"\n\
             [[modules]]\nid = \"hoarder\"\nversion = \"^0.1\"\nstorage = { town_kib = 2048 }\n",
        )
        .unwrap();

        // Guichet's own ids are not for others.
        let refused = guichet(dir.path(), &["module", "publish", &wasm("guichet_module_impostor")], &env);
        assert_fails_with(&refused, &["cannot be published", "`invoices` belongs to Guichet's own modules"]);

        let published = guichet(dir.path(), &["module", "publish", &wasm("guichet_module_hoarder")], &env);
        assert!(published.status.success(), "{}", stderr(&published));
        let applied = guichet(dir.path(), &["tenant", "apply", "towns"], &env);
        assert_eq!(stdout(&applied), "created   bourg\nmodules   bourg: hoarder 0.1.0\n", "{}", stderr(&applied));
        let listed = stdout(&guichet(dir.path(), &["module", "list"], &env));
        assert!(listed.lines().any(|line| line.starts_with("hoarder") && line.contains("unsigned")), "{listed}");
        assert!(listed.lines().any(|line| line.starts_with("invoices") && line.contains("guichet")), "{listed}");

        // A newer release: the town keeps its own, and is told.
        guichet(dir.path(), &["module", "publish", &wasm("guichet_module_hoarder_next")], &env);
        let applied = guichet(dir.path(), &["tenant", "apply", "towns"], &env);
        assert_eq!(
            stdout(&applied),
            "unchanged bourg\navailable bourg: hoarder 0.1.1 (guichet module upgrade --tenant bourg hoarder)\n"
        );
        let change = "bourg hoarder: 0.1.0 -> 0.1.1\n  publisher: unsigned\n  \
                      capabilities added: household\n  capabilities removed: none\n";
        let looked = guichet(dir.path(), &["module", "upgrade", "--tenant", "bourg", "--dry-run"], &env);
        assert_eq!(
            stdout(&looked),
            format!("would upgrade {change}Nothing changed: run it again without --dry-run to upgrade.\n")
        );
        let upgraded = guichet(dir.path(), &["module", "upgrade", "--tenant", "bourg", "hoarder"], &env);
        assert_eq!(stdout(&upgraded), format!("upgraded {change}"), "{}", stderr(&upgraded));
        let again = guichet(dir.path(), &["module", "upgrade", "--tenant", "bourg", "hoarder"], &env);
        assert_eq!(stdout(&again), "unchanged bourg: hoarder is on the newest release its requirement allows\n");
        let unknown = guichet(dir.path(), &["module", "upgrade", "--tenant", "bourg", "invoices"], &env);
        assert_fails_with(&unknown, &["`bourg` does not enable the module `invoices`"]);

        // What the module stores, against the town's quota and the server's.
        let empty = guichet(dir.path(), &["module", "usage", "--tenant", "bourg"], &env);
        assert_eq!(stdout(&empty), "No module stores anything for bourg yet.\n");
        let db = guichet::db::connect(&database.url).await.unwrap();
        let bourg = guichet::tenancy::TenantDirectory::new(db.clone(), "localhost")
            .find_by_slug("bourg")
            .await
            .unwrap()
            .unwrap();
        let scope = guichet::modules::storage::DataScope::town(&bourg, "hoarder");
        guichet::modules::storage::write(&db, &scope, "cle", Some("valeur")).await.unwrap();
        let usage = stdout(&guichet(dir.path(), &["module", "usage", "--tenant", "bourg"], &env));
        let line = usage.lines().find(|line| line.starts_with("hoarder")).unwrap_or_else(|| panic!("{usage}"));
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            columns,
            ["hoarder", "73", "B", "2.0", "MiB", "0%", "1", "0", "0", "B", "1.0", "MiB"],
            "{usage}"
        );
    }
}

#[test]
fn an_unreachable_database_is_named_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens there: the server is "down".
    let port = free_port();
    let url = format!("postgres://guichet:hunter2@127.0.0.1:{port}/guichet");
    for args in [&["migrate"][..], &["tenant", "list"][..]] {
        let started = std::time::Instant::now();
        let output = guichet(dir.path(), args, &[("GUICHET_DATABASE_URL", &url)]);
        let took = started.elapsed();
        assert_fails_with(
            &output,
            &["database unreachable", &format!("127.0.0.1:{port}")],
        );
        let text = stderr(&output);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("migration"), "{text}");
        // The acquire timeout (2 s by default), not a long hang.
        assert!(
            took < std::time::Duration::from_secs(5),
            "{args:?}: {took:?}"
        );
    }
}

on_both_databases! {
    // The reported bug: news applied from another folder vanished when the
    // demo applied `tenants/` again. An apply never removes news, and says
    // what it kept.
    async fn tenant_apply_keeps_news_its_folder_lacks_and_says_so(backend) {
        let database = TestDatabase::create(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let env = [("GUICHET_DATABASE_URL", database.url.as_str())];
        assert!(guichet(dir.path(), &["migrate"], &env).status.success());
        let from = repo_root().join("tenants/villeneuve");
        let other = dir.path().join("other/villeneuve");
        for sub in ["", "news", "pages", "terms"] {
            std::fs::create_dir_all(other.join(sub)).unwrap();
            for entry in std::fs::read_dir(from.join(sub)).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_file() {
                    std::fs::copy(entry.path(), other.join(sub).join(entry.file_name())).unwrap();
                }
            }
        }
        std::fs::write(
            other.join("news/2026-01-01-extra.md"),
            "+++\ntitle = \"Venue d'ailleurs\"\npublished = 2020-01-01\n+++\nTexte.\n",
        )
        .unwrap();
        let first = guichet(dir.path(), &["tenant", "apply", "other"], &env);
        assert!(first.status.success(), "{}", stderr(&first));
        let tenants = repo_root().join("tenants");
        let again = guichet(dir.path(), &["tenant", "apply", tenants.to_str().unwrap()], &env);
        assert!(again.status.success(), "{}", stderr(&again));
        assert!(
            stdout(&again).contains("left alone villeneuve: news 2026-01-01-extra (not in this folder)"),
            "{}",
            stdout(&again)
        );
    }
}
