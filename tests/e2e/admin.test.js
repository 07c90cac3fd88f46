// The town's back-office in a real browser: the demo administrator logs in
// (password, then the TOTP code that /demo/codes shows), invites an agent
// from /admin/agents; the agent follows the mail's link, chooses a
// password, enrols an authenticator (the secret read from the page, the
// code computed here as an app would), notes the recovery codes and
// reaches the back-office; the pages an agent may not open answer 403.
// Every page is checked for accessibility, at desktop and phone sizes.

"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { after, before, describe, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { waitForMail, linkPath } = require("./lib/mail");
const { PageAudit } = require("./lib/a11y");
const { openMenu } = require("./lib/layout");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts", "admin");
const DEMO_STAFF_PASSWORD = "espace-agents-2026";
const AGENT_PASSWORD = "Registre-Mairie-2026";

// One town per viewport: a TOTP code is accepted once, and both runs log
// in as their town's demo administrator.
const VIEWPORTS = [
  { name: "ordinateur", width: 1280, height: 800, town: "villeneuve" },
  { name: "mobile", width: 375, height: 667, town: "saint-martin", mobile: true },
];

/** RFC 6238's code of a base32 secret, now (what an authenticator shows). */
function totp(base32) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of base32.replace(/\s+/g, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) {
    bytes.push(parseInt(bits.slice(i, i + 8), 2));
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const digest = crypto.createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const binary = (digest.readUInt32BE(offset) & 0x7fffffff) % 1000000;
  return String(binary).padStart(6, "0");
}

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
  describe(`the back-office, ${viewport.name} (${viewport.width}×${viewport.height})`, () => {
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

    /** The layout never clips: nothing wider than the window. */
    async function fitsTheWindow(page, name) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the window`);
    }

    test("an administrator invites an agent: mail, link, password, TOTP, recovery codes, back-office", async () => {
      const admin = await newPage();
      await admin.goto(server.url(town, "/admin"));
      await admin.waitForURL(/\/admin\/connexion/);
      await audit.check(admin, "connexion agents");
      await fitsTheWindow(admin, "connexion agents");
      await shoot(admin, "connexion");
      await admin.getByLabel("Adresse électronique").fill(`administrateur@${town}.example.fr`);
      await admin.getByLabel("Mot de passe", { exact: true }).fill(DEMO_STAFF_PASSWORD);
      await admin.getByRole("button", { name: "Continuer" }).click();
      await admin.waitForURL(/\/admin\/connexion\/code/);
      await audit.check(admin, "code de vérification");

      // A wrong code is refused, tied to its field.
      await admin.locator("#code").fill("abcdef");
      await admin.getByRole("button", { name: "Se connecter" }).click();
      await admin.waitForLoadState();
      assert.match(await admin.locator(".notice--error").innerText(), /Code incorrect/);
      await audit.check(admin, "code refusé", { keyboard: false });
      await shoot(admin, "code-refuse");

      // The demo shows the code of the moment.
      const codes = await newPage();
      await codes.goto(server.url(town, "/demo/codes"));
      await audit.check(codes, "codes de la démo");
      const row = codes.locator("tr", { hasText: `administrateur@${town}.example.fr` });
      const code = (await row.locator("code").innerText()).trim();
      await codes.context().close();
      await admin.locator("#code").fill(code);
      await admin.getByRole("button", { name: "Se connecter" }).click();
      await admin.waitForURL(server.url(town, "/admin"));
      assert.match(await admin.locator("main").innerText(), /Votre rôle : Administrateur/);
      await audit.check(admin, "tableau de bord");
      await fitsTheWindow(admin, "tableau de bord");
      await shoot(admin, "tableau-de-bord");

      // The team; an invitation with a mistake, then the right one.
      await admin.getByRole("link", { name: "Équipe" }).first().click();
      await admin.waitForURL(/\/admin\/agents/);
      await audit.check(admin, "équipe");
      await fitsTheWindow(admin, "équipe");
      await shoot(admin, "equipe");
      const email = `agent.${viewport.name}@example.org`;
      await admin.getByLabel("Adresse électronique").fill("pas-une-adresse");
      await admin.getByRole("button", { name: "Envoyer l'invitation" }).click();
      await admin.waitForLoadState();
      assert.match(await admin.locator(".field__error").innerText(), /adresse électronique valide/);
      await audit.check(admin, "invitation refusée", { keyboard: false });
      await admin.getByLabel("Adresse électronique").fill(email);
      await admin.getByLabel("Rôle", { exact: true }).selectOption("agent");
      await admin.getByRole("button", { name: "Envoyer l'invitation" }).click();
      await admin.waitForURL(/\/admin\/agents$/);
      assert.match(await admin.locator("main").innerText(), new RegExp(`Invitation envoyée à ${email.replace(".", "\\.")}`));
      await shoot(admin, "invitation-envoyee");

      // The agent's side: the mail, the link, a name and a password.
      const mail = await waitForMail(server.maildir, email, "espace agents");
      const agent = await newPage();
      await agent.goto(server.url(town, linkPath(mail, "/admin/invitation/")));
      await audit.check(agent, "invitation");
      await fitsTheWindow(agent, "invitation");
      await shoot(agent, "invitation");
      await agent.locator("#prenom").fill("Jeanne");
      await agent.locator("#nom").fill("Nouvelle");
      await agent.locator("#mot-de-passe").fill(AGENT_PASSWORD);
      await agent.locator("#confirmation").fill(AGENT_PASSWORD);
      await agent.getByRole("button", { name: "Continuer" }).click();
      await agent.waitForURL(/\/admin\/connexion\/code/);

      // Enrolment: the QR code and the secret as text; a code confirms it.
      assert.equal(await agent.locator("svg.qr-code").count(), 1);
      await audit.check(agent, "double authentification");
      await fitsTheWindow(agent, "double authentification");
      await shoot(agent, "enrolement");
      const secret = await agent.locator("#cle-secrete").innerText();
      await agent.getByLabel("Code affiché par l'application").fill(totp(secret));
      await agent.getByRole("button", { name: "Activer" }).click();
      await agent.waitForLoadState();
      assert.equal(await agent.locator(".recovery-codes li").count(), 10);
      await audit.check(agent, "codes de secours");
      await shoot(agent, "codes-de-secours");
      await agent.getByRole("link", { name: /continuer/ }).click();
      await agent.waitForURL(server.url(town, "/admin"));
      assert.match(await agent.locator("main").innerText(), /Votre rôle : Agent/);
      assert.equal(await agent.getByRole("link", { name: "Équipe" }).count(), 0, "an agent's menu has no team page");
      await shoot(agent, "agent-tableau-de-bord");

      // What an agent may not open: 403, in the back-office's layout.
      const forbidden = await agent.goto(server.url(town, "/admin/agents"));
      assert.equal(forbidden.status(), 403);
      assert.match(await agent.locator("main").innerText(), /accès refusé/i);
      await audit.check(agent, "accès refusé");
      await shoot(agent, "acces-refuse");

      // The administrator sees the new member; both log out.
      await admin.goto(server.url(town, "/admin/agents"));
      assert.match(await admin.locator(".staff-list").innerText(), /Jeanne NOUVELLE/);
      await shoot(admin, "equipe-avec-agent");
      for (const page of [agent, admin]) {
        await page.goto(server.url(town, "/admin"));
        await openMenu(page);
        await page.getByRole("button", { name: "Se déconnecter" }).click();
        await page.waitForURL(/\/admin\/connexion/);
        assert.match(await page.locator("main").innerText(), /déconnecté/);
      }
      await audit.check(admin, "déconnecté");
      await admin.context().close();
      await agent.context().close();
    });
  });
}
