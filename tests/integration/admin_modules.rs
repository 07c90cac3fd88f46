//! `/admin/modules`: a town's modules from the back-office — the list with
//! what each release may reach, the configuration form generated from the
//! release's JSON Schema (each type, its French refusals, repeatable lines),
//! release changes, enabling and disabling, the journal's before and after,
//! the residents' next page, and the rule that the back-office's edits
//! survive `tenant apply`.

// Stored as a 0.1.0 manifest, as releases published before 0.2.0 were.
use guichet::modules::entity::{module_release, town_module};
use guichet::modules::wit::v0_1::types::Capability;
use guichet::modules::wit::v0_1::types::Manifest;
use guichet::staff::StaffRole;
use guichet::towns::{TownDefinition, load_definitions};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
};
use serde_json::{Value, json};

use crate::harness::{NEW_PASSWORD, TestApp, Visitor, repo_root};

const TARIFFS: &str = "/admin/modules/tariffs/configuration";

fn built_module(crate_name: &str) -> Vec<u8> {
    let path =
        std::path::PathBuf::from(env!("MODULES_BUILD_DIR")).join(format!("{crate_name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn demo_towns() -> Vec<TownDefinition> {
    load_definitions(&repo_root().join("tenants")).unwrap()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// What the page's configuration form sends as it stands: its inputs
/// (checked boxes only), selects and text areas — what a browser posts.
fn form_state(html: &str) -> Vec<(String, String)> {
    let start = html
        .find("<form class=\"form config-form\"")
        .expect("a configuration form");
    let end = start + html[start..].find("</form>").unwrap();
    let form = &html[start..end];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let tag_end = rest.find('>').unwrap();
        let tag = &rest[..=tag_end];
        if tag.starts_with("<input ") {
            let checkbox = attribute(tag, "type").as_deref() == Some("checkbox");
            if let Some(name) = attribute(tag, "name")
                && (!checkbox || tag.contains(" checked"))
            {
                fields.push((name, attribute(tag, "value").unwrap_or_default()));
            }
        } else if tag.starts_with("<select ") {
            let name = attribute(tag, "name").unwrap();
            let close = rest.find("</select>").unwrap();
            let options = &rest[..close];
            let selected = options
                .split("<option ")
                .find(|option| option.contains(" selected>") || option.contains("selected>"))
                .and_then(|option| attribute(&format!(" {option}"), "value"))
                .unwrap_or_default();
            fields.push((name, selected));
        } else if tag.starts_with("<textarea ") {
            let name = attribute(tag, "name").unwrap();
            let close = rest.find("</textarea>").unwrap();
            fields.push((name, unescape(&rest[tag_end + 1..close])));
        }
        rest = &rest[tag_end + 1..];
    }
    fields
}

/// Opens the form at `page`, changes `changes` (name → value; an absent
/// name is added, a `None` removes it) and presses the button `action`.
async fn send_form(
    admin: &mut Visitor,
    page: &str,
    action: &str,
    changes: &[(&str, Option<&str>)],
) -> crate::harness::TestResponse {
    let html = admin.get(page).await.body;
    post_form(admin, &html, action, changes).await
}

/// Sends the form on `html` (a page already shown) with `changes`.
async fn post_form(
    admin: &mut Visitor,
    html: &str,
    action: &str,
    changes: &[(&str, Option<&str>)],
) -> crate::harness::TestResponse {
    let start = html.find("<form class=\"form config-form\"").unwrap();
    let target = attribute(&html[start..], "action").unwrap();
    let mut fields = form_state(html);
    for (name, value) in changes {
        fields.retain(|(field, _)| field != name);
        if let Some(value) = value {
            fields.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    fields.push(("_action".to_owned(), action.to_owned()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    admin.post(&target, &pairs).await
}

/// The resident's simulated price for the canteen at a quotient.
async fn canteen_price(resident: &mut Visitor, quotient: &str) -> String {
    let done = resident
        .submit(
            "/services/tariffs/simulation",
            "/services/tariffs/actions/simuler",
            &[
                ("activite", "cantine"),
                ("quotient", quotient),
                ("revenus", ""),
                ("parts", ""),
                ("jours", "10"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    resident.get(done.header("location").unwrap()).await.body
}

async fn town_config(app: &TestApp, slug: &str, module: &str) -> Option<(i32, Value)> {
    let town = app.town(slug).await;
    town_module::Entity::find()
        .filter(town_module::Column::TenantId.eq(town.id().get()))
        .filter(town_module::Column::ModuleId.eq(module))
        .one(&app.app.db)
        .await
        .unwrap()
        .map(|row| {
            (
                row.module_release_id,
                serde_json::from_str(&row.config).unwrap(),
            )
        })
}

/// The journal's module events of a town: (kind, detail as JSON).
async fn module_events(app: &TestApp, slug: &str) -> Vec<(String, Value)> {
    use guichet::audit::entity::{ActorKind, Column, Entity};
    let town = app.town(slug).await;
    Entity::find()
        .filter(Column::TenantId.eq(town.id().get()))
        .filter(Column::Kind.starts_with("module_"))
        .all(&app.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|event| {
            assert_eq!(
                event.actor_kind,
                ActorKind::Staff,
                "the administrator is the actor"
            );
            (
                event.kind,
                serde_json::from_str(&event.detail.unwrap()).unwrap(),
            )
        })
        .collect()
}

/// A release whose schema has every type the form knows, stored as the
/// registry stores a published one (the form only reads its manifest).
async fn publish_settings_release(app: &TestApp) -> i32 {
    let schema = json!({
        "type": "object",
        "properties": {
            "titre": { "type": "string", "title": "Titre de la page", "description": "Affiché en tête du service.", "minLength": 3, "maxLength": 20 },
            "code": { "type": "string", "title": "Code du service", "pattern": "^[A-Z]{3}$" },
            "taux": { "type": "number", "title": "Taux de remise", "minimum": 0, "maximum": 1 },
            "places": { "type": "integer", "title": "Nombre de places", "minimum": 1 },
            "ouvert": { "type": "boolean", "title": "Service ouvert", "description": "Décochez pour fermer les inscriptions." },
            "couleur": { "type": "string", "title": "Couleur", "enum": ["bleu", "vert", "rouge"] }
        },
        "required": ["titre", "places", "couleur"],
        "additionalProperties": false
    });
    let manifest = Manifest {
        id: "reglages".to_owned(),
        name: "Réglages d'essai".to_owned(),
        version: "1.0.0".to_owned(),
        description: "Un module qui déclare chaque type de réglage.".to_owned(),
        tiles: Vec::new(),
        actions: Vec::new(),
        config_schema: schema.to_string(),
        capabilities: vec![Capability::Household, Capability::Requests],
    };
    module_release::ActiveModel {
        module_id: Set("reglages".to_owned()),
        version: Set("1.0.0".to_owned()),
        interface: Set("0.1.0".to_owned()),
        sha256: Set("0".repeat(64)),
        manifest: Set(serde_json::to_string(&manifest).unwrap()),
        component: Set(built_module("guichet_module_template")),
        published_at: Set(chrono::Utc::now()),
        publisher: Set("third-party".to_owned()),
        ..Default::default()
    }
    .insert(&app.app.db)
    .await
    .unwrap()
    .id
}

on_both_databases! {
    async fn administrators_see_the_town_s_modules_and_what_each_release_may_reach(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let page = admin.get("/admin/modules").await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("href=\"/admin/modules\""), "the menu entry");
        let text = page.text();
        assert!(text.contains("Simulation des tarifs"), "{text}");
        assert!(text.contains("Guichet (module fourni avec Guichet, signé)"));
        assert!(text.contains("Estimer le prix des activités selon votre quotient familial."));
        // Capabilities in French (the invoices read the resident's storage).
        assert!(text.contains("propres à l'usager connecté"), "{text}");
        assert!(unescape(&page.body).contains("/admin/modules/bloc-notes/configuration?version="), "a release the town may enable");

        // Agents and managers are kept out, and have no menu entry.
        for role in [StaffRole::Agent, StaffRole::Gestionnaire] {
            let mut member = app.staff("villeneuve", role).await;
            assert!(!member.get("/admin").await.body.contains("href=\"/admin/modules\""));
            assert_eq!(member.get("/admin/modules").await.status, 403);
            assert_eq!(member.get(TARIFFS).await.status, 403);
            let refused = member.submit("/admin", TARIFFS, &[("release", "1"), ("_action", "save")]).await;
            assert_eq!(refused.status, 403);
            let refused = member.submit("/admin", "/admin/modules/tariffs/desactiver", &[]).await;
            assert_eq!(refused.status, 403);
        }
        assert!(town_config(&app, "villeneuve", "tariffs").await.is_some());
    }

    async fn a_tariff_bracket_edited_in_the_form_is_the_resident_s_next_price(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let (mut resident, identifier) = app.active_resident("villeneuve", "r@example.org").await;
        let (mut elsewhere, _) = app.active_resident("saint-martin", "s@example.org").await;
        assert!(canteen_price(&mut resident, "650").await.contains("2,50\u{a0}€"));
        let (release, before) = town_config(&app, "villeneuve", "tariffs").await.unwrap();

        let form = admin.get(TARIFFS).await;
        assert_eq!(form.status, 200, "{}", form.body);
        // Arrays of objects are repeatable groups; free keys, name/value lines.
        assert!(form.body.contains("Tranches de quotient familial — ligne 4"), "{}", form.body);
        assert!(form.body.contains("name=\"c.brackets.1.prices.0.key\" type=\"text\" value=\"cantine\""));
        assert!(form.body.contains("name=\"c.brackets.1.prices.0.value\" type=\"text\" value=\"250\" inputmode=\"numeric\""));
        assert!(form.body.contains("value=\"add:c.brackets\""), "Ajouter une ligne");
        // Titles and descriptions come from the schema.
        assert!(form.body.contains("for=\"c-brackets-1-up_to\">Quotient maximal (en euros)</label>"));
        assert!(form.body.contains("Laissez vide pour la dernière tranche."));
        assert!(form.body.contains("for=\"c-brackets-1-prices-0-value\">Prix (en centimes)"));
        assert!(form.body.contains("value=\"remove:c.brackets.3\""), "Supprimer");

        let saved = post_form(&mut admin, &form.body, "save", &[("c.brackets.1.prices.0.value", Some("275"))]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert_eq!(saved.header("location"), Some("/admin/modules"));
        let list = admin.get("/admin/modules").await;
        assert!(list.text().contains("Configuration de « Simulation des tarifs » enregistrée"), "{}", list.text());

        // The resident's next page, and another instance's, use it.
        assert!(canteen_price(&mut resident, "650").await.contains("2,75\u{a0}€"));
        let other = app.another_instance().await;
        let mut there = other.visitor("villeneuve.localhost");
        there.login(&identifier, NEW_PASSWORD).await;
        assert!(canteen_price(&mut there, "650").await.contains("2,75\u{a0}€"));
        // Saint-Martin's grid is its own.
        assert!(canteen_price(&mut elsewhere, "650").await.contains("3,00\u{a0}€"));

        // The journal has the configuration before and after.
        let (after_release, after) = town_config(&app, "villeneuve", "tariffs").await.unwrap();
        assert_eq!(after_release, release, "the same release");
        assert_eq!(after["brackets"][1]["prices"]["cantine"], 275);
        let events = module_events(&app, "villeneuve").await;
        assert_eq!(events.len(), 1, "{events:?}");
        let (kind, detail) = &events[0];
        assert_eq!(kind, "module_configured");
        assert_eq!(detail["module"], "tariffs");
        assert_eq!(detail["before"]["config"], before);
        assert_eq!(detail["after"]["config"], after);
        assert_eq!(detail["before"]["version"], detail["after"]["version"]);
        assert!(module_events(&app, "saint-martin").await.is_empty());

        // Saving the same again changes nothing and journals nothing.
        let again = send_form(&mut admin, TARIFFS, "save", &[]).await;
        assert_eq!(again.status, 303);
        assert_eq!(module_events(&app, "villeneuve").await.len(), 1);

        // The edit belongs to the database: `tenant apply` of the folder
        // (what the demo does when it starts) leaves it alone and says so.
        let applied = app.app.apply_towns(&demo_towns()).await.unwrap();
        assert_eq!(applied.modules_kept, vec![("villeneuve".to_owned(), vec!["tariffs".to_owned()])]);
        assert!(canteen_price(&mut resident, "650").await.contains("2,75\u{a0}€"));
        assert_eq!(town_config(&app, "villeneuve", "tariffs").await.unwrap().1, after);
        // Modules the back-office never touched still follow the folder.
        assert!(town_config(&app, "villeneuve", "invoices").await.is_some());
    }

    async fn invalid_values_are_refused_next_to_their_fields_and_nothing_is_saved(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let (_, before) = town_config(&app, "villeneuve", "tariffs").await.unwrap();
        let refused = send_form(&mut admin, TARIFFS, "save", &[
            ("c.brackets.0.up_to", Some("cinq cents")),
            ("c.brackets.1.prices.0.value", Some("-3")),
            ("c.default_days", Some("40")),
            ("c.activities.0.id", Some("Cantine !")),
            ("c.activities.1.label", Some("")),
        ])
        .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let body = &refused.body;
        for (id, message) in [
            ("c-brackets-0-up_to", "Saisissez un nombre entier, en chiffres (par exemple 12)."),
            ("c-brackets-1-prices-0-value", "La valeur minimale est 0."),
            ("c-default_days", "La valeur maximale est 31."),
            ("c-activities-0-id", "Ce texte n&#x27;a pas la forme attendue"),
            ("c-activities-1-label", "Ce champ est obligatoire."),
        ] {
            let error = format!("<p class=\"field__error\" id=\"{id}-erreur\">{message}");
            assert!(body.contains(&error), "{error} in:\n{body}");
            assert!(body.contains(&format!("href=\"#{id}\"")), "the summary links to {id}");
        }
        assert!(body.contains("value=\"cinq cents\""), "the input is kept");
        assert!(body.contains("rien n'a été enregistré"));
        assert_eq!(town_config(&app, "villeneuve", "tariffs").await.unwrap().1, before);
        assert!(module_events(&app, "villeneuve").await.is_empty());

        // A stale form (no token) is refused and shown again, nothing saved.
        let html = admin.get(TARIFFS).await.body;
        let stale = post_form(&mut admin, &html, "save", &[("csrf", None), ("c.default_days", Some("20"))]).await;
        assert_eq!(stale.status, 422);
        assert!(stale.body.contains("value=\"20\""));
        assert_eq!(town_config(&app, "villeneuve", "tariffs").await.unwrap().1, before);
    }

    async fn a_signed_release_shows_its_publisher_and_what_it_reaches(backend) {
        use guichet::modules::minisign::SecretKey;
        use guichet::modules::trust::PublisherTrust;

        let app = TestApp::spawn(backend).await;
        let key = SecretKey::from_random([4; 32], [1, 3, 5, 7, 9, 11, 13, 15]);
        let trust = PublisherTrust::new(
            &std::collections::BTreeMap::from([("Éditions Civiques".to_owned(), key.public().encoded())]),
            false,
        )
        .unwrap();
        let bytes = built_module("guichet_module_hoarder");
        let signature = key.sign(&bytes, "hoarder 0.1.0");
        let published = app.app.modules.publish_signed(&bytes, Some(&signature), &trust).await.unwrap();
        assert_eq!(published.publisher_name.as_deref(), Some("Éditions Civiques"));
        // Unsigned, where the operator does not allow it: refused.
        let unsigned = app.app.modules.publish_signed(&built_module("guichet_module_places"), None, &trust).await;
        assert!(unsigned.is_err(), "{unsigned:?}");

        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let list = admin.get("/admin/modules").await.text();
        assert!(list.contains("Éditeur : Éditions Civiques (signature vérifiée par l'hébergeur)"), "{list}");
        assert!(list.contains("Éditeur : Guichet (module fourni avec Guichet, signé)"), "{list}");
        assert!(list.contains("Lire et écrire des données partagées par toute la commune"), "{list}");
    }

    async fn every_schema_type_is_rendered_and_refused_in_french(backend) {
        let app = TestApp::spawn(backend).await;
        let release = publish_settings_release(&app).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let list = admin.get("/admin/modules").await.text();
        assert!(list.contains("Réglages d'essai") && list.contains("Éditeur non vérifié (module non signé)"), "{list}");
        assert!(list.contains("Lire la composition du foyer de l'usager connecté"));
        assert!(list.contains("Déposer des demandes au nom de l'usager connecté"));

        let page = format!("/admin/modules/reglages/configuration?version={release}");
        let form = admin.get(&page).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let body = &form.body;
        // Titles, descriptions, and a control per type.
        assert!(body.contains("Titre de la page <span class=\"field__required\">(obligatoire)</span>"), "{body}");
        assert!(body.contains("Affiché en tête du service."));
        assert!(body.contains("name=\"c.titre\" type=\"text\""));
        assert!(body.contains("name=\"c.places\" type=\"text\" value=\"\" inputmode=\"numeric\""));
        assert!(body.contains("name=\"c.taux\" type=\"text\" value=\"\" inputmode=\"decimal\""));
        assert!(body.contains("name=\"c.ouvert\" type=\"checkbox\" value=\"true\""));
        assert!(body.contains("<select class=\"field__input\" id=\"c-couleur\" name=\"c.couleur\""));
        assert!(body.contains("<option value=\"vert\">vert</option>"));
        assert!(body.contains("Activer le module"));

        let refused = send_form(&mut admin, &page, "save", &[
            ("c.titre", Some("Ce titre est vraiment bien trop long")),
            ("c.code", Some("abc")),
            ("c.taux", Some("beaucoup")),
            ("c.places", Some("2,5")),
            ("c.couleur", Some("violet")),
        ])
        .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        for (id, message) in [
            ("c-titre", "Saisissez au plus 20 caractères."),
            ("c-code", "Ce texte n&#x27;a pas la forme attendue (modèle : ^[A-Z]{3}$)."),
            ("c-taux", "Saisissez un nombre, en chiffres (par exemple 12,5)."),
            ("c-places", "Saisissez un nombre entier, en chiffres (par exemple 12)."),
            ("c-couleur", "Choisissez une des valeurs proposées."),
        ] {
            let error = format!("id=\"{id}-erreur\">{message}</p>");
            assert!(refused.body.contains(&error), "{error} in:\n{}", refused.body);
        }
        let refused = send_form(&mut admin, &page, "save", &[
            ("c.titre", Some("Or")),
            ("c.taux", Some("1,5")),
            ("c.places", Some("0")),
        ])
        .await;
        assert_eq!(refused.status, 422);
        for (id, message) in [
            ("c-titre", "Saisissez au moins 3 caractères."),
            ("c-taux", "La valeur maximale est 1."),
            ("c-places", "La valeur minimale est 1."),
            ("c-couleur", "Ce champ est obligatoire."),
        ] {
            let error = format!("id=\"{id}-erreur\">{message}</p>");
            assert!(refused.body.contains(&error), "{error} in:\n{}", refused.body);
        }
        assert!(town_config(&app, "villeneuve", "reglages").await.is_none(), "nothing enabled");

        // Valid: the module is enabled with exactly these values.
        let enabled = send_form(&mut admin, &page, "save", &[
            ("c.titre", Some("Mon service")),
            ("c.code", Some("ABC")),
            ("c.taux", Some("0,25")),
            ("c.places", Some("12")),
            ("c.ouvert", Some("true")),
            ("c.couleur", Some("vert")),
        ])
        .await;
        assert_eq!(enabled.status, 303, "{}", enabled.body);
        let (release_id, config) = town_config(&app, "villeneuve", "reglages").await.unwrap();
        assert_eq!(release_id, release);
        assert_eq!(config, json!({"titre": "Mon service", "code": "ABC", "taux": 0.25, "places": 12, "ouvert": true, "couleur": "vert"}));
        let events = module_events(&app, "villeneuve").await;
        assert_eq!(events[0].0, "module_enabled");
        assert_eq!(events[0].1["before"], Value::Null);
        assert_eq!(events[0].1["after"]["version"], "1.0.0");

        // Shown again as saved; unchecking the box saves false.
        let again = admin.get("/admin/modules/reglages/configuration").await.body;
        assert!(again.contains("name=\"c.ouvert\" type=\"checkbox\" value=\"true\" checked"));
        assert!(again.contains("<option value=\"vert\" selected>"));
        assert!(again.contains("value=\"0.25\""));
        let saved = post_form(&mut admin, &again, "save", &[("c.ouvert", None)]).await;
        assert_eq!(saved.status, 303);
        assert_eq!(town_config(&app, "villeneuve", "reglages").await.unwrap().1["ouvert"], false);

        // Another town does not use it: its administrators see no form but
        // the enabling one, and Villeneuve's configuration is not theirs.
        let mut other = app.staff("saint-martin", StaffRole::Administrateur).await;
        assert_eq!(other.get("/admin/modules/reglages/configuration").await.status, 404);
        let theirs = other.get(&page).await.body;
        assert!(!theirs.contains("Mon service"));
    }

    async fn lines_are_added_and_removed_without_javascript(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let (mut resident, _) = app.active_resident("villeneuve", "r@example.org").await;
        let (_, before) = town_config(&app, "villeneuve", "tariffs").await.unwrap();

        // One more bracket: the form comes back with it, nothing saved.
        let added = send_form(&mut admin, TARIFFS, "add:c.brackets", &[]).await;
        assert_eq!(added.status, 200, "{}", added.body);
        assert!(added.body.contains("Tranches de quotient familial — ligne 5"));
        assert!(added.body.contains("name=\"c.brackets.4._\""));
        assert_eq!(town_config(&app, "villeneuve", "tariffs").await.unwrap().1, before);
        // Saved empty, it is refused: a bracket needs its prices.
        let refused = post_form(&mut admin, &added.body, "save", &[]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("id=\"c-brackets-4-prices-erreur\">Ce champ est obligatoire.</p>"), "{}", refused.body);
        // A price line in it, filled, and the last bracket capped.
        let with_price = post_form(&mut admin, &refused.body, "add:c.brackets.4.prices", &[]).await;
        assert_eq!(with_price.status, 200);
        assert!(with_price.body.contains("name=\"c.brackets.4.prices.0.key\""));
        let saved = post_form(&mut admin, &with_price.body, "save", &[
            ("c.brackets.3.up_to", Some("3000")),
            ("c.brackets.4.prices.0.key", Some("cantine")),
            ("c.brackets.4.prices.0.value", Some("600")),
        ])
        .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert!(canteen_price(&mut resident, "5000").await.contains("6,00\u{a0}€"));

        // The first bracket removed: a quotient of 400 now falls in the next.
        assert!(canteen_price(&mut resident, "400").await.contains("1,20\u{a0}€"));
        let removed = send_form(&mut admin, TARIFFS, "remove:c.brackets.0", &[]).await;
        assert_eq!(removed.status, 200);
        assert!(!removed.body.contains("name=\"c.brackets.0._\""));
        assert!(removed.body.contains("Tranches de quotient familial — ligne 4") && !removed.body.contains("Tranches de quotient familial — ligne 5"));
        let saved = post_form(&mut admin, &removed.body, "save", &[]).await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        assert!(canteen_price(&mut resident, "400").await.contains("2,50\u{a0}€"));
        let brackets = town_config(&app, "villeneuve", "tariffs").await.unwrap().1["brackets"].clone();
        assert_eq!(brackets.as_array().unwrap().len(), 4);

        // Every line removed: refused, the list says why.
        let mut html = admin.get(TARIFFS).await.body;
        for index in 0..4 {
            html = post_form(&mut admin, &html, &format!("remove:c.brackets.{index}"), &[]).await.body;
        }
        let refused = post_form(&mut admin, &html, "save", &[]).await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("id=\"c-brackets-erreur\">Ajoutez au moins une ligne.</p>"), "{}", refused.body);
    }

    async fn a_module_moves_to_another_release_and_stays_there(backend) {
        let app = TestApp::spawn(backend).await;
        // A later binary ships bloc-notes 0.2.0 (the notes-next build).
        app.app.modules.publish_first_party(&built_module("guichet_module_notes_next")).await.unwrap();
        let next = module_release::Entity::find()
            .filter(module_release::Column::ModuleId.eq("bloc-notes"))
            .filter(module_release::Column::Version.eq("0.2.0"))
            .one(&app.app.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let mut admin = app.staff("saint-martin", StaffRole::Administrateur).await;
        let (mut resident, _) = app.active_resident("saint-martin", "s@example.org").await;
        let list = unescape(&admin.get("/admin/modules").await.body);
        let href = format!("/admin/modules/bloc-notes/configuration?version={next}");
        assert!(list.contains(&href), "{list}");
        assert!(list.contains("Passer à cette version"));

        let form = admin.get(&href).await;
        assert_eq!(form.status, 200);
        assert!(form.text().contains("Vous passez de la version 0.1.4 à la version 0.2.0"), "{}", form.text());
        let moved = post_form(&mut admin, &form.body, "save", &[("c.intro", Some("Vos notes, version deux."))]).await;
        assert_eq!(moved.status, 303, "{}", moved.body);
        assert_eq!(town_config(&app, "saint-martin", "bloc-notes").await.unwrap().0, next);
        assert!(resident.get("/services/bloc-notes/notes").await.body.contains("Vos notes, version deux."));
        let events = module_events(&app, "saint-martin").await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "module_release_changed");
        assert_eq!(events[0].1["before"]["version"], "0.1.4");
        assert_eq!(events[0].1["before"]["config"]["intro"], "Vos notes ne sont visibles que par vous.");
        assert_eq!(events[0].1["after"]["version"], "0.2.0");
        assert_eq!(events[0].1["after"]["config"]["intro"], "Vos notes, version deux.");

        // The folder asks for "^0.1": applying it leaves the town where its
        // administrators put it.
        let applied = app.app.apply_towns(&demo_towns()).await.unwrap();
        assert_eq!(applied.modules_kept, vec![("saint-martin".to_owned(), vec!["bloc-notes".to_owned()])]);
        assert_eq!(town_config(&app, "saint-martin", "bloc-notes").await.unwrap().0, next);
        let changes = app.app.modules.upgrade(&app.town("saint-martin").await, None, false).await.unwrap();
        assert!(changes.is_empty(), "`module upgrade` leaves it too: {changes:?}");
        let refused = app.app.modules.upgrade(&app.town("saint-martin").await, Some("bloc-notes"), false).await;
        assert!(
            matches!(refused, Err(guichet::modules::UpgradeError::EditedInBackOffice { .. })),
            "upgrading it by name says why it does not: {refused:?}"
        );

        // A release of another module, or an unknown one, is no form.
        assert_eq!(admin.get(&format!("/admin/modules/tariffs/configuration?version={next}")).await.status, 404);
        assert_eq!(admin.get("/admin/modules/tariffs/configuration?version=999999").await.status, 404);
    }

    async fn a_module_is_disabled_and_enabled_again(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let (mut resident, _) = app.active_resident("villeneuve", "r@example.org").await;
        let (release, config) = town_config(&app, "villeneuve", "tariffs").await.unwrap();

        let disabled = admin.submit("/admin/modules", "/admin/modules/tariffs/desactiver", &[]).await;
        assert_eq!(disabled.status, 303, "{}", disabled.body);
        assert!(admin.get("/admin/modules").await.text().contains("désactivé"));
        assert_eq!(resident.get("/services/tariffs/simulation").await.status, 404);
        assert!(!resident.get("/").await.body.contains("Simulation des tarifs"));
        assert!(town_config(&app, "villeneuve", "tariffs").await.is_none());
        // Saint-Martin keeps its own.
        let (mut elsewhere, _) = app.active_resident("saint-martin", "s@example.org").await;
        assert_eq!(elsewhere.get("/services/tariffs/simulation").await.status, 200);
        // Twice: nothing left to disable.
        assert_eq!(admin.submit("/admin/modules", "/admin/modules/tariffs/desactiver", &[]).await.status, 404);

        // The folder still lists it: applying it does not enable it again.
        let applied = app.app.apply_towns(&demo_towns()).await.unwrap();
        assert_eq!(applied.modules_kept, vec![("villeneuve".to_owned(), vec!["tariffs".to_owned()])]);
        assert!(town_config(&app, "villeneuve", "tariffs").await.is_none());

        // Enabled again from its release's form, with its configuration.
        let list = unescape(&admin.get("/admin/modules").await.body);
        let href = format!("/admin/modules/tariffs/configuration?version={release}");
        assert!(list.contains(&href) && list.contains("Activer cette version"), "{list}");
        let form = admin.get(&href).await.body;
        assert!(form.contains("Activer le module"));
        let mut html = form;
        for list in ["c.activities", "c.brackets"] {
            html = post_form(&mut admin, &html, &format!("add:{list}"), &[]).await.body;
        }
        html = post_form(&mut admin, &html, "add:c.brackets.0.prices", &[]).await.body;
        let enabled = post_form(&mut admin, &html, "save", &[
            ("c.activities.0.id", Some("cantine")),
            ("c.activities.0.label", Some("Cantine")),
            ("c.activities.0.unit", Some("repas")),
            ("c.brackets.0.prices.0.key", Some("cantine")),
            ("c.brackets.0.prices.0.value", Some("333")),
        ])
        .await;
        assert_eq!(enabled.status, 303, "{}", enabled.body);
        assert!(canteen_price(&mut resident, "650").await.contains("3,33\u{a0}€"));
        assert_ne!(town_config(&app, "villeneuve", "tariffs").await.unwrap().1, config);
        let kinds: Vec<String> = module_events(&app, "villeneuve").await.into_iter().map(|(kind, _)| kind).collect();
        assert_eq!(kinds, ["module_disabled", "module_enabled"]);
        let events = module_events(&app, "villeneuve").await;
        assert_eq!(events[0].1["before"]["config"], config);
        assert_eq!(events[0].1["after"], Value::Null);
    }
}
