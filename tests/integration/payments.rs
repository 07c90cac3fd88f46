//! Online payment of invoices through PayFiP, against a real server in
//! PayFiP's shape (`tests/payfip/server.mjs`): the demo resident pays
//! Villeneuve's invoice 2020-06-0042 (45,00 €). Whatever the order and the
//! number of returns and notifications, an invoice is marked paid once,
//! only when PayFiP confirmed it, and the invoices module hears of it once.

use chrono::Utc;
use guichet::modules::storage::DataScope;
use guichet::payments::entity::payment;
use guichet::payments::{PaymentState, ReconcileReport};
use guichet::staff::StaffRole;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::json;

use crate::harness::{
    PayFiPServer, TestApp, TestAppOptions, VILLENEUVE_NUMCLI, Visitor, csrf_of, field_value,
};

const HOST: &str = "villeneuve.localhost";
const INVOICE: &str = "2020-06-0042";
const REFERENCE: &str = "2020060042";

/// PayFiP's server, Guichet pointed at it, and the demo resident (Michel
/// ARPEGE) logged in and past the terms.
async fn setup(backend: crate::harness::Backend) -> (TestApp, PayFiPServer, Visitor) {
    let payfip = PayFiPServer::start().await;
    let app = TestApp::spawn_with(
        backend,
        TestAppOptions {
            payfip_url: Some(payfip.base_url()),
            ..TestAppOptions::default()
        },
    )
    .await;
    let browser = app.demo_resident().await;
    (app, payfip, browser)
}

/// "Payer en ligne" on the invoices' page for the demo invoice; the
/// payment's number and PayFiP's operation id.
async fn pay(app: &TestApp, browser: &mut Visitor, payfip: &PayFiPServer) -> (i32, String) {
    pay_reference(app, browser, payfip, REFERENCE).await
}

/// Sends the form of "Payer en ligne" for the invoice of `reference`; the
/// answer.
async fn click_pay(browser: &mut Visitor, reference: &str) -> crate::harness::TestResponse {
    let page = browser.get("/services/invoices/factures").await;
    assert_eq!(page.status, 200);
    let at = page
        .body
        .find(&format!("name=\"reference\" value=\"{reference}\""))
        .unwrap_or_else(|| panic!("no \"Payer en ligne\" for {reference}: {}", page.body));
    let form = &page.body[page.body[..at].rfind("<form").unwrap()..];
    assert!(form.starts_with("<form method=\"post\" action=\"/paiements/payer\""));
    browser
        .post(
            "/paiements/payer",
            &[
                ("csrf", &csrf_of(form)),
                ("module", &field_value(form, "module")),
                ("vue", &field_value(form, "vue")),
                ("params", &field_value(form, "params")),
                ("reference", reference),
            ],
        )
        .await
}

/// PayFiP's operation id of a redirection to its payment page.
fn idop_of(payfip: &PayFiPServer, sent: &crate::harness::TestResponse) -> String {
    assert_eq!(sent.status, 303, "{}", sent.body);
    let location = sent.header("location").unwrap();
    let prefix = format!("{}/tpa/paiementws.web?idop=", payfip.url);
    location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("sent to {location}"))
        .to_owned()
}

/// "Payer en ligne" for the invoice of `reference`.
async fn pay_reference(
    app: &TestApp,
    browser: &mut Visitor,
    payfip: &PayFiPServer,
    reference: &str,
) -> (i32, String) {
    let sent = click_pay(browser, reference).await;
    let idop = idop_of(payfip, &sent);
    let row = payment::Entity::find()
        .filter(payment::Column::ProviderId.eq(idop.as_str()))
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap();
    // PayFiP sends the resident back to an address with the payment's
    // secret, not its number.
    let back = payfip.payment(&idop).await["urlredirect"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        back.ends_with(&format!("/paiements/retour/{}", row.return_token))
            && row.return_token.len() >= 40,
        "{back}"
    );
    (row.id, idop)
}

