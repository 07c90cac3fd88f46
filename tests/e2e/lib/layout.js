// What a page must never do at any width: be wider than the window, or
// clip a table cell (each cell's box inside its table's visible box — a
// table on a phone is laid out as a list of labelled rows instead).

"use strict";

/** The layout's problems on the page, as readable lines. */
async function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const overflow = document.documentElement.scrollWidth - window.innerWidth;
    if (overflow > 0) problems.push(`the page is ${overflow}px wider than the window (${window.innerWidth}px)`);
    for (const table of document.querySelectorAll("main table")) {
      const box = table.getBoundingClientRect();
      if (box.width === 0) continue;
      // The table's visible box: clipped by every ancestor that scrolls or
      // hides what overflows, and by the window.
      let left = Math.max(box.left, 0);
      let right = Math.min(box.right, window.innerWidth);
      for (let element = table.parentElement; element; element = element.parentElement) {
        if (/(auto|scroll|hidden|clip)/.test(getComputedStyle(element).overflowX)) {
          const clip = element.getBoundingClientRect();
          left = Math.max(left, clip.left);
          right = Math.min(right, clip.right);
        }
      }
      for (const cell of table.querySelectorAll("td, th")) {
        // A stacked table's header row is visually hidden on purpose.
        const head = cell.closest("thead");
        if (head && head.getBoundingClientRect().width <= 1) continue;
        const shape = cell.getBoundingClientRect();
        if (shape.width === 0) continue;
        if (shape.left < left - 1 || shape.right > right + 1) {
          problems.push(`the cell « ${cell.textContent.trim().slice(0, 40)} » is clipped: ${Math.round(shape.left)}–${Math.round(shape.right)} px, its table shows ${Math.round(left)}–${Math.round(right)} px`);
        }
        // Content wider than its own cell (a long word kept on one line).
        if (cell.scrollWidth > cell.clientWidth + 1 && getComputedStyle(cell).overflowX !== "visible") {
          problems.push(`the cell « ${cell.textContent.trim().slice(0, 40)} » hides ${cell.scrollWidth - cell.clientWidth}px of its content`);
        }
        for (const child of cell.children) {
          const inner = child.getBoundingClientRect();
          if (inner.width > 0 && (inner.right > shape.right + 1 || inner.left < shape.left - 1)) {
            problems.push(`in the cell « ${cell.textContent.trim().slice(0, 40)} », « ${child.textContent.trim().slice(0, 30)} » overflows the cell`);
          }
        }
      }
    }
    return problems;
  });
}

/** Opens the phone menu when it is collapsed (the "Menu" button shows). */
async function openMenu(page) {
  const toggle = page.locator(".menu-toggle");
  if ((await toggle.count()) && (await toggle.isVisible()) && (await toggle.getAttribute("aria-expanded")) !== "true") {
    await toggle.click();
  }
}

module.exports = { layoutProblems, openMenu };
