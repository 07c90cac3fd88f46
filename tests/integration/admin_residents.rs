//! The staff's work on residents' accounts (core/src/accounts/directory.rs,
//! administration.rs, refused_mail.rs): search, filters and pages; each
//! action's effect and its journal event (actor and subject); what a
//! resident then sees at login; refused mail queued again; the towns kept
//! apart.

use std::time::{Duration, Instant};

use guichet::accounts::entity::account;
use guichet::accounts::{
    AdministrationProblem, DirectoryQuery, NewAccount, PAGE_SIZE, PageCursor, ResidentState,
};
use guichet::audit::entity::{self as audit_event, ActorKind};
use guichet::audit::{Actor, Origin};
use guichet::mail::MailStatus;
use guichet::mail::entity as outbox;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use guichet::staff::StaffRole;

use crate::harness::{NEW_PASSWORD, TestApp};

fn staff() -> Actor {
    Actor::Staff {
        id: 7,
        label: "Marie Durand (gestionnaire)".to_owned(),
    }
}

fn new_account(first: &str, last: &str, email: &str) -> NewAccount {
    NewAccount {
        email: email.to_owned(),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        civility: None,
        address: None,
        phone: None,
    }
}

async fn account_of(app: &TestApp, identifier: &str) -> account::Model {
    account::Entity::find()
        .filter(account::Column::Identifier.eq(identifier))
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no account {identifier}"))
}

/// The latest journal event of `kind` about `account_id`.
async fn last_event(app: &TestApp, account_id: i32, kind: &str) -> audit_event::Model {
    audit_event::Entity::find()
        .filter(audit_event::Column::AccountId.eq(account_id))
        .filter(audit_event::Column::Kind.eq(kind))
        .order_by_desc(audit_event::Column::Id)
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {kind} event about account {account_id}"))
}

fn assert_staff_did(event: &audit_event::Model, subject: i32) {
    assert_eq!(event.actor_kind, ActorKind::Staff, "{event:?}");
    assert_eq!(event.actor_id, Some(7));
    assert_eq!(
        event.actor_label.as_deref(),
        Some("Marie Durand (gestionnaire)")
    );
    assert_eq!(event.account_id, Some(subject));
}

fn identifiers(page: &guichet::accounts::DirectoryPage) -> Vec<String> {
    page.rows.iter().map(|row| row.identifier.clone()).collect()
}

