//! A town's theme overrides the default theme file by file.

use std::path::Path;

use guichet::towns::parse_town;

use crate::harness::{TestApp, TestAppOptions, repo_root};

/// A copy of the default theme, and a theme `test` that overrides the footer
/// partial and the primary colour (a token), but not the layout nor
/// `guichet.css`.
fn theme_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &repo_root().join("themes/default"),
        &dir.path().join("default"),
    );
    let test = dir.path().join("test");
    std::fs::create_dir_all(test.join("templates/partials")).unwrap();
    std::fs::create_dir_all(test.join("static")).unwrap();
    std::fs::write(
        test.join("templates/partials/footer.hbs"),
        "<footer role=\"contentinfo\">Pied de page du thème test, {{town.display_name}}</footer>",
    )
    .unwrap();
    std::fs::write(
        test.join("theme.toml"),
        "[palette]\nprimary = \"#123456\"\n",
    )
    .unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn town_with_theme(app: &TestApp, theme: &str) {
    let definition = parse_town(
        &format!(
            "display_name = \"Bourg-Test\"\ntheme = \"{theme}\"\n[mail]\nsender_name = \"Mairie\"\nsender_address = \"mairie@bourg.example.fr\""
        ),
        "bourg",
        "bourg/tenant.toml",
    )
    .unwrap();
    app.app.apply_towns(&[definition]).await.unwrap();
}

on_both_databases! {
    async fn town_theme_files_override_the_default_ones(backend) {
        let themes = theme_folder();
        let app = TestApp::spawn_with(
            backend,
            TestAppOptions { themes_dir: themes.path().to_owned(), demo_towns: false, ..Default::default() },
        )
        .await;
        town_with_theme(&app, "test").await;

        let page = app.get("bourg.localhost", "/").await;
        assert_eq!(page.status, 200);
        // The overridden partial…
        assert!(page.body.contains("Pied de page du thème test, Bourg-Test"));
        // …inside the default layout and pages.
        assert!(page.body.contains("Mon espace perso"));
        assert!(page.body.contains(r#"<a class="skip-link""#));

        // The palette is generated from the tokens: the town's colour, for
        // the buttons too (it set no accent), the base font untouched.
        let palette = app.get("bourg.localhost", "/static/theme.css").await;
        assert!(palette.body.contains("--color-primary: #123456;"), "{}", palette.body);
        assert!(palette.body.contains("--color-accent: #123456;"), "a town setting one colour gets buttons of it: {}", palette.body);
        assert!(palette.body.contains("--font-headings: var(--font-body)"), "{}", palette.body);
        let structure = app.get("bourg.localhost", "/static/guichet.css").await;
        assert_eq!(structure.status, 200);
        assert_eq!(
            structure.body,
            std::fs::read_to_string(repo_root().join("themes/default/static/guichet.css")).unwrap()
        );
    }

    async fn towns_on_the_default_theme_get_it_whole(backend) {
        let themes = theme_folder();
        let app = TestApp::spawn_with(
            backend,
            TestAppOptions { themes_dir: themes.path().to_owned(), demo_towns: false, ..Default::default() },
        )
        .await;
        town_with_theme(&app, "default").await;
        let page = app.get("bourg.localhost", "/").await;
        assert!(!page.body.contains("Pied de page du thème test"));
        let palette = app.get("bourg.localhost", "/static/theme.css").await;
        assert!(palette.body.contains("--color-primary: #1f3a5f"));
    }

    async fn the_demo_towns_look_different(backend) {
        let app = TestApp::spawn(backend).await;
        let villeneuve = app.get("villeneuve.localhost", "/static/theme.css").await;
        let saint_martin = app.get("saint-martin.localhost", "/static/theme.css").await;
        assert!(villeneuve.body.contains("#0b4f8a"));
        assert!(saint_martin.body.contains("#6d1a36"));
        let logo_v = app.get("villeneuve.localhost", "/static/logo.svg").await;
        let logo_s = app.get("saint-martin.localhost", "/static/logo.svg").await;
        assert_eq!(logo_v.header("content-type"), Some("image/svg+xml"));
        assert_ne!(logo_v.body, logo_s.body);
        // Saint-Martin overrides its footer.
        assert!(app.get("saint-martin.localhost", "/").await.body.contains("Hôtel de ville"));
        assert!(!app.get("villeneuve.localhost", "/").await.body.contains("Hôtel de ville"));
    }
}
