// Accessibility checks on every page the suite reaches: axe-core with the
// WCAG 2.1 A/AA and RGAA 4 rules (zero violations), and what axe does not
// check: a visible <label> for every field, a title that says where one is
// (unique across the pages visited), lang="fr", a working skip link, a
// visible focus, errors tied to their fields.

"use strict";

const assert = require("node:assert/strict");
const { AxeBuilder } = require("@axe-core/playwright");

const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "RGAAv4"];

/** axe's violations on the page, as readable lines. */
async function axeViolations(page) {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
  return results.violations.map((violation) =>
    `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
}

/** The checks axe does not make. */
async function explicitViolations(page) {
  return page.evaluate(() => {
    const problems = [];
    if (document.documentElement.getAttribute("lang") !== "fr") {
      problems.push('<html> has no lang="fr"');
    }
    const title = document.title.trim();
    if (title.length < 5) {
      problems.push(`the title « ${title} » says nothing`);
    }
    const fields = document.querySelectorAll("input:not([type=hidden]):not([type=submit]), select, textarea");
    for (const field of fields) {
      const label = field.id ? document.querySelector(`label[for="${CSS.escape(field.id)}"]`) : null;
      if (!label) {
        problems.push(`field ${field.name || field.id} has no <label for>`);
        continue;
      }
      const style = window.getComputedStyle(label);
      const box = label.getBoundingClientRect();
      const hidden = style.display === "none" || style.visibility === "hidden" || box.width < 2 || box.height < 2;
      if (hidden && !label.closest("[hidden]") && !field.closest("[hidden]")) {
        problems.push(`the label of ${field.name || field.id} is not visible`);
      }
      if (field.getAttribute("aria-invalid") === "true") {
        const described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
        const tied = described.some((id) => {
          const element = document.getElementById(id);
          return element && /erreur|error/i.test(element.className + " " + id);
        });
        if (!tied) {
          problems.push(`the error of ${field.name || field.id} is not tied to it (aria-describedby)`);
        }
      }
    }
    const skip = document.querySelector("a.skip-link");
    if (!skip) {
      problems.push("no skip link");
    } else {
      const target = document.querySelector(skip.getAttribute("href"));
      if (!target) {
        problems.push(`the skip link points to ${skip.getAttribute("href")}, which does not exist`);
      }
    }
    return problems;
  });
}

/** Tab to the first focusable element: the skip link, shown and focused,
 *  with a visible outline; following it moves to the main content. */
async function checkKeyboardEntry(page) {
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => {
    const element = document.activeElement;
    const style = window.getComputedStyle(element);
    const box = element.getBoundingClientRect();
    return {
      skip: element.classList.contains("skip-link"),
      outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
      onScreen: box.top >= 0 && box.bottom <= window.innerHeight && box.width > 0,
      href: element.getAttribute("href"),
    };
  });
  const problems = [];
  if (!focused.skip) {
    problems.push("the first Tab does not reach the skip link");
    return problems;
  }
  if (!focused.outline) {
    problems.push("the focused skip link has no visible outline");
  }
  if (!focused.onScreen) {
    problems.push("the focused skip link is not on screen");
  }
  await page.keyboard.press("Enter");
  const hash = await page.evaluate(() => window.location.hash);
  if (hash !== focused.href) {
    problems.push(`following the skip link leads to « ${hash} », not ${focused.href}`);
  }
  return problems;
}

class PageAudit {
  constructor() {
    this.titles = new Map();
  }

  /** Every check on the page as it is now; `name` says which step. */
  async check(page, name, { keyboard = true } = {}) {
    const problems = [...await axeViolations(page), ...await explicitViolations(page)];
    const title = await page.title();
    const path = new URL(page.url()).pathname;
    const seen = this.titles.get(title);
    if (seen && seen !== path) {
      problems.push(`the title « ${title} » is also the title of ${seen}`);
    }
    this.titles.set(title, path);
    if (keyboard) {
      problems.push(...await checkKeyboardEntry(page));
    }
    assert.deepEqual(problems, [], `accessibility of ${name} (${path})`);
  }
}

module.exports = { PageAudit, axeViolations, explicitViolations, AXE_TAGS };
