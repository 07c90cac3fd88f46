//! What a distributed attacker tries against the residents' way in: a
//! brute force spread over many addresses, forged trusted-device cookies,
//! concurrent attempts, mail flooding, and the timing of the forms that
//! must not tell whether an account exists (issue 15, issue 18).

use std::time::{Duration, Instant};

use base64::Engine as _;
use guichet::accounts::entity::auth_throttle;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::harness::{NEW_PASSWORD, TestApp, TestAppOptions, Visitor, csrf_of};

const TOWN: &str = "villeneuve.localhost";
/// The trusted-device cookie (no `__Host-` prefix over plain HTTP).
const DEVICE_COOKIE: &str = "guichet_device";

/// The app behind a trusted proxy: each test browser says its address in
/// `X-Real-IP`.
async fn behind_a_proxy(backend: crate::harness::Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        TestAppOptions {
            configure: |config| config.ip_header = Some("X-Real-IP".to_owned()),
            ..Default::default()
        },
    )
    .await
}

/// A new browser on `host` at `address`.
fn browser_at(app: &TestApp, host: &str, address: &str) -> Visitor {
    let mut browser = app.visitor(host);
    browser.client_ip = Some(address.to_owned());
    browser
}

/// One wrong password for `identifier` from a browser never seen before,
/// at an address never seen before: the answer's status.
async fn stranger_guess(app: &TestApp, identifier: &str, n: usize) -> u16 {
    let mut stranger = browser_at(
        app,
        TOWN,
        &format!("10.{}.{}.{}", n / 65536 % 256, n / 256 % 256, n % 256),
    );
    stranger.login(identifier, "guess-1234").await.status
}

