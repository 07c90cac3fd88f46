//! CSV import of residents' accounts (the service; the pages are tested
//! through the admin routes): encodings, separators, header, each error
//! with its line and column, simulation writing nothing, execution creating
//! each account once with one activation mail, re-import creating nothing,
//! known residents updated when asked, limits, and a resident created this
//! way activating with the mailed temporary password.

use guichet::accounts::entity::account;
use guichet::accounts::import::{
    Column, ExecuteProblem, FileRefusal, ImportUpload, LineOutcome, MAX_FILE_BYTES, MAX_LINES,
};
use guichet::audit::{Actor, Origin, entity as journal};
use guichet::mail::entity as outbox;
use guichet::tenancy::Tenant;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};

use crate::harness::{NEW_PASSWORD, TestApp};

const TOWN: &str = "villeneuve";

fn agent() -> Actor {
    Actor::Staff {
        id: 7,
        label: "Marie Durand (gestionnaire)".to_owned(),
    }
}

fn upload(bytes: &[u8], update_known: bool) -> ImportUpload {
    ImportUpload {
        file_name: "C:\\Users\\mairie\\usagers.csv".to_owned(),
        bytes: bytes.to_vec(),
        update_known,
    }
}

/// Rows of the town's accounts, outbox and journal.
async fn counts(app: &TestApp, town: &Tenant) -> (u64, u64, u64) {
    let id = town.scope().tenant_id().get();
    let db = &app.app.db;
    (
        account::Entity::find()
            .filter(account::Column::TenantId.eq(id))
            .count(db)
            .await
            .unwrap(),
        outbox::Entity::find()
            .filter(outbox::Column::TenantId.eq(id))
            .count(db)
            .await
            .unwrap(),
        journal::Entity::find()
            .filter(journal::Column::TenantId.eq(id))
            .count(db)
            .await
            .unwrap(),
    )
}

async fn refusal(app: &TestApp, town: &Tenant, bytes: &[u8]) -> FileRefusal {
    app.app
        .accounts
        .simulate_import(town, &agent(), &Origin::default(), upload(bytes, false))
        .await
        .unwrap()
        .expect_err("the file is refused")
}

const GOOD: &str = "civilite;prenom;nom;courriel;adresse;telephone\n\
    Mme;Léa;Arpège;lea@example.org;1 rue Haute;06 12 34 56 78\n\
    M;Jean;Dupont;jean@example.org;;\n\
    ;Jean;Dupont;jean.d@example.org;;\n";

