//! Requests handled from the back-office (`/admin/demandes`) and feedback
//! (`/admin/avis`): the table of transitions, the message mailed to the
//! resident and shown on their page, their answer, internal notes that
//! never reach them, assignment and roles, a module's request in the inbox,
//! towns kept apart; feedback read, handled and answered.

use guichet::audit::entity as audit_event;
use guichet::requests::entity::{request, request_event};
use guichet::requests::{NewRequest, Requests};
use guichet::staff::StaffRole::{Administrateur, Agent, Gestionnaire};
use guichet::towns::load_definitions;
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};

use crate::harness::{TestApp, TestResponse, Visitor, csrf_of, repo_root};

const TOWN: &str = "villeneuve";

/// A resident of Villeneuve who asked for an attestation of residence;
/// their browser, address and the request's reference.
async fn filed_request(app: &TestApp, email: &str) -> (Visitor, String) {
    let (mut resident, _) = app.active_resident(TOWN, email).await;
    let filed = resident
        .submit(
            "/demarches/nouvelle/attestation-residence",
            "/demarches/nouvelle/attestation-residence",
            &[("message", "Pour l'inscription à l'école.")],
        )
        .await;
    assert_eq!(filed.status, 303, "{}", filed.body);
    let reference = filed
        .header("location")
        .and_then(|location| location.strip_prefix("/demarches/"))
        .unwrap()
        .to_owned();
    (resident, reference)
}

fn page_of(reference: &str) -> String {
    format!("/admin/demandes/{reference}")
}

/// Submits a form of the request's page.
async fn act(
    staff: &mut Visitor,
    reference: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    staff
        .submit(
            &page_of(reference),
            &format!("/admin/demandes/{reference}/{action}"),
            fields,
        )
        .await
}

async fn stored(app: &TestApp, reference: &str) -> request::Model {
    request::Entity::find()
        .filter(request::Column::Reference.eq(reference))
        .all(&app.app.db)
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

async fn journal(app: &TestApp, kind: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(kind))
        .all(&app.app.db)
        .await
        .unwrap()
}

