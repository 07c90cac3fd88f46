// Online payment in a real browser: the demo resident, on a phone, pays
// Villeneuve's invoice of June 2020 from "Mes factures" through the demo's
// local server in PayFiP's shape (tests/payfip), comes back to the
// payment's page ("Paiement reçu"), and finds the invoice "Payée" and the
// receipt in their mail. Every page of Guichet on the way is checked for
// accessibility (axe) and for fitting the window.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start, waitFor } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "payments");
const TOWN = "villeneuve";

let server;
let browser;

before(async () => {
  server = await start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

describe("payments", () => {
  const audit = new PageAudit();
  let step = 0;

  async function checked(page, name) {
    await audit.check(page, name);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the window`);
    step += 1;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${String(step).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-")}.png`), fullPage: true });
  }

  test("the demo resident pays an invoice online and it shows Payée", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, locale: "fr-FR" });
    const page = await context.newPage();
    await page.goto(server.url(TOWN, "/connexion"));
    await page.getByLabel("Identifiant").fill("michel.arpege");
    await page.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
    await page.getByRole("button", { name: /connecter|connexion/i }).first().click();
    await page.waitForURL(/\/cgu/);
    await page.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
    await page.locator("#cgu-accepter").click();
    await page.waitForURL(server.url(TOWN, "/"));

    await page.goto(server.url(TOWN, "/services/invoices/factures"));
    await checked(page, "mes factures");
    const pay = page.getByRole("button", { name: /^Payer en ligne : Facture 2020-06-0042/ });
    await Promise.all([page.waitForURL(/paiementws\.web\?idop=/), pay.click()]);
    // PayFiP's page (the local server's): the amount Guichet sent.
    assert.match(await page.locator("main").innerText(), /45,00/);
    await Promise.all([
      page.waitForURL(/\/paiements\/\d+$/),
      page.locator("#payer-carte").click(),
    ]);
    await page.getByRole("heading", { level: 1, name: /Paiement reçu|Paiement en cours de confirmation/ }).waitFor();
    // The notification may come after the browser: the page says so until
    // then; "Actualiser" shows the result.
    await waitFor(async () => {
      if (/Paiement reçu/.test(await page.locator("h1").innerText())) return true;
      await page.reload();
      return false;
    }, "the payment to be confirmed", 20000);
    assert.match(await page.locator("main").innerText(), /45,00/);
    await checked(page, "paiement recu");

    await page.goto(server.url(TOWN, "/services/invoices/facture?numero=2020-06-0042"));
    const detail = await page.locator("main").innerText();
    assert.match(detail, /Payée/);
    assert.doesNotMatch(detail, /Payer en ligne/);
    await checked(page, "facture payee");

    // The receipt, in the mailbox.
    await waitFor(() => fs.existsSync(path.join(server.maildir, "new")) && fs.readdirSync(path.join(server.maildir, "new"))
      .some((name) => /paiement re/i.test(fs.readFileSync(path.join(server.maildir, "new", name), "utf8"))), "the receipt mail", 20000);
    await context.close();
  });
});
