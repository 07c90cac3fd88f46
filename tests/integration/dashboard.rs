//! "Mon accueil" and the pages around it, as the seed shows them: the demo
//! resident's home page with his invoices and household, absences,
//! the tariff simulation, requests, news and town pages, the household,
//! contact details with the e-mail change, and feedback.

use guichet::towns::load_definitions;
use sea_orm::{EntityTrait as _, PaginatorTrait as _};

use crate::harness::{NEW_PASSWORD, TestApp, Visitor, csrf_of, repo_root};

/// Michel ARPEGE of the demo (Léa, invoices, a request), logged in and
/// past the terms.
async fn demo_resident(app: &TestApp, slug: &str) -> Visitor {
    let towns = load_definitions(&repo_root().join("tenants")).unwrap();
    let resident = guichet::demo::ensure_residents(&app.app, &towns)
        .await
        .unwrap();
    let mut browser = app.visitor(&format!("{slug}.localhost"));
    assert_eq!(
        browser
            .login(&resident.identifier, &resident.password)
            .await
            .status,
        303
    );
    assert_eq!(browser.accept_terms().await.status, 303);
    browser
}

/// The `value` of the `<option>` labelled `label`.
fn option_value(html: &str, label: &str) -> String {
    let end = html
        .find(&format!("\">{label}</option>"))
        .unwrap_or_else(|| panic!("no option {label}"));
    let start = html[..end].rfind("value=\"").unwrap() + "value=\"".len();
    html[start..end].to_owned()
}

