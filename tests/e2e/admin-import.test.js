// The CSV import in a real browser, as a town's gestionnaire does it: a
// file with mistakes is simulated and its errors shown with their line and
// column; the corrected file is simulated, then executed; a resident the
// import created receives the activation mail, activates their space and
// logs in with the mailed temporary password (stored as a keyed HMAC, not
// argon2id), which sends them to choose their own. Every page is checked
// for accessibility and for fitting the window, at desktop and phone sizes.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { waitForMail, lineValue, linkPath } = require("./lib/mail");
const { PageAudit } = require("./lib/a11y");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "admin-import");
const DEMO_STAFF_PASSWORD = "espace-agents-2026";

// One town per viewport: a TOTP code is accepted once per member.
const VIEWPORTS = [
  { name: "ordinateur", width: 1280, height: 800, town: "villeneuve" },
  { name: "mobile", width: 375, height: 667, town: "saint-martin", mobile: true },
];

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

for (const viewport of VIEWPORTS) {
  describe(`the CSV import, ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
    test("a file with errors, the corrected file, its execution, a created resident's activation", async () => {
      const town = viewport.town;
      const context = await browser.newContext({
        viewport: { width: viewport.width, height: viewport.height },
        isMobile: Boolean(viewport.mobile),
        hasTouch: Boolean(viewport.mobile),
        locale: "fr-FR",
      });
      const page = await context.newPage();
      const audit = new PageAudit();
      const shots = path.join(ARTIFACTS, viewport.name);
      fs.mkdirSync(shots, { recursive: true });
      let step = 0;
      async function checked(name, options) {
        await audit.check(page, name, options);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the window`);
        step += 1;
        await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, "0")}-${name.replace(/\W+/g, "-")}.png`), fullPage: true });
      }

      // The demo gestionnaire, with the code /demo/codes shows.
      const manager = `gestionnaire@${town}.example.fr`;
      await page.goto(server.url(town, "/admin/connexion"));
      await page.getByLabel("Adresse électronique").fill(manager);
      await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_STAFF_PASSWORD);
      await page.getByRole("button", { name: "Continuer" }).click();
      await page.waitForURL(/\/admin\/connexion\/code/);
      const codes = await context.newPage();
      await codes.goto(server.url(town, "/demo/codes"));
      const code = (await codes.locator("tr", { hasText: manager }).locator("code").innerText()).trim();
      await codes.close();
      await page.locator("#code").fill(code);
      await page.getByRole("button", { name: "Se connecter" }).click();
      await page.waitForURL(server.url(town, "/admin"));

      await page.goto(server.url(town, "/admin/usagers/import"));
      await checked("import");

      // A file with mistakes: an invalid address, a missing name, a
      // duplicate address. Nothing is created; each error names its line
      // (as a spreadsheet numbers it) and its column.
      const resident = `lea.${viewport.name}@example.org`;
      const wrong = [
        "civilite;prenom;nom;courriel;adresse;telephone",
        `Mme;Léa;Fontaine;${resident};3 rue des Lilas;0102030405`,
        "M;Paul;Durand;pas-une-adresse;;",
        `Mme;;Martin;jeanne.${viewport.name}@example.org;;`,
        `M;Marc;Petit;${resident};;`,
      ].join("\n");
      await page.locator("#fichier").setInputFiles({ name: "usagers.csv", mimeType: "text/csv", buffer: Buffer.from(wrong, "utf8") });
      await page.getByRole("button", { name: "Simuler l'import" }).click();
      await page.waitForURL(/\/admin\/usagers\/import\/\d+/);
      const errors = page.getByRole("region", { name: "Erreurs à corriger" });
      const text = await errors.innerText();
      assert.match(text, /\b3\b[\s\S]*courriel/i, "line 3's address");
      assert.match(text, /\b4\b[\s\S]*prenom/i, "line 4's first name");
      assert.match(text, /\b5\b[\s\S]*courriel/i, "line 5 repeats line 2's address");
      assert.equal(await page.getByRole("button", { name: "Exécuter l'import" }).count(), 0, "a file with errors cannot be executed");
      await checked("simulation avec erreurs");

      // The corrected file: simulated, then executed.
      const right = [
        "civilite;prenom;nom;courriel;adresse;telephone",
        `Mme;Léa;Fontaine;${resident};3 rue des Lilas;0102030405`,
        `M;Paul;Durand;paul.${viewport.name}@example.org;;`,
        `Mme;Jeanne;Martin;jeanne.${viewport.name}@example.org;;`,
      ].join("\n");
      await page.goto(server.url(town, "/admin/usagers/import"));
      await page.locator("#fichier").setInputFiles({ name: "usagers-corrige.csv", mimeType: "text/csv", buffer: Buffer.from(right, "utf8") });
      await page.getByRole("button", { name: "Simuler l'import" }).click();
      await page.waitForURL(/\/admin\/usagers\/import\/\d+/);
      assert.match(await page.getByRole("table", { name: /^Bilan/ }).innerText(), /Comptes à créer\s*3/);
      await checked("simulation sans erreur");
      await page.getByRole("button", { name: "Exécuter l'import" }).click();
      await page.waitForLoadState();
      assert.match(await page.getByRole("table", { name: /^Bilan/ }).innerText(), /Comptes créés\s*3/);
      await checked("import exécuté");

      // A resident the import created: the mail, the link, the temporary
      // password, then their own.
      const mail = await waitForMail(server.maildir, resident, "activez votre espace");
      const identifier = lineValue(mail, "Identifiant :");
      const temporary = lineValue(mail, "Mot de passe temporaire :");
      const home = await context.newPage();
      await home.goto(server.url(town, linkPath(mail, "/activation/")));
      await home.getByRole("button", { name: "Activer mon espace personnel" }).click();
      await home.waitForLoadState();
      await home.goto(server.url(town, "/connexion"));
      await home.getByLabel("Identifiant").fill(identifier);
      await home.getByLabel("Mot de passe", { exact: true }).fill(temporary);
      await home.getByRole("button", { name: /connecter|connexion/i }).first().click();
      await home.waitForURL(/\/mot-de-passe\/modifier/);
      await context.close();
    });
  });
}
