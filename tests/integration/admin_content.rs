//! The back-office's content: news (scheduled, edited, unpublished,
//! previewed), the town's pages, the terms of use published from the
//! browser — and who owns what once the back-office has edited an item
//! (`tenant apply` and the demo's start leave it alone).

use std::path::Path;

use chrono::{Days, NaiveDate, Utc};
use guichet::audit::entity::{ActorKind, Column, Entity};
use guichet::content::{LeftAloneReason, NewsItem, Origin};
use guichet::staff::StaffRole::{Administrateur, Agent, Gestionnaire};
use guichet::towns::load_definitions;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::harness::{TestApp, Visitor, csrf_of, repo_root};

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

fn day(offset: i64) -> String {
    let today = today();
    let day = if offset >= 0 {
        today.checked_add_days(Days::new(offset.unsigned_abs()))
    } else {
        today.checked_sub_days(Days::new(offset.unsigned_abs()))
    };
    day.unwrap().format("%Y-%m-%d").to_string()
}

/// Creates news through the form; answers the response.
async fn create_news(
    staff: &mut Visitor,
    title: &str,
    text: &str,
    published: &str,
    until: &str,
) -> crate::harness::TestResponse {
    staff
        .submit(
            "/admin/actualites/nouvelle",
            "/admin/actualites/nouvelle",
            &[
                ("title", title),
                ("text", text),
                ("published", published),
                ("until", until),
                ("action", "enregistrer"),
            ],
        )
        .await
}

async fn news_of(app: &TestApp, slug: &str) -> Vec<NewsItem> {
    guichet::content::news(&app.town(slug).await).to_vec()
}

async fn staff_kinds(app: &TestApp) -> Vec<String> {
    Entity::find()
        .filter(Column::ActorKind.eq(ActorKind::Staff))
        .all(&app.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.kind)
        .collect()
}