fn in_days(days: i64) -> String {
    let paris = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    (paris + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn french(iso: &str) -> String {
    chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .unwrap()
        .format("%d/%m/%Y")
        .to_string()
}

on_both_databases! {
    async fn the_demo_resident_sees_the_seed_home_page(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app, "villeneuve").await;
        let home = browser.get("/").await;
        assert_eq!(home.status, 200);
        let body = home.body.replace("&#x27;", "'");
        for label in [
            "Bonjour Monsieur ARPEGE.",
            "Dernière connexion le 15/06/2020 à 12:55",
            "Mon espace", "Michel ARPEGE", "10 LA RUE CREUSE", "michel.arpege@villeneuve.example.fr",
            "07/04", "Bienvenue sur votre espace privé", "Lire la suite",
            "Mon tableau de bord", "Dernières demandes", "Mes factures", "Coordonnées", "Edition de documents",
            "Ma famille", "Dossier administratif", "Signaler une absence", "Simulation des tarifs",
            "Membres foyer", "Léa ARPEGE",
        ] {
            assert!(body.contains(label), "`{label}` missing from the home page:\n{body}");
        }
        // The seed's order, within the dashboard (the menu names some too).
        let dashboard = &body[body.find("id=\"tableau-de-bord\"").unwrap()..];
        let position = |label: &str| dashboard.find(label).unwrap_or_else(|| panic!("{label}"));
        assert!(position("Dernières demandes") < position("Mes factures"));
        assert!(position("Mes factures") < position(">Coordonnées<"));
        assert!(position(">Coordonnées<") < position(">Edition de documents<"));
        assert!(position("Dossier administratif") < position("Signaler une absence"));
        assert!(position("Signaler une absence") < position("Simulation des tarifs"));

        // His invoices: only June's is due — the tile says so, the list has it.
        assert!(body.contains("<p>45,00\u{a0}€ à régler</p>"), "{body}");
        let invoices = browser.get("/services/invoices/factures").await;
        assert!(invoices.body.contains("Total à régler</dt><dd class=\"numeric\">45,00\u{a0}€"), "{}", invoices.body);
        // The tiles are summaries: no table, no form on the home page.
        assert!(!body.contains("<table") && !body.contains("actions/signaler"), "{body}");
        let invoice = browser.get("/services/invoices/facture?numero=2020-06-0042").await;
        assert_eq!(invoice.status, 200);
        assert!(invoice.body.contains("Restauration scolaire") && invoice.body.contains("40,00\u{a0}€"));
        assert_eq!(browser.get("/services/invoices/facture?numero=inconnue").await.status, 404);
        // His request.
        assert!(body.contains("Demander une attestation de résidence"));
    }

    async fn reporting_an_absence_creates_a_request_in_the_latest_requests(backend) {
        let app = TestApp::spawn(backend).await;
        let mut browser = demo_resident(&app, "villeneuve").await;
        let page = browser.get("/services/absences/absences").await;
        assert!(page.body.contains("signalée avant 9h00 la veille"), "the town's rule: {}", page.body);
        let lea = option_value(&page.body, "Léa ARPEGE");
        let csrf = csrf_of(&page.body);

        // Errors keep the input and say what to fix, per field.
        let (from, to) = (in_days(7), in_days(9));
        let refused = browser
            .post("/services/absences/actions/signaler", &[("csrf", &csrf), ("enfant", ""), ("du", &to), ("au", &from), ("motif", "Maladie"), ("commentaire", "Fièvre")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("Choisissez l&#x27;enfant absent."), "{}", refused.body);
        assert!(refused.body.contains("Le dernier jour ne peut pas précéder le premier."));
        assert!(refused.body.contains("Fièvre"), "the comment is kept");
        let past = browser
            .post("/services/absences/actions/signaler", &[("csrf", &csrf), ("enfant", &lea), ("du", &in_days(-2)), ("au", &in_days(-1)), ("motif", "Maladie")])
            .await;
        assert!(past.body.contains("ne peut pas être passé"), "{}", past.body);

        let done = browser
            .post("/services/absences/actions/signaler", &[("csrf", &csrf), ("enfant", &lea), ("du", &from), ("au", &to), ("motif", "Maladie"), ("commentaire", "Fièvre")])
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = browser.get("/services/absences/absences").await;
        assert!(page.body.contains("Elle ne sera pas facturée."), "reported a week ahead: {}", page.body);
        assert!(page.body.contains("Référence de votre demande : D-"), "{}", page.body);
        assert!(page.body.contains("Non facturée"));
        let title = format!("Absence de Léa du {} au {}", french(&from), french(&to));
        let home = browser.get("/").await;
        assert!(home.body.contains(&title), "{title} in the latest requests:\n{}", home.body);
        let requests = browser.get("/demarches").await;
        assert!(requests.body.contains(&title));
    }

    async fn the_tariff_simulation_gives_the_town_s_price(backend) {
        let app = TestApp::spawn(backend).await;
        for (slug, price, monthly, days) in [("villeneuve", "2,50", "40,00", "16"), ("saint-martin", "3,00", "42,00", "14")] {
            let (mut browser, _) = app.active_resident(slug, &format!("{slug}@example.org")).await;
            let done = browser
                .submit("/services/tariffs/simulation", "/services/tariffs/actions/simuler", &[("activite", "cantine"), ("quotient", "650"), ("revenus", ""), ("parts", ""), ("jours", days)])
                .await;
            assert_eq!(done.status, 303, "{}", done.body);
            let target = done.header("location").unwrap().to_owned();
            let result = browser.get(&target).await.body;
            assert!(result.contains(&format!("{price}\u{a0}€")), "{slug}: {result}");
            assert!(result.contains(&format!("{monthly}\u{a0}€")), "{slug}: {result}");
        }
        let (mut browser, _) = app.active_resident("villeneuve", "r@example.org").await;
        let done = browser
            .submit("/services/tariffs/simulation", "/services/tariffs/actions/simuler", &[("activite", "cantine"), ("quotient", ""), ("revenus", "30 000"), ("parts", "2,5"), ("jours", "10")])
            .await;
        let result = browser.get(done.header("location").unwrap()).await.body;
        assert!(result.contains("QF de 901 à 1400 €") && result.contains("3,80\u{a0}€"), "QF 1000: {result}");
        let refused = browser
            .submit("/services/tariffs/simulation", "/services/tariffs/actions/simuler", &[("activite", "cantine"), ("quotient", ""), ("revenus", ""), ("parts", ""), ("jours", "40")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("vos revenus annuels et votre nombre de parts"));
        assert!(refused.body.contains("Le nombre de jours par mois va de 1 à 31."));
        assert!(refused.body.contains("value=\"40\""), "the input is kept");
    }

    async fn requests_are_started_listed_and_followed(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, _) = app.active_resident("villeneuve", "v@example.org").await;
        let new = browser.get("/demarches/nouvelle").await.body;
        for label in ["Signaler une absence", "Simuler un tarif", "Demander une attestation de résidence", "Demander une attestation de paiement"] {
            assert!(new.contains(label), "{label}: {new}");
        }
        let refused = browser
            .submit("/demarches/nouvelle/attestation-paiement", "/demarches/nouvelle/attestation-paiement", &[("message", "  ")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("Précisez votre demande en quelques mots."));
        let done = browser
            .submit("/demarches/nouvelle/attestation-paiement", "/demarches/nouvelle/attestation-paiement", &[("message", "Année 2019, cantine et garderie.")])
            .await;
        assert_eq!(done.status, 303);
        let location = done.header("location").unwrap().to_owned();
        assert!(location.starts_with("/demarches/D-"), "{location}");
        let detail = browser.get(&location).await.body;
        assert!(detail.contains("Année 2019, cantine et garderie.") && detail.contains("Déposée"), "{detail}");
        assert!(browser.get("/demarches").await.body.contains("Demander une attestation de paiement"));
        assert_eq!(browser.get("/demarches/nouvelle/inconnue").await.status, 404);

        // Another resident cannot read it.
        let (mut other, _) = app.active_resident("villeneuve", "o@example.org").await;
        assert_eq!(other.get(&location).await.status, 404);
    }

    async fn the_household_is_kept_by_the_town_or_by_the_resident(backend) {
        let app = TestApp::spawn(backend).await;
        // Villeneuve keeps it: no form.
        let (mut villeneuve, _) = app.active_resident("villeneuve", "v@example.org").await;
        let page = villeneuve.get("/famille").await.body;
        assert!(page.contains("Votre mairie tient ce dossier à jour") && !page.contains("Ajouter au foyer"));
        let csrf = csrf_of(&page);
        let refused = villeneuve.post("/famille/membres", &[("csrf", &csrf), ("first_name", "Léa"), ("last_name", "Arpège"), ("birth_date", ""), ("relation", "enfant")]).await;
        assert_eq!(refused.status, 303);
        assert!(!villeneuve.get("/famille").await.body.contains("<td>Léa"));

        // Saint-Martin lets residents do it.
        let (mut browser, _) = app.active_resident("saint-martin", "s@example.org").await;
        let refused = browser
            .submit("/famille", "/famille/membres", &[("first_name", "Léa"), ("last_name", ""), ("birth_date", "2999-01-01"), ("relation", "")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("Indiquez le nom"));
        assert!(refused.body.contains("date de naissance passée"));
        assert!(refused.body.contains("Choisissez le lien avec vous."));
        assert!(refused.body.contains("value=\"Léa\""), "the input is kept");
        let added = browser
            .submit("/famille", "/famille/membres", &[("first_name", "Léa"), ("last_name", "Arpège"), ("birth_date", "2012-09-03"), ("relation", "enfant")])
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        let page = browser.get("/famille").await.body;
        assert!(page.contains("Léa fait maintenant partie de votre foyer.") && page.contains("03/09/2012"), "{page}");
        assert!(browser.get("/").await.body.contains("Léa ARPÈGE"), "Membres foyer");
        let action = page.split("action=\"/famille/membres/").nth(1).unwrap().split('"').next().unwrap();
        let removed = browser.post(&format!("/famille/membres/{action}"), &[("csrf", &csrf_of(&page))]).await;
        assert_eq!(removed.status, 303);
        assert!(!browser.get("/famille").await.body.contains("03/09/2012"));
    }

    async fn contact_details_and_a_confirmed_email_change(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = app.active_resident("villeneuve", "ancienne@example.org").await;
        let refused = browser
            .submit("/coordonnees", "/coordonnees", &[("address", "12 rue Neuve"), ("phone", "appelez-moi")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("Indiquez un numéro de téléphone") && refused.body.contains("12 rue Neuve"));
        let saved = browser
            .submit("/coordonnees", "/coordonnees", &[("address", "12 rue Neuve"), ("phone", "06 12 34 56 78")])
            .await;
        assert_eq!(saved.status, 303);
        assert!(browser.get("/").await.body.contains("12 rue Neuve"));

        let wrong = browser
            .submit("/coordonnees", "/coordonnees/courriel", &[("new_email", "nouvelle@example.org"), ("password", "pas-le-bon")])
            .await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.body.contains("Ce mot de passe n&#x27;est pas le bon."), "{}", wrong.body);
        assert!(wrong.body.contains("nouvelle@example.org"), "the input is kept");
        let sent = browser
            .submit("/coordonnees", "/coordonnees/courriel", &[("new_email", "nouvelle@example.org"), ("password", NEW_PASSWORD)])
            .await;
        assert_eq!(sent.status, 200);
        assert!(sent.body.contains("Un lien de confirmation vient d'être envoyé à nouvelle@example.org"), "{}", sent.body);
        assert!(browser.get("/").await.body.contains("ancienne@example.org"), "unchanged until confirmed");

        let mail = app.mailbox().wait_for("nouvelle@example.org", "confirmez votre nouvelle adresse").await;
        let link = mail.link_path("/coordonnees/courriel/");
        let confirmed = browser.submit(&link, &link, &[]).await;
        assert_eq!(confirmed.status, 303, "{}", confirmed.body);
        assert!(browser.get("/").await.body.contains("nouvelle@example.org"));
        let again = browser.get(&link).await;
        assert_eq!(again.status, 410, "a link serves once");
        let notice = app.mailbox().wait_for("ancienne@example.org", "adresse électronique a été modifiée").await;
        assert!(notice.text.contains("nouvelle@example.org"), "the old address is told where mail goes now");
        // The new address logs in as well as the identifier.
        let mut fresh = app.visitor("villeneuve.localhost");
        assert_eq!(fresh.login("nouvelle@example.org", NEW_PASSWORD).await.status, 303);
        let _ = identifier;
    }

    async fn news_town_pages_and_feedback(backend) {
        let app = TestApp::spawn(backend).await;
        let mut visitor = app.visitor("villeneuve.localhost");
        let news = visitor.get("/actualites").await.body;
        assert!(news.contains("Inscriptions périscolaires 2020-2021") && news.contains("Bienvenue sur votre espace privé"));
        assert!(news.find("Inscriptions").unwrap() < news.find("Bienvenue").unwrap(), "newest first");
        let item = visitor.get("/actualites/2020-04-07-bienvenue").await;
        assert_eq!(item.status, 200);
        assert!(item.body.contains("<title>Bienvenue sur votre espace privé"), "a title per page");
        assert_eq!(visitor.get("/actualites/inconnue").await.status, 404);
        assert!(visitor.get("/activites").await.body.contains("Centre de loisirs"));
        assert!(visitor.get("/infos-pratiques").await.body.contains("Régie des services périscolaires"));

        let (mut browser, _) = app.active_resident("saint-martin", "s@example.org").await;
        // Saint-Martin wrote no page about its documents: its modules' offers
        // stand alone (tests/integration/documents.rs issues them).
        let documents = browser.get("/documents").await.text();
        assert!(documents.contains("Obtenir un document") && documents.contains("Attestation de paiement"), "{documents}");
        assert!(documents.contains("Aucun document n'a encore été établi pour vous."), "{documents}");

        let refused = browser.submit("/avis", "/avis", &[("topic", ""), ("message", "")]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("Choisissez le sujet") && refused.body.contains("Écrivez votre message."));
        let sent = browser.submit("/avis", "/avis", &[("topic", "suggestion"), ("message", "Un paiement en trois fois ?")]).await;
        assert_eq!(sent.status, 303);
        assert!(browser.get("/avis").await.body.contains("Merci !"));
        let stored = guichet::feedback::entity::feedback::Entity::find().count(&app.app.db).await.unwrap();
        assert_eq!(stored, 1);
    }

    async fn the_town_software_pushes_the_household(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = app.active_resident("villeneuve", "v@example.org").await;
        let town = app.town("villeneuve").await;
        let key = guichet::api::ApiKeys::new(app.app.db.clone()).create(&town, "Scolaire").await.unwrap().secret;
        let path = format!("/api/v1/residents/{identifier}/household");
        let body = serde_json::json!({"members": [
            {"first_name": "Léa", "last_name": "Arpège", "birth_date": "2012-09-03", "relation": "enfant", "external_ref": "ENF-1"},
            {"first_name": "Claire", "last_name": "Arpège", "relation": "conjoint"}
        ]});
        let put = app.send(app.request(reqwest::Method::PUT, "villeneuve.localhost", &path)
            .header("Authorization", format!("Bearer {key}")).body(body.to_string())).await;
        assert_eq!(put.status, 200, "{}", put.body);
        let page = browser.get("/famille").await.body;
        assert!(page.contains("Léa ARPÈGE") && page.contains("Claire ARPÈGE"), "{page}");
        let bad = serde_json::json!({"members": [{"first_name": "X", "last_name": "Y", "relation": "cousin"}]});
        let refused = app.send(app.request(reqwest::Method::PUT, "villeneuve.localhost", &path)
            .header("Authorization", format!("Bearer {key}")).body(bad.to_string())).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("invalid_member"), "{}", refused.body);
        assert!(browser.get("/famille").await.body.contains("Claire ARPÈGE"), "a refused push changes nothing");
    }
}
