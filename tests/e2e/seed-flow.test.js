// The seed guide's flow in a real browser (Debian's Chromium, driven by
// playwright-core), as a person walks it: the activation mail, the link,
// the temporary password refused then a new one chosen (with the live
// hints), the terms read to their end (mouse wheel at desktop size,
// keyboard only on the phone), the dashboard and each of its tabs, an
// absence, a tariff simulation, logging out. Every page reached is checked
// for accessibility; every step is photographed in artifacts/.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { waitForMail, lineValue, linkPath } = require("./lib/mail");
const { PageAudit } = require("./lib/a11y");
const { openMenu } = require("./lib/layout");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts");
const NEW_PASSWORD = "jardin-public-42";

const VIEWPORTS = [
  { name: "ordinateur", width: 1280, height: 800, terms: "wheel" },
  { name: "mobile", width: 375, height: 667, terms: "keyboard", mobile: true },
];

let server;
let browser;

before(async () => {
  server = await start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As the machine's probe found: no sandbox as root, and no background
    // traffic to Google's hosts on a closed network.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** The town software pushes a child into the resident's household. */
function pushHousehold(identifier, key) {
  const body = JSON.stringify({ members: [{ first_name: "Léa", last_name: "Arpège", birth_date: "2012-09-03", relation: "enfant" }] });
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: "127.0.0.1", port: server.port, method: "PUT", path: `/api/v1/residents/${identifier}/household`,
      headers: { Host: "villeneuve.localhost", Authorization: `Bearer ${key}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
    }, (response) => {
      response.resume();
      response.on("end", () => (response.statusCode === 200 ? resolve() : reject(new Error(`household push: ${response.statusCode}`))));
    });
    request.on("error", reject);
    request.end(body);
  });
}

function isoInDays(days) {
  const date = new Date(Date.now() + days * 86400000);
  return date.toISOString().slice(0, 10);
}

for (const viewport of VIEWPORTS) {
  describe(`the seed flow, ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
    let page;
    let step = 0;
    const audit = new PageAudit();
    const shots = path.join(ARTIFACTS, viewport.name);

    async function shoot(name) {
      step += 1;
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
    }

    before(async () => {
      const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height }, isMobile: Boolean(viewport.mobile), hasTouch: Boolean(viewport.mobile), locale: "fr-FR" });
      page = await context.newPage();
    });

    test("activation, temporary password, new password, terms, dashboard, tabs, absence, tariffs, logout", async () => {
      const email = `michel.${viewport.name}@example.org`;
      server.createResident("villeneuve", { email, firstName: "Michel", lastName: "Arpège" });
      const mail = await waitForMail(server.maildir, email, "activez votre espace");
      const identifier = lineValue(mail, "Identifiant :");
      const temporary = lineValue(mail, "Mot de passe temporaire :");

      // The activation link shows a button (mail scanners follow links).
      await page.goto(server.url("villeneuve", linkPath(mail, "/activation/")));
      await audit.check(page, "activation");
      await shoot("activation");
      await page.getByRole("button", { name: "Activer mon espace personnel" }).click();
      await page.waitForLoadState();
      await shoot("activation-faite");

      // Log in with the temporary password: sent to choose a new one.
      await page.goto(server.url("villeneuve", "/connexion"));
      await audit.check(page, "connexion");
      await page.getByLabel("Identifiant").fill(identifier);
      await page.getByLabel("Mot de passe", { exact: true }).fill(temporary);
      await shoot("connexion");
      await page.getByRole("button", { name: /connecter|connexion/i }).first().click();
      await page.waitForURL(/\/mot-de-passe\/modifier/);
      await audit.check(page, "mot de passe temporaire");

      // Live hints: unmet rules shown while typing; the server refuses too.
      const password = page.locator("#mot-de-passe");
      await password.fill("abc");
      const unmet = await page.locator(".password-checks__item:not(.password-checks__item--met)").count();
      assert.ok(unmet >= 1, "the hints show what is missing");
      await page.locator("#confirmation").fill("abc");
      await shoot("mot-de-passe-indices");
      await page.getByRole("button", { name: /enregistrer|valider|modifier/i }).first().click();
      await page.waitForLoadState();
      assert.match(await page.locator(".field__error").first().innerText(), /au moins/);
      await audit.check(page, "mot de passe refusé", { keyboard: false });
      await shoot("mot-de-passe-refuse");
      await password.fill(NEW_PASSWORD);
      assert.equal(await page.locator(".password-checks__item:not(.password-checks__item--met)").count(), 0, "every rule met");
      await page.locator("#confirmation").fill(NEW_PASSWORD);
      await page.getByRole("button", { name: /enregistrer|valider|modifier/i }).first().click();
      await page.waitForURL(/\/cgu/);

      // The terms: the button turns active once the text was read to its end.
      await audit.check(page, "CGU", { keyboard: false });
      await shoot("cgu");
      const accept = page.locator("#cgu-accepter");
      assert.equal(await accept.getAttribute("aria-disabled"), "true");
      if (viewport.terms === "wheel") {
        await page.locator("#cgu-texte").hover();
        for (let i = 0; i < 60 && (await accept.getAttribute("aria-disabled")) === "true"; i += 1) {
          await page.mouse.wheel(0, 400);
          await page.waitForTimeout(50);
        }
      } else {
        // Keyboard only: Tab into the text, page down through it, Tab on.
        await page.keyboard.press("Tab");
        for (let i = 0; i < 40 && !(await page.locator("#cgu-texte").evaluate((el) => el === document.activeElement)); i += 1) {
          await page.keyboard.press("Tab");
        }
        for (let i = 0; i < 80 && (await accept.getAttribute("aria-disabled")) === "true"; i += 1) {
          await page.keyboard.press("PageDown");
          await page.waitForTimeout(30);
        }
      }
      assert.equal(await accept.getAttribute("aria-disabled"), "false", "read to the end: the button is active");
      await shoot("cgu-lue");
      if (viewport.terms === "keyboard") {
        for (let i = 0; i < 20 && !(await accept.evaluate((el) => el === document.activeElement)); i += 1) {
          await page.keyboard.press("Tab");
        }
        await page.keyboard.press("Enter");
      } else {
        await accept.click();
      }
      await page.waitForURL(server.url("villeneuve", "/"));

      // The dashboard, then each of its tabs.
      const home = await page.content();
      assert.match(home, /Bonjour Monsieur ARPÈGE\./);
      assert.match(home, /c'est votre première connexion|Dernière connexion le/);
      await audit.check(page, "Mon accueil");
      await shoot("mon-accueil");
      const tabs = await page.locator("nav.tabs a").evaluateAll((links) => links.map((link) => ({ label: link.textContent.trim(), href: link.getAttribute("href") })));
      assert.deepEqual(tabs.map((tab) => tab.label), ["Dernières demandes", "Mes factures", "Coordonnées", "Edition de documents", "Dossier administratif", "Annuler ou réserver…", "Signaler une absence", "Simulation des tarifs"]);
      for (const tab of tabs) {
        await page.goto(server.url("villeneuve", "/"));
        // On a phone the tabs give way to the tiles (each tab is a tile's
        // title, or a link of "Mon espace" and "Membres foyer"): the same
        // address is followed from there.
        const link = page.locator("nav.tabs a", { hasText: tab.label }).first();
        if (await link.isVisible()) {
          await link.click();
        } else {
          await page.locator(`main a[href="${tab.href}"]:visible`).first().click();
        }
        await page.waitForURL((url) => url.pathname === tab.href.split("?")[0]);
        await audit.check(page, tab.label);
        await shoot(`onglet-${tab.href.split("/").filter(Boolean).pop()}`);
      }

      // The town's software knows Léa; her absence is reported.
      const key = server.run(["api-key", "create", "--tenant", "villeneuve", "--name", `e2e ${viewport.name}`])
        .split("\n").find((line) => line.startsWith("gk_"));
      await pushHousehold(identifier, key);
      await page.goto(server.url("villeneuve", "/services/absences/absences"));
      await page.getByLabel("Enfant absent").selectOption({ label: "Léa Arpège" });
      await page.getByLabel("Premier jour d'absence").fill(isoInDays(7));
      await page.getByLabel("Dernier jour d'absence").fill(isoInDays(8));
      await page.getByLabel("Motif").selectOption("Maladie");
      await shoot("absence-saisie");
      await page.getByRole("button", { name: "Signaler l'absence" }).click();
      await page.waitForLoadState();
      assert.match(await page.locator("main").innerText(), /Absence enregistrée\. Elle ne sera pas facturée\./);
      await audit.check(page, "absence signalée");
      await shoot("absence-signalee");

      // A tariff simulation.
      await page.goto(server.url("villeneuve", "/services/tariffs/simulation"));
      await page.getByLabel("Activité").selectOption({ label: "Restauration scolaire" });
      await page.getByLabel("Quotient familial (en euros)").fill("650");
      await page.getByRole("button", { name: "Simuler" }).click();
      await page.waitForURL(/quotient=650/);
      const result = await page.locator("main").innerText();
      assert.match(result, /QF de 501 à 900 €/);
      assert.match(result, /2,50\s€/);
      await audit.check(page, "simulation des tarifs");
      await shoot("simulation");

      // The latest requests show the absence.
      await page.goto(server.url("villeneuve", "/"));
      assert.match(await page.locator("main").innerText(), /Absence de Léa du/);

      // Log out.
      await openMenu(page);
      await page.getByRole("button", { name: "Se déconnecter" }).click();
      await page.waitForLoadState();
      await audit.check(page, "accueil après déconnexion");
      await shoot("deconnecte");
      assert.equal(await page.getByRole("button", { name: "Se déconnecter" }).count(), 0);
    });
  });
}

describe("the demo resident's home page, in each demo town", () => {
  for (const town of ["villeneuve", "saint-martin"]) {
    test(town, async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "fr-FR" });
      const page = await context.newPage();
      await page.goto(server.url(town, "/connexion"));
      await page.getByLabel("Identifiant").fill("michel.arpege");
      await page.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
      await page.getByRole("button", { name: /connecter|connexion/i }).first().click();
      await page.waitForURL(/\/cgu/);
      await page.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
      await page.locator("#cgu-accepter").click();
      await page.waitForURL(server.url(town, "/"));
      const text = await page.locator("main").innerText();
      assert.match(text, /Bonjour Monsieur ARPEGE\./);
      assert.match(text, /Dernière connexion le 15\/06\/2020 à 12:55/);
      assert.match(text, /Léa ARPEGE/);
      await new PageAudit().check(page, `Mon accueil (${town})`);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `accueil-${town}.png`), fullPage: true });
      await context.close();
    });
  }
});
