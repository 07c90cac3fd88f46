//! "Annuler ou réserver…": the first-party bookings module (interface
//! 0.2.0) through the real server, beside the 0.1.0 modules of the same
//! town — booking, cancellation, deadline refusals with the deadline
//! stated, the late surcharge priced from the town's tariff grid, the
//! waiting list and its promotion by mail, closures by staff, the staff's
//! list of the day, and the data the town's software reads.
//!
//! The town's rules are set for the test around today's date (the host's
//! clock is the real one): a day is open until 00:00 three days before,
//! so the next three days are past their deadline and the fourth is open.

use chrono::{Datelike as _, Duration, NaiveDate};
use guichet::staff::StaffRole;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::{Value, json};

use crate::harness::{TestApp, Visitor, repo_root};

const TOWN: &str = "villeneuve";
const HOST: &str = "villeneuve.localhost";

/// Today in the town (Europe/Paris).
fn today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
}

/// French public holidays of a year (the module computes its own; this
/// only keeps the test's chosen days away from them).
fn is_public_holiday(date: NaiveDate) -> bool {
    let year = date.year();
    // Easter Sunday (anonymous Gregorian algorithm).
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let easter = NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap();
    let fixed = [
        (1, 1),
        (5, 1),
        (5, 8),
        (7, 14),
        (8, 15),
        (11, 1),
        (11, 11),
        (12, 25),
    ];
    fixed
        .iter()
        .any(|&(month, day)| date.month() == month && date.day() == day)
        || [1, 39, 50].contains(&(date - easter).num_days())
}

/// The days from `from` on that the activity runs (every day but public
/// holidays), `count` of them.
fn running_days(from: NaiveDate, count: usize) -> Vec<NaiveDate> {
    (0..)
        .map(|offset| from + Duration::days(offset))
        .filter(|date| !is_public_holiday(*date))
        .take(count)
        .collect()
}

/// The town's bookings rules for the test: `garderie` (2 places, no late
/// booking) and `tardif` (late booking +50 %), both every day, open until
/// 00:00 three calendar days before, with a waiting list; prices from the
/// tariff grid's `cantine` line (no quotient pushed: the highest bracket).
fn test_rules() -> Value {
    let every_day = json!([
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"
    ]);
    let deadline =
        json!({ "rule": "jours_avant", "days": 3, "counting": "calendaires", "time": "00:00" });
    json!({
        "activities": [
            { "id": "garderie", "label": "Garderie", "tariff": "cantine", "runs_on": "tous",
              "weekdays": every_day, "capacity": 2, "booking_deadline": deadline,
              "cancel_deadline": { "rule": "identique" }, "waiting_list": true },
            { "id": "tardif", "label": "Accueil tardif", "tariff": "cantine", "runs_on": "tous",
              "weekdays": every_day, "capacity": 10, "booking_deadline": deadline,
              "cancel_deadline": { "rule": "identique" }, "late_surcharge_percent": 50,
              "waiting_list": true }
        ],
        "few_places": 1,
        "weeks_ahead": 6
    })
}

/// Applies Villeneuve's definition with the test's bookings rules.
async fn configure(app: &TestApp, rules: &Value) {
    let path = repo_root().join("tenants").join(TOWN).join("tenant.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("[[modules]]\nid = \"bookings\"").unwrap();
    let end = start
        + text[start..]
            .find("\n[[modules]]\nid = \"absences\"")
            .unwrap();
    let replaced = format!(
        "{}[[modules]]\nid = \"bookings\"\nversion = \"^0.2\"\nconfig = {}\n{}",
        &text[..start],
        toml_inline(rules),
        &text[end..]
    );
    let mut definition =
        guichet::towns::parse_town(&replaced, TOWN, &path.display().to_string()).unwrap();
    // The folder's terms are the repository's.
    let demo = guichet::towns::load_definitions(&repo_root().join("tenants")).unwrap();
    let folder = demo
        .into_iter()
        .find(|town| town.definition.slug == TOWN)
        .unwrap();
    definition.terms = folder.terms;
    guichet::towns::apply(
        &app.app.db,
        &app.app.tenants,
        &app.app.themes,
        &app.app.modules,
        &[definition],
    )
    .await
    .unwrap();
}

