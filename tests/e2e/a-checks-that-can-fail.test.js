// The accessibility and layout checks are worth something only if they
// fail on a bad page: here they run on pages broken on purpose
// (fixtures/broken.html, fixtures/cramped.html) and must report each fault.

"use strict";

const assert = require("node:assert/strict");
const path = require("node:path");
const { after, before, test } = require("node:test");
const { chromium } = require("playwright-core");

const { axeViolations, explicitViolations } = require("./lib/a11y");
const { layoutProblems } = require("./lib/layout");

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  if (browser) await browser.close();
});

test("a broken page fails axe and the explicit checks", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`file://${path.join(__dirname, "fixtures", "broken.html")}`);
  const axe = (await axeViolations(page)).join("\n");
  for (const rule of ["html-has-lang", "image-alt", "label", "button-name", "color-contrast"]) {
    assert.match(axe, new RegExp(`^${rule} `, "m"), `axe reports ${rule}:\n${axe}`);
  }
  const explicit = await explicitViolations(page);
  assert.ok(explicit.includes('<html> has no lang="fr"'), explicit.join("\n"));
  assert.ok(explicit.some((problem) => problem.includes("has no <label for>")), explicit.join("\n"));
  assert.ok(explicit.some((problem) => problem.includes("title « x » says nothing")), explicit.join("\n"));
  assert.ok(explicit.includes("no skip link"), explicit.join("\n"));
});

test("a cramped page fails the layout checks", async () => {
  const page = await (await browser.newContext({ viewport: { width: 375, height: 667 } })).newPage();
  await page.goto(`file://${path.join(__dirname, "fixtures", "cramped.html")}`);
  const problems = (await layoutProblems(page)).join("\n");
  assert.match(problems, /the page is \d+px wider than the window \(375px\)/, problems);
  assert.match(problems, /the cell « 45,00 € » is clipped/, problems);
});
