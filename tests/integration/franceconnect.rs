//! FranceConnect against a real OpenID provider (npm oidc-provider in
//! FranceConnect v2's shape): the first login links the identity through a
//! password login, later ones need FranceConnect alone, logout goes through
//! the provider's `/session/end`, and every failure shows a French page and
//! logs nobody in.

use guichet::franceconnect::{FlowCookie, FlowIntent};
use sea_orm::ActiveEnum as _;

use crate::harness::{NEW_PASSWORD, OidcProvider, TestApp, Visitor, csrf_of, path_of};

const VILLENEUVE: &str = "villeneuve.localhost";

/// Clicks "S'identifier avec FranceConnect": answers the provider's
/// authorization URL Guichet redirected to.
async fn start_franceconnect(browser: &mut Visitor) -> String {
    let started = browser.get("/franceconnect/connexion").await;
    assert_eq!(started.status, 303, "{}", started.body);
    started.header("location").unwrap().to_owned()
}

/// Logs in with FranceConnect as `who`, from the town's button back to
/// the callback; answers the callback's response.
async fn franceconnect_login(
    provider: &OidcProvider,
    browser: &mut Visitor,
    person: &mut Visitor,
    who: &str,
) -> crate::harness::TestResponse {
    let authorize = start_franceconnect(browser).await;
    let back = provider.sign_in(person, &authorize, who, "eidas1").await;
    browser.get(&path_of(&back)).await
}

fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Whether the browser sees the dashboard (logged in) or the login form.
async fn is_logged_in(browser: &mut Visitor) -> bool {
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    home.text().contains("Mon tableau de bord")
}

