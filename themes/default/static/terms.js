// The acceptance button of the terms page is enabled once the text has been
// scrolled to its end (the seed's rule). Progressive enhancement: without
// this script the button works at once; the server checks the acceptance
// either way. The button stays focusable (aria-disabled, not disabled) and
// every change is announced in the status element.
(function () {
  "use strict";
  var text = document.getElementById("cgu-texte");
  var button = document.getElementById("cgu-accepter");
  var status = document.getElementById("cgu-etat");
  if (!text || !button || !status) {
    return;
  }
  function atEnd() {
    return text.scrollTop + text.clientHeight >= text.scrollHeight - 2;
  }
  function enable() {
    if (button.getAttribute("aria-disabled") !== "true") {
      return;
    }
    button.setAttribute("aria-disabled", "false");
    status.textContent =
      "Vous avez lu le texte jusqu'au bout : le bouton « J'accepte les conditions générales d'utilisation » est activé.";
  }
  // Nothing to scroll (large screen, zoomed out): nothing to wait for.
  if (atEnd()) {
    return;
  }
  button.setAttribute("aria-disabled", "true");
  text.addEventListener("scroll", function () {
    if (atEnd()) {
      enable();
    }
  });
  window.addEventListener("resize", function () {
    if (atEnd()) {
      enable();
    }
  });
  button.form.addEventListener("submit", function (event) {
    if (button.getAttribute("aria-disabled") === "true") {
      event.preventDefault();
      status.textContent =
        "Faites défiler le texte des conditions jusqu'en bas pour activer le bouton. Le texte défile aussi avec les flèches du clavier.";
      text.focus();
    }
  });
})();