on_both_databases! {
    async fn encodings_and_separators(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let accounts = &app.app.accounts;
        // UTF-8, with a BOM, with commas: the same three residents.
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), GOOD.as_bytes()].concat();
        let commas = GOOD.replace(';', ",");
        for bytes in [GOOD.as_bytes(), with_bom.as_slice(), commas.as_bytes()] {
            let simulation = accounts
                .simulate_import(&town, &agent(), &Origin::default(), upload(bytes, false))
                .await
                .unwrap()
                .unwrap();
            let report = simulation.report;
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            assert_eq!(report.counts().to_create, 3);
            let identifiers: Vec<_> = report.lines.iter().map(|l| l.identifier.clone().unwrap()).collect();
            // Homonyms within the file are numbered.
            assert_eq!(identifiers, ["lea.arpege", "jean.dupont", "jean.dupont2"]);
        }
        // Latin-1 (Excel's "CSV (séparateur : point-virgule)"): refused,
        // with how to save it as UTF-8.
        let latin1: Vec<u8> = "prenom;nom;courriel\nLéa;Arpège;lea@example.org\n"
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        let refused = refusal(&app, &town, &latin1).await;
        assert_eq!(refused, FileRefusal::NotUtf8 { line: 2 });
        let message = refused.message();
        for part in [
            "n'est pas enregistré en UTF-8",
            "ligne 2",
            "« Unicode (UTF-8) »",
            "« CSV UTF-8 (délimité par des virgules) »",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
        assert_eq!(counts(&app, &town).await, (0, 0, 0));
    }

    async fn the_header_is_required_and_named_in_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let no_header = refusal(&app, &town, b"Mme;L\xC3\xA9a;Arp\xC3\xA8ge;lea@example.org\n").await;
        assert!(matches!(no_header, FileRefusal::UnknownColumns(_)));
        assert!(no_header.message().contains("« Léa »") && no_header.message().contains("doit être l'en-tête"), "{}", no_header.message());
        let unknown = refusal(&app, &town, " Prénom ;NOM;E-mail;Date de naissance\nLéa;A;l@example.org;2000\n".as_bytes()).await;
        assert_eq!(unknown.message(), "Colonne inconnue : « Date de naissance ». Les colonnes possibles sont : civilite, prenom, nom, courriel, adresse, telephone (la première ligne du fichier doit être l'en-tête).");
        let missing = refusal(&app, &town, b"civilite;nom\nM;Dupont\n").await;
        assert_eq!(missing.message(), "Colonnes obligatoires absentes de l'en-tête : prenom, courriel. La première ligne du fichier doit être l'en-tête : civilite;prenom;nom;courriel;adresse;telephone.");
        assert_eq!(refusal(&app, &town, b"prenom;nom;courriel\n").await, FileRefusal::NoLines);
        assert_eq!(refusal(&app, &town, b"").await, FileRefusal::Empty);
    }

    async fn each_error_has_its_line_column_and_reason(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let long = "x".repeat(101);
        let file = format!(
            "civilite;prenom;nom;courriel;adresse;telephone\n\
             Mme;Léa;Arpège;lea@example.org;;\n\
             Mlle;Anne;Martin;anne@example.org;;\n\
             M;;Martin;paul@example.org;;\n\
             M;Paul;;paul2@example.org;;\n\
             M;Paul;Martin;pas-une-adresse;;\n\
             M;Paul;Martin;;;\n\
             M;{long};Martin;p3@example.org;;\n\
             M;Paul;Martin;p4@example.org;;le soir\n\
             M;Paul;Martin;LEA@example.org;;\n\
             M;Paul;Martin\n\
             M;Paul;Martin;p5@example.org;{};\n",
            "y".repeat(301)
        );
        let report = app.app.accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(file.as_bytes(), false))
            .await.unwrap().unwrap().report;
        let errors: Vec<(u64, Option<Column>, &str)> =
            report.errors.iter().map(|e| (e.line, e.column, e.reason.as_str())).collect();
        assert_eq!(errors, vec![
            (2, Some(Column::Courriel), "L'adresse électronique lea@example.org figure aussi ligne 10 : un usager par adresse."),
            (3, Some(Column::Civilite), "Civilité « Mlle » inconnue : indiquez M, Mme, Monsieur ou Madame, ou laissez la cellule vide."),
            (4, Some(Column::Prenom), "Le prénom est manquant."),
            (5, Some(Column::Nom), "Le nom est manquant."),
            (6, Some(Column::Courriel), "L'adresse électronique « pas-une-adresse » n'est pas valide (attendu : nom@domaine.fr)."),
            (7, Some(Column::Courriel), "L'adresse électronique est manquante."),
            (8, Some(Column::Prenom), "Le prénom est trop long (100 caractères au plus)."),
            (9, Some(Column::Telephone), "Le numéro de téléphone « le soir » n'est pas valide (par exemple 06 12 34 56 78)."),
            (10, Some(Column::Courriel), "L'adresse électronique LEA@example.org figure aussi ligne 2 : un usager par adresse."),
            (11, None, "La ligne compte 3 cellule(s) ; l'en-tête en compte 6."),
            (11, Some(Column::Courriel), "L'adresse électronique est manquante."),
            (12, Some(Column::Adresse), "L'adresse est trop longue (300 caractères au plus)."),
        ]);
        assert_eq!(report.counts().error_lines, 11);
        assert_eq!(report.counts().to_create, 0);
        let csv = String::from_utf8(report.to_csv().unwrap()).unwrap();
        assert!(csv.contains("4,paul@example.org,erreur,,prenom,Le prénom est manquant."), "{csv}");

        // Such a file cannot be executed: nothing is created.
        let simulation = app.app.accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(file.as_bytes(), false))
            .await.unwrap().unwrap();
        let refused = app.app.accounts
            .execute_import(&town, simulation.import_id, &simulation.file_sha256, &agent(), &Origin::default())
            .await.unwrap().unwrap_err();
        assert!(matches!(refused, ExecuteProblem::HasErrors(ref report) if report.errors.len() == 12));
        assert_eq!(counts(&app, &town).await, (0, 0, 0));
    }

    async fn simulation_writes_nothing_and_execution_creates_each_once(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let other = app.town("saint-martin").await;
        let accounts = &app.app.accounts;
        let simulation = accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(GOOD.as_bytes(), false))
            .await.unwrap().unwrap();
        assert_eq!(simulation.report.counts().to_create, 3);
        assert!(!simulation.report.executed);
        assert_eq!(counts(&app, &town).await, (0, 0, 0), "no account, no mail, no journal");

        // Another town cannot execute it; a changed file is not this one.
        let foreign = accounts
            .execute_import(&other, simulation.import_id, &simulation.file_sha256, &agent(), &Origin::default())
            .await.unwrap().unwrap_err();
        assert!(matches!(foreign, ExecuteProblem::Unknown));
        let changed = accounts
            .execute_import(&town, simulation.import_id, &"0".repeat(64), &agent(), &Origin::default())
            .await.unwrap().unwrap_err();
        assert!(matches!(changed, ExecuteProblem::Unknown));

        let origin = Origin { ip: Some("192.0.2.7".to_owned()), user_agent: None };
        let report = accounts
            .execute_import(&town, simulation.import_id, &simulation.file_sha256, &agent(), &origin)
            .await.unwrap().unwrap();
        assert!(report.executed);
        assert_eq!(report.counts().to_create, 3);
        assert!(report.lines.iter().all(|l| l.outcome == LineOutcome::Create));
        // 3 accounts, 3 mails, 3 creations + the import in the journal.
        assert_eq!(counts(&app, &town).await, (3, 3, 4));
        let db = &app.app.db;
        for email in ["lea@example.org", "jean@example.org", "jean.d@example.org"] {
            let mails = outbox::Entity::find().filter(outbox::Column::Recipient.eq(email)).count(db).await.unwrap();
            assert_eq!(mails, 1, "{email}");
        }
        let lea = account::Entity::find().filter(account::Column::EmailKey.eq("lea@example.org")).one(db).await.unwrap().unwrap();
        assert_eq!((lea.identifier.as_str(), lea.phone.as_deref(), lea.address.as_deref()), ("lea.arpege", Some("06 12 34 56 78"), Some("1 rue Haute")));
        assert!(lea.password_hash.starts_with("$hmac-sha256$v=1$"), "{}", lea.password_hash);
        assert!(lea.password_is_temporary);
        let created = journal::Entity::find()
            .filter(journal::Column::AccountId.eq(lea.id))
            .one(db).await.unwrap().unwrap();
        assert_eq!(created.kind, "account_created");
        assert_eq!(created.actor_kind, journal::ActorKind::Staff);
        assert_eq!((created.actor_id, created.actor_label.as_deref()), (Some(7), Some("Marie Durand (gestionnaire)")));
        assert_eq!(created.ip.as_deref(), Some("192.0.2.7"));
        let import = journal::Entity::find().filter(journal::Column::Kind.eq("accounts_imported")).one(db).await.unwrap().unwrap();
        assert_eq!(import.account_id, None);
        assert_eq!(import.detail.as_deref(), Some(format!("import n° {} : 3 créé(s), 0 mis à jour, 0 inchangé(s)", simulation.import_id).as_str()));

        // Executed once only.
        let again = accounts
            .execute_import(&town, simulation.import_id, &simulation.file_sha256, &agent(), &Origin::default())
            .await.unwrap().unwrap_err();
        assert!(matches!(again, ExecuteProblem::AlreadyExecuted));

        // The report is kept and listed.
        let (kept, stored) = accounts.import_report(&town, simulation.import_id).await.unwrap().unwrap();
        assert_eq!(kept.file_name, "usagers.csv");
        assert_eq!(kept.counts.to_create, 3);
        assert_eq!(stored, report);
        assert!(accounts.import_report(&other, simulation.import_id).await.unwrap().is_none());
        let listed = accounts.executed_imports(&town, 20).await.unwrap();
        assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), [simulation.import_id]);
        assert!(accounts.executed_imports(&other, 20).await.unwrap().is_empty());
        let csv = String::from_utf8(stored.to_csv().unwrap()).unwrap();
        assert!(csv.starts_with("\u{feff}ligne,courriel,résultat,identifiant,colonne,motif\n2,lea@example.org,créé,lea.arpege,,\n"), "{csv}");

        // The same file again creates nothing.
        let second = accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(GOOD.as_bytes(), true))
            .await.unwrap().unwrap();
        assert_eq!(second.report.counts().unchanged, 3);
        let report = accounts
            .execute_import(&town, second.import_id, &second.file_sha256, &agent(), &Origin::default())
            .await.unwrap().unwrap();
        assert_eq!((report.counts().to_create, report.counts().unchanged), (0, 3));
        assert_eq!(counts(&app, &town).await, (3, 3, 5));
    }

    async fn known_residents_are_updated_only_when_asked(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let accounts = &app.app.accounts;
        let known = app.create_resident(TOWN, "Michel", "ARPEGE", "michel@example.org").await;
        let file = "prenom;nom;courriel;telephone\nMichel;Arpège;MICHEL@example.org;01 23 45 67 89\nLéa;Arpège;lea@example.org;\n";

        let left = accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(file.as_bytes(), false))
            .await.unwrap().unwrap();
        let line = &left.report.lines[0];
        assert_eq!((line.outcome, line.differs, line.identifier.as_deref()), (LineOutcome::Unchanged, true, Some("michel.arpege")));
        assert_eq!(left.report.differing(), 1);

        let updating = accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(file.as_bytes(), true))
            .await.unwrap().unwrap();
        assert_eq!(updating.report.lines[0].outcome, LineOutcome::Update);
        let report = accounts
            .execute_import(&town, updating.import_id, &updating.file_sha256, &agent(), &Origin::default())
            .await.unwrap().unwrap();
        assert_eq!((report.counts().to_create, report.counts().to_update), (1, 1));
        let michel = account::Entity::find_by_id(known.account_id).one(&app.app.db).await.unwrap().unwrap();
        assert_eq!((michel.last_name.as_str(), michel.phone.as_deref(), michel.email.as_str()), ("Arpège", Some("01 23 45 67 89"), "michel@example.org"));
        // Empty cells left the stored values: the address is still there.
        assert_eq!(michel.address.as_deref(), Some("10 LA RUE CREUSE"));
        let updated = journal::Entity::find()
            .filter(journal::Column::AccountId.eq(known.account_id))
            .filter(journal::Column::Kind.eq("account_updated_by_import"))
            .count(&app.app.db).await.unwrap();
        assert_eq!(updated, 1);
        // Michel's own mail (his creation) only, none from the import.
        let mails = outbox::Entity::find().filter(outbox::Column::Recipient.eq("michel@example.org")).count(&app.app.db).await.unwrap();
        assert_eq!(mails, 1);
    }

    async fn limits_are_enforced_with_their_message(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let large = vec![b'a'; MAX_FILE_BYTES + 1];
        let refused = refusal(&app, &town, &large).await;
        assert_eq!(refused.message(), "Le fichier dépasse 5 Mo : découpez-le en plusieurs fichiers.");
        let many = format!("prenom;nom;courriel\n{}", "a;b;c@example.org\n".repeat(MAX_LINES + 1));
        let refused = refusal(&app, &town, many.as_bytes()).await;
        assert_eq!(refused.message(), "Le fichier compte plus de 20\u{a0}000 lignes (en-tête non comprise) : découpez-le en plusieurs fichiers.");
        assert_eq!(counts(&app, &town).await, (0, 0, 0));
    }

    async fn an_imported_resident_activates_with_the_mailed_password(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let accounts = &app.app.accounts;
        let file = "prenom;nom;courriel\nRose;Lenoir;rose@example.org\n";
        let simulation = accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(file.as_bytes(), false))
            .await.unwrap().unwrap();
        accounts
            .execute_import(&town, simulation.import_id, &simulation.file_sha256, &agent(), &Origin::default())
            .await.unwrap().unwrap();
        let mail = app.mailbox().wait_for("rose@example.org", "activez votre espace").await;
        let identifier = mail.line_value("Identifiant :");
        assert_eq!(identifier, "rose.lenoir");
        let temporary = mail.line_value("Mot de passe temporaire :");
        let link = mail.link_path("/activation/");
        let mut browser = app.visitor("villeneuve.localhost");
        assert_eq!(browser.submit(&link, &link, &[]).await.status, 200);
        // A wrong temporary password is refused like any other.
        assert_ne!(browser.login(&identifier, "pas-le-bon-1").await.status, 303);
        let login = browser.login(&identifier, &temporary).await;
        assert_eq!(login.status, 303, "{}", login.body);
        assert_eq!(browser.get("/").await.header("location"), Some("/mot-de-passe/modifier"));
        let changed = browser
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)])
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        let rose = account::Entity::find().filter(account::Column::EmailKey.eq("rose@example.org")).one(&app.app.db).await.unwrap().unwrap();
        assert!(rose.password_hash.starts_with("$argon2id$"), "{}", rose.password_hash);
        assert!(!rose.password_is_temporary);
        // The temporary password opens nothing any more; the chosen one does.
        browser.logout().await;
        let old = app.visitor("villeneuve.localhost").login(&identifier, &temporary).await;
        assert_ne!(old.status, 303);
        assert_eq!(app.visitor("villeneuve.localhost").login(&identifier, NEW_PASSWORD).await.status, 303);
    }
}

