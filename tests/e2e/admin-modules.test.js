// A town's modules from the back-office, in a real browser: the demo
// administrator logs in (password, then the code /demo/codes shows), opens
// Modules, configures the tariff simulation through the form generated
// from its JSON Schema — a refused value explained at its field, a line
// added and removed without JavaScript, a bracket's price changed — and the
// demo resident's next simulation uses the new price. Every page is checked
// for accessibility, at desktop and phone sizes.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "admin-modules");
const DEMO_STAFF_PASSWORD = "espace-agents-2026";

// One town per viewport (a TOTP code is accepted once). The second bracket
// (QF 650) of each town's canteen: its price before and after.
const VIEWPORTS = [
  { name: "ordinateur", width: 1280, height: 800, town: "villeneuve", before: "2,50", after: "2,75" },
  { name: "mobile", width: 375, height: 667, town: "saint-martin", mobile: true, before: "3,00", after: "3,15" },
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
  describe(`the town's modules, ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
    let step = 0;
    const audit = new PageAudit();
    const shots = path.join(ARTIFACTS, viewport.name);
    const town = viewport.town;

    async function shoot(page, name) {
      step += 1;
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
    }

    function newPage() {
      return browser
        .newContext({ viewport: { width: viewport.width, height: viewport.height }, isMobile: Boolean(viewport.mobile), hasTouch: Boolean(viewport.mobile), locale: "fr-FR" })
        .then((context) => context.newPage());
    }

    /** Clicks a submit button and waits for the page it brings. */
    async function press(page, button) {
      await Promise.all([page.waitForNavigation(), button.click()]);
    }

    async function fitsTheWindow(page, name) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the window`);
    }

    /** The demo resident's simulated canteen price at a quotient of 650. */
    async function simulate(resident) {
      await resident.goto(server.url(town, "/services/tariffs/simulation"));
      await resident.locator('[name="activite"]').selectOption("cantine");
      await resident.locator('[name="quotient"]').fill("650");
      await resident.getByRole("button", { name: "Simuler" }).click();
      await resident.waitForURL(/quotient=650/);
      return resident.locator("main").innerText();
    }

    test("an administrator edits a tariff bracket; the resident's simulation uses the new price", async () => {
      // The demo resident, before.
      const resident = await newPage();
      await resident.goto(server.url(town, "/connexion"));
      await resident.getByLabel("Identifiant").fill("michel.arpege");
      await resident.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
      await resident.getByRole("button", { name: /connecter|connexion/i }).first().click();
      await resident.waitForURL(/\/cgu/);
      await resident.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
      await resident.locator("#cgu-accepter").click();
      await resident.waitForURL(server.url(town, "/"));
      assert.match(await simulate(resident), new RegExp(`${viewport.before}\\s€`));

      // The administrator logs in.
      const admin = await newPage();
      await admin.goto(server.url(town, "/admin/modules"));
      await admin.waitForURL(/\/admin\/connexion/);
      await admin.getByLabel("Adresse électronique").fill(`administrateur@${town}.example.fr`);
      await admin.getByLabel("Mot de passe", { exact: true }).fill(DEMO_STAFF_PASSWORD);
      await admin.getByRole("button", { name: "Continuer" }).click();
      await admin.waitForURL(/\/admin\/connexion\/code/);
      const codes = await newPage();
      await codes.goto(server.url(town, "/demo/codes"));
      const row = codes.locator("tr", { hasText: `administrateur@${town}.example.fr` });
      const code = (await row.locator("code").innerText()).trim();
      await codes.context().close();
      await admin.locator("#code").fill(code);
      await admin.getByRole("button", { name: "Se connecter" }).click();
      await admin.waitForURL(/\/admin\/modules$/);

      // The modules, with what each release may reach.
      const list = await admin.locator("main").innerText();
      assert.match(list, /Simulation des tarifs/);
      assert.match(list, /Versions disponibles/i);
      assert.match(list, /propres à l'usager connecté/);
      await audit.check(admin, "modules");
      await fitsTheWindow(admin, "modules");
      await shoot(admin, "modules");

      // The generated form.
      await admin.getByRole("link", { name: "Configurer Simulation des tarifs" }).click();
      await admin.waitForURL(/\/admin\/modules\/tariffs\/configuration$/);
      await audit.check(admin, "configuration des tarifs");
      await fitsTheWindow(admin, "configuration des tarifs");
      await shoot(admin, "configuration");
      const price = admin.locator("#c-brackets-1-prices-0-value");
      assert.equal(await price.inputValue(), viewport.before.replace(",", ""));

      // A value refused, at its field, nothing saved.
      await price.fill("deux euros");
      await press(admin, admin.getByRole("button", { name: "Enregistrer la configuration" }));
      assert.match(await admin.locator("#c-brackets-1-prices-0-value-erreur").innerText(), /nombre entier/);
      assert.equal(await price.getAttribute("aria-invalid"), "true");
      assert.equal(await price.inputValue(), "deux euros", "the input is kept");
      await audit.check(admin, "configuration refusée", { keyboard: false });
      await fitsTheWindow(admin, "configuration refusée");
      await shoot(admin, "configuration-refusee");

      // A line added, then removed: the form comes back each time.
      const lines = () => admin.locator("legend", { hasText: /^Tranches de quotient familial — ligne/ }).count();
      const count = await lines();
      await press(admin, admin.getByRole("button", { name: "Ajouter une ligne : Tranches de quotient familial" }));
      assert.equal(await lines(), count + 1);
      await shoot(admin, "ligne-ajoutee");
      await press(admin, admin.getByRole("button", { name: `Supprimer : Tranches de quotient familial — ligne ${count + 1}` }));
      assert.equal(await lines(), count);

      // The new price, saved.
      await admin.locator("#c-brackets-1-prices-0-value").fill(viewport.after.replace(",", ""));
      await admin.getByRole("button", { name: "Enregistrer la configuration" }).click();
      await admin.waitForURL(/\/admin\/modules$/);
      assert.match(await admin.locator("main").innerText(), /Configuration de « Simulation des tarifs » enregistrée/);
      await audit.check(admin, "configuration enregistrée", { keyboard: false });
      await shoot(admin, "configuration-enregistree");

      // The resident's next simulation uses it.
      assert.match(await simulate(resident), new RegExp(`${viewport.after}\\s€`));
      await shoot(resident, "simulation");
      await resident.context().close();
      await admin.context().close();
    });
  });
}
