// Behaviour the design system does not give: warn before losing typed data, and add
// rows to formsets. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    var dirty = false;
    var mark = function () { dirty = true; };
    form.addEventListener("input", mark);
    form.addEventListener("change", mark);
    form.addEventListener("submit", function () { dirty = false; });
    // An autosave that succeeded leaves nothing to lose.
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) { dirty = false; }
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  });

  document.querySelectorAll("[data-formset]").forEach(function (box) {
    var prefix = box.getAttribute("data-formset");
    var total = box.querySelector("#id_" + prefix + "-TOTAL_FORMS");
    var template = box.querySelector("template[data-formset-empty]");
    var rows = box.querySelector("[data-formset-rows]");
    var button = box.querySelector("[data-formset-add]");
    if (!total || !template || !rows || !button) { return; }
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
      total.value = String(index + 1);
      var form = box.closest("form");
      if (form) { form.dispatchEvent(new Event("change", { bubbles: true })); }
      var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
      if (first) { first.focus(); }
    });
  });
})();