/// Puts a second invoice due for Michel, as the billing software would.
async fn second_invoice(app: &TestApp) {
    let town = app.town("villeneuve").await;
    let scope = DataScope::resident(&town, "invoices", michel(app).await);
    guichet::modules::ModuleData::new(app.app.db.clone())
        .put(
            &scope,
            "facture:2026-11-0042",
            &json!({"number": "2026-11-0042", "period": "Novembre 2026", "amount_cents": 2000, "due_date": "2026-12-15", "status": "a-payer"}).to_string(),
        )
        .await
        .unwrap();
}

/// The resident's browser comes back from PayFiP; the payment's page.
async fn come_back(app: &TestApp, browser: &mut Visitor, id: i32) -> String {
    let token = stored(app, id).await.return_token;
    let back = browser.get(&format!("/paiements/retour/{token}")).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(
        back.header("location"),
        Some(format!("/paiements/{id}").as_str())
    );
    let page = browser.get(&format!("/paiements/{id}")).await;
    assert_eq!(page.status, 200);
    page.text()
}

fn notify_url(app: &TestApp) -> String {
    format!("http://{HOST}:{}/paiements/notification", app.port)
}

async fn stored(app: &TestApp, id: i32) -> payment::Model {
    payment::Entity::find_by_id(id)
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap()
}

/// The invoice as the invoices module stores it for Michel.
async fn invoice(app: &TestApp) -> serde_json::Value {
    let town = app.town("villeneuve").await;
    let scope = DataScope::resident(&town, "invoices", michel(app).await);
    let value = guichet::modules::ModuleData::new(app.app.db.clone())
        .get(&scope, &format!("facture:{INVOICE}"))
        .await
        .unwrap()
        .unwrap();
    serde_json::from_str(&value).unwrap()
}

