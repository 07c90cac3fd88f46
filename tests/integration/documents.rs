//! "Edition de documents": the demo resident's attestations as PDF (their
//! text read back by poppler's `pdftotext`, their tagging and fonts by
//! `pdfinfo` and `pdffonts`), the verification of a document by its code
//! and its file, the staff issuing one at the counter, and who signs them.

use std::process::Command;

use sea_orm::{EntityTrait as _, TransactionTrait as _};

use crate::harness::{TestApp, Visitor, csrf_of};

/// Michel ARPEGE of the demo (Léa, Hugo, invoices of 2020 and 2025),
/// logged in and past the terms.
async fn demo_resident(app: &TestApp) -> Visitor {
    app.demo_resident().await
}

/// Runs a poppler tool on `pdf`; its standard output.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = Command::new(tool)
        .args(args)
        .arg(&path)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "{tool} is needed by the documents tests (apt-get install poppler-utils): {error}"
            )
        });
    assert!(
        output.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text of a PDF, every run of spaces and line breaks as one space
/// (paragraphs and table cells wrap where the layout decides).
fn text_of(pdf: &[u8]) -> String {
    if let Ok(dir) = std::env::var("GUICHET_TEST_PDF_DIR") {
        use sha2::Digest as _;
        let name = hex::encode(&sha2::Sha256::digest(pdf)[..6]);
        std::fs::write(format!("{dir}/{name}.pdf"), pdf).unwrap();
    }
    poppler("pdftotext", &["-layout", "-enc", "UTF-8"], pdf)
        .replace(['\u{a0}', '\u{202f}'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asks for a document from "Edition de documents"; the document's path
/// and its bytes.
async fn issue(
    browser: &mut Visitor,
    module: &str,
    document: &str,
    fields: &[(&str, &str)],
) -> (String, Vec<u8>) {
    let action = format!("/documents/etablir/{module}/{document}");
    let issued = browser.submit("/documents", &action, fields).await;
    assert_eq!(issued.status, 303, "{}", issued.body);
    let location = issued.header("location").unwrap().to_owned();
    assert!(location.starts_with("/documents?delivre="), "{location}");
    let ready = browser.get(&location).await;
    assert_eq!(ready.status, 200);
    assert!(ready.text().contains("est prêt"), "{}", ready.body);
    let id = location
        .trim_start_matches("/documents?delivre=")
        .split('#')
        .next()
        .unwrap()
        .to_owned();
    let path = format!("/documents/{id}/pdf");
    assert!(
        ready.body.contains(&format!("href=\"{path}\"")),
        "{}",
        ready.body
    );
    let (status, headers, pdf) = browser.download(&path).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with(&format!("attachment; filename=\"{document}-A-")),
        "{disposition}"
    );
    assert!(pdf.starts_with(b"%PDF-"));
    (path, pdf)
}

/// The verification code printed on a document.
fn code_of(text: &str) -> String {
    let start = text
        .find("Code de vérification : ")
        .unwrap_or_else(|| panic!("no code in {text}"))
        + "Code de vérification : ".len();
    text[start..start + 19].to_owned()
}

fn this_year() -> i32 {
    use chrono::Datelike as _;
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .year()
}

on_both_databases! {
    async fn a_parent_gets_the_tax_attestation_as_an_accessible_pdf(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app).await;

        let page = browser.get("/documents").await;
        assert_eq!(page.status, 200);
        let text = page.text();
        for offered in ["Attestation de paiement", "Attestation fiscale — frais de garde des jeunes enfants", "Attestation de présence"] {
            assert!(text.contains(offered), "{offered} in {text}");
        }
        // The years the resident paid in, as the module lists them for him.
        assert!(page.body.contains("<option value=\"2025\""), "{}", page.body);
        assert!(text.contains("Aucun document n'a encore été établi pour vous."));

        let (path, pdf) = issue(&mut browser, "invoices", "attestation-fiscale", &[("annee", "2025")]).await;
        let text = text_of(&pdf);
        for expected in [
            "Ville de Villeneuve",
            "1 place de la Mairie",
            "Monsieur Michel ARPEGE",
            "Attestation fiscale — frais de garde des jeunes enfants",
            &format!("N° A-{}-000001", this_year()),
            "article 200 quater B du code général des impôts",
            "Hugo ARPEGE",
            "14/05/2021",
            "137,20 €",
            "cent trente-sept euros et vingt centimes",
            "Fait à Villeneuve, le",
            "Code de vérification :",
            "/documents/verifier/",
            "Page 1 sur 1",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        // Léa was 12 on 1 January 2025: not in the tax attestation.
        assert!(!text.contains("Léa"), "{text}");

        let info = poppler("pdfinfo", &[], &pdf);
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}:")))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in {info}"))
                .to_owned()
        };
        assert_eq!(field("Tagged"), "yes", "{info}");
        assert!(field("Title").starts_with("Attestation fiscale — frais de garde"), "{info}");
        assert_eq!(field("Page size"), "595.28 x 841.89 pts (A4)", "{info}");
        assert_eq!(field("Author"), "Ville de Villeneuve", "{info}");
        let metadata = poppler("pdfinfo", &["-meta"], &pdf);
        assert!(metadata.contains("<pdfuaid:part>1</pdfuaid:part>"), "{metadata}");
        assert!(metadata.contains("fr-FR"), "{metadata}");
        let fonts = poppler("pdffonts", &[], &pdf);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!rows.is_empty(), "{fonts}");
        for row in rows {
            assert!(row.contains("AtkinsonHyperlegible"), "{fonts}");
            // emb sub uni: embedded, subsetted, with a ToUnicode map.
            assert!(row.contains(" yes yes yes "), "{fonts}");
        }

        // Listed, downloaded again byte for byte, journaled.
        let page = browser.get("/documents").await;
        assert!(page.body.contains(&format!("href=\"{path}\"")), "{}", page.body);
        assert_eq!(browser.download(&path).await.2, pdf);
        let history = browser.get("/mon-compte/historique").await;
        assert!(history.text().contains("Document délivré"), "{}", history.body);

        // Another resident of the town gets nothing of it, nor one of
        // another town.
        let (mut other, _) = app.active_resident("villeneuve", "autre@example.org").await;
        assert_eq!(other.download(&path).await.0, 404);
        assert!(!other.get("/documents").await.body.contains(&path));
        let (mut elsewhere, _) = app.active_resident("saint-martin", "ailleurs@example.org").await;
        assert_eq!(elsewhere.download(&path).await.0, 404);
    }

    async fn a_resident_asking_for_too_many_documents_is_told_to_wait(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app).await;
        let town = std::sync::Arc::new(app.town("villeneuve").await);
        let account = app.app.accounts.find_by_identifier(&town, "michel.arpege").await.unwrap().unwrap();
        for _ in 0..guichet::documents::MAX_PER_HOUR {
            app.app
                .documents
                .issue(&town, &account, "invoices", "attestation-paiement", &[("annee".to_owned(), "2025".to_owned())], guichet::documents::Requester::Resident, &guichet::audit::Origin::default())
                .await
                .unwrap();
        }
        let refused = browser
            .submit("/documents", "/documents/etablir/invoices/attestation-paiement", &[("annee", "2025")])
            .await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert!(refused.text().contains("réessayez dans une heure"), "{}", refused.body);
        assert!(refused.body.contains("<option value=\"2025\" selected"), "the choice is kept: {}", refused.body);
        // The town's counter is not held to it.
        let mut agent = app.staff("villeneuve", guichet::staff::StaffRole::Agent).await;
        let issued = agent
            .submit(
                "/admin/usagers/michel.arpege/documents",
                "/admin/usagers/michel.arpege/documents/invoices/attestation-paiement",
                &[("annee", "2025")],
            )
            .await;
        assert_eq!(issued.status, 303, "{}", issued.body);
    }

    async fn the_payment_attestation_lists_the_year_s_payments(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app).await;
        let (_, pdf) = issue(&mut browser, "invoices", "attestation-paiement", &[("annee", "2025")]).await;
        let text = text_of(&pdf);
        for expected in [
            "Attestation de paiement",
            "certifie avoir reçu de Monsieur ARPEGE la somme de 285,70 €",
            "deux cent quatre-vingt-cinq euros et soixante-dix centimes",
            "Règlements de 2025",
            "2025-03-0043",
            "10/04/2025",
            "Carte bancaire",
            "91,20 €",
            "Chèque",
            "Prélèvement",
            "60,80 €",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        // Paid in 2026: not in 2025's.
        assert!(!text.contains("2025-12-0043"), "{text}");
    }

    async fn parameters_are_checked_and_the_module_s_refusal_is_shown(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app).await;
        let refused = browser
            .submit("/documents", "/documents/etablir/invoices/attestation-fiscale", &[("annee", "1999")])
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let text = refused.text();
        assert!(text.contains("Choisissez une valeur de la liste."), "{text}");
        assert!(refused.body.contains("aria-invalid=\"true\""));

        // A period without any booking: the module says so at the form, and
        // what was typed stays.
        let page = browser.get("/documents").await;
        let child = {
            let marker = "\">Léa</option>";
            let end = page.body.find(marker).unwrap_or_else(|| panic!("{}", page.body));
            let start = page.body[..end].rfind("value=\"").unwrap() + "value=\"".len();
            page.body[start..end].to_owned()
        };
        let refused = browser
            .post(
                "/documents/etablir/bookings/attestation-presence",
                &[("csrf", &csrf_of(&page.body)), ("enfant", &child), ("du", "2024-01-01"), ("au", "2024-01-31")],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let text = refused.text();
        assert!(text.contains("n'a aucune réservation du 01/01/2024 au 31/01/2024"), "{text}");
        assert!(refused.body.contains("value=\"2024-01-31\""), "{}", refused.body);
        // Nothing was issued, nothing numbered.
        let issued = guichet::documents::entity::issued_document::Entity::find()
            .all(&app.app.db)
            .await
            .unwrap();
        assert!(issued.is_empty());

        // No such document.
        let unknown = browser
            .post("/documents/etablir/invoices/attestation-inconnue", &[("csrf", &csrf_of(&page.body))])
            .await;
        assert_eq!(unknown.status, 404);
    }

    async fn the_attendance_attestation_counts_the_days_attended(backend) {
        use guichet::modules::storage::{self, DataScope};
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app).await;
        let page = browser.get("/documents").await;
        let child = {
            let marker = "\">Léa</option>";
            let end = page.body.find(marker).unwrap_or_else(|| panic!("{}", page.body));
            let start = page.body[..end].rfind("value=\"").unwrap() + "value=\"".len();
            page.body[start..end].to_owned()
        };
        // Three school meals booked in May 2025, the second one marked
        // absent by the staff, and a day on a waiting list.
        let town = app.town("villeneuve").await;
        let scope = DataScope::town(&town, "bookings");
        let transaction = app.app.db.begin().await.unwrap();
        for (date, state, attendance) in [
            ("2025-05-12", "booked", Some("present")),
            ("2025-05-13", "booked", Some("absent")),
            ("2025-05-15", "booked", None),
            ("2025-05-16", "waiting", None),
        ] {
            let family = format!("family:michel.arpege:{date}:cantine:{child}");
            let entry = serde_json::json!({"activity": "cantine", "date": date, "child": child, "child_name": "Léa", "state": state});
            storage::write(&transaction, &scope, &family, Some(&entry.to_string())).await.unwrap();
            if let Some(attendance) = attendance {
                let booking = format!("booking:cantine:{date}:michel.arpege~{child}");
                let record = serde_json::json!({"activity": "cantine", "date": date, "resident": "michel.arpege", "child": child, "child_name": "Léa", "attendance": attendance});
                storage::write(&transaction, &scope, &booking, Some(&record.to_string())).await.unwrap();
            }
        }
        transaction.commit().await.unwrap();

        let (_, pdf) = issue(
            &mut browser,
            "bookings",
            "attestation-presence",
            &[("enfant", &child), ("du", "01/05/2025"), ("au", "2025-05-31")],
        )
        .await;
        let text = text_of(&pdf);
        for expected in [
            "Attestation de présence",
            "atteste que Léa ARPEGE",
            "du 01/05/2025 au 31/05/2025",
            "Restauration scolaire",
            "2 jours de présence, 1 absence",
            "12/05/2025",
            "13/05/2025",
            "Absent",
            "15/05/2025",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        assert!(!text.contains("16/05/2025"), "waiting is not attending: {text}");
    }

    async fn anyone_holding_the_paper_can_verify_it_and_nothing_else(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app).await;
        let (_, pdf) = issue(&mut browser, "invoices", "attestation-fiscale", &[("annee", "2025")]).await;
        let text = text_of(&pdf);
        let code = code_of(&text);
        use sha2::Digest as _;
        let sha256 = hex::encode(sha2::Sha256::digest(&pdf));

        // A stranger, not logged in, with the code.
        let mut stranger = app.visitor("villeneuve.localhost");
        let page = stranger.get(&format!("/documents/verifier/{code}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let shown = page.text();
        for expected in ["Document délivré par Ville de Villeneuve", "Attestation fiscale", &format!("A-{}-000001", this_year()), sha256.as_str()] {
            assert!(shown.contains(expected), "{expected:?} in {shown}");
        }
        for private in ["ARPEGE", "Hugo", "137,20"] {
            assert!(!shown.contains(private), "{private} leaks: {shown}");
        }
        // Typed the forgiving way.
        let typed = code.to_lowercase().replace('-', " ");
        let found = stranger.get(&format!("/documents/verifier?code={}", typed.replace(' ', "+"))).await;
        assert_eq!(found.status, 303);
        assert_eq!(found.header("location"), Some(format!("/documents/verifier/{code}").as_str()));

        // The file as delivered verifies; a changed one does not.
        let action = format!("/documents/verifier/{code}");
        let csrf = csrf_of(&page.body);
        let same = stranger.post_multipart(&action, &[("csrf", &csrf)], ("fichier", "attestation.pdf", &pdf)).await;
        assert_eq!(same.status, 200, "{}", same.body);
        assert!(same.text().contains("Ce fichier est identique au document délivré"), "{}", same.body);
        let mut altered = pdf.clone();
        let at = altered.len() / 2;
        altered[at] ^= 0x20;
        let different = stranger.post_multipart(&action, &[("csrf", &csrf)], ("fichier", "attestation.pdf", &altered)).await;
        assert_eq!(different.status, 200);
        assert!(different.text().contains("ne correspond pas au document délivré"), "{}", different.body);
        let none = stranger.post_multipart(&action, &[("csrf", &csrf)], ("fichier", "vide.pdf", b"")).await;
        assert_eq!(none.status, 422);
        assert!(none.text().contains("Choisissez le fichier PDF à comparer."));
        let huge = vec![b'%'; 5 * 1024 * 1024 + 1];
        let refused = stranger.post_multipart(&action, &[("csrf", &csrf)], ("fichier", "gros.pdf", &huge)).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text().contains("Ce fichier dépasse 5 Mo"), "{}", refused.body);

        // An unknown code, a code of the wrong shape, another town's host.
        let unknown = stranger.get("/documents/verifier/K7QF-3M2P-XW9A-TC4D").await;
        assert_eq!(unknown.status, 404);
        assert!(unknown.text().contains("Aucun document de Ville de Villeneuve ne porte ce code."));
        let malformed = stranger.get("/documents/verifier?code=abc").await;
        assert_eq!(malformed.status, 422);
        assert!(malformed.text().contains("n'a pas la forme d'un code de vérification"));
        let mut elsewhere = app.visitor("saint-martin.localhost");
        let other_town = elsewhere.get(&format!("/documents/verifier/{code}")).await;
        assert_eq!(other_town.status, 404, "{}", other_town.body);
        assert!(!other_town.text().contains("Attestation fiscale"));
        let login = elsewhere.get("/connexion").await;
        let other_file = elsewhere
            .post_multipart(&action, &[("csrf", &csrf_of(&login.body))], ("fichier", "attestation.pdf", &pdf))
            .await;
        assert_eq!(other_file.status, 404);
    }

    async fn an_agent_issues_a_document_at_the_counter(backend) {
        use guichet::staff::StaffRole;
        let app = TestApp::spawn(backend).await;
        let mut resident = demo_resident(&app).await;
        let mut agent = app.staff("villeneuve", StaffRole::Agent).await;

        let details = agent.get("/admin/usagers/michel.arpege").await;
        assert!(details.body.contains("href=\"/admin/usagers/michel.arpege/documents\""), "{}", details.body);
        let page = agent.get("/admin/usagers/michel.arpege/documents").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.text().contains("Attestation de paiement"));
        let issued = agent
            .submit(
                "/admin/usagers/michel.arpege/documents",
                "/admin/usagers/michel.arpege/documents/invoices/attestation-paiement",
                &[("annee", "2025")],
            )
            .await;
        assert_eq!(issued.status, 303, "{}", issued.body);
        let location = issued.header("location").unwrap().to_owned();
        let ready = agent.get(&location).await;
        assert!(ready.text().contains("est établi pour Michel ARPEGE"), "{}", ready.body);
        let id = location.rsplit('=').next().unwrap();
        let (status, _, pdf) = agent.download(&format!("/admin/usagers/michel.arpege/documents/{id}")).await;
        assert_eq!(status, 200);
        assert!(text_of(&pdf).contains("285,70 €"));

        // The resident finds it in his space, said to be the town's.
        let page = resident.get("/documents").await;
        assert!(page.text().contains("Par la mairie"), "{}", page.body);
        assert_eq!(resident.download(&format!("/documents/{id}/pdf")).await.2, pdf);
        // Journaled as the agent's.
        let details = agent.get("/admin/usagers/michel.arpege").await;
        assert!(details.text().contains("Document délivré"), "{}", details.body);
    }

    async fn the_administrator_names_who_signs(backend) {
        use guichet::staff::StaffRole;
        let app = TestApp::spawn(backend).await;
        let mut administrator = app.staff("villeneuve", StaffRole::Administrateur).await;
        let page = administrator.get("/admin/documents").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("value=\"Villeneuve\""), "{}", page.body);
        let refused = administrator
            .submit("/admin/documents", "/admin/documents", &[("place", " "), ("title", "Le maire"), ("signatory", "")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.text().contains("Ce champ est obligatoire."));
        assert!(refused.body.contains("value=\"Le maire\""), "input kept");
        let saved = administrator
            .submit(
                "/admin/documents",
                "/admin/documents",
                &[("place", "Villeneuve"), ("title", "Pour le maire, le régisseur"), ("signatory", "Claire MARTIN")],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);

        let mut browser = demo_resident(&app).await;
        let (_, pdf) = issue(&mut browser, "invoices", "attestation-fiscale", &[("annee", "2025")]).await;
        let text = text_of(&pdf);
        assert!(text.contains("Pour le maire, le régisseur"), "{text}");
        assert!(text.contains("Claire MARTIN"), "{text}");
    }
}
