// Confirmation before what cannot be undone (templates/partials/confirm_modal.html): a
// submit button with data-confirm="<dialog id>" opens that DSFR modal instead of sending
// its form; the modal's own button sends the form. Without this script, or without the
// design system's, the button sends the form at once, as it always did.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm]");
    if (!button || typeof window.dsfr !== "function") { return; }
    var dialog = document.getElementById(button.getAttribute("data-confirm"));
    if (!dialog) { return; }
    event.preventDefault();
    window.dsfr(dialog).modal.disclose();
  });
})();
