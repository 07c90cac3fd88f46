// FranceConnect in a real browser: `guichet demo` starts the local OpenID
// provider (tests/oidc, npm oidc-provider in FranceConnect v2's shape) for
// Villeneuve. The demo resident clicks "S'identifier avec FranceConnect",
// picks an identity at the provider, links it with their password, logs out
// through the provider, then logs in with FranceConnect alone. Saint-Martin
// has FranceConnect disabled: no button. Every page passes the same
// accessibility checks as the seed flow.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");
const { openMenu } = require("./lib/layout");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "franceconnect");

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

test("Villeneuve: the button, the provider, the first link, logout through the provider, then FranceConnect alone", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "fr-FR" });
  const page = await context.newPage();
  const audit = new PageAudit();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const shoot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  await page.goto(server.url("villeneuve", "/connexion"));
  await audit.check(page, "connexion avec FranceConnect");
  const button = page.getByRole("button", { name: "S'identifier avec FranceConnect" });
  await assert.doesNotReject(button.waitFor({ state: "visible" }));
  const about = page.getByRole("link", { name: "Qu'est-ce que FranceConnect ?" });
  assert.equal(await about.getAttribute("href"), "https://franceconnect.gouv.fr/");
  // The hover state of the official button.
  const idle = await button.evaluate((element) => getComputedStyle(element).backgroundColor);
  await button.hover();
  const hovered = await button.evaluate((element) => getComputedStyle(element).backgroundColor);
  assert.notEqual(hovered, idle, "the button changes colour on hover");
  await shoot("01-connexion");

  // At the provider: pick Michel's identity.
  await button.click();
  await page.waitForURL(/\/api\/v2\/interaction\//);
  await page.getByRole("button", { name: "Michel Arpège" }).click();

  // First time: link with the demo resident's password.
  await page.waitForURL(/\/franceconnect\/liaison$/);
  assert.match(await page.locator("main").innerText(), /identifié\(e\) comme Michel ARPÈGE/);
  await audit.check(page, "liaison FranceConnect");
  await shoot("02-liaison");
  await page.getByLabel("Identifiant").fill("michel.arpege");
  await page.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
  await page.getByRole("button", { name: "Me connecter et lier" }).click();
  // The demo resident has yet to accept the town's terms.
  await page.waitForURL(/\/cgu/);
  await page.locator("#cgu-texte").evaluate((element) => { element.scrollTop = element.scrollHeight; element.dispatchEvent(new Event("scroll")); });
  await page.locator("#cgu-accepter").click();
  await page.waitForURL(server.url("villeneuve", "/"));
  assert.match(await page.locator("main").innerText(), /Bonjour Monsieur ARPEGE\./);

  // "Mon compte FranceConnect" shows the link.
  await page.goto(server.url("villeneuve", "/franceconnect"));
  assert.match(await page.locator("main").innerText(), /Votre espace est lié à une identité FranceConnect depuis le/);
  await audit.check(page, "mon compte FranceConnect");
  await shoot("03-mon-compte-franceconnect");

  // Logout goes through the provider and comes back to the town.
  await openMenu(page);
  await page.getByRole("button", { name: "Se déconnecter" }).first().click();
  await page.waitForURL(/\/api\/v2\/session\/end/);
  await shoot("04-deconnexion-fournisseur");
  await openMenu(page);
  await page.getByRole("button", { name: "Se déconnecter" }).click();
  await page.waitForURL(/\/franceconnect\/deconnexion\?state=/);
  assert.match(await page.locator("main").innerText(), /Vous êtes déconnecté\(e\) de votre espace personnel\./);
  await audit.check(page, "retour de la déconnexion FranceConnect");

  // Next time, FranceConnect alone.
  await page.getByRole("button", { name: "S'identifier avec FranceConnect" }).click();
  await page.waitForURL(/\/api\/v2\/interaction\//);
  await page.getByRole("button", { name: "Michel Arpège" }).click();
  await page.waitForURL(server.url("villeneuve", "/"));
  assert.match(await page.locator("main").innerText(), /Bonjour Monsieur ARPEGE\./);
  await shoot("05-accueil-par-franceconnect");
  await context.close();
});

test("Villeneuve: cancelling at the provider shows a French page and logs nobody in", async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto(server.url("villeneuve", "/connexion"));
  await page.getByRole("button", { name: "S'identifier avec FranceConnect" }).click();
  await page.waitForURL(/\/api\/v2\/interaction\//);
  await page.getByRole("button", { name: "Annuler" }).click();
  await page.waitForURL(/\/franceconnect\/callback/);
  assert.match(await page.locator("main").innerText(), /Vous avez annulé la connexion avec FranceConnect\./);
  await new PageAudit().check(page, "FranceConnect annulé");
  await page.screenshot({ path: path.join(ARTIFACTS, "06-annulation-mobile.png"), fullPage: true });
  assert.equal(await page.getByRole("button", { name: "Se déconnecter" }).count(), 0);
  await context.close();
});

test("Saint-Martin: FranceConnect disabled, no button", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "fr-FR" });
  const page = await context.newPage();
  await page.goto(server.url("saint-martin", "/connexion"));
  await new PageAudit().check(page, "connexion sans FranceConnect");
  assert.equal(await page.getByRole("button", { name: /FranceConnect/ }).count(), 0);
  assert.doesNotMatch(await page.locator("main").innerText(), /FranceConnect|\bOU\b/);
  await context.close();
});
