// Residents' rights in a real browser: the demo resident, on a phone,
// reads "Mes données", asks for the export, downloads it from the mail's
// link (a ZIP holding the readable summary), then closes the account; a
// visitor reads the town's privacy notice at desktop size. Every page is
// checked for accessibility (axe) and for fitting the window.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");
const { waitForMail, linkPath } = require("./lib/mail");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "privacy");
const TOWN = "villeneuve";
const EMAIL = "michel.arpege@villeneuve.example.fr";

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

describe("privacy", () => {
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

  test("the demo resident exports their data, then closes their account", async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, locale: "fr-FR", acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(server.url(TOWN, "/connexion"));
    await page.getByLabel("Identifiant").fill("michel.arpege");
    await page.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
    await page.getByRole("button", { name: /connecter|connexion/i }).first().click();
    await page.waitForURL(/\/cgu/);
    await page.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
    await page.locator("#cgu-accepter").click();
    await page.waitForURL(server.url(TOWN, "/"));

    // From "Mon espace".
    await page.getByRole("link", { name: "Mes données" }).click();
    await page.waitForURL(server.url(TOWN, "/mes-donnees"));
    const mine = await page.locator("main").innerText();
    assert.match(mine, /Membres de votre foyer : 2/);
    assert.match(mine, /michel\.arpege@villeneuve\.example\.fr/);
    await checked(page, "mes donnees");

    await page.getByRole("button", { name: "Préparer l'export de mes données" }).click();
    await page.waitForURL(server.url(TOWN, "/mes-donnees"));
    assert.match(await page.locator("main").innerText(), /Votre export est en préparation/);
    await checked(page, "export demande");

    const mail = await waitForMail(server.maildir, EMAIL, "l'export de vos données est prêt");
    const link = linkPath(mail, "/mes-donnees/export/");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.goto(server.url(TOWN, link)).catch(() => {}),
    ]);
    assert.match(download.suggestedFilename(), /^donnees-villeneuve-\d{4}-\d{2}-\d{2}\.zip$/);
    const zip = fs.readFileSync(await download.path());
    assert.equal(zip.subarray(0, 2).toString(), "PK");
    assert.ok(zip.includes(Buffer.from("donnees.html")) && zip.includes(Buffer.from("donnees.json")));

    // Used once: the link now says so.
    await page.goto(server.url(TOWN, link));
    assert.match(await page.locator("main").innerText(), /Ce lien ne permet plus de télécharger l'export/);
    await checked(page, "lien expire");

    await page.goto(server.url(TOWN, "/mes-donnees"));
    await page.getByRole("link", { name: "Fermer mon compte…" }).click();
    await page.waitForURL(server.url(TOWN, "/mes-donnees/fermer"));
    await checked(page, "fermer mon compte");
    // Sent without the box ticked: the error is tied to its field.
    await page.getByLabel(/^Mot de passe/).fill("arpege-demo-2020");
    await page.getByRole("button", { name: "Fermer mon compte" }).click();
    await page.getByText("Cochez la case pour confirmer").first().waitFor();
    await checked(page, "fermer mon compte erreur");
    await page.getByLabel(/J'ai compris que mes données seront effacées/).check();
    await page.getByLabel(/^Mot de passe/).fill("arpege-demo-2020");
    await page.getByRole("button", { name: "Fermer mon compte" }).click();
    await page.waitForURL(/\/connexion/);
    assert.match(await page.locator("main").innerText(), /votre compte sera fermé le .*reconnecter/);
    await checked(page, "fermeture demandee");
    await waitForMail(server.maildir, EMAIL, "votre compte sera fermé le");
    await context.close();
  });

  test("a visitor reads the town's privacy notice", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "fr-FR" });
    const page = await context.newPage();
    await page.goto(server.url(TOWN, "/connexion"));
    await page.getByRole("link", { name: "Données personnelles" }).click();
    await page.waitForURL(server.url(TOWN, "/donnees-personnelles"));
    const notice = await page.locator("main").innerText();
    assert.match(notice, /dpo@villeneuve\.example\.fr/);
    assert.match(notice, /article 6\.1\.e/);
    await checked(page, "donnees personnelles");
    await context.close();
  });
});
