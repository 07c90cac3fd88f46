// "Edition de documents" in a real browser: the demo resident, on a phone,
// opens it from the menu, asks for the attestation fiscale of 2025 and
// downloads it (its text read back by poppler's pdftotext, its first page
// kept as a screenshot for the README); then someone who received the
// paper checks its code and its file on the public verification page, at
// desktop size. Every page is checked for accessibility (axe) and for
// fitting the window.

"use strict";

const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "documents");
const DOCS = path.join(__dirname, "..", "..", "docs", "screenshots");
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

describe("documents", () => {
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

  function newPage(viewport, mobile) {
    return browser
      .newContext({ viewport, isMobile: mobile, hasTouch: mobile, locale: "fr-FR", acceptDownloads: true })
      .then((context) => context.newPage());
  }

  test("a parent downloads the attestation fiscale of 2025; anyone verifies it", async () => {
    const page = await newPage({ width: 375, height: 667 }, true);
    await page.goto(server.url(TOWN, "/connexion"));
    await page.getByLabel("Identifiant").fill("michel.arpege");
    await page.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
    await page.getByRole("button", { name: /connecter|connexion/i }).first().click();
    await page.waitForURL(/\/cgu/);
    await page.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
    await page.locator("#cgu-accepter").click();
    await page.waitForURL(server.url(TOWN, "/"));

    // From the dashboard's tab, as the seed shows it.
    await page.getByRole("link", { name: "Edition de documents" }).first().click();
    await page.waitForURL(server.url(TOWN, "/documents"));
    await checked(page, "edition de documents");

    const fiscal = page.locator("section#invoices-attestation-fiscale");
    await fiscal.getByLabel(/Année des revenus déclarés/).selectOption("2025");
    await Promise.all([page.waitForNavigation(), fiscal.getByRole("button", { name: /Obtenir/ }).click()]);
    assert.match(page.url(), /\/documents\?delivre=\d+/);
    const ready = page.locator("#document-pret");
    assert.match(await ready.innerText(), /Attestation fiscale — frais de garde des jeunes enfants/);
    await checked(page, "document pret");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      ready.getByRole("link", { name: /Télécharger/ }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^attestation-fiscale-A-\d{4}-\d{6}\.pdf$/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, "attestation-fiscale.pdf");
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.subarray(0, 5).toString(), "%PDF-");

    const text = execFileSync("pdftotext", ["-layout", "-enc", "UTF-8", file, "-"]).toString().replace(/\s+/g, " ");
    assert.match(text, /Attestation fiscale — frais de garde des jeunes enfants/);
    assert.match(text, /Hugo ARPEGE 14\/05\/2021 137,20/);
    assert.match(text, /cent trente-sept euros et vingt centimes/);
    assert.ok(!text.includes("Léa"), "Léa was 12 on 1 January 2025");
    const info = execFileSync("pdfinfo", [file]).toString();
    assert.match(info, /Tagged:\s+yes/);

    // The first page, for the README.
    fs.mkdirSync(DOCS, { recursive: true });
    execFileSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", file, path.join(DOCS, "attestation-fiscale")], { stdio: ["ignore", "ignore", "ignore"] });
    assert.ok(fs.existsSync(path.join(DOCS, "attestation-fiscale.png")));

    // Listed with the resident's documents.
    await page.goto(server.url(TOWN, "/documents"));
    assert.match(await page.locator("main").innerText(), /Mes documents[\s\S]*Attestation fiscale/);

    // Someone who received the paper types its code.
    const code = /Code de vérification : ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/.exec(text)[1];
    const stranger = await newPage({ width: 1280, height: 800 }, false);
    await stranger.goto(server.url(TOWN, "/documents/verifier"));
    await checked(stranger, "verifier un document");
    await stranger.getByRole("textbox", { name: /Code de vérification/ }).fill(code.toLowerCase().replace(/-/g, " "));
    await Promise.all([stranger.waitForNavigation(), stranger.getByRole("button", { name: "Vérifier" }).click()]);
    assert.ok(stranger.url().endsWith(`/documents/verifier/${code}`), stranger.url());
    const found = await stranger.locator("main").innerText();
    assert.match(found, /Document délivré par Ville de Villeneuve/i);
    assert.ok(!found.includes("ARPEGE"), "no personal data on the public page");
    await checked(stranger, "document verifie");

    // And the file they were sent.
    await stranger.getByLabel(/Fichier PDF/).setInputFiles(file);
    await Promise.all([stranger.waitForNavigation(), stranger.getByRole("button", { name: "Comparer" }).click()]);
    assert.match(await stranger.locator("main").innerText(), /Ce fichier est identique au document délivré/);
    await checked(stranger, "fichier compare");

    // An unknown code.
    await stranger.goto(server.url(TOWN, "/documents/verifier/K7QF-3M2P-XW9A-TC4D"));
    assert.match(await stranger.locator("main").innerText(), /Aucun document de Ville de Villeneuve ne porte ce code/);
    await checked(stranger, "code inconnu");
  });
});
