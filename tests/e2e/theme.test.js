// The default theme, as a resident of each demo town sees it on a phone, a
// tablet and a desktop (320, 375, 768 and 1280 pixels wide): every resident
// page is never wider than the window and clips no table cell, passes axe
// (contrast included, with each town's palette); the login button shows
// without scrolling on a 375×667 phone; the menu is a disclosure a keyboard
// opens and closes, and a link without JavaScript; the home page of the
// demo resident is at most twice the phone's height. Screenshots of both
// towns, phone and desktop, go to artifacts/theme/ (the README's come from
// there: docs/screenshots/).

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit, axeViolations } = require("./lib/a11y");
const { layoutProblems } = require("./lib/layout");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "theme");
const SCREENSHOTS = ARTIFACTS;
const WIDTHS = [320, 375, 768, 1280];
// axe at the two sizes residents use most (each run costs a second).
const AUDITED = new Set([375, 1280]);

const PUBLIC_PAGES = ["/connexion", "/activation", "/mot-de-passe/oublie", "/donnees-personnelles"];
const RESIDENT_PAGES = [
  "/", "/demarches", "/demarches/nouvelle", "/actualites", "/avis", "/documents", "/activites",
  "/infos-pratiques", "/coordonnees", "/mot-de-passe/modifier", "/mon-compte/historique", "/mes-donnees",
  "/famille", "/cgu/historique", "/services/invoices/factures", "/services/invoices/facture?numero=2020-06-0042",
  "/services/absences/absences", "/services/tariffs/simulation", "/services/bookings/reservations",
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

async function logIn(page, town) {
  await page.goto(server.url(town, "/connexion"));
  await page.getByLabel("Identifiant").fill("michel.arpege");
  await page.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
  await page.getByRole("button", { name: "Connexion" }).click();
  await page.waitForURL((url) => url.pathname !== "/connexion");
  if (new URL(page.url()).pathname === "/cgu") {
    await page.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
    await page.locator("#cgu-accepter").click();
    await page.waitForURL(server.url(town, "/"));
  }
}

/** Every page at every width: layout, and axe where audited. */
async function walk(page, town, pages, audit) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width < 768 ? 667 : 900 });
    for (const href of pages) {
      const response = await page.goto(server.url(town, href));
      assert.equal(response.status(), 200, `${town} ${href} answered ${response.status()}`);
      const problems = await layoutProblems(page);
      assert.deepEqual(problems, [], `${town} ${href} at ${width}px`);
      if (AUDITED.has(width)) await audit.check(page, `${town} ${href} (${width}px)`);
    }
  }
}

for (const town of ["villeneuve", "saint-martin"]) {
  describe(`the theme of ${town}`, () => {
    test("every resident page at 320, 375, 768 and 1280 px: no horizontal scroll, no clipped cell, axe", async () => {
      const context = await browser.newContext({ locale: "fr-FR" });
      const page = await context.newPage();
      // One audit for the walk: its unique-title check is by address, so a
      // page seen again at another width is the same page.
      const audit = new PageAudit();
      await walk(page, town, PUBLIC_PAGES, audit);
      await logIn(page, town);
      await walk(page, town, RESIDENT_PAGES, audit);
      await context.close();
    });

    test("on a 375×667 phone: login above the fold, a short home page, the menu by keyboard", async () => {
      const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, locale: "fr-FR" });
      const page = await context.newPage();
      for (const href of ["/", "/connexion"]) {
        await page.goto(server.url(town, href));
        const button = await page.getByRole("button", { name: "Connexion" }).boundingBox();
        assert.ok(button && button.y + button.height <= 667, `${href}: "Connexion" ends at ${button && button.y + button.height}px, below the fold`);
      }
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, `connexion-${town}-mobile.png`) });

      await logIn(page, town);
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      assert.ok(height <= 2 * 667, `the home page is ${height}px tall at 375px, more than twice the viewport`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `accueil-${town}-mobile.png`), fullPage: true });

      // The menu: a button that says it is closed; Enter opens it, the
      // first entry follows it in the tab order, Escape closes it and gives
      // the focus back.
      const toggle = page.getByRole("button", { name: "Menu" });
      assert.equal(await toggle.getAttribute("aria-expanded"), "false");
      assert.equal(await page.locator("#menu").isVisible(), false, "the menu is folded on a phone");
      await toggle.focus();
      await page.keyboard.press("Enter");
      assert.equal(await toggle.getAttribute("aria-expanded"), "true");
      assert.ok(await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Nouvelle démarche" }).isVisible());
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Accueil");
      assert.deepEqual(await axeViolations(page), [], `${town}: the menu open`);
      await page.screenshot({ path: path.join(ARTIFACTS, `${town}-menu.png`) });
      await page.keyboard.press("Escape");
      assert.equal(await toggle.getAttribute("aria-expanded"), "false");
      assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Menu");
      assert.equal(await page.locator("#menu").isVisible(), false);
      await page.getByRole("button", { name: "Menu" }).click();
      await page.getByRole("navigation", { name: "Menu principal" }).getByRole("link", { name: "Actualités" }).click();
      await page.waitForURL(/\/actualites$/);
      await context.close();
    });

    test("without JavaScript the menu is a link to it", async () => {
      const context = await browser.newContext({ viewport: { width: 375, height: 667 }, javaScriptEnabled: false, locale: "fr-FR" });
      const page = await context.newPage();
      await page.goto(server.url(town, "/connexion"));
      assert.equal(await page.locator("#menu").isVisible(), false);
      await page.getByRole("link", { name: "Menu" }).click();
      assert.ok(await page.getByRole("link", { name: "Infos pratiques" }).isVisible());
      await page.getByRole("link", { name: "Infos pratiques" }).click();
      await page.waitForURL(/\/infos-pratiques$/);
      await context.close();
    });

    test("desktop: the menu on one row, screenshots", async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "fr-FR" });
      const page = await context.newPage();
      await logIn(page, town);
      const rows = await page.$$eval(".main-nav__link", (links) => new Set(links.map((link) => Math.round(link.getBoundingClientRect().top))).size);
      assert.equal(rows, 1, "the menu fits on one row at 1280px");
      await page.screenshot({ path: path.join(SCREENSHOTS, `accueil-${town}-ordinateur.png`), fullPage: true });
      await context.close();
    });
  });
}