/// Uploads `bytes` from the import page, as a gestionnaire's browser does.
async fn upload_page(
    browser: &mut crate::harness::Visitor,
    bytes: &[u8],
    update_known: bool,
) -> crate::harness::TestResponse {
    let page = browser.get("/admin/usagers/import").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = crate::harness::csrf_of(&page.body);
    let mut fields = vec![("csrf", csrf.as_str())];
    if update_known {
        fields.push(("mettre_a_jour", "true"));
    }
    browser
        .post_multipart(
            "/admin/usagers/import",
            &fields,
            ("fichier", "usagers.csv", bytes),
        )
        .await
}

on_both_databases! {
    async fn a_gestionnaire_simulates_fixes_and_executes_from_the_pages(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = app.staff(TOWN, guichet::staff::StaffRole::Gestionnaire).await;
        let home = browser.get("/admin/usagers/import").await;
        assert!(home.body.contains("5 Mo et 20\u{a0}000 lignes"), "{}", home.body);
        assert!(home.body.contains(r#"href="/admin/usagers/import""#), "the menu links the page");

        // A file with errors: the report names each, and offers no execution.
        let wrong = "prenom;nom;courriel\nLéa;Arpège;lea@example.org\n;Dupont;pas-une-adresse\n";
        let simulated = upload_page(&mut browser, wrong.as_bytes(), false).await;
        assert_eq!(simulated.status, 303, "{}", simulated.body);
        let report_path = simulated.header("location").unwrap().to_owned();
        assert!(report_path.starts_with("/admin/usagers/import/"), "{report_path}");
        let report = browser.get(&report_path).await;
        assert_eq!(report.status, 200);
        let text = report.text();
        for part in [
            "Simulation de l'import",
            "aucun compte n'a été créé",
            "<th scope=\"row\">3</th>",
            "prenom",
            "Le prénom est manquant.",
            "L'adresse électronique « pas-une-adresse » n'est pas valide",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert!(!report.body.contains("/executer"), "no execution with errors");
        let (accounts, mails, _) = counts(&app, &app.town(TOWN).await).await;
        assert_eq!((accounts, mails), (0, 0));

        // Fixed: simulated, then executed.
        let fixed = "prenom;nom;courriel\nLéa;Arpège;lea@example.org\nJean;Dupont;jean@example.org\n";
        let simulated = upload_page(&mut browser, fixed.as_bytes(), false).await;
        let report_path = simulated.header("location").unwrap().to_owned();
        let report = browser.get(&report_path).await;
        assert!(report.body.contains("Exécuter l'import"), "{}", report.body);
        let empreinte = crate::harness::field_value(&report.body, "empreinte");
        let executed = browser
            .submit(&report_path, &format!("{report_path}/executer"), &[("empreinte", &empreinte)])
            .await;
        assert_eq!(executed.status, 303, "{}", executed.body);
        let done = browser.get(&report_path).await;
        let text = done.text();
        assert!(text.contains("Import exécuté : 2 compte(s) créé(s)"), "{text}");
        assert!(text.contains("Rapport d'import") && text.contains("jean.dupont"), "{text}");
        let (accounts, mails, _) = counts(&app, &app.town(TOWN).await).await;
        assert_eq!((accounts, mails), (2, 2));

        // Again: refused, nothing twice.
        let again = browser
            .submit(&report_path, &format!("{report_path}/executer"), &[("empreinte", &empreinte)])
            .await;
        // The executed report has no form left: the token comes from the
        // page all the same, and the service refuses.
        assert_eq!(again.status, 409, "{}", again.body);
        assert!(again.text().contains("Cet import a déjà été exécuté."));

        // The kept report: listed and downloadable.
        let home = browser.get("/admin/usagers/import").await;
        assert!(home.body.contains(&format!("{report_path}/rapport.csv")), "{}", home.body);
        let csv = browser.get(&format!("{report_path}/rapport.csv")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert!(csv.header("content-disposition").unwrap().starts_with("attachment;"));
        assert!(csv.body.contains("3,jean@example.org,créé,jean.dupont,,"), "{}", csv.body);

        // Another town's gestionnaire sees none of it.
        let mut foreign = app.staff("saint-martin", guichet::staff::StaffRole::Gestionnaire).await;
        assert_eq!(foreign.get(&report_path).await.status, 404);
        assert_eq!(foreign.get(&format!("{report_path}/rapport.csv")).await.status, 404);
    }

    async fn the_upload_refuses_in_french(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = app.staff(TOWN, guichet::staff::StaffRole::Gestionnaire).await;
        let latin1 = b"prenom;nom;courriel\nL\xE9a;Arp\xE8ge;lea@example.org\n";
        let refused = upload_page(&mut browser, latin1, true).await;
        assert_eq!(refused.status, 422);
        let text = refused.text();
        assert!(text.contains("n'est pas enregistré en UTF-8 (premier caractère illisible ligne 2)"), "{text}");
        assert!(refused.body.contains(r#"aria-invalid="true""#) && refused.body.contains(r##"href="#fichier""##));
        assert!(refused.body.contains(r#"name="mettre_a_jour" type="checkbox" value="true" checked"#), "the box stays ticked");

        let header = upload_page(&mut browser, "Nom;Prénom;Naissance\n".as_bytes(), false).await;
        assert_eq!(header.status, 422);
        assert!(header.text().contains("Colonne inconnue : « Naissance »"), "{}", header.text());

        // Past Rocket's own limit: the same French words, not a bare 413.
        let huge = vec![b'a'; 7 * 1024 * 1024];
        let refused = upload_page(&mut browser, &huge, false).await;
        assert_eq!(refused.status, 413);
        assert!(refused.text().contains("Le fichier dépasse 5 Mo"), "{}", refused.text());
        // Between the two limits: the service's.
        let large = vec![b'a'; 5 * 1024 * 1024 + 10];
        let refused = upload_page(&mut browser, &large, false).await;
        assert_eq!(refused.status, 413);
        assert!(refused.text().contains("Le fichier dépasse 5 Mo"));

        let empty = upload_page(&mut browser, b"", false).await;
        assert_eq!(empty.status, 422);
        assert!(empty.text().contains("Choisissez le fichier CSV à importer."));
        assert_eq!(counts(&app, &app.town(TOWN).await).await.0, 0);
    }
}

on_both_databases! {
    async fn two_executions_at_once_create_once(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let accounts = &app.app.accounts;
        let simulation = accounts
            .simulate_import(&town, &agent(), &Origin::default(), upload(GOOD.as_bytes(), false))
            .await.unwrap().unwrap();
        let (actor, origin) = (agent(), Origin::default());
        let run = || accounts.execute_import(&town, simulation.import_id, &simulation.file_sha256, &actor, &origin);
        let (first, second) = tokio::join!(run(), run());
        let outcomes = [first.unwrap(), second.unwrap()];
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
        assert!(outcomes.iter().any(|o| matches!(o, Err(ExecuteProblem::AlreadyExecuted))), "{outcomes:?}");
        assert_eq!(counts(&app, &town).await, (3, 3, 4));
    }
}
