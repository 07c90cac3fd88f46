// The phone menu's disclosure. Without this script, "Menu" is a link to
// the menu (#menu), shown by the stylesheet when it is the page's target;
// with it, the link becomes a button that says whether the menu is open
// (aria-expanded), closes on Escape and gives focus back to the button.
(function () {
  "use strict";
  var link = document.querySelector("[data-menu-toggle]");
  var menu = document.getElementById("menu");
  if (!link || !menu) {
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.className = link.className;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "menu");
  while (link.firstChild) {
    button.appendChild(link.firstChild);
  }
  link.parentNode.replaceChild(button, link);
  menu.classList.add("main-nav--collapsible");

  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("main-nav--open", open);
  }
  button.addEventListener("click", function () {
    set(button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes the menu; the focus goes back to the button only when it
  // was in the menu (elsewhere on the page it stays where it is).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      var inside = menu.contains(document.activeElement) || document.activeElement === button;
      set(false);
      if (inside) {
        button.focus();
      }
    }
  });
})();
