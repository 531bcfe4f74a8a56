// Decision form of a séance: "Ajouter une réserve" copies the last row, with fresh
// names from the formset's counter. Without this script the form offers two rows.
(function () {
  "use strict";
  document.querySelectorAll("form[data-reserves]").forEach(function (form) {
    var button = form.querySelector("[data-add-reserve]");
    var total = form.querySelector("input[name$='-TOTAL_FORMS']");
    if (!button || !total) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = form.querySelectorAll("[data-reserve-row]");
      var last = rows[rows.length - 1];
      var index = parseInt(total.value, 10);
      var copy = last.cloneNode(true);
      var pattern = /-(\d+)-/g;
      copy.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) { el.setAttribute(attr, value.replace(pattern, "-" + index + "-")); }
        });
        if (el.tagName === "TEXTAREA" || el.tagName === "INPUT") { el.value = ""; }
      });
      copy.querySelectorAll(".fr-error-text").forEach(function (el) { el.remove(); });
      var title = copy.querySelector(".fr-text--bold");
      if (title) { title.textContent = "Réserve " + (index + 1); }
      last.after(copy);
      total.value = index + 1;
      copy.querySelector("textarea").focus();
    });
  });
})();
