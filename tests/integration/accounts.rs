//! Steps 1–5 of the seed guide, and what a security reviewer tries around
//! them. Mail goes through a real SMTP server (aiosmtpd).

use std::time::Duration;

use guichet::accounts::entity::{account, account_token, session};
use guichet::mail::entity as outbox;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, TransactionTrait as _};

use crate::harness::{
    NEW_PASSWORD, Smtp, SmtpSink, TestApp, TestAppOptions, Visitor, csrf_of, free_port,
};

const TOWN: &str = "villeneuve.localhost";

/// The part of a page that says what went wrong.
fn notice(html: &str) -> String {
    let start = html
        .find("<div class=\"notice notice--error\"")
        .unwrap_or_else(|| panic!("no error notice in:\n{html}"));
    let end = html[start..]
        .find("</div>")
        .map_or(html.len(), |end| start + end);
    html[start..end].to_owned()
}

/// A page without its CSRF tokens, to compare two answers.
fn without_csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(marker) {
        let value_start = at + marker.len();
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        rest = &rest[rest.find('"').unwrap_or(0)..];
    }
    out.push_str(rest);
    out
}

/// The activation mail's identifier, temporary password and link.
async fn activation_mail(app: &TestApp, email: &str) -> (String, String, String) {
    let mail = app.mailbox().wait_for(email, "activez votre espace").await;
    (
        mail.line_value("Identifiant :"),
        mail.line_value("Mot de passe temporaire :"),
        mail.link_path("/activation/"),
    )
}

async fn active_resident(app: &TestApp, email: &str) -> (Visitor, String) {
    app.active_resident("villeneuve", email).await
}

