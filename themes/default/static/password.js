// Live hints of the password forms: each requirement of the town's rule is
// marked as met or not while the resident types, the confirmation says
// whether it matches, and a polite live region sums it up for screen
// readers (after a pause, not at each key). Progressive enhancement: the
// server checks the same rules either way (PasswordPolicy::check).
(function () {
  "use strict";
  var input = document.getElementById("mot-de-passe");
  var list = document.getElementById("mot-de-passe-criteres");
  var status = document.getElementById("mot-de-passe-etat");
  var confirmation = document.getElementById("confirmation");
  var confirmationStatus = document.getElementById("confirmation-etat");
  if (!input || !list || !status) {
    return;
  }
  var items = Array.prototype.slice.call(list.querySelectorAll("[data-rule]"));
  // Counted as the server counts: characters, not UTF-16 units.
  function count(password, rule) {
    var characters = Array.from(password);
    switch (rule) {
      case "length": return characters.length;
      case "lowercase": return characters.filter(function (c) { return c !== c.toUpperCase() && c === c.toLowerCase(); }).length;
      case "uppercase": return characters.filter(function (c) { return c !== c.toLowerCase() && c === c.toUpperCase(); }).length;
      case "digits": return characters.filter(function (c) { return c >= "0" && c <= "9"; }).length;
      case "special": return characters.filter(function (c) { return !/[\p{L}\p{N}]/u.test(c); }).length;
      default: return 0;
    }
  }
  var timer = null;
  function update() {
    var missing = [];
    items.forEach(function (item) {
      var met = count(input.value, item.getAttribute("data-rule")) >= Number(item.getAttribute("data-min"));
      item.classList.toggle("password-checks__item--met", met);
      item.setAttribute("data-state", met ? "respecté" : "manquant");
      if (!met) {
        missing.push(item.textContent);
      }
    });
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      status.textContent = missing.length === 0
        ? "Le mot de passe respecte toutes les règles."
        : "Il manque : " + missing.join(", ") + ".";
    }, 700);
    updateConfirmation();
  }
  function updateConfirmation() {
    if (!confirmation || !confirmationStatus || confirmation.value === "") {
      if (confirmationStatus) { confirmationStatus.textContent = ""; }
      return;
    }
    confirmationStatus.textContent = confirmation.value === input.value
      ? "Les deux mots de passe sont identiques."
      : "Les deux mots de passe sont différents.";
  }
  list.classList.add("password-checks--live");
  input.addEventListener("input", update);
  if (confirmation) {
    confirmation.addEventListener("input", updateConfirmation);
  }
  update();
}());
