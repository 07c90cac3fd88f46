// Requests handled in the back-office, in a real browser: the demo agent
// logs in (password, then the code /demo/codes shows), finds the demo
// resident's request in /admin/demandes, writes an internal note, moves it
// to "En cours" then asks for information; the demo resident reads the
// town's messages on their request's page (never the note) and answers;
// the agent is told by mail and reads the answer. The feedback inbox is
// opened too. Every page is checked for accessibility, at desktop and
// phone sizes (one town per size: a TOTP code is accepted once).

"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { waitForMail } = require("./lib/mail");
const { PageAudit } = require("./lib/a11y");
const { openMenu } = require("./lib/layout");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "admin-requests");
const DEMO_STAFF_PASSWORD = "espace-agents-2026";

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
  describe(`requests in the back-office, ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
    let step = 0;
    const audit = new PageAudit();
    const shots = path.join(ARTIFACTS, viewport.name);
    const town = viewport.town;
    const agentEmail = `agent@${town}.example.fr`;

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

    async function fitsTheWindow(page, name) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the window`);
    }

    async function check(page, name) {
      await audit.check(page, name);
      await fitsTheWindow(page, name);
      await shoot(page, name.replace(/[^a-z]+/gi, "-"));
    }

    test("an agent answers a request and the resident sees the answer", async () => {
      // The agent logs in.
      const agent = await newPage();
      await agent.goto(server.url(town, "/admin/demandes"));
      await agent.waitForURL(/\/admin\/connexion/);
      await agent.getByLabel("Adresse électronique").fill(agentEmail);
      await agent.getByLabel("Mot de passe", { exact: true }).fill(DEMO_STAFF_PASSWORD);
      await agent.getByRole("button", { name: "Continuer" }).click();
      await agent.waitForURL(/\/admin\/connexion\/code/);
      const codes = await newPage();
      await codes.goto(server.url(town, "/demo/codes"));
      const code = (await codes.locator("tr", { hasText: agentEmail }).locator("code").innerText()).trim();
      await codes.context().close();
      await agent.locator("#code").fill(code);
      await agent.getByRole("button", { name: "Se connecter" }).click();
      await agent.waitForURL((url) => !url.pathname.startsWith("/admin/connexion"));
      await openMenu(agent);
      await agent.getByRole("link", { name: "Demandes" }).first().click();
      await agent.waitForURL(/\/admin\/demandes/);

      // The inbox: the demo resident's request waits.
      const rows = agent.locator("tbody tr", { hasText: "Demander une attestation de résidence" }).filter({ hasText: "Michel ARPEGE" });
      assert.ok((await rows.count()) >= 1, "the demo resident's request is in the inbox");
      const row = rows.first();
      assert.match(await agent.locator("main").innerText(), /Déposée : [1-9]/);
      await check(agent, "demandes");
      const reference = (await row.locator("th a").innerText()).trim();
      await row.locator("th a").click();
      await agent.waitForURL(new RegExp(`/admin/demandes/${reference}$`));
      await check(agent, "demande");

      // An internal note, then two steps with a message each.
      await agent.locator("#note").fill("Déjà venu au guichet mardi (note e2e).");
      await agent.getByRole("button", { name: "Ajouter la note" }).click();
      await agent.waitForURL(new RegExp(`/admin/demandes/${reference}$`));
      await agent.locator("#statut").selectOption("en-cours");
      await agent.locator("#message").fill("Nous préparons votre attestation.");
      await agent.getByRole("button", { name: "Changer l'état et prévenir l'usager" }).click();
      await agent.waitForURL(new RegExp(`/admin/demandes/${reference}$`));
      // Asking for information without a message is refused next to it.
      await agent.locator("#statut").selectOption("en-attente");
      await agent.getByRole("button", { name: "Changer l'état et prévenir l'usager" }).click();
      await agent.waitForLoadState();
      assert.match(await agent.locator("#message-erreur").innerText(), /ce qu'il doit préciser/);
      await check(agent, "demande message manquant");
      await agent.locator("#message").fill("Pour quelle adresse exactement ?");
      await agent.getByRole("button", { name: "Changer l'état et prévenir l'usager" }).click();
      await agent.waitForURL(new RegExp(`/admin/demandes/${reference}$`));
      assert.match(await agent.locator("main").innerText(), /En attente d'informations/);
      await check(agent, "demande en attente");

      // The feedback inbox.
      await openMenu(agent);
      await agent.getByRole("link", { name: "Avis" }).first().click();
      await agent.waitForURL(/\/admin\/avis/);
      await check(agent, "avis");

      // The resident reads the messages, never the note, and answers.
      const resident = await newPage();
      await resident.goto(server.url(town, "/connexion"));
      await resident.getByLabel("Identifiant").fill("michel.arpege");
      await resident.getByLabel("Mot de passe", { exact: true }).fill("arpege-demo-2020");
      await resident.getByRole("button", { name: /connecter|connexion/i }).first().click();
      await resident.waitForURL(/\/cgu/);
      await resident.locator("#cgu-texte").evaluate((el) => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event("scroll")); });
      await resident.locator("#cgu-accepter").click();
      await resident.waitForURL(server.url(town, "/"));
      await resident.goto(server.url(town, `/demarches/${reference}`));
      const text = await resident.locator("main").innerText();
      assert.match(text, /Nous préparons votre attestation\./);
      assert.match(text, /Pour quelle adresse exactement \?/);
      assert.doesNotMatch(text, /note e2e/);
      await check(resident, "demande usager");
      await resident.getByLabel(/Votre réponse/).fill("12 rue des Lilas, appartement 3.");
      await resident.getByRole("button", { name: "Envoyer ma réponse" }).click();
      await resident.waitForURL(new RegExp(`/demarches/${reference}$`));
      const answered = await resident.locator("main").innerText();
      assert.match(answered, /Votre réponse est envoyée à la mairie\./);
      assert.match(answered, /Vous : 12 rue des Lilas/);
      await check(resident, "demande usager répondue");

      // The agent is told, and reads the answer.
      await waitForMail(server.maildir, agentEmail, "répondu");
      await agent.goto(server.url(town, `/admin/demandes/${reference}`));
      assert.match(await agent.locator("main").innerText(), /12 rue des Lilas/);
      await resident.context().close();
      await agent.context().close();
    });
  });
}
