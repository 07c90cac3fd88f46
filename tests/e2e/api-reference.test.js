// The data API's reference page (/api/v1/documentation), rendered from the
// generated OpenAPI document, in a real browser: accessible (axe-core,
// RGAA, the explicit checks, the skip link by keyboard) and never wider
// than the window nor clipping a cell, from a phone to a desktop.

"use strict";

const assert = require("node:assert/strict");
const { after, before, test } = require("node:test");
const { chromium } = require("playwright-core");

const { start } = require("./lib/server");
const { PageAudit } = require("./lib/a11y");
const { layoutProblems } = require("./lib/layout");

let server;
let browser;

before(async () => {
  server = await start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

for (const width of [1280, 768, 375, 320]) {
  test(`the API reference at ${width} pixels`, async () => {
    const context = await browser.newContext({ viewport: { width, height: 800 }, isMobile: width < 500 });
    const page = await context.newPage();
    const response = await page.goto(server.url("villeneuve", "/api/v1/documentation"));
    assert.equal(response.status(), 200);
    assert.match(await page.locator("h1").innerText(), /API/);
    // Every operation of the document is on the page.
    // Fetched by the page (Node does not resolve *.localhost).
    const document = await page.evaluate(async () => (await fetch("/api/v1/openapi.json")).json());
    const body = await page.locator("main").innerText();
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        assert.ok(body.includes(path), `${method.toUpperCase()} ${path} is on the page`);
      }
    }
    await new PageAudit().check(page, `the API reference at ${width} px`);
    assert.deepEqual(await layoutProblems(page), [], `layout at ${width} px`);
    await context.close();
  });
}