/// A copy of the demo's folder of `slug` in `dir`, with `extra` news files.
fn copy_town(slug: &str, dir: &Path, extra: &[(&str, &str)]) {
    let from = repo_root().join("tenants").join(slug);
    let to = dir.join(slug);
    for sub in ["", "news", "pages", "terms"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    for (name, text) in extra {
        std::fs::write(to.join("news").join(name), text).unwrap();
    }
}

on_both_databases! {
    async fn news_are_scheduled_edited_and_unpublished(backend) {
        let app = TestApp::spawn(backend).await;
        let mut staff = app.staff("villeneuve", Gestionnaire).await;
        let (mut resident, _) = app.active_resident("villeneuve", "lecteur@example.org").await;

        let created = create_news(&mut staff, "Fête de l'été", "Rendez-vous **samedi**.", &day(0), "").await;
        assert_eq!(created.status, 303, "{}", created.body);
        assert_eq!(created.header("location"), Some("/admin/actualites"));
        create_news(&mut staff, "Marché de Noël", "Bientôt.", &day(3), "").await;
        create_news(&mut staff, "Brocante passée", "Finie.", &day(-10), &day(-2)).await;

        let list = resident.get("/actualites").await.body;
        assert!(list.contains("Fête de l&#x27;été") || list.contains("Fête de l'été"), "{list}");
        assert!(!list.contains("Marché de Noël"), "not before its date");
        assert!(!list.contains("Brocante passée"), "gone after its end");
        assert_eq!(resident.get("/actualites/marche-de-noel").await.status, 404);
        assert_eq!(resident.get("/actualites/brocante-passee").await.status, 404);
        let item = resident.get("/actualites/fete-de-l-ete").await;
        assert!(item.body.contains("<strong>samedi</strong>"), "{}", item.body);
        assert!(resident.get("/").await.body.contains("/actualites/fete-de-l-ete"));

        let admin_list = staff.get("/admin/actualites").await.body;
        for state in ["En ligne", "Programmée", "Terminée"] {
            assert!(admin_list.contains(state), "{state}: {admin_list}");
        }

        // Edited: residents read the new text; the schedule moves too.
        let edited = staff
            .submit(
                "/admin/actualites/fete-de-l-ete",
                "/admin/actualites/fete-de-l-ete",
                &[
                    ("title", "Fête de l'été (reportée)"),
                    ("text", "Rendez-vous **dimanche**."),
                    ("published", &day(-1)),
                    ("until", ""),
                    ("action", "enregistrer"),
                ],
            )
            .await;
        assert_eq!(edited.status, 303, "{}", edited.body);
        let item = resident.get("/actualites/fete-de-l-ete").await;
        assert!(item.body.contains("<strong>dimanche</strong>"), "{}", item.body);
        // The edit form shows the Markdown it came from.
        let form = staff.get("/admin/actualites/fete-de-l-ete").await.body;
        assert!(form.contains("Rendez-vous **dimanche**."), "{form}");

        // Unpublished: gone for residents, kept in the back-office.
        let withdrawn = staff
            .submit("/admin/actualites", "/admin/actualites/fete-de-l-ete/depublier", &[])
            .await;
        assert_eq!(withdrawn.status, 303);
        assert_eq!(resident.get("/actualites/fete-de-l-ete").await.status, 404);
        assert!(!resident.get("/actualites").await.body.contains("reportée"));
        assert!(staff.get("/admin/actualites").await.body.contains("Dépubliée"));

        let kinds = staff_kinds(&app).await;
        for kind in ["news_created", "news_edited", "news_withdrawn"] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
        }
        // An unknown news item is a 404, not a creation.
        let unknown = staff
            .submit(
                "/admin/actualites",
                "/admin/actualites/inconnue",
                &[("title", "T"), ("text", "T"), ("published", &day(0)), ("until", ""), ("action", "enregistrer")],
            )
            .await;
        assert_eq!(unknown.status, 404);
    }

    async fn forms_keep_the_input_and_previews_escape_raw_html(backend) {
        let app = TestApp::spawn(backend).await;
        let mut staff = app.staff("villeneuve", Gestionnaire).await;
        let before = news_of(&app, "villeneuve").await;

        let refused = create_news(&mut staff, " ", "Mon texte gardé", "2026-02-30", "2020-01-01").await;
        assert_eq!(refused.status, 422);
        let body = refused.body;
        assert!(body.contains("Saisissez un titre."), "{body}");
        assert!(body.contains("La date de publication doit être une date"), "{body}");
        assert!(body.contains("Mon texte gardé"), "the input is kept: {body}");
        assert!(body.contains(r##"href="#titre""##), "the summary links to the field");
        assert!(body.contains(r#"aria-invalid="true""#));
        // A stale form (no token, an expired session's…) loses nothing either.
        let stale = staff
            .post(
                "/admin/actualites/nouvelle",
                &[("title", "Titre gardé"), ("text", "Long texte gardé"), ("published", "2026-05-01"), ("until", "")],
            )
            .await;
        assert_eq!(stale.status, 422);
        assert!(stale.body.contains("Long texte gardé") && stale.body.contains("Titre gardé"), "{}", stale.body);
        assert_eq!(news_of(&app, "villeneuve").await, before);
        let ends_first = create_news(&mut staff, "T", "T", &day(5), &day(1)).await;
        assert_eq!(ends_first.status, 422);
        assert!(ends_first.body.contains("La date de fin doit suivre la date de publication."));

        let preview = staff
            .submit(
                "/admin/actualites/nouvelle",
                "/admin/actualites/nouvelle",
                &[
                    ("title", "Aperçu"),
                    ("text", "Texte <script>alert(1)</script> et **gras** [x](javascript:alert(1))"),
                    ("published", &day(0)),
                    ("until", ""),
                    ("action", "apercu"),
                ],
            )
            .await;
        assert_eq!(preview.status, 200);
        assert!(preview.body.contains("Aperçu, tel que les usagers le verront"));
        assert!(preview.body.contains("<strong>gras</strong>"), "{}", preview.body);
        assert!(preview.body.contains("&lt;script&gt;"), "{}", preview.body);
        assert!(!preview.body.contains("<script>alert(1)</script>"), "raw HTML is never rendered");
        assert!(!preview.body.contains("href=\"javascript:"), "unsafe links are dropped");
        assert_eq!(news_of(&app, "villeneuve").await, before, "a preview saves nothing");

        // Pages: a preview, then the resident's page.
        let page = staff
            .submit(
                "/admin/pages/activites",
                "/admin/pages/activites",
                &[("title", "Activités"), ("text", "## Piscine\n\nOuverte *le mercredi*."), ("action", "apercu")],
            )
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<em>le mercredi</em>"));
        let saved = staff
            .submit(
                "/admin/pages/activites",
                "/admin/pages/activites",
                &[("title", "Activités"), ("text", "## Piscine\n\nOuverte *le mercredi*."), ("action", "enregistrer")],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let resident_page = app.visitor("villeneuve.localhost").get("/activites").await;
        assert!(resident_page.body.contains("<em>le mercredi</em>"), "{}", resident_page.body);
        let empty = staff
            .submit("/admin/pages/activites", "/admin/pages/activites", &[("title", "Activités"), ("text", " "), ("action", "enregistrer")])
            .await;
        assert_eq!(empty.status, 422);
        assert!(empty.body.contains("Saisissez le texte."));
        assert_eq!(staff.get("/admin/pages/autre").await.status, 404);
        assert!(staff_kinds(&app).await.iter().any(|k| k == "page_edited"));
    }

    async fn back_office_edits_survive_tenant_apply_and_a_demo_restart(backend) {
        let app = TestApp::spawn(backend).await;
        let mut staff = app.staff("villeneuve", Gestionnaire).await;
        let slug = "2020-04-07-bienvenue";
        let edited = staff
            .submit(
                &format!("/admin/actualites/{slug}"),
                &format!("/admin/actualites/{slug}"),
                &[
                    ("title", "Bienvenue, texte de la mairie"),
                    ("text", "Modifié dans l'espace agents."),
                    ("published", "2020-04-07"),
                    ("until", ""),
                    ("action", "enregistrer"),
                ],
            )
            .await;
        assert_eq!(edited.status, 303, "{}", edited.body);
        let page_saved = staff
            .submit("/admin/pages/infos-pratiques", "/admin/pages/infos-pratiques",
                &[("title", "Infos pratiques"), ("text", "Horaires d'été."), ("action", "enregistrer")])
            .await;
        assert_eq!(page_saved.status, 303);

        // A news item applied from another folder (the reported bug).
        let other = tempfile::tempdir().unwrap();
        copy_town("villeneuve", other.path(), &[(
            "2026-01-01-extra.md",
            "+++\ntitle = \"Venue d'ailleurs\"\npublished = 2020-01-01\n+++\nTexte.\n",
        )]);
        app.app.apply_towns(&load_definitions(other.path()).unwrap()).await.unwrap();

        // `tenant apply` of the town's folder: the edits stay, and it says so.
        let applied = app
            .app
            .apply_towns(&load_definitions(&repo_root().join("tenants")).unwrap())
            .await
            .unwrap();
        let left: Vec<(&str, &str, LeftAloneReason)> = applied
            .left_alone
            .iter()
            .map(|(town, item)| (town.as_str(), item.slug.as_str(), item.reason))
            .collect();
        assert!(left.contains(&("villeneuve", slug, LeftAloneReason::EditedInBackOffice)), "{left:?}");
        assert!(left.contains(&("villeneuve", "infos-pratiques", LeftAloneReason::EditedInBackOffice)), "{left:?}");
        assert!(left.contains(&("villeneuve", "2026-01-01-extra", LeftAloneReason::NotInFolder)), "{left:?}");
        assert!(!left.iter().any(|(town, _, _)| *town == "saint-martin"), "{left:?}");

        // The demo's start: its towns from tenants/ (or the built-in copy).
        for dir in [repo_root().join("tenants"), other.path().join("absent")] {
            let towns = guichet::demo::town_definitions(&dir).unwrap();
            app.app.apply_towns(&towns).await.unwrap();
            let news = news_of(&app, "villeneuve").await;
            let item = news.iter().find(|item| item.slug == slug).unwrap();
            assert_eq!(item.title, "Bienvenue, texte de la mairie");
            assert_eq!(item.origin, Origin::BackOffice);
            assert!(news.iter().any(|item| item.slug == "2026-01-01-extra"), "not lost at restart");
            // Folder items keep following their folder.
            assert!(news.iter().any(|item| item.slug == "2020-06-01-inscriptions"));
        }
        let mut resident = app.visitor("villeneuve.localhost");
        assert!(resident.get(&format!("/actualites/{slug}")).await.body.contains("Modifié dans l&#x27;espace agents")
            || resident.get(&format!("/actualites/{slug}")).await.body.contains("Modifié dans l'espace agents"));
        assert!(resident.get("/infos-pratiques").await.body.contains("Horaires d"));
        assert!(resident.get("/actualites").await.body.contains("Venue d"));
    }

    async fn terms_published_from_the_back_office_gate_residents_as_the_cli_does(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", Administrateur).await;
        let (mut resident, identifier) = app.active_resident("villeneuve", "cgu@example.org").await;
        let town = app.town("villeneuve").await;
        let v1 = app.app.terms.current(&town).await.unwrap().unwrap().source;

        let page = admin.get("/admin/cgu").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("1 / 1"), "v1 accepted by the one active resident: {}", page.body);
        assert!(page.body.contains("100 %"));

        // Preview and diff: one line removed, one added.
        let first_line = v1.lines().find(|line| !line.trim().is_empty()).unwrap().to_owned();
        let v2 = v1.replacen(&first_line, "# CONDITIONS D'UTILISATION, VERSION 2", 1);
        let preview = admin
            .submit("/admin/cgu", "/admin/cgu/apercu", &[("text", &v2), ("kind", "majeure")])
            .await;
        assert_eq!(preview.status, 200, "{}", preview.body);
        assert!(preview.body.contains("1 ligne(s) ajoutée(s), 1 ligne(s) retirée(s)"), "{}", preview.body);
        assert!(preview.body.contains("<span class=\"diff__label\">Ajouté :</span> <ins># CONDITIONS D&#x27;UTILISATION, VERSION 2</ins>")
            || preview.body.contains("Ajouté :</span> <ins>"), "{}", preview.body);
        assert!(preview.body.contains("Retiré :</span> <del>"), "{}", preview.body);
        assert_eq!(app.app.terms.versions(&town).await.unwrap().len(), 1, "a preview publishes nothing");
        assert_eq!(resident.get("/").await.status, 200);

        // Published (major): the resident is gated, as by `guichet terms publish`.
        let csrf = csrf_of(&preview.body);
        let published = admin
            .post("/admin/cgu/publier", &[("csrf", &csrf), ("text", &v2), ("kind", "majeure")])
            .await;
        assert_eq!(published.status, 303, "{}", published.body);
        assert_eq!(resident.get("/").await.header("location"), Some("/cgu"));
        let again = admin
            .post("/admin/cgu/publier", &[("csrf", &csrf), ("text", &v2), ("kind", "majeure")])
            .await;
        assert_eq!(again.status, 409);
        assert!(again.body.contains("déjà celui de la version 2"));
        assert!(admin.get("/admin/cgu").await.body.contains("0 / 1"));
        assert_eq!(resident.accept_terms().await.status, 303);
        assert!(admin.get("/admin/cgu").await.body.contains("1 / 1"));

        // Minor: a notice, no gate.
        let v3 = format!("{v2}\n\nUne précision.");
        let minor = admin
            .post("/admin/cgu/publier", &[("csrf", &csrf), ("text", &v3), ("kind", "mineure")])
            .await;
        assert_eq!(minor.status, 303);
        let home = resident.get("/").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("ont été mises à jour"));
        let versions = app.app.terms.versions(&town).await.unwrap();
        assert_eq!(versions.iter().map(|v| v.kind.as_str()).collect::<Vec<_>>(), ["major", "major", "minor"]);

        let bad = admin.post("/admin/cgu/apercu", &[("csrf", &csrf), ("text", " "), ("kind", "autre")]).await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("Saisissez le texte des conditions d&#x27;utilisation.")
            || bad.body.contains("Saisissez le texte des conditions d'utilisation."));
        assert!(bad.body.contains("Choisissez la nature de la version"));

        let stale = admin.post("/admin/cgu/apercu", &[("text", "Texte gardé"), ("kind", "majeure")]).await;
        assert_eq!(stale.status, 422);
        assert!(stale.body.contains("Texte gardé"), "the text is kept: {}", stale.body);

        // The export, from the browser: the CLI's CSV.
        let csv = admin.get("/admin/cgu/acceptations.csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").unwrap_or_default().starts_with("text/csv"));
        assert!(csv.header("content-disposition").unwrap_or_default().contains("attachment"));
        assert!(csv.body.starts_with("identifiant,courriel,version"), "{}", csv.body);
        assert!(csv.body.contains(&identifier));
        assert_eq!(csv.body.lines().filter(|l| l.contains(&identifier)).count(), 2, "v1 and v2 accepted");

        let kinds = staff_kinds(&app).await;
        assert_eq!(kinds.iter().filter(|k| *k == "terms_published").count(), 2);
        assert!(kinds.iter().any(|k| k == "terms_exported"));
    }

    async fn roles_and_towns_are_kept_apart(backend) {
        let app = TestApp::spawn(backend).await;
        let mut agent = app.staff("villeneuve", Agent).await;
        assert_eq!(agent.get("/admin/actualites").await.status, 403);
        assert_eq!(agent.get("/admin/pages").await.status, 403);
        assert!(!agent.get("/admin").await.body.contains("/admin/actualites"), "no menu entry");
        let mut manager = app.staff("villeneuve", Gestionnaire).await;
        assert_eq!(manager.get("/admin/cgu").await.status, 403);
        assert!(manager.get("/admin").await.body.contains("/admin/actualites"));

        let mut other = app.staff("saint-martin", Gestionnaire).await;
        let created = create_news(&mut other, "Seulement à Saint-Martin", "Texte.", &day(0), "").await;
        assert_eq!(created.status, 303);
        assert!(!manager.get("/admin/actualites").await.body.contains("Seulement à Saint-Martin"));
        assert!(!news_of(&app, "villeneuve").await.iter().any(|n| n.slug == "seulement-a-saint-martin"));
        // Villeneuve's staff cannot reach Saint-Martin's news by its address.
        assert_eq!(manager.get("/admin/actualites/seulement-a-saint-martin").await.status, 404);
        let withdraw = manager
            .submit("/admin/actualites", "/admin/actualites/seulement-a-saint-martin/depublier", &[])
            .await;
        assert_eq!(withdraw.status, 404);
        assert!(!news_of(&app, "saint-martin").await.iter().find(|n| n.slug == "seulement-a-saint-martin").unwrap().withdrawn);
        assert_eq!(app.visitor("villeneuve.localhost").get("/actualites/seulement-a-saint-martin").await.status, 404);
    }
}