/// The account's throttle as an hour of guessing leaves it: the longest
/// delay, starting now (so that the test does not race a delay running out).
async fn as_after_an_hour_of_guessing(app: &TestApp, identifier: &str) {
    let town = app.town("villeneuve").await;
    let account = app
        .app
        .accounts
        .find_by_identifier(&town, identifier)
        .await
        .unwrap()
        .unwrap();
    let updated = auth_throttle::Entity::update_many()
        .col_expr(auth_throttle::Column::Failures, Expr::value(60))
        .col_expr(
            auth_throttle::Column::BlockedUntil,
            Expr::value(chrono::Utc::now() + chrono::Duration::seconds(60)),
        )
        .filter(auth_throttle::Column::Key.eq(format!("account:{}", account.id)))
        .exec(&app.app.db)
        .await
        .unwrap();
    assert_eq!(
        updated.rows_affected, 1,
        "the guesses were counted on the account"
    );
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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Posts `fields` (with the browser's CSRF token) to `path` `rounds` times
/// for each of two inputs, interleaved, and returns the median time of each.
async fn interleaved_medians(
    browser: &mut Visitor,
    path: &str,
    field: &str,
    (first, second): (&str, &str),
    rounds: usize,
) -> (Duration, Duration) {
    let csrf = csrf_of(&browser.get(path).await.body);
    let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first, so that neither always follows the other.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_first in order {
            let value = if is_first { first } else { second };
            let started = Instant::now();
            let answer = browser.post(path, &[(field, value), ("csrf", &csrf)]).await;
            let took = started.elapsed();
            assert_eq!(answer.status, 200, "{}", answer.body);
            if is_first {
                firsts.push(took)
            } else {
                seconds.push(took)
            }
            // Whatever work a request left behind is done before the next.
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }
    (median(firsts), median(seconds))
}

/// Medians within max(0.5 ms, 50 %) of each other.
fn assert_same_time(form: &str, known: Duration, unknown: Duration) {
    let gap = known.abs_diff(unknown);
    let allowed = Duration::from_micros(500).max(unknown / 2);
    assert!(
        gap <= allowed,
        "{form}: known {known:?} vs unknown {unknown:?} (gap {gap:?}, allowed {allowed:?})"
    );
}

on_both_databases! {
    async fn a_spread_brute_force_does_not_lock_the_owner_out(backend) {
        let app = behind_a_proxy(backend).await;
        // The owner's own browser, at home.
        let (mut owner, identifier) = app.active_resident("villeneuve", "owner@example.org").await;
        owner.client_ip = Some("192.0.2.10".to_owned());
        // The owner's browser is trusted after logging in, long-lived and
        // out of the reach of scripts.
        let device = owner.cookies.get(DEVICE_COOKIE).cloned().expect("a trusted-device cookie");
        assert_eq!(owner.logout().await.status, 303);
        assert_eq!(owner.cookies.get(DEVICE_COOKIE), Some(&device), "logging out keeps the device trusted");

        // Wrong passwords from ever new addresses: the first few are
        // answered, then the account is throttled for strangers.
        let mut refused = 0;
        let mut throttled = 0;
        for n in 0..30 {
            match stranger_guess(&app, &identifier, n).await {
                401 => refused += 1,
                429 => throttled += 1,
                other => panic!("attempt {n}: {other}"),
            }
        }
        assert!(refused <= 7 && throttled >= 23, "{refused} refused, {throttled} throttled");
        as_after_an_hour_of_guessing(&app, &identifier).await;
        // A stranger with the right password waits too…
        let mut stranger = browser_at(&app, TOWN, "198.51.100.99");
        assert_eq!(stranger.login(&identifier, NEW_PASSWORD).await.status, 429);

        // …but the owner's browser gets in at once, every time, while the
        // attack goes on; a typo of theirs is an ordinary refusal.
        for round in 0..5 {
            assert_eq!(stranger_guess(&app, &identifier, 1000 + round).await, 429, "round {round}");
            let answer = owner.login(&identifier, NEW_PASSWORD).await;
            assert_eq!(answer.status, 303, "round {round}: {}", answer.body);
            assert!(owner.get("/").await.body.contains("Bonjour"));
            assert_eq!(owner.logout().await.status, 303);
        }
        assert_eq!(owner.login(&identifier, "typo-jardin-42").await.status, 401);
        assert_eq!(owner.login(&identifier, NEW_PASSWORD).await.status, 303);

        // The owner's logins did not give the attacker a fresh start.
        for n in 2000..2010 {
            assert_eq!(stranger_guess(&app, &identifier, n).await, 429, "attempt {n}");
        }
    }

    async fn concurrent_guesses_do_not_slip_past_the_delays(backend) {
        let app = behind_a_proxy(backend).await;
        let (_, identifier) = app.active_resident("villeneuve", "many@example.org").await;
        // 40 browsers at 40 addresses, each with its form, post at once.
        let mut browsers = Vec::new();
        for n in 0..40 {
            let mut browser = browser_at(&app, TOWN, &format!("10.20.0.{n}"));
            let csrf = csrf_of(&browser.get("/connexion").await.body);
            browsers.push((browser, csrf));
        }
        let mut attempts = tokio::task::JoinSet::new();
        for (mut browser, csrf) in browsers {
            let identifier = identifier.clone();
            attempts.spawn(async move {
                browser
                    .post("/connexion", &[("identifier", &identifier), ("password", "guess-1234"), ("csrf", &csrf)])
                    .await
                    .status
            });
        }
        let statuses = attempts.join_all().await;
        let checked = statuses.iter().filter(|status| **status == 401).count();
        assert!(statuses.iter().all(|status| [401, 429].contains(status)), "{statuses:?}");
        // 4 free failures and the fifth, which starts the delays (a sixth if
        // the burst outlasted its second): no more passwords were tried,
        // however many came at once.
        assert!((5..=6).contains(&checked), "{checked} checked: {statuses:?}");
    }

    async fn a_forged_or_foreign_device_cookie_is_worthless(backend) {
        let app = behind_a_proxy(backend).await;
        let (_, victim) = app.active_resident("villeneuve", "victim@example.org").await;
        // The attacker has accounts of their own, here and in another town,
        // and so trusted-device cookies for them.
        let (mallory, _) = app.active_resident("villeneuve", "mallory@example.org").await;
        let (elsewhere, _) = app.active_resident("saint-martin", "mallory-sm@example.org").await;
        let own = mallory.cookies.get(DEVICE_COOKIE).cloned().expect("a device cookie");
        let foreign = elsewhere.cookies.get(DEVICE_COOKIE).cloned().expect("a device cookie");

        for n in 0..10 {
            stranger_guess(&app, &victim, n).await;
        }
        as_after_an_hour_of_guessing(&app, &victim).await;
        assert_eq!(stranger_guess(&app, &victim, 99).await, 429);

        // The victim's account id, written into the attacker's cookie.
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (payload, tag) = own.split_once('.').expect("a sealed value");
        let mut claims: serde_json::Value = serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
        let victim_id = app.app.accounts.find_by_identifier(&app.town("villeneuve").await, &victim).await.unwrap().unwrap().id;
        claims["account"] = victim_id.into();
        let forged = format!("{}.{tag}", engine.encode(serde_json::to_vec(&claims).unwrap()));

        for (n, cookie) in [own, foreign, forged, "garbage".to_owned()].into_iter().enumerate() {
            let mut attacker = browser_at(&app, TOWN, &format!("203.0.113.{n}"));
            attacker.cookies.insert(DEVICE_COOKIE.to_owned(), cookie);
            assert_eq!(attacker.login(&victim, "guess-1234").await.status, 429, "cookie {n}");
            assert_eq!(attacker.login(&victim, NEW_PASSWORD).await.status, 429, "cookie {n}");
        }
    }

    async fn concurrent_wrong_logins_from_one_address_are_not_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = app.active_resident("villeneuve", "nat@example.org").await;
        // People behind one address (a town hall) at the same moment: 18
        // mistype their identifier — fewer than the address's 20 free
        // failures — and 2 log in with the right password.
        let mut browsers = Vec::new();
        for n in 0..20 {
            let mut browser = app.visitor(TOWN);
            let csrf = csrf_of(&browser.get("/connexion").await.body);
            let (login, password, expected) = if n % 10 == 0 {
                (identifier.clone(), NEW_PASSWORD, 303)
            } else {
                (format!("voisin.{n}"), "guess-1234", 401)
            };
            browsers.push((browser, csrf, login, password, expected));
        }
        let mut attempts = tokio::task::JoinSet::new();
        for (mut browser, csrf, login, password, expected) in browsers {
            attempts.spawn(async move {
                let answer = browser
                    .post("/connexion", &[("identifier", &login), ("password", password), ("csrf", &csrf)])
                    .await;
                (expected, answer.status, answer.text())
            });
        }
        for (expected, status, body) in attempts.join_all().await {
            assert_eq!(status, expected, "{body}");
        }
        // And the right password, from that address, still logs in.
        assert_eq!(app.visitor(TOWN).login(&identifier, NEW_PASSWORD).await.status, 303);
    }

    async fn forms_that_send_mail_send_a_bounded_number(backend) {
        let app = behind_a_proxy(backend).await;
        let (_, identifier) = app.active_resident("villeneuve", "flood@example.org").await;
        // 20 "mot de passe oublié" for one account: the same page each time,
        // three mails.
        let mut browser = browser_at(&app, TOWN, "192.0.2.20");
        let first = browser.submit("/mot-de-passe/oublie", "/mot-de-passe/oublie", &[("login", &identifier)]).await;
        assert_eq!(first.status, 200);
        for _ in 1..20 {
            let again = browser.submit("/mot-de-passe/oublie", "/mot-de-passe/oublie", &[("login", &identifier)]).await;
            assert_eq!(again.status, 200);
            assert_eq!(without_csrf(&again.body), without_csrf(&first.body));
        }
        app.mailbox().wait_for_count("flood@example.org", "nouveau mot de passe", 3).await;

        // The same bound, shared, for new activation mails.
        app.create_resident("villeneuve", "Paul", "Attente", "pending@example.org").await;
        app.mailbox().wait_for("pending@example.org", "activez").await;
        let mut other = browser_at(&app, TOWN, "192.0.2.21");
        let first = other.submit("/activation", "/activation", &[("email", "pending@example.org")]).await;
        assert_eq!(first.status, 200);
        for _ in 1..20 {
            let again = other.submit("/activation", "/activation", &[("email", "pending@example.org")]).await;
            assert_eq!(without_csrf(&again.body), without_csrf(&first.body));
        }
        // The creation's mail and three more.
        app.mailbox().wait_for_count("pending@example.org", "activez", 4).await;

        // One address asking for many accounts: 20 mails an hour.
        let mut emails = Vec::new();
        for n in 0..7 {
            let email = format!("voisin{n}@example.org");
            app.create_resident("villeneuve", "Jean", &format!("Voisin{n}"), &email).await;
            emails.push(email);
        }
        let mut sprayer = browser_at(&app, TOWN, "192.0.2.30");
        for _ in 0..3 {
            for email in &emails {
                let answer = sprayer.submit("/mot-de-passe/oublie", "/mot-de-passe/oublie", &[("login", email)]).await;
                assert_eq!(answer.status, 200);
            }
        }

        // Everything allowed arrives; then, a while later, nothing more.
        let counts = || {
            let received = app.mailbox().received();
            let count = |to: &str, subject: &str| {
                received.iter().filter(|mail| mail.to.contains(to) && mail.subject.contains(subject)).count()
            };
            let sprayed: usize = emails.iter().map(|email| count(email, "nouveau mot de passe")).sum();
            (count("flood@example.org", "nouveau mot de passe"), count("pending@example.org", "activez"), sprayed)
        };
        for _ in 0..300 {
            let (flood, pending, sprayed) = counts();
            if flood >= 3 && pending >= 4 && sprayed >= 20 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(counts(), (3, 4, 20), "(to one account, activation mails, from one address)");
    }

    async fn mail_forms_take_the_same_time_whether_the_account_exists_or_not(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, identifier) = app.active_resident("villeneuve", "timing@example.org").await;
        app.create_resident("villeneuve", "Anne", "Attente", "timing-pending@example.org").await;
        app.mailbox().wait_for("timing-pending@example.org", "activez").await;
        let mut browser = app.visitor(TOWN);

        let (known, unknown) =
            interleaved_medians(&mut browser, "/mot-de-passe/oublie", "login", (&identifier, "inconnu.total"), 30).await;
        assert_same_time("mot de passe oublié", known, unknown);

        let (known, unknown) = interleaved_medians(
            &mut browser,
            "/activation",
            "email",
            ("timing-pending@example.org", "personne@example.org"),
            30,
        )
        .await;
        assert_same_time("nouveau courriel d'activation", known, unknown);
    }
}