on_both_databases! {
    async fn first_login_links_then_franceconnect_alone_logs_in_and_out(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve"]).await;
        app.enable_franceconnect("villeneuve", &provider, false).await;
        let (mut resident, identifier) =
            app.active_resident("villeneuve", "michel@example.org").await;
        resident.logout().await;

        // The button, then the provider's /authorize with FranceConnect v2's
        // parameters.
        let mut browser = app.visitor(VILLENEUVE);
        let login_page = browser.get("/connexion").await;
        assert!(login_page.text().contains("S'identifier avec</span>"), "{}", login_page.body);
        let authorize = start_franceconnect(&mut browser).await;
        assert!(authorize.starts_with(&format!("{}/authorize?", provider.issuer)), "{authorize}");
        assert_eq!(query_value(&authorize, "acr_values").as_deref(), Some("eidas1"));
        assert_eq!(
            query_value(&authorize, "scope").as_deref(),
            Some("openid given_name family_name email birthdate")
        );
        assert_eq!(query_value(&authorize, "response_type").as_deref(), Some("code"));
        assert_eq!(
            query_value(&authorize, "redirect_uri").as_deref(),
            Some("http://villeneuve.localhost/franceconnect/callback")
        );
        let state = query_value(&authorize, "state").unwrap();
        let nonce = query_value(&authorize, "nonce").unwrap();
        assert!(state.len() >= 32 && nonce.len() >= 32 && state != nonce);

        // First time: the identity is new, so the resident says which
        // account is theirs with a password login.
        let mut marie = provider.browser();
        let back = provider.sign_in(&mut marie, &authorize, "marie.dupont", "eidas1").await;
        let callback = browser.get(&path_of(&back)).await;
        assert_eq!(callback.status, 303, "{}", callback.body);
        assert_eq!(callback.header("location"), Some("/franceconnect/liaison"));
        assert!(!is_logged_in(&mut browser).await);
        let link_page = browser.get("/franceconnect/liaison").await;
        assert!(link_page.text().contains("Marie DUPONT"), "{}", link_page.body);
        assert!(!link_page.text().contains("Créer mon espace"), "this town does not create accounts");

        let wrong = browser
            .submit(
                "/franceconnect/liaison",
                "/franceconnect/liaison",
                &[("identifier", &identifier), ("password", "pas-le-bon-42")],
            )
            .await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.text().contains("Identifiant ou mot de passe incorrect."));
        assert!(wrong.text().contains(&format!("value=\"{identifier}\"")), "the identifier is kept");

        let linked = browser
            .submit(
                "/franceconnect/liaison",
                "/franceconnect/liaison",
                &[("identifier", &identifier), ("password", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(linked.status, 303, "{}", linked.body);
        let home = browser.get("/").await;
        assert!(home.text().contains("Mon tableau de bord"), "{}", home.body);
        assert!(home.text().contains("maintenant liée à votre espace"), "{}", home.body);

        // Logout goes through the provider's /session/end and comes back.
        let logout = browser.logout().await;
        assert_eq!(logout.status, 303);
        let end_session = logout.header("location").unwrap().to_owned();
        assert!(end_session.starts_with(&format!("{}/session/end?", provider.issuer)), "{end_session}");
        assert!(query_value(&end_session, "id_token_hint").is_some_and(|hint| hint.split('.').count() == 3));
        assert_eq!(
            query_value(&end_session, "post_logout_redirect_uri").as_deref(),
            Some("http://villeneuve.localhost/franceconnect/deconnexion")
        );
        let logout_state = query_value(&end_session, "state").unwrap();
        assert!(logout_state.len() >= 32);
        assert_eq!(browser.session_cookie(), None, "the local session ends at once");
        let returned = provider.sign_out(&mut marie, &end_session).await;
        assert_eq!(
            returned,
            format!("http://villeneuve.localhost/franceconnect/deconnexion?state={logout_state}")
        );
        let back_home = browser.get(&path_of(&returned)).await;
        assert_eq!(back_home.status, 200, "{}", back_home.body);
        assert!(back_home.text().contains("Vous êtes déconnecté(e) de votre espace personnel."));
        assert!(back_home.text().contains("S'identifier avec</span>"), "the login page");
        // Coming back with another state (or twice) is not a confirmation.
        let replayed = browser.get(&path_of(&returned)).await;
        assert_eq!(replayed.status, 400);
        assert!(replayed.text().contains("n'a pas pu être vérifiée"), "{}", replayed.body);
        assert!(!is_logged_in(&mut browser).await);

        // Later: FranceConnect alone logs in, in another browser too, and
        // the provider asks again since its session ended.
        let mut elsewhere = app.visitor(VILLENEUVE);
        let direct = franceconnect_login(&provider, &mut elsewhere, &mut marie, "marie.dupont").await;
        assert_eq!(direct.status, 303, "{}", direct.body);
        assert_eq!(direct.header("location"), Some("/"));
        assert!(is_logged_in(&mut elsewhere).await);

        // The resident sees the link and removes it; FranceConnect then
        // asks for the link again.
        let account = elsewhere.get("/franceconnect").await;
        assert!(account.text().contains("Votre espace est lié à une identité FranceConnect"), "{}", account.body);
        let link_id = crate::harness::field_value(&account.body, "link");
        let removed = elsewhere
            .post("/franceconnect/retirer", &[("csrf", &csrf_of(&account.body)), ("link", &link_id)])
            .await;
        assert_eq!(removed.status, 303);
        let account = elsewhere.get("/franceconnect").await;
        assert!(account.text().contains("Le lien avec FranceConnect a été retiré."), "{}", account.body);
        assert!(account.text().contains("Lier mon compte FranceConnect"));
        let mut third = app.visitor(VILLENEUVE);
        let again = franceconnect_login(&provider, &mut third, &mut marie, "marie.dupont").await;
        assert_eq!(again.header("location"), Some("/franceconnect/liaison"));
        assert!(!is_logged_in(&mut third).await);
    }

    async fn every_failure_shows_a_french_page_and_logs_nobody_in(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve"]).await;
        app.enable_franceconnect("villeneuve", &provider, false).await;
        let (mut resident, identifier) =
            app.active_resident("villeneuve", "michel@example.org").await;
        // Marie's identity is linked: a failure below is not "not linked yet".
        let mut marie = provider.browser();
        let mut browser = app.visitor(VILLENEUVE);
        franceconnect_login(&provider, &mut browser, &mut marie, "marie.dupont").await;
        browser
            .submit(
                "/franceconnect/liaison",
                "/franceconnect/liaison",
                &[("identifier", &identifier), ("password", NEW_PASSWORD)],
            )
            .await;
        assert!(is_logged_in(&mut browser).await);
        resident.logout().await;

        // The resident cancels at the provider: error=access_denied.
        let mut browser = app.visitor(VILLENEUVE);
        let mut someone = provider.browser();
        let authorize = start_franceconnect(&mut browser).await;
        let back = provider.cancel(&mut someone, &authorize).await;
        assert_eq!(query_value(&back, "error").as_deref(), Some("access_denied"));
        let page = browser.get(&path_of(&back)).await;
        assert_eq!(page.status, 401);
        assert!(page.text().contains("Vous avez annulé la connexion avec FranceConnect."), "{}", page.body);
        assert!(page.text().contains("Aucune connexion n'a été ouverte."));
        assert!(page.text().contains("Motif indiqué par FranceConnect : L'usager a annulé la connexion."), "{}", page.body);
        assert!(!is_logged_in(&mut browser).await);

        // A state that is not the browser's flow.
        let mut browser = app.visitor(VILLENEUVE);
        let authorize = start_franceconnect(&mut browser).await;
        let back = provider.sign_in(&mut marie, &authorize, "marie.dupont", "eidas1").await;
        let state = query_value(&back, "state").unwrap();
        let forged = path_of(&back).replace(&state, "an-attacker-chose-this-state-of-32-chars");
        let page = browser.get(&forged).await;
        assert_eq!(page.status, 400);
        assert!(page.text().contains("ne correspond pas à votre demande de connexion"), "{}", page.body);
        assert!(!is_logged_in(&mut browser).await);

        // A callback in a browser that started no flow (another browser,
        // or a flow that has expired and whose cookie is gone).
        let authorize = start_franceconnect(&mut browser).await;
        let back = provider.sign_in(&mut marie, &authorize, "marie.dupont", "eidas1").await;
        let mut stranger = app.visitor(VILLENEUVE);
        let page = stranger.get(&path_of(&back)).await;
        assert_eq!(page.status, 400);
        assert!(page.text().contains("a expiré, ou a été commencée dans un autre navigateur"), "{}", page.body);
        assert!(!is_logged_in(&mut stranger).await);

        // The flow of this very browser, sealed by the server, but expired.
        let mut browser = app.visitor(VILLENEUVE);
        let authorize = start_franceconnect(&mut browser).await;
        let back = provider.sign_in(&mut marie, &authorize, "marie.dupont", "eidas1").await;
        let expired = FlowCookie {
            town: "villeneuve".to_owned(),
            state: query_value(&back, "state").unwrap(),
            nonce: query_value(&authorize, "nonce").unwrap(),
            intent: FlowIntent::Login,
            next: None,
            expires_at: chrono::Utc::now().timestamp() - 1,
        };
        browser.cookies.insert(
            "guichet_fc_flow".to_owned(),
            expired.seal(&app.app.secret_key).unwrap(),
        );
        let page = browser.get(&path_of(&back)).await;
        assert_eq!(page.status, 400);
        assert!(page.text().contains("a expiré"), "{}", page.body);
        assert!(!is_logged_in(&mut browser).await);

        // The provider does not vouch eidas1.
        let mut browser = app.visitor(VILLENEUVE);
        let mut without_acr = provider.browser();
        let authorize = start_franceconnect(&mut browser).await;
        let back = provider.sign_in(&mut without_acr, &authorize, "marie.dupont", "none").await;
        let page = browser.get(&path_of(&back)).await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.text().contains("n'a pas pu être vérifiée"), "{}", page.body);
        assert!(!is_logged_in(&mut browser).await);

        // A code used twice: the provider refuses it the second time.
        let mut first = app.visitor(VILLENEUVE);
        let authorize = start_franceconnect(&mut first).await;
        let flow_cookie = first.cookies.get("guichet_fc_flow").cloned().unwrap();
        let back = provider.sign_in(&mut marie, &authorize, "marie.dupont", "eidas1").await;
        assert_eq!(first.get(&path_of(&back)).await.status, 303);
        let mut replay = app.visitor(VILLENEUVE);
        replay.cookies.insert("guichet_fc_flow".to_owned(), flow_cookie);
        let page = replay.get(&path_of(&back)).await;
        assert_eq!(page.status, 502, "{}", page.body);
        assert!(page.text().contains("FranceConnect n'a pas pu confirmer votre identité."));
        assert!(!is_logged_in(&mut replay).await);

    }

    async fn signatures_that_do_not_verify_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve"]).await;
        app.enable_franceconnect("villeneuve", &provider, false).await;
        // Before the server ever fetched the provider's keys: it sees the
        // forged set only.
        provider.forge_keys().await;
        let mut marie = provider.browser();
        let mut browser = app.visitor(VILLENEUVE);
        let page = franceconnect_login(&provider, &mut browser, &mut marie, "marie.dupont").await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.text().contains("n'est pas signée"), "{}", page.body);
        assert_eq!(browser.cookies.get("guichet_fc_pending"), None);
        assert!(!is_logged_in(&mut browser).await);
    }

    async fn the_login_page_offers_franceconnect_only_where_it_is_enabled(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve"]).await;
        app.enable_franceconnect("villeneuve", &provider, false).await;

        for path in ["/connexion", "/"] {
            let page = app.get(VILLENEUVE, path).await;
            assert_eq!(page.status, 200);
            let password_form = page.body.find("action=\"/connexion\"").unwrap();
            let or = page.body.find("<span>OU</span>").expect("the OU separator");
            let button = page.body.find("action=\"/franceconnect/connexion\"").unwrap();
            assert!(password_form < or && or < button, "password form, OU, then the button");
            assert!(page.text().contains(
                "<span class=\"franceconnect-button__login\">S'identifier avec</span>"
            ));
            assert!(page.text().contains("<span class=\"franceconnect-button__brand\">FranceConnect</span>"));
            assert!(page.text().contains(
                "href=\"https://franceconnect.gouv.fr/\" target=\"_blank\" rel=\"noopener\" \
                 title=\"Qu'est-ce que FranceConnect ? - nouvelle fenêtre\">Qu'est-ce que FranceConnect ?</a>"
            ));
        }
        // The button is a form answered with a redirection to the provider:
        // the policy lets forms of this town lead there, and nowhere else
        // but PayFiP's page ("Payer en ligne").
        let page = app.get(VILLENEUVE, "/connexion").await;
        let policy = page.header("content-security-policy").unwrap();
        assert!(
            policy.contains(&format!(
                "form-action 'self' https://www.payfip.gouv.fr http://127.0.0.1:{};",
                provider.port
            )),
            "{policy}"
        );
        // Where to come back after login follows the resident to the provider.
        let page = app.get(VILLENEUVE, "/connexion?suite=%2Ffamille").await;
        assert!(page.text().contains("name=\"suite\" value=\"/famille\""), "{}", page.body);

        // Saint-Martin has FranceConnect disabled: no button, no flow.
        let page = app.get("saint-martin.localhost", "/connexion").await;
        assert_eq!(page.status, 200);
        assert!(!page.text().contains("FranceConnect"), "{}", page.body);
        let policy = page.header("content-security-policy").unwrap();
        assert!(policy.contains("form-action 'self' https://www.payfip.gouv.fr;"), "{policy}");
        let refused = app.get("saint-martin.localhost", "/franceconnect/connexion").await;
        assert_eq!(refused.status, 404);
        assert!(refused.text().contains("ne propose pas la connexion avec FranceConnect"));
    }

    async fn a_town_may_create_the_account_from_franceconnect(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve"]).await;
        app.enable_franceconnect("villeneuve", &provider, true).await;
        // Someone already has Marie's address: her account cannot be
        // created with it, and the page says how to link instead.
        app.create_resident("villeneuve", "Marie", "Dupont", "marie.dupont@example.org").await;

        let mut marie = provider.browser();
        let mut browser = app.visitor(VILLENEUVE);
        franceconnect_login(&provider, &mut browser, &mut marie, "marie.dupont").await;
        let refused = browser
            .submit("/franceconnect/liaison", "/franceconnect/creation", &[])
            .await;
        assert_eq!(refused.status, 409);
        assert!(refused.text().contains("Un espace personnel existe déjà avec l'adresse marie.dupont@example.org"), "{}", refused.body);
        assert!(!is_logged_in(&mut browser).await);

        let mut jeanne = provider.browser();
        let mut browser = app.visitor(VILLENEUVE);
        franceconnect_login(&provider, &mut browser, &mut jeanne, "jeanne.martin").await;
        let page = browser.get("/franceconnect/liaison").await;
        assert!(page.text().contains("Créer mon espace avec FranceConnect"), "{}", page.body);
        let created = browser
            .submit("/franceconnect/liaison", "/franceconnect/creation", &[])
            .await;
        assert_eq!(created.status, 303, "{}", created.body);
        // Logged in; the town's terms come first.
        let home = browser.get("/").await;
        assert_eq!(home.status, 303);
        assert_eq!(home.header("location"), Some("/cgu"));
        assert_eq!(browser.accept_terms().await.status, 303);
        let home = browser.get("/").await;
        assert!(home.text().contains("Bonjour Jeanne MARTIN."), "{}", home.body);
        let town = app.town("villeneuve").await;
        let account = app
            .app
            .accounts
            .find_by_identifier(&town, "jeanne.martin")
            .await
            .unwrap()
            .expect("the account exists");
        assert_eq!(account.email, "jeanne.martin@example.org");
        assert_eq!(account.status.to_value(), "active");
        assert!(!account.password_is_temporary);
        // Jeanne created her account herself: the journal says so.
        let own = guichet::audit::Journal::new(app.app.db.clone())
            .resident_history(&town, account.id, None, 50)
            .await
            .unwrap();
        let created_by = own.entries.iter().find(|e| e.kind == Some(guichet::audit::AuditKind::AccountCreated)).unwrap();
        assert_eq!(created_by.actor_label(guichet::audit::Reader::Resident(account.id)), "Vous");
        assert_eq!(created_by.resident_detail(), Some("via FranceConnect"));
        let history = browser.get("/mon-compte/historique").await;
        assert!(history.text().contains("Compte FranceConnect associé"), "{}", history.body);

        // Next time, FranceConnect alone.
        browser.logout().await;
        let mut browser = app.visitor(VILLENEUVE);
        let direct = franceconnect_login(&provider, &mut browser, &mut jeanne, "jeanne.martin").await;
        assert_eq!(direct.header("location"), Some("/"));
        assert!(is_logged_in(&mut browser).await);
    }

    async fn identities_are_linked_per_town_and_never_by_email(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve", "saint-martin"]).await;
        app.enable_franceconnect("villeneuve", &provider, false).await;
        app.enable_franceconnect("saint-martin", &provider, false).await;
        // Same address as Marie's FranceConnect identity: no link for that.
        let (mut same_email, _) =
            app.active_resident("saint-martin", "marie.dupont@example.org").await;
        same_email.logout().await;
        let (mut resident, identifier) =
            app.active_resident("villeneuve", "michel@example.org").await;
        resident.logout().await;

        let mut marie = provider.browser();
        let mut browser = app.visitor(VILLENEUVE);
        franceconnect_login(&provider, &mut browser, &mut marie, "marie.dupont").await;
        browser
            .submit(
                "/franceconnect/liaison",
                "/franceconnect/liaison",
                &[("identifier", &identifier), ("password", NEW_PASSWORD)],
            )
            .await;
        assert!(is_logged_in(&mut browser).await);

        // Linked in Villeneuve, not in Saint-Martin, whatever the address.
        let mut other_town = app.visitor("saint-martin.localhost");
        let answer = franceconnect_login(&provider, &mut other_town, &mut marie, "marie.dupont").await;
        assert_eq!(answer.header("location"), Some("/franceconnect/liaison"));
        assert!(!is_logged_in(&mut other_town).await);
        // A flow cookie of Villeneuve is worth nothing in Saint-Martin.
        let mut villeneuve_browser = app.visitor(VILLENEUVE);
        let authorize = start_franceconnect(&mut villeneuve_browser).await;
        let back = provider.sign_in(&mut marie, &authorize, "marie.dupont", "eidas1").await;
        let mut wrong_town = app.visitor("saint-martin.localhost");
        wrong_town.cookies = villeneuve_browser.cookies.clone();
        let page = wrong_town.get(&path_of(&back)).await;
        assert_eq!(page.status, 400);
        assert!(!is_logged_in(&mut wrong_town).await);
        // And a pending link of Villeneuve cannot be completed there.
        let mut pending = app.visitor(VILLENEUVE);
        let mut jeanne = provider.browser();
        franceconnect_login(&provider, &mut pending, &mut jeanne, "jeanne.martin").await;
        let mut carried = app.visitor("saint-martin.localhost");
        carried.cookies = pending.cookies.clone();
        assert_eq!(carried.get("/franceconnect/liaison").await.status, 400);
    }

    async fn a_logged_in_resident_links_from_the_account_page(backend) {
        let app = TestApp::spawn(backend).await;
        let provider = app.oidc_provider(&["villeneuve"]).await;
        app.enable_franceconnect("villeneuve", &provider, false).await;
        let (mut resident, _) = app.active_resident("villeneuve", "michel@example.org").await;
        let contact = resident.get("/coordonnees").await;
        assert!(contact.text().contains("href=\"/franceconnect\""), "{}", contact.body);
        let account = resident.get("/franceconnect").await;
        assert!(account.text().contains("n'est lié à aucune identité FranceConnect"), "{}", account.body);

        let started = resident
            .submit("/franceconnect", "/franceconnect/lier", &[])
            .await;
        assert_eq!(started.status, 303, "{}", started.body);
        let mut michel = provider.browser();
        let back = provider
            .sign_in(&mut michel, started.header("location").unwrap(), "michel.arpege", "eidas1")
            .await;
        let linked = resident.get(&path_of(&back)).await;
        assert_eq!(linked.header("location"), Some("/franceconnect?resultat=lie"));
        let account = resident.get("/franceconnect?resultat=lie").await;
        assert!(account.text().contains("est maintenant liée à votre espace"), "{}", account.body);
        // The session became a FranceConnect one: logout goes through it.
        let logout = resident.logout().await;
        assert!(logout.header("location").unwrap().starts_with(&provider.issuer));

        // Another account cannot take the same identity.
        let (mut other, _) = app.active_resident("villeneuve", "autre@example.org").await;
        let started = other.submit("/franceconnect", "/franceconnect/lier", &[]).await;
        let back = provider
            .sign_in(&mut michel, started.header("location").unwrap(), "michel.arpege", "eidas1")
            .await;
        let refused = other.get(&path_of(&back)).await;
        assert_eq!(refused.header("location"), Some("/franceconnect?resultat=identite-prise"));
        let account = other.get("/franceconnect?resultat=identite-prise").await;
        assert!(account.text().contains("déjà liée à un autre espace personnel"));
        assert!(account.text().contains("n'est lié à aucune identité FranceConnect"));
    }
}
