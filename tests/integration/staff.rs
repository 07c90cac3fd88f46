//! The town staff's back-office: invitations, the two factors, recovery
//! codes, session limits, suspension, the last administrator, towns kept
//! apart, residents kept out.

use chrono::{Duration, Utc};
use guichet::staff::StaffRole;
use guichet::staff::entity::{staff_invitation, staff_session};
use guichet::staff::totp;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::harness::{STAFF_PASSWORD, TestApp, Visitor, csrf_of};

const STAFF_PAGE_PASSWORD: &str = "Registre-Mairie-2026";

/// The hidden token of the first form on `page`, then POST `fields` to
/// `action` with it.
async fn post_from(
    visitor: &mut Visitor,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> crate::harness::TestResponse {
    visitor.submit(page, action, fields).await
}

/// The text between `start` and the next `end` in `html`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in:\n{html}"))
        + start.len();
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// An administrator invites `email` as an agent from `/admin/agents`; the
/// invitation link's path.
async fn invite(app: &TestApp, admin: &mut Visitor, email: &str) -> String {
    let sent = post_from(
        admin,
        "/admin/agents",
        "/admin/agents/inviter",
        &[("email", email), ("role", "agent")],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let mail = app.mailbox().wait_for(email, "espace agents").await;
    mail.link_path("/admin/invitation/")
}

/// Follows an invitation to the end: names and password, enrolment with a
/// code of the secret shown; the browser, the secret and the recovery codes.
async fn join(app: &TestApp, link: &str) -> (Visitor, Vec<u8>, Vec<String>) {
    let mut newcomer = app.visitor("villeneuve.localhost");
    let form = newcomer.get(link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.text().contains("en tant que Agent"), "{}", form.body);
    let joined = newcomer
        .submit(
            link,
            link,
            &[
                ("first_name", "Jeanne"),
                ("last_name", "Nouvelle"),
                ("password", STAFF_PAGE_PASSWORD),
                ("confirmation", STAFF_PAGE_PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status, 303, "{}", joined.body);
    assert_eq!(joined.header("location"), Some("/admin/connexion/code"));
    // The password alone opens nothing.
    let overview = newcomer.get("/admin").await;
    assert_eq!(overview.status, 303);
    assert!(
        overview
            .header("location")
            .unwrap()
            .starts_with("/admin/connexion/code")
    );

    let enrolment = newcomer.get("/admin/connexion/code").await;
    assert_eq!(enrolment.status, 200, "{}", enrolment.body);
    assert!(
        enrolment.body.contains("<svg role=\"img\""),
        "{}",
        enrolment.body
    );
    let secret =
        totp::from_base32(between(&enrolment.body, "<code id=\"cle-secrete\">", "<")).unwrap();
    assert_eq!(secret.len(), 20);
    let wrong = newcomer
        .submit(
            "/admin/connexion/code",
            "/admin/connexion/enrolement",
            &[("code", "abcdef")],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let code = totp::code_at(&secret, Utc::now());
    let codes_page = newcomer
        .submit(
            "/admin/connexion/code",
            "/admin/connexion/enrolement",
            &[("code", &code)],
        )
        .await;
    assert_eq!(codes_page.status, 200, "{}", codes_page.body);
    let list = between(&codes_page.body, "<ul class=\"recovery-codes\"", "</ul>");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|part| part.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{list}");
    assert_eq!(newcomer.get("/admin").await.status, 200);
    (newcomer, secret, codes)
}

/// Logs out from any back-office page.
async fn logout(visitor: &mut Visitor) {
    let page = visitor.get("/admin/connexion/code").await;
    let page = if page.status == 303 {
        visitor.get("/admin").await
    } else {
        page
    };
    let csrf = csrf_of(&page.body);
    let out = visitor.post("/admin/deconnexion", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(visitor.get("/admin").await.status, 303);
}

/// The password step alone.
async fn password_step(
    visitor: &mut Visitor,
    email: &str,
    password: &str,
) -> crate::harness::TestResponse {
    visitor
        .submit(
            "/admin/connexion",
            "/admin/connexion",
            &[("email", email), ("password", password)],
        )
        .await
}

async fn code_step(visitor: &mut Visitor, code: &str) -> crate::harness::TestResponse {
    visitor
        .submit(
            "/admin/connexion/code",
            "/admin/connexion/code",
            &[("code", code)],
        )
        .await
}

on_both_databases! {
    async fn an_invitation_leads_to_password_totp_and_recovery_codes_once(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let link = invite(&app, &mut admin, "jeanne@villeneuve.test").await;
        let mail = app.mailbox().wait_for("jeanne@villeneuve.test", "espace agents").await;
        assert!(mail.text.contains("agent"), "{}", mail.text);
        let (mut jeanne, secret, codes) = join(&app, &link).await;

        // The link worked once.
        let again = app.visitor("villeneuve.localhost").get(&link).await;
        assert_eq!(again.status, 410, "{}", again.body);
        assert!(again.text().contains("déjà servi"));

        // The list shows her, with her name, as an agent.
        let list = admin.get("/admin/agents").await;
        assert!(list.text().contains("Jeanne NOUVELLE"), "{}", list.body);

        // A recovery code opens a session once.
        logout(&mut jeanne).await;
        assert_eq!(password_step(&mut jeanne, "jeanne@villeneuve.test", STAFF_PAGE_PASSWORD).await.status, 303);
        let with_recovery = code_step(&mut jeanne, &codes[3].to_uppercase()).await;
        assert_eq!(with_recovery.status, 303, "{}", with_recovery.body);
        let overview = jeanne.get("/admin").await;
        assert!(overview.text().contains("Il vous en reste 9 sur 10"), "{}", overview.body);
        logout(&mut jeanne).await;
        assert_eq!(password_step(&mut jeanne, "jeanne@villeneuve.test", STAFF_PAGE_PASSWORD).await.status, 303);
        let reused = code_step(&mut jeanne, &codes[3]).await;
        assert_eq!(reused.status, 401, "{}", reused.body);
        // Her TOTP still works.
        assert_eq!(jeanne.staff_code(&secret).await.status, 303);
        assert_eq!(jeanne.get("/admin").await.status, 200);
    }

    async fn an_invitation_expires_and_a_new_one_replaces_it(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let invited = app
            .app
            .staff
            .invite(&town, "tardif@villeneuve.test", StaffRole::Gestionnaire, guichet::audit::Actor::System, &Default::default())
            .await
            .unwrap()
            .unwrap();
        let path = invited.link.split_once("localhost").map(|(_, rest)| rest.split_once('/').map(|(_, p)| format!("/{p}")).unwrap()).unwrap();
        let mut visitor = app.visitor("villeneuve.localhost");
        assert_eq!(visitor.get(&path).await.status, 200);
        staff_invitation::Entity::update_many()
            .col_expr(staff_invitation::Column::ExpiresAt, Expr::value(Utc::now() - Duration::minutes(1)))
            .exec(&app.app.db)
            .await
            .unwrap();
        let expired = visitor.get(&path).await;
        assert_eq!(expired.status, 410);
        assert!(expired.text().contains("a expiré"), "{}", expired.body);
        // Inviting again sends a new link; the old one is worth nothing.
        let again = app
            .app
            .staff
            .invite(&town, "tardif@villeneuve.test", StaffRole::Agent, guichet::audit::Actor::System, &Default::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(visitor.get(&path).await.status, 404);
        let new_path = format!("/admin/invitation/{}", again.link.rsplit('/').next().unwrap());
        let page = visitor.get(&new_path).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("en tant que Agent"), "{}", page.body);
        // A town's link is unknown in another town.
        let elsewhere = app.visitor("saint-martin.localhost").get(&new_path).await;
        assert_eq!(elsewhere.status, 404);
    }

    async fn totp_codes_right_wrong_and_replayed(backend) {
        let app = TestApp::spawn(backend).await;
        let member = app.ready_staff("villeneuve", StaffRole::Agent).await;
        let email = member.member.email.clone();
        let mut visitor = app.visitor("villeneuve.localhost");

        // Unknown address, wrong password: the same answer.
        let unknown = password_step(&mut visitor, "personne@villeneuve.test", STAFF_PASSWORD).await;
        let wrong = password_step(&mut visitor, &email, "pas-le-bon").await;
        assert_eq!(unknown.status, 401);
        assert_eq!(wrong.status, 401);
        let message = "Adresse électronique ou mot de passe incorrect.";
        assert!(unknown.text().contains(message) && wrong.text().contains(message));

        assert_eq!(password_step(&mut visitor, &email, STAFF_PASSWORD).await.status, 303);
        let now = Utc::now();
        let right = totp::code_at(&member.secret, now);
        let wrong_code = if right == "000000" { "111111" } else { "000000" };
        let refused = code_step(&mut visitor, wrong_code).await;
        assert_eq!(refused.status, 401);
        assert!(refused.text().contains("Code incorrect"), "{}", refused.body);
        let far = totp::code_at(&member.secret, now + Duration::minutes(5));
        if far != right {
            assert_eq!(code_step(&mut visitor, &far).await.status, 401, "five minutes ahead is too far");
        }
        assert_eq!(code_step(&mut visitor, &right).await.status, 303);
        assert_eq!(visitor.get("/admin").await.status, 200);

        // The same code, again: refused (and so are the steps before it).
        logout(&mut visitor).await;
        assert_eq!(password_step(&mut visitor, &email, STAFF_PASSWORD).await.status, 303);
        let replayed = code_step(&mut visitor, &right).await;
        assert_eq!(replayed.status, 401, "{}", replayed.body);
        let previous = totp::code_at(&member.secret, now - Duration::seconds(30));
        if previous != right {
            assert_eq!(code_step(&mut visitor, &previous).await.status, 401);
        }
        let next = totp::code_at(&member.secret, now + Duration::seconds(30));
        assert_eq!(code_step(&mut visitor, &next).await.status, 303);
    }

    async fn sessions_end_when_idle_or_too_old(backend) {
        let app = TestApp::spawn(backend).await;
        let mut idle = app.staff("villeneuve", StaffRole::Agent).await;
        let mut old = app.staff("villeneuve", StaffRole::Agent).await;
        let age = |visitor: &Visitor, created: Duration, seen: Duration| {
            let token = visitor.staff_cookie().expect("a staff session");
            let db = app.app.db.clone();
            async move {
                staff_session::Entity::update_many()
                    .col_expr(staff_session::Column::CreatedAt, Expr::value(Utc::now() - created))
                    .col_expr(staff_session::Column::LastSeenAt, Expr::value(Utc::now() - seen))
                    .filter(staff_session::Column::TokenHash.eq(guichet::accounts::secrets::token_hash(&token)))
                    .exec(&db)
                    .await
                    .unwrap();
            }
        };
        // 14 minutes without a request: still open, and touched.
        age(&idle, Duration::minutes(20), Duration::minutes(14)).await;
        assert_eq!(idle.get("/admin").await.status, 200);
        age(&idle, Duration::minutes(20), Duration::minutes(15)).await;
        let closed = idle.get("/admin").await;
        assert_eq!(closed.status, 303);
        assert_eq!(closed.header("location"), Some("/admin/connexion"));
        // Active all along, but opened more than 8 hours ago.
        age(&old, Duration::hours(7) + Duration::minutes(59), Duration::minutes(1)).await;
        assert_eq!(old.get("/admin").await.status, 200);
        age(&old, Duration::hours(8), Duration::minutes(1)).await;
        assert_eq!(old.get("/admin").await.status, 303);
        // Closed sessions are gone from the table.
        assert_eq!(idle.get("/admin").await.status, 303);
    }

    async fn suspension_closes_sessions_at_once_and_reactivation_reopens_login(backend) {
        let app = TestApp::spawn(backend).await;
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let (mut agent, member) = app.staff_with_member("villeneuve", StaffRole::Agent).await;
        assert_eq!(agent.get("/admin").await.status, 200);
        let id = member.member.id.to_string();
        let suspended = admin
            .submit("/admin/agents", &format!("/admin/agents/{id}/suspendre"), &[])
            .await;
        assert_eq!(suspended.status, 303, "{}", suspended.body);
        assert_eq!(agent.get("/admin").await.status, 303);
        let refused = password_step(&mut agent, &member.member.email, STAFF_PASSWORD).await;
        assert_eq!(refused.status, 401, "a suspended member cannot log in");
        assert!(admin.get("/admin/agents").await.text().contains("Suspendu"));

        let back = admin
            .submit("/admin/agents", &format!("/admin/agents/{id}/reactiver"), &[])
            .await;
        assert_eq!(back.status, 303);
        let again = agent
            .staff_login(&member.member.email, STAFF_PASSWORD, &member.secret)
            .await;
        assert_eq!(again.status, 303, "{}", again.body);
        assert_eq!(agent.get("/admin").await.status, 200);

        // A role change closes the sessions too, and takes effect.
        let promoted = admin
            .submit("/admin/agents", &format!("/admin/agents/{id}/role"), &[("role", "gestionnaire")])
            .await;
        assert_eq!(promoted.status, 303);
        assert_eq!(agent.get("/admin").await.status, 303);

        // Every action is in the journal, with the administrator as actor.
        use guichet::audit::entity::{ActorKind, Column, Entity};
        let kinds: Vec<String> = Entity::find()
            .filter(Column::ActorKind.eq(ActorKind::Staff))
            .all(&app.app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.kind)
            .collect();
        for kind in ["staff_suspended", "staff_reactivated", "staff_role_changed", "staff_login_succeeded"] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
        }
    }

    async fn the_last_active_administrator_stays(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut admin, me) = app.staff_with_member("villeneuve", StaffRole::Administrateur).await;
        let id = me.member.id.to_string();
        let demote = admin
            .submit("/admin/agents", &format!("/admin/agents/{id}/role"), &[("role", "agent")])
            .await;
        assert_eq!(demote.status, 409, "{}", demote.body);
        assert!(demote.text().contains("au moins un administrateur actif"));
        let suspend = admin
            .submit("/admin/agents", &format!("/admin/agents/{id}/suspendre"), &[])
            .await;
        assert_eq!(suspend.status, 409);
        assert_eq!(admin.get("/admin/agents").await.status, 200, "still an administrator");

        // A suspended administrator does not count.
        let (_, other) = app.staff_with_member("villeneuve", StaffRole::Administrateur).await;
        let other_id = other.member.id.to_string();
        assert_eq!(
            admin.submit("/admin/agents", &format!("/admin/agents/{other_id}/suspendre"), &[]).await.status,
            303
        );
        assert_eq!(
            admin.submit("/admin/agents", &format!("/admin/agents/{id}/role"), &[("role", "agent")]).await.status,
            409
        );
        // With another active one, stepping down is allowed (and ends the session).
        assert_eq!(
            admin.submit("/admin/agents", &format!("/admin/agents/{other_id}/reactiver"), &[]).await.status,
            303
        );
        let stepped_down = admin
            .submit("/admin/agents", &format!("/admin/agents/{id}/role"), &[("role", "agent")])
            .await;
        assert_eq!(stepped_down.status, 303);
        assert_eq!(admin.get("/admin").await.status, 303);
        // Another town's member is not found here.
        let (_, foreign) = app.staff_with_member("saint-martin", StaffRole::Agent).await;
        let mut boss = app.staff("villeneuve", StaffRole::Administrateur).await;
        let missing = boss
            .submit("/admin/agents", &format!("/admin/agents/{}/suspendre", foreign.member.id), &[])
            .await;
        assert_eq!(missing.status, 404);
    }

    async fn towns_residents_and_staff_stay_apart(backend) {
        let app = TestApp::spawn(backend).await;
        let (mut staff, member) = app.staff_with_member("villeneuve", StaffRole::Administrateur).await;
        // A Villeneuve session is worth nothing on Saint-Martin...
        staff.host = "saint-martin.localhost".to_owned();
        assert_eq!(staff.get("/admin").await.status, 303);
        // ...nor are Villeneuve's credentials.
        let mut elsewhere = app.visitor("saint-martin.localhost");
        assert_eq!(password_step(&mut elsewhere, &member.member.email, STAFF_PASSWORD).await.status, 401);
        staff.host = "villeneuve.localhost".to_owned();
        assert_eq!(staff.get("/admin").await.status, 200);
        // A staff session opens no resident page.
        let requests = staff.get("/demarches").await;
        assert_eq!(requests.status, 303);
        assert!(requests.header("location").unwrap().starts_with("/connexion"));

        // A resident session opens no admin page.
        let (mut resident, _) = app.active_resident("villeneuve", "usager@example.org").await;
        assert_eq!(resident.get("/demarches").await.status, 200);
        let admin = resident.get("/admin").await;
        assert_eq!(admin.status, 303);
        assert!(admin.header("location").unwrap().starts_with("/admin/connexion"));
        // The wrong role gets 403 in the admin layout.
        let mut agent = app.staff("villeneuve", StaffRole::Agent).await;
        let forbidden = agent.get("/admin/agents").await;
        assert_eq!(forbidden.status, 403);
        assert!(forbidden.text().contains("Accès refusé") && forbidden.body.contains("Espace agents"));
        assert!(!agent.get("/admin").await.body.contains("href=\"/admin/agents\""), "the menu hides what the role cannot open");
    }

    async fn password_attempts_are_throttled(backend) {
        let app = TestApp::spawn(backend).await;
        let member = app.ready_staff("villeneuve", StaffRole::Agent).await;
        let mut visitor = app.visitor("villeneuve.localhost");
        for _ in 0..5 {
            password_step(&mut visitor, &member.member.email, "pas-le-bon").await;
        }
        let throttled = password_step(&mut visitor, &member.member.email, STAFF_PASSWORD).await;
        assert_eq!(throttled.status, 429, "{}", throttled.body);
        assert!(throttled.text().contains("Trop de tentatives"));
        // An unknown address is throttled the same way.
        for _ in 0..5 {
            password_step(&mut visitor, "inconnu@villeneuve.test", "pas-le-bon").await;
        }
        assert_eq!(password_step(&mut visitor, "inconnu@villeneuve.test", "x").await.status, 429);
    }
}