fn toml_inline(value: &Value) -> String {
    match value {
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(key, value)| format!("{key} = {}", toml_inline(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_inline).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A resident of Villeneuve with a child; their browser, their identifier
/// and the child's member id.
async fn new_parent(app: &TestApp, email: &str, child: &str) -> (Visitor, String, String) {
    let (visitor, identifier) = app.active_resident(TOWN, email).await;
    let town = app.town(TOWN).await;
    let account = app
        .app
        .accounts
        .find_by_identifier(&town, &identifier)
        .await
        .unwrap()
        .unwrap();
    let member = app
        .app
        .households
        .add(
            town.scope(),
            account.id,
            guichet::households::MemberInput {
                first_name: child.to_owned(),
                last_name: "ARPEGE".to_owned(),
                birth_date: "2018-09-03".to_owned(),
                relation: "enfant".to_owned(),
                external_ref: None,
            }
            .validate(today())
            .unwrap(),
        )
        .await
        .unwrap();
    // The host names members to modules as `m<id>`.
    (visitor, identifier, format!("m{}", member.id))
}

fn monday(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// Submits a planning week: `days` shown as editable, `wanted` checked.
/// The page shown next (the redirect followed).
async fn plan(
    visitor: &mut Visitor,
    child: &str,
    activity: &str,
    days: &[NaiveDate],
    wanted: &[NaiveDate],
) -> String {
    let week = monday(days[0]);
    let page =
        format!("/services/bookings/planning?enfant={child}&activite={activity}&semaine={week}");
    let listed: Vec<String> = days.iter().map(ToString::to_string).collect();
    let listed = listed.join(",");
    let names: Vec<String> = wanted.iter().map(|day| format!("jour-{day}")).collect();
    let mut fields: Vec<(&str, &str)> = vec![
        ("enfant", child),
        ("activite", activity),
        ("jours", &listed),
    ];
    let semaine = week.to_string();
    fields.push(("semaine", &semaine));
    for name in &names {
        fields.push((name, "on"));
    }
    let shown = visitor.get(&page).await;
    assert_eq!(shown.status, 200, "{page}: {}", shown.text());
    let answer = visitor
        .submit(&page, "/services/bookings/actions/planning", &fields)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let next = answer.header("location").unwrap().to_owned();
    visitor.get(&next).await.text()
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The module's town storage: key → value.
async fn stored(app: &TestApp, prefix: &str) -> Vec<(String, Value)> {
    use guichet::modules::entity::module_data;
    let town = app.town(TOWN).await;
    module_data::Entity::find()
        .filter(module_data::Column::TenantId.eq(town.id().get()))
        .filter(module_data::Column::ModuleId.eq("bookings"))
        .filter(module_data::Column::AccountId.is_null())
        .filter(module_data::Column::Key.starts_with(prefix))
        .all(&app.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.key, serde_json::from_str(&row.value).unwrap()))
        .collect()
}

on_both_databases! {
    async fn a_week_is_booked_refused_past_its_deadline_and_cancelled(backend) {
        let app = TestApp::spawn(backend).await;
        configure(&app, &test_rules()).await;
        let (mut parent, _, lea) = new_parent(&app, "michel@example.com", "Léa").await;

        // 0.1.0 and 0.2.0 side by side on the home page.
        let home = parent.get("/").await.text();
        assert!(home.contains("Mes factures"), "{home}");
        assert!(home.contains("Annuler ou réserver"), "{home}");

        let late = running_days(today() + Duration::days(1), 1)[0];
        let open = running_days(today() + Duration::days(4), 2);
        assert!(late < open[0]);
        let shown = [late, open[0], open[1]];
        let answer = plan(&mut parent, &lea, "garderie", &shown, &shown).await;
        // The late day is refused with its deadline; the others booked.
        assert!(answer.contains("refusé : le délai de réservation était le"), "{answer}");
        assert!(answer.contains("à 0h00") || answer.contains("à 00h00"), "{answer}");
        assert!(answer.matches("réservé").count() >= 2, "{answer}");
        let bookings = stored(&app, "booking:garderie:").await;
        assert_eq!(bookings.len(), 2, "{bookings:?}");
        // Priced from the tariff grid: Villeneuve's highest bracket, 4,60 €.
        assert!(bookings.iter().all(|(_, value)| value["price_cents"] == 460), "{bookings:?}");

        // One summary mail for the whole submission.
        let mail = app
            .mailbox()
            .wait_for("michel@example.com", "Vos réservations")
            .await;
        assert!(mail.text.contains("réservé"), "{}", mail.text);

        // The late booking with a surcharge: +50 % stated and charged.
        let answer = plan(&mut parent, &lea, "tardif", &[late], &[late]).await;
        assert!(answer.contains("réservé"), "{answer}");
        assert!(answer.contains("50 %") || answer.contains("50 %"), "{answer}");
        let tardif = stored(&app, "booking:tardif:").await;
        assert_eq!(tardif.len(), 1);
        assert_eq!(tardif[0].1["price_cents"], 690);
        assert_eq!(tardif[0].1["late"], true);

        // Cancelling one day: the other stays; past its deadline, refused.
        let answer = plan(&mut parent, &lea, "garderie", &open, &open[..1]).await;
        assert!(answer.contains("annulé"), "{answer}");
        let bookings = stored(&app, "booking:garderie:").await;
        assert_eq!(bookings.len(), 1);
        assert!(bookings[0].0.contains(&open[0].to_string()));
        let answer = plan(&mut parent, &lea, "tardif", &[late], &[]).await;
        assert!(answer.contains("l'annulation n'est plus possible"), "{answer}");
        assert_eq!(stored(&app, "booking:tardif:").await.len(), 1);

        // Another family cannot act for Léa.
        let (mut other, _, _) = new_parent(&app, "autre@example.com", "Tom").await;
        let day = open[1].to_string();
        let field = format!("jour-{day}");
        let semaine = monday(open[1]).to_string();
        let answer = other
            .submit(
                "/services/bookings/planning",
                "/services/bookings/actions/planning",
                &[("enfant", &lea), ("activite", "garderie"), ("semaine", &semaine), ("jours", &day), (&field, "on")],
            )
            .await;
        assert_eq!(answer.status, 404, "{}", answer.text());
        assert_eq!(stored(&app, "booking:garderie:").await.len(), 1);
    }

    async fn the_waiting_list_is_promoted_in_arrival_order_and_told_by_mail(backend) {
        let app = TestApp::spawn(backend).await;
        configure(&app, &test_rules()).await;
        let day = running_days(today() + Duration::days(4), 1)[0];
        let mut families = Vec::new();
        for (index, child) in ["Léa", "Hugo", "Inès", "Jules"].iter().enumerate() {
            let email = format!("famille{index}@example.com");
            let (visitor, identifier, member) = new_parent(&app, &email, child).await;
            families.push((visitor, identifier, member, email));
        }
        // Two places: two booked, then two waiting, in order.
        let mut answers = Vec::new();
        for (visitor, _, member, _) in &mut families {
            answers.push(plan(visitor, member, "garderie", &[day], &[day]).await);
        }
        assert!(answers[0].contains("réservé") && answers[1].contains("réservé"));
        assert!(answers[2].contains("liste d'attente"), "{}", answers[2]);
        assert!(answers[3].contains("liste d'attente"), "{}", answers[3]);
        let waiting = stored(&app, &format!("waiting:garderie:{day}:")).await;
        assert_eq!(waiting.len(), 2);
        assert!(waiting[0].1["child_name"].as_str().unwrap().contains("Inès"), "{waiting:?}");

        // The first family cancels: the first waiting (Inès) is booked and
        // her family told; Jules stays first in line.
        let (visitor, _, member, _) = &mut families[0];
        let answer = plan(visitor, member, "garderie", &[day], &[]).await;
        assert!(answer.contains("annulé"), "{answer}");
        let booked: Vec<String> = stored(&app, &format!("booking:garderie:{day}:"))
            .await
            .into_iter()
            .map(|(_, value)| value["child_name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(booked.len(), 2, "{booked:?}");
        assert!(booked.iter().any(|name| name.contains("Inès")), "{booked:?}");
        assert!(booked.iter().all(|name| !name.contains("Jules")), "{booked:?}");
        let waiting = stored(&app, &format!("waiting:garderie:{day}:")).await;
        assert_eq!(waiting.len(), 1);
        assert!(waiting[0].1["child_name"].as_str().unwrap().contains("Jules"));
        let mail = app.mailbox().wait_for("famille2@example.com", "Place obtenue").await;
        assert!(mail.text.contains("Inès"), "{}", mail.text);
        // The town's billing software reads the day's bookings through the
        // data API, page by page.
        let town = app.town(TOWN).await;
        let key = guichet::api::ApiKeys::new(app.app.db.clone()).create(&town, "Facturation").await.unwrap().secret;
        let read = |after: String| {
            let path = format!("/api/v1/modules/bookings/data?prefix=booking:garderie:{day}&after={after}");
            app.send(app.request(reqwest::Method::GET, HOST, &path).header("Authorization", format!("Bearer {key}")))
        };
        let first = read(String::new()).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let entries: Value = serde_json::from_str(&first.body).unwrap();
        let entries = entries["entries"].as_array().unwrap().clone();
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert!(entries.iter().all(|entry| entry["value"]["child_name"].is_string()), "{entries:?}");
        let last = entries[0]["key"].as_str().unwrap().to_owned();
        let rest: Value = serde_json::from_str(&read(urlencode(&last)).await.body).unwrap();
        assert_eq!(rest["entries"].as_array().unwrap().len(), 1, "{rest}");
        assert_eq!(rest["entries"][0]["key"], entries[1]["key"]);

        // Jules' family sees its position.
        let (visitor, _, member, _) = &mut families[3];
        let planning = visitor
            .get(&format!(
                "/services/bookings/planning?enfant={member}&activite=garderie&semaine={}",
                monday(day)
            ))
            .await
            .text();
        assert!(planning.contains("attente"), "{planning}");
    }

    async fn staff_see_the_day_and_a_closure_cancels_it_and_tells_families(backend) {
        let app = TestApp::spawn(backend).await;
        configure(&app, &test_rules()).await;
        let day = running_days(today() + Duration::days(4), 1)[0];
        let (mut parent, _, lea) = new_parent(&app, "michel@example.com", "Léa").await;
        plan(&mut parent, &lea, "garderie", &[day], &[day]).await;

        // An agent sees the list of the day; a resident cannot.
        let mut agent = app.staff(TOWN, StaffRole::Agent).await;
        let list = agent
            .get(&format!("/admin/services/bookings/jour?activite=garderie&date={day}"))
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.text().contains("Léa"), "{}", list.text());
        let refused = parent
            .get(&format!("/admin/services/bookings/jour?activite=garderie&date={day}"))
            .await;
        assert_ne!(refused.status, 200);
        // Closing needs a gestionnaire.
        let closure = agent
            .submit(
                &format!("/admin/services/bookings/jour?activite=garderie&date={day}"),
                "/admin/services/bookings/fermeture",
                &[("date", &day.to_string()), ("activite", "garderie"), ("motif", "Grève")],
            )
            .await;
        assert_eq!(closure.status, 403, "{}", closure.body);
        assert_eq!(stored(&app, "booking:garderie:").await.len(), 1);

        let mut manager = app.staff(TOWN, StaffRole::Gestionnaire).await;
        let page = manager.get("/admin/services/bookings/fermetures").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let closure = manager
            .submit(
                "/admin/services/bookings/fermetures",
                "/admin/services/bookings/fermeture",
                &[("date", &day.to_string()), ("activite", "garderie"), ("motif", "Grève")],
            )
            .await;
        assert_eq!(closure.status, 303, "{}", closure.body);
        assert!(stored(&app, "booking:garderie:").await.is_empty());
        let mail = app.mailbox().wait_for("michel@example.com", "Fermeture").await;
        assert!(mail.text.contains("Grève"), "{}", mail.text);
    }
}