on_both_databases! {
    async fn an_agent_moves_a_request_along_the_table_and_the_resident_follows(backend) {
        let app = TestApp::spawn(backend).await;
        let email = "suivi@example.org";
        let (mut resident, reference) = filed_request(&app, email).await;
        let (mut agent, agent_member) = app.staff_with_member(TOWN, Agent).await;

        // The default inbox shows what waits: the new request is there.
        let inbox = agent.get("/admin/demandes").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        assert!(inbox.body.contains(&reference), "{}", inbox.body);
        assert!(inbox.text().contains("Déposée : <strong>1</strong>"), "{}", inbox.body);
        let case = agent.get(&page_of(&reference)).await;
        assert_eq!(case.status, 200);
        let text = case.text();
        assert!(text.contains("Pour l'inscription à l'école."), "the form's answers: {text}");
        assert!(text.contains("Michel ARPÈGE (suivi@example.org)"), "the resident: {text}");

        // Not in the table: Déposée → Acceptée. Nothing written, nothing sent.
        let refused = act(&mut agent, &reference, "statut", &[("status", "acceptee"), ("message", "Oui")]).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.text().contains("Une demande « Déposée » ne peut pas passer à « Acceptée »."), "{}", refused.body);
        assert!(refused.body.contains(">Oui</textarea>"), "the message is kept");
        assert_eq!(stored(&app, &reference).await.status.as_str(), "deposee");

        // Déposée → En cours, with a message: mailed and shown.
        let moved = act(&mut agent, &reference, "statut", &[("status", "en-cours"), ("message", "Nous préparons votre attestation.")]).await;
        assert_eq!(moved.status, 303, "{}", moved.body);
        let mail = app.mailbox().wait_for(email, &format!("votre demande {reference}")).await;
        assert!(mail.text.contains("En cours de traitement"), "{}", mail.text);
        assert!(mail.text.contains("Nous préparons votre attestation."), "{}", mail.text);
        assert!(mail.text.contains(&format!("/demarches/{reference}")), "{}", mail.text);
        let page = resident.get(&format!("/demarches/{reference}")).await.text();
        assert!(page.contains("La mairie :</strong> <span class=\"preserve-lines\">Nous préparons votre attestation."), "{page}");
        let row = stored(&app, &reference).await;
        assert_eq!(row.assignee_id, Some(agent_member.member.id), "taken by whoever moved it first");

        // Asking for information needs a message.
        let silent = act(&mut agent, &reference, "statut", &[("status", "en-attente"), ("message", " ")]).await;
        assert_eq!(silent.status, 422);
        assert!(silent.text().contains("Écrivez à l'usager ce qu'il doit préciser."), "{}", silent.body);
        let asked = act(&mut agent, &reference, "statut", &[("status", "en-attente"), ("message", "Quelle est votre adresse exacte ?")]).await;
        assert_eq!(asked.status, 303, "{}", asked.body);
        app.mailbox().wait_for(email, "En attente d'informations").await;

        // The attestation's type allows no "Acceptée" (tenant.toml).
        let narrowed = act(&mut agent, &reference, "statut", &[("status", "acceptee"), ("message", "")]).await;
        assert_eq!(narrowed.status, 422);
        assert!(narrowed.text().contains("ne peut pas passer à « Acceptée »"), "{}", narrowed.body);

        // The resident answers: back to "En cours", the agent is told.
        let page = resident.get(&format!("/demarches/{reference}")).await;
        assert!(page.text().contains("Répondre à la mairie"), "{}", page.body);
        let empty = resident.submit(&format!("/demarches/{reference}"), &format!("/demarches/{reference}/repondre"), &[("answer", "")]).await;
        assert_eq!(empty.status, 422);
        assert!(empty.text().contains("Écrivez votre réponse."), "{}", empty.body);
        let answered = resident
            .submit(&format!("/demarches/{reference}"), &format!("/demarches/{reference}/repondre"), &[("answer", "12 rue des Lilas, appartement 3.")])
            .await;
        assert_eq!(answered.status, 303, "{}", answered.body);
        let told = app.mailbox().wait_for(&agent_member.member.email, "l'usager a répondu").await;
        assert!(told.text.contains(&format!("/admin/demandes/{reference}")), "{}", told.text);
        let page = resident.get(&format!("/demarches/{reference}")).await.text();
        assert!(page.contains("Vous :</strong> <span class=\"preserve-lines\">12 rue des Lilas"), "{page}");
        assert!(!page.contains("Répondre à la mairie"), "no longer waiting");
        assert_eq!(stored(&app, &reference).await.status.as_str(), "en-cours");
        let again = resident.post(&format!("/demarches/{reference}/repondre"), &[("answer", "Encore"), ("csrf", &csrf_of(&page))]).await;
        assert_eq!(again.status, 422);
        assert!(again.text().contains("Cette demande n'attend pas de réponse de votre part."), "{}", again.body);
        let case = agent.get(&page_of(&reference)).await.text();
        assert!(case.contains("12 rue des Lilas"), "the agent reads the answer: {case}");

        // Done: closed, nothing moves it any more.
        let done = act(&mut agent, &reference, "statut", &[("status", "terminee"), ("message", "Votre attestation est jointe.")]).await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(stored(&app, &reference).await.closed_at.is_some());
        assert!(resident.get(&format!("/demarches/{reference}")).await.body.contains("Terminée"));
        let case = agent.get(&page_of(&reference)).await.text();
        assert!(case.contains("Cette demande est close"), "{case}");
        let reopened = agent.post(&format!("/admin/demandes/{reference}/statut"), &[("status", "en-cours"), ("message", ""), ("csrf", &csrf_of(&case))]).await;
        assert_eq!(reopened.status, 422);
        // The statistics count it.
        let inbox = agent.get("/admin/demandes?statut=toutes").await.text();
        assert!(inbox.contains("Demandes closes sur 30 jours</dt><dd class=\"numeric\">1</dd>"), "{inbox}");
        assert!(!inbox.contains("aucune demande close"), "{inbox}");

        // Each change is in the journal, by the agent, about the resident.
        let changes = journal(&app, "request_status_changed").await;
        assert_eq!(changes.len(), 3);
        for change in &changes {
            assert_eq!(change.actor_id, Some(agent_member.member.id));
            assert_eq!(change.account_id, Some(row.account_id));
        }
        assert_eq!(journal(&app, "request_answered").await.len(), 1);
    }

    async fn internal_notes_never_reach_the_resident(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut resident, reference) = filed_request(&app, "notes@example.org").await;
        let mut agent = app.staff(TOWN, Agent).await;
        let empty = act(&mut agent, &reference, "note", &[("note", "  ")]).await;
        assert_eq!(empty.status, 422);
        assert!(empty.text().contains("La note est vide."));
        let noted = act(&mut agent, &reference, "note", &[("note", "Secret de service 4242 : déjà venu au guichet.")]).await;
        assert_eq!(noted.status, 303, "{}", noted.body);
        act(&mut agent, &reference, "statut", &[("status", "en-cours"), ("message", "C'est parti.")]).await;
        let case = agent.get(&page_of(&reference)).await.text();
        assert!(case.contains("Secret de service 4242"), "{case}");

        for path in ["/", "/demarches", &format!("/demarches/{reference}")] {
            let page = resident.get(path).await;
            assert_eq!(page.status, 200, "{path}");
            assert!(!page.text().contains("Secret de service"), "{path}: {}", page.body);
            assert!(!page.text().contains("4242"), "{path}");
        }
        // Not in the request's history, not in the journal, not in any mail.
        let events = request_event::Entity::find().all(&app.app.db).await.unwrap();
        assert!(events.iter().all(|event| !event.note.clone().unwrap_or_default().contains("4242")));
        let notes = journal(&app, "request_note_added").await;
        assert_eq!(notes.len(), 1);
        assert!(!notes[0].detail.clone().unwrap_or_default().contains("4242"));
        app.mailbox().wait_for("notes@example.org", "En cours").await;
        assert!(app.mailbox().received().iter().all(|mail| !mail.text.contains("4242")));
    }

    async fn taking_and_assigning_follow_the_roles(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, reference) = filed_request(&app, "attribution@example.org").await;
        let (mut agent, agent_member) = app.staff_with_member(TOWN, Agent).await;
        let (mut other, other_member) = app.staff_with_member(TOWN, Agent).await;
        let mut manager = app.staff(TOWN, Gestionnaire).await;

        // An agent takes it; assigning to someone else is a gestionnaire's.
        let case = agent.get(&page_of(&reference)).await;
        assert!(!case.body.contains("/attribuer"), "no assignment form for an agent");
        let taken = act(&mut agent, &reference, "prendre", &[]).await;
        assert_eq!(taken.status, 303, "{}", taken.body);
        assert_eq!(stored(&app, &reference).await.assignee_id, Some(agent_member.member.id));
        let id = other_member.member.id.to_string();
        let forbidden = agent
            .post(&format!("/admin/demandes/{reference}/attribuer"), &[("agent", &id), ("csrf", &csrf_of(&case.body))])
            .await;
        assert_eq!(forbidden.status, 403);
        assert_eq!(stored(&app, &reference).await.assignee_id, Some(agent_member.member.id));

        let assigned = act(&mut manager, &reference, "attribuer", &[("agent", &id)]).await;
        assert_eq!(assigned.status, 303, "{}", assigned.body);
        assert_eq!(stored(&app, &reference).await.assignee_id, Some(other_member.member.id));
        // Nobody outside the town's active team.
        let foreign = app.ready_staff("saint-martin", Agent).await.member.id.to_string();
        for bad in [foreign.as_str(), "999999", "abc"] {
            let refused = act(&mut manager, &reference, "attribuer", &[("agent", bad)]).await;
            assert_eq!(refused.status, 422, "{bad}");
            assert!(refused.text().contains("Choisissez un membre actif de l'équipe."));
        }
        assert_eq!(stored(&app, &reference).await.assignee_id, Some(other_member.member.id));
        assert_eq!(journal(&app, "request_assigned").await.len(), 2);

        // In progress with the other agent: out of my default inbox, in
        // theirs, and in mine when I ask for all.
        act(&mut other, &reference, "statut", &[("status", "en-cours"), ("message", "")]).await;
        assert!(!agent.get("/admin/demandes").await.body.contains(&reference));
        assert!(other.get("/admin/demandes").await.body.contains(&reference));
        assert!(agent.get("/admin/demandes?statut=toutes").await.body.contains(&reference));
        let mine = format!("/admin/demandes?statut=toutes&agent={id}");
        assert!(agent.get(&mine).await.body.contains(&reference));
        assert!(!agent.get("/admin/demandes?statut=toutes&agent=personne").await.body.contains(&reference));

        // A resident's session opens nothing here.
        let (mut resident, _) = app.active_resident(TOWN, "curieux@example.org").await;
        let response = resident.get(&page_of(&reference)).await;
        assert_eq!(response.status, 303);
        assert!(response.header("location").unwrap().starts_with("/admin/connexion"));
    }

    async fn the_inbox_filters_searches_and_pages(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town(TOWN).await;
        let zoe = app.create_resident(TOWN, "Zoé", "Tartempion", "zoe@example.org").await;
        let paul = app.create_resident(TOWN, "Paul", "Durand", "paul@example.org").await;
        let requests = Requests::new(app.app.db.clone());
        let new = |title: &str| NewRequest {
            kind: "attestation-paiement".to_owned(),
            module_id: None,
            title: title.to_owned(),
            details: vec![],
        };
        let first = requests.submit(&town, zoe.account_id, new("Attestation de Zoé")).await.unwrap();
        for number in 0..26 {
            requests.submit(&town, paul.account_id, new(&format!("Demande de Paul {number}"))).await.unwrap();
        }
        let mut agent = app.staff(TOWN, Agent).await;
        let inbox = agent.get("/admin/demandes").await.text();
        assert!(inbox.contains("Demandes (27 au total, page 1 sur 2)"), "{inbox}");
        assert!(inbox.contains("Page suivante"));
        assert!(!inbox.contains(&first), "the oldest is on page 2");
        assert!(agent.get("/admin/demandes?page=2").await.body.contains(&first));

        let found = agent.get("/admin/demandes?q=tartemp").await.text();
        assert!(found.contains("Demandes (1 au total"), "{found}");
        assert!(found.contains(&first));
        let found = agent.get(&format!("/admin/demandes?q={}", first.to_lowercase())).await.text();
        assert!(found.contains("Demandes (1 au total"), "{found}");
        let found = agent.get(&format!("/admin/demandes?statut=toutes&usager={}", zoe.account_id)).await.text();
        assert!(found.contains("Demandes (1 au total"), "{found}");
        let none = agent.get("/admin/demandes?statut=refusee").await.text();
        assert!(none.contains("Aucune demande ne correspond."), "{none}");
        let none = agent.get("/admin/demandes?demarche=type:attestation-residence").await.text();
        assert!(none.contains("Aucune demande ne correspond."), "{none}");
        // The town's day (Paris), which is the filter's: between 23:00 and
        // midnight UTC, UTC's date is the day before.
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris).format("%Y-%m-%d").to_string();
        let dated = agent.get(&format!("/admin/demandes?du=2000-01-01&au={today}")).await.text();
        assert!(dated.contains("27 au total"), "{dated}");
        let future = agent.get("/admin/demandes?du=2999-01-01").await.text();
        assert!(future.contains("Aucune demande ne correspond."), "{future}");
        let bad = agent.get("/admin/demandes?du=31/12/2026").await;
        assert_eq!(bad.status, 200);
        assert!(bad.text().contains("Déposée à partir du : saisissez une date au format AAAA-MM-JJ."), "{}", bad.body);
        assert!(bad.body.contains("value=\"31/12/2026\""), "the input is kept");
        // The statistics: open requests per type.
        assert!(inbox.contains("Demander une attestation de paiement</th><td data-label=\"Ouvertes\" class=\"numeric\">27</td>"), "{inbox}");
    }

    async fn a_module_s_request_arrives_in_the_same_inbox(backend) {
        let app = TestApp::spawn(backend).await;
        let towns = load_definitions(&repo_root().join("tenants")).unwrap();
        let resident = guichet::demo::ensure_residents(&app.app, &towns).await.unwrap();
        let mut browser = app.visitor("villeneuve.localhost");
        assert_eq!(browser.login(&resident.identifier, &resident.password).await.status, 303);
        assert_eq!(browser.accept_terms().await.status, 303);
        let page = browser.get("/services/absences/absences").await;
        let end = page.body.find("\">Léa ARPEGE</option>").unwrap();
        let start = page.body[..end].rfind("value=\"").unwrap() + "value=\"".len();
        let lea = page.body[start..end].to_owned();
        let day = |days: i64| (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string();
        let done = browser
            .post("/services/absences/actions/signaler", &[("csrf", &csrf_of(&page.body)), ("enfant", &lea), ("du", &day(7)), ("au", &day(8)), ("motif", "Maladie")])
            .await;
        assert_eq!(done.status, 303, "{}", done.body);

        let mut agent = app.staff(TOWN, Agent).await;
        let modules = agent.get("/admin/demandes?demarche=module:absences").await.text();
        assert!(modules.contains("Absence de Léa"), "{modules}");
        assert!(modules.contains("(module)"), "with its module's label: {modules}");
        assert!(modules.contains("Demandes (1 au total"), "{modules}");
        let reference = stored_by_module(&app).await;
        let case = agent.get(&page_of(&reference)).await;
        assert_eq!(case.status, 200);
        assert!(case.text().contains("Maladie"), "the module's details: {}", case.body);
        // Modules' requests are not narrowed by a request type.
        let accepted = act(&mut agent, &reference, "statut", &[("status", "en-cours"), ("message", "")]).await;
        assert_eq!(accepted.status, 303);
        let accepted = act(&mut agent, &reference, "statut", &[("status", "acceptee"), ("message", "Absence notée.")]).await;
        assert_eq!(accepted.status, 303, "{}", accepted.body);
    }

    async fn two_members_moving_a_request_at_once_move_it_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, reference) = filed_request(&app, "course@example.org").await;
        let town = std::sync::Arc::new(app.town(TOWN).await);
        let first = app.ready_staff(TOWN, Agent).await.member;
        let second = app.ready_staff(TOWN, Agent).await.member;
        let tasks: Vec<_> = [first, second]
            .into_iter()
            .map(|member| {
                let (desk, town, reference) = (app.app.request_desk.clone(), town.clone(), reference.clone());
                tokio::spawn(async move {
                    desk.change_status(&town, &member, &reference, guichet::requests::RequestStatus::InProgress, "", &guichet::audit::Origin::default())
                        .await
                })
            })
            .collect();
        let mut done = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => done += 1,
                Err(guichet::requests::DeskError::Refused(_)) => {}
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(done, 1, "exactly one of them moved it");
        let row = stored(&app, &reference).await;
        let events = request_event::Entity::find()
            .filter(request_event::Column::RequestId.eq(row.id))
            .count(&app.app.db)
            .await
            .unwrap();
        assert_eq!(events, 2, "filed, then in progress once");
        assert_eq!(journal(&app, "request_status_changed").await.len(), 1);
    }

    async fn another_town_s_staff_cannot_reach_a_request(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, reference) = filed_request(&app, "isolee@example.org").await;
        let mut foreign = app.staff("saint-martin", Administrateur).await;
        assert!(!foreign.get("/admin/demandes?statut=toutes").await.body.contains(&reference));
        assert_eq!(foreign.get(&page_of(&reference)).await.status, 404);
        let searched = foreign.get(&format!("/admin/demandes?q={reference}")).await.text();
        assert!(searched.contains("Demandes (0 au total"), "{searched}");
        let csrf = csrf_of(&foreign.get("/admin/demandes").await.body);
        for (action, fields) in [
            ("statut", vec![("status", "en-cours"), ("message", "Piraté")]),
            ("note", vec![("note", "Piraté")]),
            ("prendre", vec![]),
            ("attribuer", vec![("agent", "1")]),
        ] {
            let mut fields = fields.clone();
            fields.push(("csrf", &csrf));
            let response = foreign.post(&format!("/admin/demandes/{reference}/{action}"), &fields).await;
            assert!([404, 422].contains(&response.status), "{action}: {}", response.status);
        }
        let row = stored(&app, &reference).await;
        assert_eq!(row.status.as_str(), "deposee");
        assert_eq!(row.assignee_id, None);
    }

    async fn feedback_is_read_handled_and_answered(backend) {
        let app = TestApp::spawn(backend).await;
        let email = "avis@example.org";
        let (mut resident, _) = app.active_resident(TOWN, email).await;
        for message in ["Le site est très clair.", "Le lien des horaires est cassé."] {
            let sent = resident.submit("/avis", "/avis", &[("topic", "suggestion"), ("message", message)]).await;
            assert_eq!(sent.status, 303, "{}", sent.body);
        }
        let mut agent = app.staff(TOWN, Agent).await;
        let inbox = agent.get("/admin/avis").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        let text = inbox.text();
        assert!(text.contains("Le site est très clair.") && text.contains("Le lien des horaires est cassé."), "{text}");
        assert_eq!(text.matches(">Nouveau</span>").count(), 2, "{text}");
        let ids: Vec<i32> = guichet::feedback::entity::feedback::Entity::find()
            .all(&app.app.db).await.unwrap().iter().map(|row| row.id).collect();
        let (first, second) = (ids[0], ids[1]);

        let read = agent.submit("/admin/avis", &format!("/admin/avis/{first}/lu"), &[]).await;
        assert_eq!(read.status, 303);
        let text = agent.get("/admin/avis?etat=lus").await.text();
        assert!(text.contains("Le site est très clair.") && !text.contains("cassé"), "{text}");

        let empty = agent.submit("/admin/avis", &format!("/admin/avis/{second}/repondre"), &[("reply", " ")]).await;
        assert_eq!(empty.status, 422);
        assert!(empty.text().contains("Écrivez votre réponse."), "{}", empty.body);
        let replied = agent
            .submit("/admin/avis", &format!("/admin/avis/{second}/repondre"), &[("reply", "Merci, le lien est réparé.")])
            .await;
        assert_eq!(replied.status, 303, "{}", replied.body);
        let mail = app.mailbox().wait_for(email, "réponse à votre avis").await;
        assert!(mail.text.contains("Merci, le lien est réparé."), "{}", mail.text);
        let open = agent.get("/admin/avis").await.text();
        assert!(!open.contains("cassé"), "handled: out of the default list");
        let handled = agent.get("/admin/avis?etat=traites").await.text();
        assert!(handled.contains("cassé") && handled.contains("Merci, le lien est réparé."), "{handled}");

        let done = agent.submit("/admin/avis", &format!("/admin/avis/{first}/traite"), &[]).await;
        assert_eq!(done.status, 303);
        assert!(agent.get("/admin/avis").await.text().contains("Aucun avis ici."));
        assert_eq!(journal(&app, "feedback_read").await.len(), 1);
        assert_eq!(journal(&app, "feedback_handled").await.len(), 1);
        assert_eq!(journal(&app, "feedback_replied").await.len(), 1);

        // Another town's staff see none of it.
        let mut foreign = app.staff("saint-martin", Administrateur).await;
        assert!(!foreign.get("/admin/avis?etat=tous").await.text().contains("cassé"));
        let csrf = csrf_of(&foreign.get("/admin/avis").await.body);
        let response = foreign.post(&format!("/admin/avis/{first}/repondre"), &[("reply", "Piraté"), ("csrf", &csrf)]).await;
        assert_eq!(response.status, 404);
    }
}

/// The reference of the (only) request a module made.
async fn stored_by_module(app: &TestApp) -> String {
    let rows = request::Entity::find()
        .filter(request::Column::ModuleId.is_not_null())
        .all(&app.app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        request::Entity::find()
            .filter(request::Column::ModuleId.eq("absences"))
            .count(&app.app.db)
            .await
            .unwrap(),
        1
    );
    rows[0].reference.clone()
}