async fn michel(app: &TestApp) -> i32 {
    use guichet::accounts::entity::account;
    account::Entity::find()
        .filter(account::Column::Identifier.eq("michel.arpege"))
        .filter(account::Column::TenantId.eq(app.town("villeneuve").await.id().get()))
        .one(&app.app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// The online payments recorded on the invoice, by the module.
fn online_payments(invoice: &serde_json::Value) -> Vec<serde_json::Value> {
    invoice["payments"]
        .as_array()
        .map(|payments| {
            payments
                .iter()
                .filter(|payment| payment["means"] == "en-ligne")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

async fn reconcile(app: &TestApp, minutes_later: i64) -> ReconcileReport {
    let town = std::sync::Arc::new(app.town("villeneuve").await);
    let mut report = ReconcileReport::default();
    app.app
        .payments
        .reconcile_town(
            &town,
            Utc::now() + chrono::Duration::minutes(minutes_later),
            &mut report,
        )
        .await
        .unwrap();
    report
}

/// Paid exactly once: the state, the invoice marked paid with one online
/// payment, one receipt, one journal entry, one delivery.
async fn assert_paid_once(app: &TestApp, id: i32, idop: &str) {
    let row = stored(app, id).await;
    assert_eq!(row.state, PaymentState::Paid);
    assert_eq!(row.result.as_deref(), Some("P"));
    assert!(row.event_delivered_at.is_some(), "{row:?}");
    assert_eq!(row.event_attempts, 1, "{row:?}");
    let invoice = invoice(app).await;
    assert_eq!(invoice["status"], "payee", "{invoice}");
    let online = online_payments(&invoice);
    assert_eq!(online.len(), 1, "{invoice}");
    assert_eq!(online[0]["amount_cents"], 4500);
    assert_eq!(online[0]["reference"], format!("PayFiP {idop}"));
    let receipts = app
        .mailbox()
        .wait_for_count("michel.arpege@villeneuve.example.fr", "paiement reçu", 1)
        .await;
    assert_eq!(receipts.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let all: Vec<_> = app
        .mailbox()
        .received()
        .into_iter()
        .filter(|mail| mail.subject.contains("paiement reçu"))
        .collect();
    assert_eq!(all.len(), 1, "one receipt");
    let journal = guichet::audit::entity::Entity::find()
        .filter(guichet::audit::entity::Column::Kind.eq("payment_received"))
        .all(&app.app.db)
        .await
        .unwrap();
    assert_eq!(journal.len(), 1);
}

on_both_databases! {
    async fn a_resident_pays_an_invoice_return_first_then_the_notification_twice(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        // What PayFiP was asked: the reference, the amount in cents, the
        // object folded to ASCII, the resident's address, both URLs.
        let created = payfip.payment(&idop).await;
        assert_eq!(created["refdet"], REFERENCE);
        assert_eq!(created["montant"], 4500);
        assert_eq!(created["numcli"], VILLENEUVE_NUMCLI);
        assert_eq!(created["saisie"], "T");
        assert_eq!(created["objet"], "Facture 2020 06 0042 Juin 2020");
        assert_eq!(created["mel"], "michel.arpege@villeneuve.example.fr");
        assert!(created["urlnotif"].as_str().unwrap().ends_with("villeneuve.localhost/paiements/notification"));
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        // Until PayFiP answers, the invoice says a payment is under way.
        let page = browser.get("/services/invoices/factures").await;
        assert!(page.text().contains("Paiement en cours"), "{}", page.body);

        payfip.answer(&idop, "P").await;
        let shown = come_back(&app, &mut browser, id).await;
        assert!(shown.contains("Paiement reçu"), "{shown}");
        assert!(shown.contains("45,00"), "{shown}");
        for field in ["idOp", "idop"] {
            assert_eq!(payfip.notify(&idop, field, &notify_url(&app)).await, 200);
        }
        come_back(&app, &mut browser, id).await;
        assert_paid_once(&app, id, &idop).await;
        let page = browser.get(&format!("/services/invoices/facture?numero={INVOICE}")).await;
        assert!(page.text().contains("Payée"), "{}", page.body);
        assert!(!page.body.contains("action=\"/paiements/payer\""));
        // Paying again: the module offers nothing more to pay.
        let again = browser
            .post("/paiements/payer", &[("csrf", &csrf_of(&page.body)), ("module", "invoices"), ("vue", "factures"), ("params", ""), ("reference", REFERENCE)])
            .await;
        assert_eq!(again.status, 404, "{}", again.body);
        assert_eq!(payfip.payments().await.len(), 1);
    }

    async fn the_notification_first_then_returns_and_notifications_twice(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        payfip.answer(&idop, "P").await;
        // Three answers at once while the payment is waiting, on two
        // instances: one records it.
        let second = app.another_instance().await;
        let url = notify_url(&app);
        let elsewhere = format!("http://{HOST}:{}/paiements/notification", second.port);
        let town = std::sync::Arc::new(app.town("villeneuve").await);
        let concurrently = tokio::join!(
            payfip.notify(&idop, "idOp", &url),
            payfip.notify(&idop, "idop", &elsewhere),
            app.app.payments.notified(&town, &idop, Utc::now()),
        );
        assert_eq!((concurrently.0, concurrently.1), (200, 200));
        assert_eq!(concurrently.2.unwrap().unwrap().state, PaymentState::Paid);
        assert_eq!(stored(&app, id).await.state, PaymentState::Paid);
        // A second resident's tab, a second notification, a reconciliation
        // round: nothing more happens.
        assert_eq!(payfip.notify(&idop, "idOp", &url).await, 200);
        come_back(&app, &mut browser, id).await;
        come_back(&app, &mut browser, id).await;
        assert_eq!(reconcile(&app, 10).await.settled, 0);
        assert_paid_once(&app, id, &idop).await;
        // Every answer is kept for the staff; only one changed the state.
        let answers = app.app.payments.answers(&app.town("villeneuve").await, id).await.unwrap();
        let applied = answers
            .iter()
            .filter(|answer| answer.outcome.starts_with("Résultat P") && !answer.outcome.contains("Sans effet"))
            .count();
        assert_eq!(applied, 1, "{answers:?}");
    }

    async fn refused_and_cancelled_payments_leave_the_invoice_due(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        for (result, state, heading) in [
            ("R", PaymentState::Refused, "Paiement refusé"),
            ("Z", PaymentState::Refused, "Paiement refusé"),
            ("A", PaymentState::Cancelled, "Paiement annulé"),
        ] {
            let (id, idop) = pay(&app, &mut browser, &payfip).await;
            payfip.answer(&idop, result).await;
            let shown = come_back(&app, &mut browser, id).await;
            assert!(shown.contains(heading), "{shown}");
            assert!(shown.contains("Réessayer"), "{shown}");
            assert_eq!(payfip.notify(&idop, "idOp", &notify_url(&app)).await, 200);
            let row = stored(&app, id).await;
            assert_eq!(row.state, state);
            assert!(row.event_delivered_at.is_none());
            assert_eq!(invoice(&app).await["status"], "a-payer");
        }
        assert!(online_payments(&invoice(&app).await).is_empty());
        assert!(app.mailbox().received().iter().all(|mail| !mail.subject.contains("paiement reçu")));
        // A cancelled payment does not stop the next one.
        let page = browser.get("/services/invoices/factures").await;
        assert!(page.body.contains("action=\"/paiements/payer\""));
    }

    async fn a_payment_never_answered_expires_by_reconciliation(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, _) = pay(&app, &mut browser, &payfip).await;
        // The resident left the payment page without answering: the
        // invoice says a payment is under way, and paying again (a second
        // click, another tab) goes back to the same operation.
        let page = browser.get("/services/invoices/factures").await;
        assert!(!page.body.contains("action=\"/paiements/payer\""));
        assert!(page.text().contains("Paiement en cours"));
        let again = browser
            .post("/paiements/payer", &[("csrf", &csrf_of(&page.body)), ("module", "invoices"), ("vue", "factures"), ("params", ""), ("reference", REFERENCE)])
            .await;
        let idop = stored(&app, id).await.provider_id.unwrap();
        assert_eq!(idop_of(&payfip, &again), idop);
        assert_eq!(payfip.payments().await.len(), 1);
        // A made-up return address is unknown, and asks PayFiP nothing.
        let guessed = browser.get("/paiements/retour/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
        assert_eq!(guessed.status, 404);
        assert_eq!(browser.get(&format!("/paiements/retour/{id}")).await.status, 404);
        assert_eq!(app.app.payments.answers(&app.town("villeneuve").await, id).await.unwrap().len(), 1);
        // Younger than 5 minutes: left to its notification.
        assert_eq!(reconcile(&app, 0).await.asked, 0);
        // PayFiP answers P5 (not yet known): waiting for 20 minutes.
        let report = reconcile(&app, 6).await;
        assert_eq!((report.asked, report.settled), (1, 0));
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        // Waiting past 3 hours (PayFiP did not answer all along): no longer
        // asked by the rounds, an agent asks from its page.
        assert_eq!(reconcile(&app, 200).await.asked, 0);
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        let report = reconcile(&app, 25).await;
        assert_eq!((report.asked, report.settled), (1, 1));
        let row = stored(&app, id).await;
        assert_eq!(row.state, PaymentState::Expired);
        assert!(come_back(&app, &mut browser, id).await.contains("Paiement non abouti"));
        // Expired, it is asked again a quarter of an hour later (PayFiP may
        // still say the money was taken); past 3 hours, no more.
        assert_eq!(reconcile(&app, 30).await.asked, 0);
        assert_eq!(reconcile(&app, 41).await.asked, 1);
        assert_eq!(reconcile(&app, 200).await.asked, 0);
        assert_eq!(stored(&app, id).await.state, PaymentState::Expired);
        // The invoice can be paid again.
        let page = browser.get("/services/invoices/factures").await;
        assert!(page.body.contains("action=\"/paiements/payer\""));
    }

    async fn an_expired_payment_gives_way_to_the_payment_confirmed_later(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        assert_eq!(reconcile(&app, 25).await.settled, 1);
        assert_eq!(stored(&app, id).await.state, PaymentState::Expired);
        // The resident paid after all, and the notification was lost: the
        // next quarter of an hour's ask records it, once.
        payfip.answer(&idop, "P").await;
        let report = reconcile(&app, 41).await;
        assert_eq!((report.asked, report.settled), (1, 1));
        assert_paid_once(&app, id, &idop).await;
        assert_eq!(reconcile(&app, 57).await.asked, 0, "paid: never asked again");
    }

    async fn not_yet_known_then_paid_is_settled_by_reconciliation(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        assert_eq!(reconcile(&app, 6).await.settled, 0);
        payfip.answer(&idop, "V").await;
        // No notification ever comes: the next round settles it.
        let report = reconcile(&app, 7).await;
        assert_eq!((report.settled, report.delivered), (1, 0), "delivered at once by settle");
        let row = stored(&app, id).await;
        assert_eq!(row.state, PaymentState::Paid);
        assert_eq!(row.result.as_deref(), Some("V"));
        assert!(row.event_delivered_at.is_some());
        assert_eq!(online_payments(&invoice(&app).await).len(), 1);
        // An operation PayFiP forgot (P1) is expired, not paid.
        second_invoice(&app).await;
        let (id, idop) = pay_reference(&app, &mut browser, &payfip, "2026110042").await;
        payfip.forget(&idop).await;
        come_back(&app, &mut browser, id).await;
        assert_eq!(stored(&app, id).await.state, PaymentState::Expired);
    }

    async fn notifications_for_unknown_or_another_towns_operations_change_nothing(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        payfip.answer(&idop, "P").await;
        // Unknown: answered alike, nothing done.
        assert_eq!(payfip.notify("not-an-operation", "idOp", &notify_url(&app)).await, 200);
        // Villeneuve's operation notified to Saint-Martin: nothing done.
        let elsewhere = format!("http://saint-martin.localhost:{}/paiements/notification", app.port);
        assert_eq!(payfip.notify(&idop, "idOp", &elsewhere).await, 200);
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        // A notification says nothing by itself: without a result at PayFiP
        // it changes nothing either.
        second_invoice(&app).await;
        let (other_id, other_idop) = pay_reference(&app, &mut browser, &payfip, "2026110042").await;
        assert_eq!(payfip.notify(&other_idop, "idOp", &notify_url(&app)).await, 200);
        assert_eq!(stored(&app, other_id).await.state, PaymentState::Waiting);
        // The real one, to the right town, is believed once asked.
        assert_eq!(payfip.notify(&idop, "idOp", &notify_url(&app)).await, 200);
        assert_eq!(stored(&app, id).await.state, PaymentState::Paid);
        // The return page of another resident's payment is not shown.
        let (mut other, _) = app.active_resident("villeneuve", "jeanne@example.org").await;
        assert_eq!(other.get(&format!("/paiements/{id}")).await.status, 404);
    }

    async fn an_answer_that_does_not_match_the_payment_is_refused(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        payfip.answer(&idop, "P").await;
        payfip.tamper(&idop, json!({"montant": 4600})).await;
        come_back(&app, &mut browser, id).await;
        assert_eq!(payfip.notify(&idop, "idOp", &notify_url(&app)).await, 200);
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        let answers = app.app.payments.answers(&app.town("villeneuve").await, id).await.unwrap();
        assert!(answers.iter().any(|answer| answer.outcome.contains("Réponse refusée") && answer.outcome.contains("46,00")), "{answers:?}");
        payfip.tamper(&idop, json!({"montant": 4500, "refdet": "2020060043"})).await;
        come_back(&app, &mut browser, id).await;
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        assert_eq!(invoice(&app).await["status"], "a-payer");
        // PayFiP unavailable: still waiting, nothing lost; back, it settles.
        payfip.tamper(&idop, json!({"refdet": REFERENCE})).await;
        payfip.unavailable(true).await;
        come_back(&app, &mut browser, id).await;
        assert_eq!(stored(&app, id).await.state, PaymentState::Waiting);
        payfip.unavailable(false).await;
        assert_eq!(reconcile(&app, 6).await.settled, 1);
        assert_paid_once(&app, id, &idop).await;
    }

    async fn the_staff_follow_payments_and_set_the_contract(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        payfip.answer(&idop, "P").await;
        let mut agent = app.staff("villeneuve", StaffRole::Agent).await;
        let list = agent.get("/admin/paiements").await;
        assert_eq!(list.status, 200);
        assert!(list.text().contains(&format!("Paiement n° {id}")), "{}", list.body);
        assert!(list.text().contains("En attente"));
        // An agent asks PayFiP from the payment's page.
        let detail = agent.get(&format!("/admin/paiements/{id}")).await;
        assert!(detail.text().contains("Interroger le prestataire"));
        let asked = agent.post(&format!("/admin/paiements/{id}/verifier"), &[("csrf", &csrf_of(&detail.body))]).await;
        assert_eq!(asked.status, 303);
        let detail = agent.get(&format!("/admin/paiements/{id}")).await;
        assert!(detail.text().contains("maintenant « Payé »"), "{}", detail.body);
        assert!(detail.text().contains("Vérification par un agent"));
        assert!(detail.text().contains("Transmis au module"));
        // Filters and the CSV of the same filter.
        let paid = agent.get("/admin/paiements?etat=paid").await;
        assert!(paid.text().contains(&format!("Paiement n° {id}")));
        let refused = agent.get("/admin/paiements?etat=refused").await;
        assert!(!refused.text().contains(&format!("Paiement n° {id}")));
        let bad = agent.get("/admin/paiements?du=31-02-2026").await;
        assert_eq!(bad.status, 422);
        let (status, headers, csv) = agent.download("/admin/paiements/export?etat=paid").await;
        assert_eq!(status, 200);
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.contains("michel.arpege") && csv.contains("45,00") && csv.contains(&idop), "{csv}");
        // Agents do not set the contract; administrators do, checked with PayFiP.
        assert_eq!(agent.get("/admin/paiements/reglages").await.status, 403);
        let mut admin = app.staff("villeneuve", StaffRole::Administrateur).await;
        let unknown = admin.submit("/admin/paiements/reglages", "/admin/paiements/reglages", &[("enabled", "true"), ("numcli", "999999"), ("saisie", "T")]).await;
        assert_eq!(unknown.status, 422);
        assert!(unknown.text().contains("PayFiP ne reconnaît pas ce numéro"), "{}", unknown.body);
        assert!(unknown.body.contains("value=\"999999\""));
        let malformed = admin.submit("/admin/paiements/reglages", "/admin/paiements/reglages", &[("enabled", "true"), ("numcli", "12a"), ("saisie", "T")]).await;
        assert_eq!(malformed.status, 422);
        let saved = admin.submit("/admin/paiements/reglages", "/admin/paiements/reglages", &[("numcli", VILLENEUVE_NUMCLI), ("saisie", "W")]).await;
        assert_eq!(saved.status, 303);
        let form = admin.get("/admin/paiements/reglages").await;
        assert!(form.text().contains("ne les change plus"));
        // Disabled: no "Payer en ligne" any more, on an invoice still due.
        second_invoice(&app).await;
        let page = browser.get("/services/invoices/factures").await;
        assert!(page.text().contains("Facture 2026-11-0042"), "{}", page.body);
        assert!(!page.body.contains("action=\"/paiements/payer\""), "{}", page.body);
        let saved = admin.submit("/admin/paiements/reglages", "/admin/paiements/reglages", &[("enabled", "true"), ("numcli", VILLENEUVE_NUMCLI), ("saisie", "T")]).await;
        assert_eq!(saved.status, 303);
        let followed = admin.get(saved.header("location").unwrap()).await;
        assert!(followed.text().contains("REGIE PERISCOLAIRE DE VILLENEUVE"), "{}", followed.body);
        let page = browser.get("/services/invoices/factures").await;
        assert!(page.body.contains("name=\"reference\" value=\"2026110042\""), "{}", page.body);
    }

    async fn the_towns_software_reads_the_payments_since_a_date(backend) {
        let (app, payfip, mut browser) = setup(backend).await;
        let before = Utc::now() - chrono::Duration::minutes(5);
        let (id, idop) = pay(&app, &mut browser, &payfip).await;
        payfip.answer(&idop, "P").await;
        come_back(&app, &mut browser, id).await;
        let town = app.town("villeneuve").await;
        let key = guichet::api::ApiKeys::new(app.app.db.clone()).create(&town, "Facturation").await.unwrap().secret;
        let read = |query: String| {
            let request = app
                .request(reqwest::Method::GET, HOST, &format!("/api/v1/payments?{query}"))
                .header("Authorization", format!("Bearer {key}"));
            app.send(request)
        };
        let since: String = url::form_urlencoded::byte_serialize(before.to_rfc3339().as_bytes()).collect();
        // Given a minute after it is recorded (a payment being recorded as
        // the feed is read is never passed over).
        let answer = read(format!("since={since}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.body.contains("\"payments\":[]"), "{}", answer.body);
        payment::Entity::update_many()
            .col_expr(payment::Column::RecordedAt, sea_orm::sea_query::Expr::value(Some(Utc::now() - chrono::Duration::minutes(2))))
            .filter(payment::Column::Id.eq(id))
            .exec(&app.app.db)
            .await
            .unwrap();
        let answer = read(format!("since={since}")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body["payments"].as_array().unwrap().len(), 1, "{body}");
        let paid = &body["payments"][0];
        assert_eq!(paid["resident"], "michel.arpege");
        assert_eq!(paid["reference"], REFERENCE);
        assert_eq!(paid["amount_cents"], 4500);
        assert_eq!(paid["transaction"], idop.as_str());
        assert_eq!(paid["means"], "carte");
        assert_eq!(paid["test"], true, "saisie T: no money moved");
        assert_eq!(body["next"], serde_json::Value::Null);
        let later: String = url::form_urlencoded::byte_serialize((Utc::now() + chrono::Duration::minutes(1)).to_rfc3339().as_bytes()).collect();
        let none: serde_json::Value = serde_json::from_str(&read(format!("since={later}")).await.body).unwrap();
        assert!(none["payments"].as_array().unwrap().is_empty());
        for (query, code) in [("", "missing_parameter"), ("since=hier", "invalid_parameter"), ("since=2026-01-01&limit=0", "invalid_parameter"), ("since=2026-01-01&after=zzz", "invalid_parameter")] {
            let refused = read(query.to_owned()).await;
            assert_eq!(refused.status, 422, "{query}");
            assert!(refused.body.contains(code), "{query}: {}", refused.body);
        }
        // Another town's key reads nothing of Villeneuve's.
        let other = app.town("saint-martin").await;
        let other_key = guichet::api::ApiKeys::new(app.app.db.clone()).create(&other, "Facturation").await.unwrap().secret;
        let request = app
            .request(reqwest::Method::GET, "saint-martin.localhost", &format!("/api/v1/payments?since={since}"))
            .header("Authorization", format!("Bearer {other_key}"));
        let theirs: serde_json::Value = serde_json::from_str(&app.send(request).await.body).unwrap();
        assert!(theirs["payments"].as_array().unwrap().is_empty());
    }
}