on_both_databases! {
    async fn the_seed_flow_from_the_activation_mail_to_the_second_login(backend) {
        let app = TestApp::spawn(backend).await;
        let created = app.create_resident("villeneuve", "Michel", "ARPEGE", "michel@example.org").await;
        assert_eq!(created.identifier, "michel.arpege");

        // 1. The mail: link, identifier, temporary password, town's sender.
        let mail = app.mailbox().wait_for("michel@example.org", "activez votre espace").await;
        assert!(mail.from.contains("Mairie de Villeneuve <ne-pas-repondre@villeneuve.example.fr>"), "{}", mail.from);
        assert_eq!(mail.line_value("Identifiant :"), "michel.arpege");
        let temporary = mail.line_value("Mot de passe temporaire :");
        assert_eq!(temporary, created.temporary_password);
        let link = mail.link_path("/activation/");
        assert!(mail.text.contains(&format!("http://villeneuve.localhost{link}")), "{}", mail.text);
        assert!(mail.html.contains("Activer mon espace personnel"));

        // 2. The link activates the account (after a confirmation click).
        let mut browser = app.visitor(TOWN);
        let page = browser.get(&link).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Activer mon espace personnel"));
        let activated = browser.submit(&link, &link, &[]).await;
        assert_eq!(activated.status, 200);
        assert!(activated.body.contains("Votre espace personnel est activé."));
        assert!(activated.body.contains(r#"href="/">Accueil</a>"#));

        // 3–4. Login with the temporary password leads to the forced change.
        let login = browser.login("michel.arpege", &temporary).await;
        assert_eq!(login.status, 303);
        assert_eq!(login.header("location"), Some("/"));
        let home = browser.get("/").await;
        assert_eq!(home.header("location"), Some("/mot-de-passe/modifier"));
        let form = browser.get("/mot-de-passe/modifier").await;
        assert!(form.body.contains("Modification de vos identifiants"));
        assert!(form.body.contains("Votre mot de passe ayant été généré automatiquement, les règles de sécurité en vigueur imposent d&#x27;en définir un nouveau") || form.body.contains("Votre mot de passe ayant été généré automatiquement, les règles de sécurité en vigueur imposent d'en définir un nouveau"));
        assert!(form.body.contains("Le mot de passe doit contenir au minimum 8 caractère(s) dont au moins : 1 minuscule(s), 1 chiffre(s)"));
        assert!(form.body.contains(r#"value="michel.arpege""#));

        // 5. A password that breaks the rule is refused, each rule named.
        let refused = browser
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("password", "ABC"), ("confirmation", "ABD")])
            .await;
        assert_eq!(refused.status, 422);
        for rule in [
            "Le mot de passe doit contenir au moins 8 caractère(s) (3 saisi(s)).",
            "Il manque au moins 1 minuscule(s).",
            "Il manque au moins 1 chiffre(s).",
            "La confirmation ne correspond pas au mot de passe saisi.",
        ] {
            assert!(refused.body.contains(rule), "{rule} missing");
        }
        assert!(refused.body.contains(r#"aria-invalid="true""#));
        let common = browser
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("password", "password1"), ("confirmation", "password1")])
            .await;
        assert!(common.body.contains("mots de passe les plus courants"));

        let changed = browser
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)])
            .await;
        assert_eq!(changed.status, 303);
        let notice_mail = app.mailbox().wait_for("michel@example.org", "mot de passe a été modifié").await;
        assert!(notice_mail.text.contains("michel.arpege"));

        // 6. The town's terms, as in the guide, before anything else.
        let home = browser.get("/").await;
        assert_eq!(home.header("location"), Some("/cgu"));
        let cgu = browser.get("/cgu").await;
        assert_eq!(cgu.status, 200);
        for text in [
            "<h1 class=\"page__title\" id=\"cgu-titre\">Conditions générales d'utilisation</h1>",
            "Pour utiliser les services proposés, veuillez prendre connaissance des CGU ci-dessous et les accepter en fin de document.",
            "<h2>PRÉAMBULE</h2>",
            ">Retour</button>",
            "J'accepte les conditions générales d'utilisation</button>",
            "Attention, ce bouton s'active et devient vert une fois que vous êtes descendu en bas de la page.",
        ] {
            assert!(cgu.body.contains(text), "{text} missing from the CGU page");
        }
        assert_eq!(browser.accept_terms().await.header("location"), Some("/"));

        let home = browser.get("/").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("Bonjour Monsieur ARPEGE."));
        assert!(home.body.contains("c&#x27;est votre première connexion") || home.body.contains("c'est votre première connexion"));
        assert!(home.body.contains("10 LA RUE CREUSE"));

        // Logout, then log in again: the previous login time is shown.
        let first_login = account::Entity::find_by_id(created.account_id)
            .one(&app.app.db)
            .await
            .unwrap()
            .unwrap()
            .last_login_at
            .expect("the first login is recorded");
        let logout = browser.logout().await;
        assert_eq!(logout.status, 303);
        let after = browser.get("/connexion").await;
        assert!(after.body.contains("Vous êtes déconnecté(e)"));
        assert!(after.body.contains("Mon espace perso"));
        assert_eq!(browser.login("michel.arpege", NEW_PASSWORD).await.status, 303);
        let home = browser.get("/").await;
        let expected = first_login.with_timezone(&chrono_tz::Europe::Paris).format("Dernière connexion le %d/%m/%Y à %H:%M").to_string();
        assert!(home.body.contains(&expected), "{expected} missing");
    }

    async fn activation_links_are_single_use_and_expire(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_resident("villeneuve", "Léa", "Arpège", "lea@example.org").await;
        let (_, _, link) = activation_mail(&app, "lea@example.org").await;
        let mut browser = app.visitor(TOWN);
        assert_eq!(browser.submit(&link, &link, &[]).await.status, 200);
        let csrf = csrf_of(&browser.get("/mot-de-passe/oublie").await.body);
        let again = browser.post(&link, &[("csrf", &csrf)]).await;
        assert_eq!(again.status, 410);
        assert!(again.body.contains("déjà été utilisé"));
        assert_eq!(browser.get(&link).await.status, 410);

        let unknown = browser.get("/activation/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
        assert_eq!(unknown.status, 404);
        assert!(unknown.body.contains("n&#x27;est pas valide") || unknown.body.contains("n'est pas valide"));

        app.create_resident("villeneuve", "Paul", "Arpège", "paul@example.org").await;
        let (_, _, late) = activation_mail(&app, "paul@example.org").await;
        account_token::Entity::update_many()
            .col_expr(account_token::Column::ExpiresAt, Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)))
            .exec(&app.app.db)
            .await
            .unwrap();
        let expired = browser.post(&late, &[("csrf", &csrf)]).await;
        assert_eq!(expired.status, 410);
        assert!(expired.body.contains("a expiré"));
        // And the page offers a new mail, which says nothing about the account.
        let resent = browser.submit("/activation", "/activation", &[("email", "paul@example.org")]).await;
        let nobody = browser.submit("/activation", "/activation", &[("email", "nobody@example.org")]).await;
        assert_eq!(resent.status, 200);
        assert_eq!(
            without_csrf(&resent.body).replace("paul@example.org", "X"),
            without_csrf(&nobody.body).replace("nobody@example.org", "X")
        );
        let both = app.mailbox().wait_for_count("paul@example.org", "activez", 2).await;
        let fresh = both
            .into_iter()
            .find(|mail| mail.link_path("/activation/") != late)
            .expect("a mail with a new link");
        let new_link = fresh.link_path("/activation/");
        assert_eq!(browser.submit(&new_link, &new_link, &[]).await.status, 200);
        // The new mail's temporary password is the one that works.
        let fresh_password = fresh.line_value("Mot de passe temporaire :");
        assert_eq!(browser.login("paul.arpege", &fresh_password).await.status, 303);
    }

    async fn unknown_identifiers_and_wrong_passwords_get_the_same_answer(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = active_resident(&app, "a@example.org").await;
        let mut browser = app.visitor(TOWN);
        let wrong = browser.login(&identifier, "not-the-password-1").await;
        let unknown = browser.login("personne.inconnue", "not-the-password-1").await;
        assert_eq!(wrong.status, 401);
        assert_eq!(unknown.status, 401);
        assert_eq!(notice(&wrong.body), notice(&unknown.body));
        assert!(notice(&wrong.body).contains("Identifiant ou mot de passe incorrect."));
        // The identifier typed is kept, the password is not.
        assert!(unknown.body.contains(r#"value="personne.inconnue""#));
        assert!(!unknown.body.contains("not-the-password-1"));
        // The e-mail works as an identifier too.
        assert_eq!(browser.login("A@Example.org", NEW_PASSWORD).await.status, 303);
    }

    async fn throttling_slows_guessing_but_the_owner_gets_in_after_the_delay(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = active_resident(&app, "b@example.org").await;
        let mut attacker = app.visitor(TOWN);
        for _ in 0..5 {
            assert_eq!(attacker.login(&identifier, "guess-1234").await.status, 401);
        }
        let mut owner = app.visitor(TOWN);
        let blocked = owner.login(&identifier, NEW_PASSWORD).await;
        assert_eq!(blocked.status, 429);
        assert!(blocked.body.contains("Trop de tentatives de connexion"));
        // Unknown identifiers are throttled the same way.
        for _ in 0..5 {
            attacker.login("personne", "guess-1234").await;
        }
        assert_eq!(attacker.login("personne", "guess-1234").await.status, 429);

        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(owner.login(&identifier, NEW_PASSWORD).await.status, 303);
        assert!(owner.get("/").await.body.contains("Bonjour Monsieur ARPÈGE."));
    }

    async fn login_rotates_the_session_and_logout_kills_it_server_side(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = active_resident(&app, "c@example.org").await;
        // Fixation: a session id planted before login is replaced.
        browser.logout().await;
        browser.cookies.insert("guichet_session".to_owned(), "planted-by-an-attacker".to_owned());
        assert_eq!(browser.login(&identifier, NEW_PASSWORD).await.status, 303);
        let first = browser.session_cookie().unwrap();
        assert_ne!(first, "planted-by-an-attacker");
        // Logging in again, from the same browser, rotates again.
        let csrf = csrf_of(&browser.get("/").await.body);
        let again = browser
            .post("/connexion", &[("identifier", &identifier), ("password", NEW_PASSWORD), ("csrf", &csrf)])
            .await;
        assert_eq!(again.status, 303);
        let second = browser.session_cookie().unwrap();
        assert_ne!(first, second);

        // The old session is dead, the new one lives.
        let mut thief = app.visitor(TOWN);
        thief.cookies.insert("guichet_session".to_owned(), first);
        assert!(thief.get("/").await.body.contains("Mon espace perso"));
        let mut copy = app.visitor(TOWN);
        copy.cookies.insert("guichet_session".to_owned(), second.clone());
        assert!(copy.get("/").await.body.contains("Bonjour"));

        // After logout, the same cookie opens nothing.
        assert_eq!(browser.logout().await.status, 303);
        assert!(browser.session_cookie().is_none());
        let mut replay = app.visitor(TOWN);
        replay.cookies.insert("guichet_session".to_owned(), second);
        let page = replay.get("/mot-de-passe/modifier").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.header("location"), Some("/connexion?suite=%2Fmot-de-passe%2Fmodifier"));
    }

    async fn forms_without_the_right_csrf_token_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = active_resident(&app, "d@example.org").await;
        // Logout without a token: refused, still logged in.
        assert_eq!(browser.post("/deconnexion", &[]).await.status, 422);
        assert_eq!(browser.post("/deconnexion", &[("csrf", "forged")]).await.status, 403);
        assert!(browser.get("/").await.body.contains("Bonjour"));

        // Login with another browser's token: refused.
        let mut other = app.visitor(TOWN);
        let foreign = csrf_of(&other.get("/connexion").await.body);
        let mut victim = app.visitor(TOWN);
        victim.get("/connexion").await;
        let forged = victim
            .post("/connexion", &[("identifier", &identifier), ("password", NEW_PASSWORD), ("csrf", &foreign)])
            .await;
        assert_eq!(forged.status, 403);
        assert!(victim.session_cookie().is_none());
        // A token of another town is worthless here.
        let mut elsewhere = app.visitor("saint-martin.localhost");
        let their_token = csrf_of(&elsewhere.get("/connexion").await.body);
        elsewhere.host = TOWN.to_owned();
        let crossed = elsewhere
            .post("/connexion", &[("identifier", &identifier), ("password", NEW_PASSWORD), ("csrf", &their_token)])
            .await;
        assert_eq!(crossed.status, 403);
    }

    async fn a_session_of_one_town_is_worthless_in_another(backend) {
        let app = TestApp::spawn(backend).await;
        let (browser, _) = active_resident(&app, "e@example.org").await;
        let mut intruder = app.visitor("saint-martin.localhost");
        intruder.cookies = browser.cookies.clone();
        let page = intruder.get("/").await;
        assert!(page.body.contains("Mon espace perso"));
        assert!(!page.body.contains("Bonjour"));
        assert_eq!(intruder.get("/mot-de-passe/modifier").await.status, 303);
    }

    async fn a_password_change_closes_the_other_sessions(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut phone, identifier) = active_resident(&app, "f@example.org").await;
        let mut laptop = app.visitor(TOWN);
        assert_eq!(laptop.login(&identifier, NEW_PASSWORD).await.status, 303);
        let changed = phone
            .submit(
                "/mot-de-passe/modifier",
                "/mot-de-passe/modifier",
                &[("current", NEW_PASSWORD), ("password", "riviere-calme-77"), ("confirmation", "riviere-calme-77")],
            )
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        assert!(phone.get("/").await.body.contains("Bonjour"));
        assert!(laptop.get("/").await.body.contains("Mon espace perso"));
        // A voluntary change needs the current password.
        let refused = phone
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("current", "wrong"), ("password", "autre-chose-88"), ("confirmation", "autre-chose-88")])
            .await;
        assert!(refused.body.contains("Le mot de passe actuel est incorrect."));
    }

    async fn forgot_password_says_the_same_and_resets_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = active_resident(&app, "g@example.org").await;
        let mut browser = app.visitor(TOWN);
        let known = browser.submit("/mot-de-passe/oublie", "/mot-de-passe/oublie", &[("login", &identifier)]).await;
        let unknown = browser.submit("/mot-de-passe/oublie", "/mot-de-passe/oublie", &[("login", "inconnu.total")]).await;
        assert_eq!(known.status, 200);
        assert_eq!(
            without_csrf(&known.body).replace(&identifier, "X"),
            without_csrf(&unknown.body).replace("inconnu.total", "X")
        );
        let mail = app.mailbox().wait_for("g@example.org", "nouveau mot de passe").await;
        let link = mail.link_path("/mot-de-passe/reinitialiser/");
        let page = browser.get(&link).await;
        assert!(page.body.contains("Le mot de passe doit contenir au minimum 8 caractère(s)"));
        let weak = browser.submit(&link, &link, &[("password", "court"), ("confirmation", "court")]).await;
        assert_eq!(weak.status, 422);
        let done = browser.submit(&link, &link, &[("password", "nouveau-depart-9"), ("confirmation", "nouveau-depart-9")]).await;
        assert!(done.body.contains("Votre mot de passe a été modifié."));
        assert_eq!(browser.get(&link).await.status, 410);
        assert_eq!(browser.login(&identifier, NEW_PASSWORD).await.status, 401);
        assert_eq!(browser.login(&identifier, "nouveau-depart-9").await.status, 303);
    }

    async fn temporary_passwords_expire(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_resident("villeneuve", "Jean", "Dupont", "h@example.org").await;
        let (identifier, temporary, link) = activation_mail(&app, "h@example.org").await;
        let mut browser = app.visitor(TOWN);
        browser.submit(&link, &link, &[]).await;
        account::Entity::update_many()
            .col_expr(account::Column::TemporaryPasswordExpiresAt, Expr::value(Some(chrono::Utc::now() - chrono::Duration::days(1))))
            .filter(account::Column::Identifier.eq(&identifier))
            .exec(&app.app.db)
            .await
            .unwrap();
        let refused = browser.login(&identifier, &temporary).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("mot de passe temporaire a expiré"));
    }

    async fn a_pending_account_cannot_log_in_before_activation(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_resident("villeneuve", "Anne", "Martin", "i@example.org").await;
        let (identifier, temporary, _) = activation_mail(&app, "i@example.org").await;
        let refused = app.visitor(TOWN).login(&identifier, &temporary).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("pas encore activé"));
        assert!(refused.body.contains(r#"href="/activation""#));
    }

    async fn mail_waits_while_smtp_is_down_and_is_delivered_once(backend) {
        let port = free_port();
        let app = TestApp::spawn_with(backend, TestAppOptions { smtp: Smtp::Port(port), ..Default::default() }).await;
        app.create_resident("villeneuve", "Michel", "Arpège", "down@example.org").await;
        // The first attempt fails: nothing listens.
        let mut failed = false;
        for _ in 0..100 {
            let row = outbox::Entity::find().one(&app.app.db).await.unwrap().unwrap();
            if row.attempts >= 1 && row.status == outbox::MailStatus::Pending && row.last_error.is_some() {
                failed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(failed, "the delivery was never attempted");

        let sink = SmtpSink::start_on(port).await;
        sink.wait_for("down@example.org", "activez").await;
        // More worker rounds change nothing: delivered exactly once.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(sink.received().len(), 1);
        let row = outbox::Entity::find().one(&app.app.db).await.unwrap().unwrap();
        assert_eq!(row.status, outbox::MailStatus::Sent);
        assert!(row.sent_at.is_some());
    }

    async fn audit_events_record_authentication(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = active_resident(&app, "j@example.org").await;
        browser.logout().await;
        browser.login(&identifier, "wrong-password-1").await;
        let kinds: Vec<String> = guichet::audit::entity::Entity::find()
            .all(&app.app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.kind)
            .collect();
        for kind in ["account_created", "account_activated", "login_succeeded", "password_changed", "logout", "login_failed"] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
        }
        let event = guichet::audit::entity::Entity::find()
            .filter(guichet::audit::entity::Column::Kind.eq("login_failed"))
            .one(&app.app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.ip.as_deref(), Some("127.0.0.1"));
        assert!(event.account_id.is_some());
    }

    async fn sessions_end_after_idle_and_absolute_timeouts(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = active_resident(&app, "k@example.org").await;
        assert!(browser.get("/").await.body.contains("Bonjour"));
        // 31 minutes without a request (the default idle timeout is 30).
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(chrono::Utc::now() - chrono::Duration::minutes(31)))
            .exec(&app.app.db)
            .await
            .unwrap();
        assert!(browser.get("/").await.body.contains("Mon espace perso"));
        assert_eq!(session::Entity::find().all(&app.app.db).await.unwrap().len(), 0, "expired sessions are deleted");

        // Active all along, but past the absolute deadline.
        assert_eq!(browser.login(&identifier, NEW_PASSWORD).await.status, 303);
        session::Entity::update_many()
            .col_expr(session::Column::ExpiresAt, Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)))
            .exec(&app.app.db)
            .await
            .unwrap();
        assert!(browser.get("/").await.body.contains("Mon espace perso"));
    }

    async fn a_page_does_not_wait_to_record_the_sessions_activity(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, _) = active_resident(&app, "k2@example.org").await;
        // 29 minutes without a request: one more and the session would end.
        let long_ago = chrono::Utc::now() - chrono::Duration::minutes(29);
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(long_ago))
            .exec(&app.app.db)
            .await
            .unwrap();
        // Another transaction holds the session's row (PostgreSQL) or the
        // database's write lock (SQLite): a page that waited for its touch
        // would wait for this transaction's end.
        let holder = app.app.db.begin().await.unwrap();
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(long_ago))
            .exec(&holder)
            .await
            .unwrap();
        let page = tokio::time::timeout(Duration::from_secs(3), browser.get("/"))
            .await
            .expect("the page answers while the session's row is held");
        assert!(page.body.contains("Bonjour"));
        holder.commit().await.unwrap();
        // The touch lands once the row is free.
        let mut seen = long_ago;
        for _ in 0..100 {
            seen = session::Entity::find().one(&app.app.db).await.unwrap().unwrap().last_seen_at;
            if seen > long_ago {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(chrono::Utc::now() - seen < chrono::Duration::minutes(1), "touched: {seen}");
    }

    async fn one_address_guessing_many_accounts_is_slowed_too(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = active_resident(&app, "l@example.org").await;
        let mut attacker = app.visitor(TOWN);
        // 20 failures from one address, each on a different identifier (so
        // no per-account delay applies), cost nothing; the 21st starts the
        // delays, and the next attempt has to wait.
        for n in 0..21 {
            let answer = attacker.login(&format!("voisin.{n}"), "guess-1234").await;
            assert_eq!(answer.status, 401, "attempt {n}");
        }
        assert_eq!(attacker.login("voisin.22", "guess-1234").await.status, 429);
        // Even the right password waits, from that address.
        assert_eq!(app.visitor(TOWN).login(&identifier, NEW_PASSWORD).await.status, 429);
    }

    async fn login_returns_to_the_page_asked_for(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut browser, identifier) = active_resident(&app, "m@example.org").await;
        browser.logout().await;
        let asked = browser.get("/cgu/historique").await;
        assert_eq!(asked.header("location"), Some("/connexion?suite=%2Fcgu%2Fhistorique"));
        let form = browser.get("/connexion?suite=%2Fcgu%2Fhistorique").await;
        assert!(form.body.contains(r#"name="next" value="/cgu/historique""#));
        let csrf = csrf_of(&form.body);
        let back = browser
            .post("/connexion", &[("identifier", &identifier), ("password", NEW_PASSWORD), ("csrf", &csrf), ("next", "/cgu/historique")])
            .await;
        assert_eq!(back.header("location"), Some("/cgu/historique"));
        // Never to another site.
        browser.logout().await;
        let csrf = csrf_of(&browser.get("/connexion").await.body);
        for evil in ["//evil.example/x", "https://evil.example/", "/\\evil.example"] {
            let answer = browser
                .post("/connexion", &[("identifier", &identifier), ("password", NEW_PASSWORD), ("csrf", &csrf), ("next", evil)])
                .await;
            assert_eq!(answer.header("location"), Some("/"), "{evil}");
            browser.logout().await;
        }
    }
}
