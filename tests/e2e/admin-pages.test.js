// Every page of the back-office an administrator reaches, in a real
// browser at desktop and phone sizes: each entry of the menu, the forms
// that create something, and the first page each list leads to (a
// resident, a request, a news item, a module's configuration…). Each one
// is checked for accessibility (axe-core, RGAA), and at 320, 375, 768 and
// 1,280 pixels for never being wider than the window nor clipping a table
// cell. The menu is read from the page, so a new back-office
// page joins this walk by being in the menu.

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");
const { layoutProblems } = require("./lib/layout");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "admin-pages");
const DEMO_STAFF_PASSWORD = "espace-agents-2026";

// One town per viewport: a TOTP code is accepted once per member.
const VIEWPORTS = [
  { name: "ordinateur", width: 1280, height: 800, town: "villeneuve", other: 768 },
  { name: "mobile", width: 375, height: 667, town: "saint-martin", mobile: true, other: 320 },
];

// Pages reached by a form's button rather than a link, or from a page the
// walk does not go deeper into (the demo resident's documents).
const FORMS = ["/admin/usagers/nouveau", "/admin/usagers/import", "/admin/actualites/nouvelle", "/admin/usagers/michel.arpege/documents", "/admin/paiements/reglages", "/admin/donnees-personnelles"];

// Links that download a file or act: never walked.
const NOT_PAGES = /export|\.csv|telecharger|deconnexion/;

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
  describe(`every back-office page, ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
    test("the administrator's walk: menu, creation forms, the first page of each list", async () => {
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
      const town = viewport.town;

      // Logged in as the demo administrator, with the code /demo/codes shows.
      await page.goto(server.url(town, "/admin/connexion"));
      await page.getByLabel("Adresse électronique").fill(`administrateur@${town}.example.fr`);
      await page.getByLabel("Mot de passe", { exact: true }).fill(DEMO_STAFF_PASSWORD);
      await page.getByRole("button", { name: "Continuer" }).click();
      await page.waitForURL(/\/admin\/connexion\/code/);
      const codes = await context.newPage();
      await codes.goto(server.url(town, "/demo/codes"));
      const code = (await codes.locator("tr", { hasText: `administrateur@${town}.example.fr` }).locator("code").innerText()).trim();
      await codes.close();
      await page.locator("#code").fill(code);
      await page.getByRole("button", { name: "Se connecter" }).click();
      await page.waitForURL(server.url(town, "/admin"));

      const menu = await page.$$eval("nav a[href^='/admin']", (links) => [...new Set(links.map((link) => link.getAttribute("href")))]);
      for (const expected of ["/admin", "/admin/usagers", "/admin/demandes", "/admin/journal", "/admin/agents", "/admin/modules", "/admin/cgu"]) {
        assert.ok(menu.includes(expected), `the administrator's menu lacks ${expected}: ${menu.join(", ")}`);
      }

      const visited = new Set();
      let step = 0;
      async function visit(href) {
        const url = new URL(href, server.url(town, "/"));
        const key = url.pathname + url.search;
        if (visited.has(key)) return;
        visited.add(key);
        const response = await page.goto(url.toString());
        assert.equal(response.status(), 200, `${key} answered ${response.status()}`);
        await audit.check(page, key);
        assert.deepEqual(await layoutProblems(page), [], `${key} at ${viewport.width}px`);
        // And at the viewport's neighbour size (320 px beside the phone,
        // 768 px beside the desktop): no horizontal scroll, no clipped cell.
        await page.setViewportSize({ width: viewport.other, height: viewport.height });
        assert.deepEqual(await layoutProblems(page), [], `${key} at ${viewport.other}px`);
        await page.setViewportSize({ width: viewport.width, height: viewport.height });
        step += 1;
        await page.screenshot({ path: path.join(shots, `${String(step).padStart(2, "0")}${url.pathname.replace(/\//g, "-")}.png`), fullPage: true });
      }

      for (const entry of menu) {
        await visit(entry);
        // The first deeper page this one links to (a resident, a request…),
        // once per kind of page: two pages of one kind share their title.
        const deeper = await page.$$eval("main a[href^='/admin/']", (links, base) => links
          .map((link) => link.getAttribute("href"))
          .filter((href) => href.startsWith(`${base}/`) && href.split("?")[0] !== base), entry);
        const first = deeper.find((href) => !NOT_PAGES.test(href) && !FORMS.includes(href.split("?")[0]));
        if (first) await visit(first);
      }
      for (const form of FORMS) {
        await visit(form);
      }
      assert.ok(visited.size >= 15, `only ${visited.size} pages walked: ${[...visited].join(", ")}`);
      await context.close();
    });
  });
}
