//! What every page carries: security headers, the seed's layout, accessible
//! markup; the probes; the theme's static files.

use crate::harness::TestApp;

on_both_databases! {
    async fn probes_answer_on_any_host(backend) {
        let app = TestApp::spawn(backend).await;
        for host in ["localhost", "villeneuve.localhost", "unknown.example"] {
            let health = app.get(host, "/healthz").await;
            assert_eq!(health.status, 200, "{host}");
            let ready = app.get(host, "/readyz").await;
            assert_eq!(ready.status, 200, "{host}");
            assert_eq!(ready.body, "ready\n");
        }
    }

    async fn readiness_fails_when_the_database_is_gone(backend) {
        let app = TestApp::spawn(backend).await;
        app.app.db.clone().close().await.unwrap();
        let ready = app.get("localhost", "/readyz").await;
        assert_eq!(ready.status, 503);
        assert_eq!(app.get("localhost", "/healthz").await.status, 200);
    }

    async fn every_answer_carries_the_security_headers(backend) {
        let app = TestApp::spawn(backend).await;
        for (host, path) in [
            ("villeneuve.localhost", "/"),
            ("villeneuve.localhost", "/introuvable"),
            ("nowhere.localhost", "/"),
            ("villeneuve.localhost", "/static/guichet.css"),
        ] {
            let page = app.get(host, path).await;
            let csp = page.header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("script-src 'self'"), "{host}{path}: {csp}");
            assert!(!csp.contains("unsafe-inline"), "{host}{path}: {csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{host}{path}: {csp}");
            assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(page.header("referrer-policy"), Some("same-origin"));
            assert_eq!(page.header("x-frame-options"), Some("DENY"));
            assert_eq!(page.header("x-request-id").map(str::len), Some(32), "{host}{path}");
            assert_eq!(page.header("server"), None, "no server banner");
        }
        let page = app.get("villeneuve.localhost", "/").await;
        assert_eq!(page.header("cache-control"), Some("no-store"));
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    }

    async fn the_home_page_is_the_seed_login_page(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.get("villeneuve.localhost", "/").await;
        let html = &page.body;
        assert!(html.contains(r#"<html lang="fr">"#));
        assert!(html.contains("<title>Accueil – Ville de Villeneuve</title>"));
        // Landmarks and the skip link.
        assert!(html.contains(r##"<a class="skip-link" href="#contenu">Aller au contenu</a>"##));
        assert!(html.contains(r#"<main id="contenu""#));
        assert!(html.contains(r#"<header class="site-header" role="banner">"#));
        assert!(html.contains(r#"<nav class="main-nav" id="menu" aria-label="Menu principal">"#));
        // On a phone the menu is behind "Menu": a link to it without
        // JavaScript, which nav.js (an external file) turns into a button.
        assert!(html.contains(r##"<a class="menu-toggle" href="#menu" data-menu-toggle>"##));
        assert!(html.contains("/static/nav.js?v="));
        assert!(html.contains(r#"<footer class="site-footer" role="contentinfo">"#));
        // The seed's menu, in its order, the current page marked.
        let menu = [
            "Accueil", "Nouvelle démarche", "Actualités", "Votre avis nous intéresse",
            "Edition de documents", "Activités", "Infos pratiques",
        ];
        let mut at = 0;
        for label in menu {
            let found = html[at..].find(&format!("<span>{label}</span></a>")).unwrap_or_else(|| panic!("menu item {label}"));
            at += found;
        }
        assert!(html.contains(r#"href="/" aria-current="page"><svg class="icon icon--home""#));
        // The seed's login form, every field with its label.
        assert!(html.contains("Mon espace perso"));
        assert!(html.contains("La connexion à votre espace personnel est nécessaire."));
        assert!(html.contains(r#"<label class="field__label" for="identifiant">Identifiant</label>"#));
        assert!(html.contains(r#"id="identifiant" name="identifier""#));
        assert!(html.contains(r#"<label class="field__label" for="mot-de-passe">Mot de passe</label>"#));
        assert!(html.contains(r#"autocomplete="current-password""#));
        assert!(html.contains("J&#x27;ai oublié mon mot de passe") || html.contains("J'ai oublié mon mot de passe"));
        assert!(html.contains(">Connexion</button>"));
        // No inline script or style, which the CSP would block.
        assert!(!html.contains("<script>") && !html.contains("style="));

        let login = app.get("villeneuve.localhost", "/connexion").await;
        assert_eq!(login.status, 200);
        assert!(login.body.contains("<title>Connexion – Ville de Villeneuve</title>"));
    }

    async fn the_footer_shows_the_towns_contact(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.get("villeneuve.localhost", "/").await;
        assert!(page.body.contains("1 place de la Mairie, 00100 Villeneuve"));
        assert!(page.body.contains(r#"href="tel:01 23 45 67 89""#));
    }

    async fn static_files_are_fingerprinted_and_cached(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.get("villeneuve.localhost", "/").await;
        let start = page.body.find("/static/theme.css?v=").expect("theme.css is linked");
        let href = &page.body[start..];
        let href = &href[..href.find('"').unwrap()];
        let fingerprint = href.rsplit('=').next().unwrap();

        let css = app.get("villeneuve.localhost", href).await;
        assert_eq!(css.status, 200);
        assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
        assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
        assert_eq!(css.header("etag"), Some(format!("\"{fingerprint}\"").as_str()));

        // An old or missing fingerprint must be revalidated.
        let stale = app.get("villeneuve.localhost", "/static/theme.css?v=0000").await;
        assert_eq!(stale.header("cache-control"), Some("public, no-cache"));

        let revalidated = app
            .send(
                app.request(reqwest::Method::GET, "villeneuve.localhost", "/static/theme.css")
                    .header("If-None-Match", format!("\"{fingerprint}\"")),
            )
            .await;
        assert_eq!(revalidated.status, 304);
        assert!(revalidated.body.is_empty());
    }

    async fn static_paths_cannot_escape_the_theme(backend) {
        let app = TestApp::spawn(backend).await;
        for path in [
            "/static/../Cargo.toml",
            "/static/%2e%2e/Cargo.toml",
            "/static/..%2f..%2fCargo.toml",
            "/static/",
            "/static/templates/layout.hbs",
        ] {
            let answer = app.get("villeneuve.localhost", path).await;
            // 422: Rocket refuses to decode a `/` inside a path segment.
            assert!(matches!(answer.status, 404 | 422), "{path}: {}", answer.status);
            assert!(!answer.body.contains("[workspace]"), "{path}");
        }
    }

    async fn unknown_hosts_get_the_default_themes_files(backend) {
        let app = TestApp::spawn(backend).await;
        let css = app.get("nowhere.localhost", "/static/theme.css").await;
        assert_eq!(css.status, 200);
        assert!(css.body.contains("--color-primary: #1f3a5f"));
    }

    async fn control_characters_in_the_way_back_go_home_quietly(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = app.active_resident("villeneuve", "ctl@example.org").await;
        for (encoded, raw) in [
            ("%2F%09%2Fevil.example", "/\t/evil.example"),
            ("%2F%0A%2Fevil.example", "/\n/evil.example"),
            ("%2F%0D%2Fevil.example", "/\r/evil.example"),
            ("%2F%E3%80%80%2Fevil.example", "/\u{3000}/evil.example"),
        ] {
            // Logged in: the login page sends back at once.
            let answer = browser.get(&format!("/connexion?suite={encoded}")).await;
            assert_eq!(answer.status, 303, "{encoded}");
            assert_eq!(answer.header("location"), Some("/"), "{encoded}");
            // Logged out: the form does not carry it, and the login goes home.
            browser.logout().await;
            let form = browser.get(&format!("/connexion?suite={encoded}")).await;
            assert_eq!(form.status, 200, "{encoded}");
            assert!(!form.body.contains("evil.example"), "{encoded}");
            let csrf = crate::harness::csrf_of(&form.body);
            let answer = browser
                .post("/connexion", &[("identifier", &identifier), ("password", crate::harness::NEW_PASSWORD), ("csrf", &csrf), ("next", raw)])
                .await;
            assert_eq!(answer.status, 303, "{raw:?}");
            assert_eq!(answer.header("location"), Some("/"), "{raw:?}");
        }
    }
}