on_both_databases! {
    async fn the_list_searches_words_without_accents_or_case_and_filters(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let origin = Origin::default();
        for (first, last, email) in [
            ("Hélène", "Dupré", "h.dupre@example.org"),
            ("Jean-Éric", "d'Ornano", "je.ornano@exemple.fr"),
            ("Marc", "Durand", "marc@example.org"),
            ("Zoé", "Abel", "zoe.abel@example.org"),
        ] {
            app.app.accounts.create_as(&town, new_account(first, last, email), staff(), &origin).await.unwrap().unwrap();
        }
        // Another town's resident never shows.
        app.create_resident("saint-martin", "Hélène", "Dupré", "autre@example.org").await;

        let search = |text: &str| DirectoryQuery { search: text.to_owned(), ..DirectoryQuery::default() };
        let all = app.app.accounts.directory(&town, &search("")).await.unwrap();
        assert_eq!(identifiers(&all), ["zoe.abel", "jean-eric.d-ornano", "helene.dupre", "marc.durand"], "name order");
        assert_eq!(all.matching, 4);
        for (typed, expected) in [
            ("HELENE", vec!["helene.dupre"]),
            ("dup", vec!["helene.dupre"]),
            ("du", vec!["helene.dupre", "marc.durand"]),
            ("éric ornano", vec!["jean-eric.d-ornano"]),
            ("d'ornano", vec!["jean-eric.d-ornano"]),
            ("exemple.fr", vec!["jean-eric.d-ornano"]),
            ("marc@example.org", vec!["marc.durand"]),
            ("helene.dupre", vec!["helene.dupre"]),
            ("durand hélène", vec![]),
            ("%", vec!["zoe.abel", "jean-eric.d-ornano", "helene.dupre", "marc.durand"]),
        ] {
            let found = app.app.accounts.directory(&town, &search(typed)).await.unwrap();
            assert_eq!(identifiers(&found), expected, "{typed}");
            assert_eq!(found.matching as usize, expected.len(), "{typed}");
        }

        // States: Marc activates (through the link), Zoé is disabled.
        let marc = account_of(&app, "marc.durand").await;
        let zoe = account_of(&app, "zoe.abel").await;
        let mail = app.mailbox().wait_for("marc@example.org", "activez").await;
        let link = mail.link_path("/activation/");
        let token = link.trim_start_matches("/activation/");
        app.app.accounts.activate(&town, token, &origin).await.unwrap().unwrap();
        app.app.accounts.disable(&town, zoe.id, "Déménagement", staff(), &origin).await.unwrap().unwrap();
        let counts = app.app.accounts.state_counts(&town).await.unwrap();
        assert_eq!((counts.awaiting_activation, counts.active, counts.disabled), (2, 1, 1));
        for (state, expected) in [
            (ResidentState::AwaitingActivation, vec!["jean-eric.d-ornano", "helene.dupre"]),
            (ResidentState::Active, vec!["marc.durand"]),
            (ResidentState::Disabled, vec!["zoe.abel"]),
        ] {
            let query = DirectoryQuery { state: Some(state), ..DirectoryQuery::default() };
            let found = app.app.accounts.directory(&town, &query).await.unwrap();
            assert_eq!(identifiers(&found), expected, "{state:?}");
        }
        assert_eq!(ResidentState::of(&account_of(&app, "marc.durand").await), ResidentState::Active);
        let _ = marc;

        // Creation dates, in the town's calendar.
        let today = chrono::Utc::now().with_timezone(&town.timezone).date_naive();
        let yesterday = today.pred_opt().unwrap();
        let within = DirectoryQuery { created_from: Some(today), created_to: Some(today), ..DirectoryQuery::default() };
        assert_eq!(app.app.accounts.directory(&town, &within).await.unwrap().matching, 4);
        let before = DirectoryQuery { created_to: Some(yesterday), ..DirectoryQuery::default() };
        assert_eq!(app.app.accounts.directory(&town, &before).await.unwrap().matching, 0);
        let after = DirectoryQuery { created_from: Some(today.succ_opt().unwrap()), search: "du".to_owned(), ..DirectoryQuery::default() };
        assert_eq!(app.app.accounts.directory(&town, &after).await.unwrap().matching, 0);
    }

    async fn pages_follow_the_name_order_both_ways(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        // Written straight into the database (hashing 120 passwords would
        // take seconds), with their keys as creation writes them.
        let scope = town.scope();
        let total = PAGE_SIZE as usize * 2 + 20;
        let now = chrono::Utc::now();
        for n in 0..total {
            let row = account::ActiveModel {
                tenant_id: sea_orm::ActiveValue::Set(scope.tenant_id().get()),
                identifier: sea_orm::ActiveValue::Set(format!("usager.{n:03}")),
                email: sea_orm::ActiveValue::Set(format!("u{n}@example.org")),
                email_key: sea_orm::ActiveValue::Set(format!("u{n}@example.org")),
                civility: sea_orm::ActiveValue::Set(None),
                first_name: sea_orm::ActiveValue::Set("Usager".to_owned()),
                // Homonyms on purpose: the id breaks the ties.
                last_name: sea_orm::ActiveValue::Set(format!("Nom{:02}", n / 3)),
                address: sea_orm::ActiveValue::Set(None),
                phone: sea_orm::ActiveValue::Set(None),
                password_hash: sea_orm::ActiveValue::Set("x".to_owned()),
                password_is_temporary: sea_orm::ActiveValue::Set(true),
                temporary_password_expires_at: sea_orm::ActiveValue::Set(None),
                status: sea_orm::ActiveValue::Set(guichet::accounts::AccountStatus::Pending),
                created_at: sea_orm::ActiveValue::Set(now),
                activated_at: sea_orm::ActiveValue::Set(None),
                password_changed_at: sea_orm::ActiveValue::Set(None),
                last_login_at: sea_orm::ActiveValue::Set(None),
                previous_login_at: sea_orm::ActiveValue::Set(None),
                disabled_at: sea_orm::ActiveValue::Set(None),
                disabled_reason: sea_orm::ActiveValue::Set(None),
                sort_key: sea_orm::ActiveValue::Set(String::new()),
                ..Default::default()
            };
            let inserted = sea_orm::ActiveModelTrait::insert(row, &app.app.db).await.unwrap();
            guichet::accounts::index_account(&app.app.db, scope, &inserted).await.unwrap();
        }
        let mut seen: Vec<String> = Vec::new();
        let mut query = DirectoryQuery { search: "usager".to_owned(), ..DirectoryQuery::default() };
        let mut pages = Vec::new();
        loop {
            let page = app.app.accounts.directory(&town, &query).await.unwrap();
            assert_eq!(page.matching as usize, total);
            seen.extend(identifiers(&page));
            pages.push(page.clone());
            match page.next {
                Some(last) => query.page = PageCursor::After(last),
                None => break,
            }
        }
        assert_eq!(pages.len(), 3);
        assert!(pages[0].previous.is_none());
        assert_eq!(seen.len(), total, "every resident once");
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(seen, sorted, "homonyms in id order, names in order");
        // Back from the last page: the middle page again.
        query.page = PageCursor::Before(pages[2].previous.unwrap());
        let back = app.app.accounts.directory(&town, &query).await.unwrap();
        assert_eq!(identifiers(&back), identifiers(&pages[1]));
        assert_eq!(back.next, pages[1].next);
        query.page = PageCursor::Before(back.previous.unwrap());
        let first = app.app.accounts.directory(&town, &query).await.unwrap();
        assert_eq!(identifiers(&first), identifiers(&pages[0]));
        assert!(first.previous.is_none(), "nothing before the first page");
    }

    async fn resending_the_activation_kills_the_old_link_and_password(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let created = app.create_resident("villeneuve", "Michel", "Arpège", "michel@example.org").await;
        let first = app.mailbox().wait_for("michel@example.org", "activez").await;
        let old_link = first.link_path("/activation/");

        app.app.accounts.reissue_activation(&town, created.account_id, staff(), &Origin::default()).await.unwrap().unwrap();
        assert_staff_did(&last_event(&app, created.account_id, "activation_mail_sent").await, created.account_id);
        let mails = app.mailbox().wait_for_count("michel@example.org", "activez", 2).await;
        let second = mails.last().unwrap();
        let new_link = second.link_path("/activation/");
        assert_ne!(old_link, new_link);

        let mut visitor = app.visitor("villeneuve.localhost");
        let old = visitor.get(&old_link).await;
        assert_eq!(old.status, 410, "the old link is dead");
        assert!(old.text().contains("déjà été utilisé"), "{}", old.body);
        let refused = visitor.login(&created.identifier, &created.temporary_password).await;
        assert_eq!(refused.status, 401, "the old temporary password no longer opens");
        let activated = visitor.submit(&new_link, &new_link, &[]).await;
        assert!(activated.status < 400, "{}", activated.body);
        let in_ = visitor.login(&created.identifier, &second.line_value("Mot de passe temporaire :")).await;
        assert_eq!(in_.status, 303, "{}", in_.body);

        // Active now: nothing more to send.
        let again = app.app.accounts.reissue_activation(&town, created.account_id, staff(), &Origin::default()).await.unwrap();
        assert_eq!(again, Err(AdministrationProblem::NotPending));
    }

    async fn a_disabled_resident_cannot_log_in_and_their_session_closes(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let (mut visitor, identifier) = app.active_resident("villeneuve", "michel@example.org").await;
        assert_eq!(visitor.get("/coordonnees").await.status, 200);
        let owner = account_of(&app, &identifier).await;

        let empty = app.app.accounts.disable(&town, owner.id, "  ", staff(), &Origin::default()).await.unwrap();
        assert_eq!(empty, Err(AdministrationProblem::ReasonMissing));
        app.app.accounts.disable(&town, owner.id, "Décès signalé", staff(), &Origin::default()).await.unwrap().unwrap();
        let event = last_event(&app, owner.id, "account_disabled").await;
        assert_staff_did(&event, owner.id);
        assert_eq!(event.detail.as_deref(), Some("Décès signalé"));
        let twice = app.app.accounts.disable(&town, owner.id, "encore", staff(), &Origin::default()).await.unwrap();
        assert_eq!(twice, Err(AdministrationProblem::AlreadyDisabled));

        // The open session is gone at once.
        let closed = visitor.get("/coordonnees").await;
        assert_eq!(closed.status, 303, "the session closed");
        assert!(closed.header("location").unwrap_or("").starts_with("/connexion"), "{:?}", closed.header("location"));
        // The right password is told the account is disabled; a wrong one
        // gets the usual answer, which says nothing of it.
        let mut other = app.visitor("villeneuve.localhost");
        let refused = other.login(&identifier, NEW_PASSWORD).await;
        assert_eq!(refused.status, 403);
        assert!(refused.text().contains("Votre espace personnel est désactivé"), "{}", refused.body);
        let wrong = other.login(&identifier, "pas le bon mot de passe").await;
        assert_eq!(wrong.status, 401);
        assert!(!wrong.text().contains("désactivé"));
        // Not sent an activation mail either, whatever the form says.
        assert!(other.session_cookie().is_none());

        app.app.accounts.enable(&town, owner.id, "Erreur de saisie", staff(), &Origin::default()).await.unwrap().unwrap();
        assert_staff_did(&last_event(&app, owner.id, "account_enabled").await, owner.id);
        assert_eq!(other.login(&identifier, NEW_PASSWORD).await.status, 303);
        assert_eq!(ResidentState::of(&account_of(&app, &identifier).await), ResidentState::Active, "active again, as before");
    }

    async fn a_forced_password_change_sends_the_resident_to_the_form(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let (mut visitor, identifier) = app.active_resident("villeneuve", "michel@example.org").await;
        let owner = account_of(&app, &identifier).await;
        app.app.accounts.force_password_change(&town, owner.id, staff(), &Origin::default()).await.unwrap().unwrap();
        assert_staff_did(&last_event(&app, owner.id, "password_change_forced").await, owner.id);

        let mut fresh = app.visitor("villeneuve.localhost");
        let logged = fresh.login(&identifier, NEW_PASSWORD).await;
        assert_eq!(logged.status, 303, "the current password still opens the door");
        let home = fresh.get("/").await;
        assert_eq!(home.status, 303);
        assert_eq!(home.header("location"), Some("/mot-de-passe/modifier"));
        // The session already open meets the same gate.
        assert_eq!(visitor.get("/").await.header("location"), Some("/mot-de-passe/modifier"));
        let changed = fresh
            .submit("/mot-de-passe/modifier", "/mot-de-passe/modifier", &[("password", "Un tout autre mot de passe 42"), ("confirmation", "Un tout autre mot de passe 42")])
            .await;
        assert_eq!(changed.status, 303, "{}", changed.body);
        assert!(!account_of(&app, &identifier).await.password_is_temporary);

        // A pending account has a temporary password already.
        let pending = app.create_resident("villeneuve", "Léa", "Arpège", "lea@example.org").await;
        let refused = app.app.accounts.force_password_change(&town, pending.account_id, staff(), &Origin::default()).await.unwrap();
        assert_eq!(refused, Err(AdministrationProblem::NotActive));
    }

    async fn an_email_correction_tells_both_addresses_and_keeps_them_unique(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let michel = app.create_resident("villeneuve", "Michel", "Arpège", "michel@exemple.org").await;
        let lea = app.create_resident("villeneuve", "Léa", "Arpège", "lea@example.org").await;
        let origin = Origin::default();
        let accounts = &app.app.accounts;

        assert_eq!(accounts.correct_email(&town, michel.account_id, "pas une adresse", staff(), &origin).await.unwrap(), Err(AdministrationProblem::InvalidEmail));
        assert_eq!(accounts.correct_email(&town, michel.account_id, "michel@exemple.org", staff(), &origin).await.unwrap(), Err(AdministrationProblem::SameEmail));
        assert_eq!(
            accounts.correct_email(&town, michel.account_id, "LEA@example.org", staff(), &origin).await.unwrap(),
            Err(AdministrationProblem::EmailTaken(lea.identifier.clone()))
        );
        accounts.correct_email(&town, michel.account_id, " michel@example.org ", staff(), &origin).await.unwrap().unwrap();
        let event = last_event(&app, michel.account_id, "email_corrected").await;
        assert_staff_did(&event, michel.account_id);
        assert_eq!(event.detail.as_deref(), Some("michel@exemple.org → michel@example.org"));

        let old = app.mailbox().wait_for("michel@exemple.org", "corrigée").await;
        let new = app.mailbox().wait_for("michel@example.org", "corrigée").await;
        assert!(old.text.contains("et non plus ici"), "{}", old.text);
        assert!(new.text.contains("envoyés à cette adresse"), "{}", new.text);
        assert_eq!(account_of(&app, &michel.identifier).await.email_key, "michel@example.org");
        // Searchable by the new address, not the old one.
        let query = |text: &str| DirectoryQuery { search: text.to_owned(), ..DirectoryQuery::default() };
        assert_eq!(accounts.directory(&town, &query("exemple")).await.unwrap().matching, 0);
        assert_eq!(accounts.directory(&town, &query("michel@example.org")).await.unwrap().matching, 1);
        // The same address in another town is another town's business.
        app.create_resident("saint-martin", "Paul", "Autre", "paul@example.org").await;
        accounts.correct_email(&town, lea.account_id, "paul@example.org", staff(), &origin).await.unwrap().unwrap();
    }

    async fn a_refused_mail_is_shown_and_queued_again_with_its_message_id(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        // The sink answers 550 to a `refuse…` recipient.
        let created = app.create_resident("villeneuve", "Michel", "Arpège", "refuse.michel@example.org").await;
        let owner = account_of(&app, &created.identifier).await;
        let refused = wait_for_refused(&app, &owner, 1).await;
        let mail = &refused[0];
        assert!(mail.last_error.as_deref().unwrap_or("").contains("550"), "{mail:?}");
        let message_id = mail.message_id.clone();

        app.app.accounts.resend_refused_mail(&town, owner.id, mail.id, staff(), &Origin::default()).await.unwrap().unwrap();
        let event = last_event(&app, owner.id, "mail_resent").await;
        assert_staff_did(&event, owner.id);
        assert!(event.detail.as_deref().unwrap_or("").contains("550"), "the server's answer is kept: {event:?}");
        // Not twice: it is no longer refused (until the server refuses it again).
        let twice = app.app.accounts.resend_refused_mail(&town, owner.id, mail.id, staff(), &Origin::default()).await.unwrap();
        assert!(matches!(twice, Err(AdministrationProblem::NoSuchRefusedMail) | Ok(())));

        // Sent again (its new due time tells), refused again by this sink,
        // with the same Message-ID.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let row = outbox::Entity::find_by_id(mail.id).one(&app.app.db).await.unwrap().unwrap();
            if row.status == MailStatus::Refused && row.next_attempt_at > mail.next_attempt_at {
                assert_eq!(row.attempts, 1, "counted from zero again");
                assert_eq!(row.message_id, message_id, "one Message-ID per mail");
                break;
            }
            assert!(Instant::now() < deadline, "the mail was not sent again: {row:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let rows = outbox::Entity::find().filter(outbox::Column::Recipient.eq("refuse.michel@example.org")).all(&app.app.db).await.unwrap();
        assert_eq!(rows.len(), 1, "queued again, not copied");

        // Another account's mail, or another town's, cannot be resent here.
        let lea = app.create_resident("villeneuve", "Léa", "Arpège", "lea@example.org").await;
        let other = app.app.accounts.resend_refused_mail(&town, lea.account_id, mail.id, staff(), &Origin::default()).await.unwrap();
        assert_eq!(other, Err(AdministrationProblem::NoSuchRefusedMail));
        let elsewhere = app.town("saint-martin").await;
        let other = app.app.accounts.resend_refused_mail(&elsewhere, owner.id, mail.id, staff(), &Origin::default()).await.unwrap();
        assert_eq!(other, Err(AdministrationProblem::UnknownAccount));
    }

    async fn no_action_reaches_another_town_s_resident(backend) {
        let app = TestApp::spawn(backend).await;
        let here = app.town("villeneuve").await;
        let there = app.create_resident("saint-martin", "Michel", "Arpège", "michel@example.org").await;
        let origin = Origin::default();
        let accounts = &app.app.accounts;
        assert_eq!(accounts.disable(&here, there.account_id, "motif", staff(), &origin).await.unwrap(), Err(AdministrationProblem::UnknownAccount));
        assert_eq!(accounts.enable(&here, there.account_id, "motif", staff(), &origin).await.unwrap(), Err(AdministrationProblem::UnknownAccount));
        assert_eq!(accounts.reissue_activation(&here, there.account_id, staff(), &origin).await.unwrap(), Err(AdministrationProblem::UnknownAccount));
        assert_eq!(accounts.force_password_change(&here, there.account_id, staff(), &origin).await.unwrap(), Err(AdministrationProblem::UnknownAccount));
        assert_eq!(accounts.correct_email(&here, there.account_id, "x@example.org", staff(), &origin).await.unwrap(), Err(AdministrationProblem::UnknownAccount));
        assert!(accounts.find_by_identifier(&here, &there.identifier).await.unwrap().is_none());
        assert!(accounts.journal(&here, there.account_id).await.unwrap().is_empty());
        let untouched = account_of(&app, &there.identifier).await;
        assert!(untouched.disabled_at.is_none());
        assert_eq!(untouched.email, "michel@example.org");
    }
}

/// Waits (up to 20 s) until the resident's page would show `count` refused
/// mails.
async fn wait_for_refused(
    app: &TestApp,
    owner: &account::Model,
    count: usize,
) -> Vec<outbox::Model> {
    let town = app.town("villeneuve").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let refused = app.app.accounts.refused_mail(&town, owner).await.unwrap();
        if refused.len() >= count {
            return refused;
        }
        assert!(Instant::now() < deadline, "no refusal recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------- pages --

/// The latest journal event about `account_id`.
async fn latest_event(app: &TestApp, account_id: i32) -> audit_event::Model {
    audit_event::Entity::find()
        .filter(audit_event::Column::AccountId.eq(account_id))
        .order_by_desc(audit_event::Column::Id)
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap()
}

on_both_databases! {
    async fn an_agent_searches_filters_and_reads_a_resident_s_page(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        for (first, last, email) in [("Hélène", "Dupré", "h.dupre@example.org"), ("Marc", "Durand", "marc@example.org")] {
            app.app.accounts.create_as(&town, new_account(first, last, email), staff(), &Origin::default()).await.unwrap().unwrap();
        }
        app.create_resident("saint-martin", "Hélène", "Voisine", "voisine@example.org").await;
        let mut agent = app.staff("villeneuve", StaffRole::Agent).await;

        let list = agent.get("/admin/usagers").await;
        assert_eq!(list.status, 200, "{}", list.body);
        let text = list.text();
        assert!(text.contains("<caption id=\"usagers-legende\">"), "an accessible table");
        assert!(text.contains("Hélène DUPRÉ") || text.contains("Hélène Dupré"), "{text}");
        assert!(!text.contains("Voisine"), "another town's resident never shows");
        assert!(text.contains("En attente d'activation : 2"), "{text}");
        assert!(!text.contains("/admin/usagers/nouveau"), "an agent is not offered the creation");

        let found = agent.get("/admin/usagers?q=HELENE").await.text();
        assert!(found.contains("helene.dupre") && !found.contains("marc.durand"), "{found}");
        let none = agent.get("/admin/usagers?etat=actif").await.text();
        assert!(none.contains("0 compte(s) trouvé(s)"), "{none}");
        let wrong = agent.get("/admin/usagers?du=hier").await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.text().contains("Saisissez une date, par exemple 31/12/2026."));
        assert!(wrong.body.contains("href=\"#du\""), "the summary links to the field");

        let page = agent.get("/admin/usagers/helene.dupre").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let text = page.text();
        assert!(text.contains("h.dupre@example.org"));
        assert!(text.contains("Compte créé"), "the journal, with French labels: {text}");
        assert!(text.contains("Marie Durand (gestionnaire)"), "and its actor");
        assert!(!text.contains("/admin/usagers/helene.dupre/desactivation"), "no actions for an agent");
        // Actions are the gestionnaire's.
        assert_eq!(agent.get("/admin/usagers/helene.dupre/desactivation").await.status, 403);
        // Another town's resident is unknown here.
        assert_eq!(agent.get("/admin/usagers/helene.voisine").await.status, 404);
    }

    async fn a_gestionnaire_creates_a_resident_through_the_form(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut manager, member) = app.staff_with_member("villeneuve", StaffRole::Gestionnaire).await;
        let refused = manager
            .submit("/admin/usagers/nouveau", "/admin/usagers/nouveau", &[("civility", "Mme"), ("first_name", "Jeanne"), ("last_name", " "), ("email", "pas-une-adresse"), ("address", "1 place de la Mairie"), ("phone", "")])
            .await;
        assert_eq!(refused.status, 422);
        let text = refused.text();
        assert!(text.contains("Saisissez le nom."), "{text}");
        assert!(text.contains("Saisissez une adresse électronique valide"), "{text}");
        assert!(text.contains("value=\"Jeanne\"") && text.contains("value=\"1 place de la Mairie\""), "the input is kept");
        assert!(refused.body.contains("href=\"#nom\"") && refused.body.contains("aria-invalid=\"true\""));

        let created = manager
            .submit("/admin/usagers/nouveau", "/admin/usagers/nouveau", &[("civility", "Mme"), ("first_name", "Jeanne"), ("last_name", "Martin"), ("email", "jeanne@example.org"), ("address", ""), ("phone", "")])
            .await;
        assert_eq!(created.status, 303, "{}", created.body);
        assert_eq!(created.header("location"), Some("/admin/usagers/jeanne.martin"));
        app.mailbox().wait_for("jeanne@example.org", "activez").await;
        let owner = account_of(&app, "jeanne.martin").await;
        let event = latest_event(&app, owner.id).await;
        assert_eq!(event.kind, "account_created");
        assert_eq!(event.actor_kind, ActorKind::Staff);
        assert_eq!(event.actor_id, Some(member.member.id));
        let shown = manager.get("/admin/usagers/jeanne.martin").await.text();
        assert!(shown.contains("Le compte jeanne.martin est créé"), "{shown}");

        let again = manager
            .submit("/admin/usagers/nouveau", "/admin/usagers/nouveau", &[("civility", ""), ("first_name", "J"), ("last_name", "M"), ("email", "JEANNE@example.org"), ("address", ""), ("phone", "")])
            .await;
        assert_eq!(again.status, 409);
        assert!(again.text().contains("identifiant jeanne.martin"), "{}", again.body);
    }

    async fn a_gestionnaire_acts_on_an_account_after_confirming(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut resident, identifier) = app.active_resident("villeneuve", "michel@example.org").await;
        let owner = account_of(&app, &identifier).await;
        let (mut manager, member) = app.staff_with_member("villeneuve", StaffRole::Gestionnaire).await;
        let page = format!("/admin/usagers/{identifier}");
        let shown = manager.get(&page).await.text();
        assert!(shown.contains(&format!("{page}/desactivation")), "{shown}");

        let disable = format!("{page}/desactivation");
        let confirm = manager.get(&disable).await;
        assert_eq!(confirm.status, 200);
        assert!(confirm.text().contains("ses connexions en cours sont fermées"));
        let empty = manager.submit(&disable, &disable, &[("reason", "")]).await;
        assert_eq!(empty.status, 422);
        assert!(empty.text().contains("Indiquez le motif."));
        let done = manager.submit(&disable, &disable, &[("reason", "Demande de l'usager")]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let event = latest_event(&app, owner.id).await;
        assert_eq!((event.kind.as_str(), event.actor_id), ("account_disabled", Some(member.member.id)));
        let shown = manager.get(&page).await.text();
        assert!(shown.contains("Le compte est désactivé"), "the flash: {shown}");
        assert!(shown.contains("Désactivé") && shown.contains("Demande de l'usager"));
        assert!(shown.contains("Compte désactivé"), "in the journal");
        assert_eq!(resident.get("/coordonnees").await.status, 303, "the resident's session closed");

        let enable = format!("{page}/reactivation");
        assert_eq!(manager.submit(&enable, &enable, &[("reason", "Erreur")]).await.status, 303);
        let force = format!("{page}/mot-de-passe");
        assert_eq!(manager.submit(&force, &force, &[]).await.status, 303);
        assert_eq!(latest_event(&app, owner.id).await.kind, "password_change_forced");
        let correct = format!("{page}/courriel");
        let same = manager.submit(&correct, &correct, &[("email", "michel@example.org")]).await;
        assert_eq!(same.status, 422);
        assert!(same.text().contains("C'est déjà l'adresse de ce compte."));
        assert_eq!(manager.submit(&correct, &correct, &[("email", "michel.arpege@example.org")]).await.status, 303);
        app.mailbox().wait_for("michel@example.org", "corrigée").await;
        app.mailbox().wait_for("michel.arpege@example.org", "corrigée").await;
        // Already active: nothing to resend.
        let resend = format!("{page}/activation");
        let conflict = manager.submit(&resend, &resend, &[]).await;
        assert_eq!(conflict.status, 409);
        assert!(conflict.text().contains("déjà activé"));
        assert_eq!(manager.get(&format!("{page}/inconnue")).await.status, 404);
    }

    async fn a_refused_mail_is_shown_on_the_page_and_sent_again(backend) {
        let app = TestApp::spawn(backend).await;
        let created = app.create_resident("villeneuve", "Michel", "Arpège", "refuse.michel@example.org").await;
        let owner = account_of(&app, &created.identifier).await;
        let refused = wait_for_refused(&app, &owner, 1).await;
        let (mut manager, member) = app.staff_with_member("villeneuve", StaffRole::Gestionnaire).await;
        let page = format!("/admin/usagers/{}", created.identifier);
        let shown = manager.get(&page).await.text();
        assert!(shown.contains("Courriels refusés par le serveur de messagerie"), "{shown}");
        assert!(shown.contains("550"), "the server's answer: {shown}");
        let resend = format!("{page}/courriels-refuses/{}", refused[0].id);
        assert!(shown.contains(&resend));
        let done = manager.submit(&resend, &resend, &[]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        let event = last_event(&app, owner.id, "mail_resent").await;
        assert_eq!(event.actor_id, Some(member.member.id));
        // An agent sees the refusal, without the button.
        let mut agent = app.staff("villeneuve", StaffRole::Agent).await;
        assert_eq!(agent.get(&resend).await.status, 403);
    }

    async fn the_staff_of_one_town_cannot_reach_another_town_s_resident(backend) {
        let app = TestApp::spawn(backend).await;
        let there = app.create_resident("saint-martin", "Michel", "Arpège", "michel@example.org").await;
        let mut manager = app.staff("villeneuve", StaffRole::Administrateur).await;
        let page = format!("/admin/usagers/{}", there.identifier);
        assert_eq!(manager.get(&page).await.status, 404);
        assert_eq!(manager.get(&format!("{page}/desactivation")).await.status, 404);
        // With a valid token of this town, the POST finds no one either.
        let csrf = crate::harness::csrf_of(&manager.get("/admin/usagers/nouveau").await.body);
        let posted = manager.post(&format!("{page}/desactivation"), &[("csrf", &csrf), ("reason", "intrusion")]).await;
        assert_eq!(posted.status, 404);
        let resend = manager.post(&format!("{page}/courriels-refuses/1"), &[("csrf", &csrf)]).await;
        assert_eq!(resend.status, 404);
        let untouched = account_of(&app, &there.identifier).await;
        assert!(untouched.disabled_at.is_none());
        assert!(!manager.get("/admin/usagers?q=michel").await.text().contains(&there.identifier));
    }
}
