// Exchanges with the ANS (sollicitations, support). htmx swaps only 2xx answers: a file
// over the limit (413) must still show, at the form. A form swapped in after a message
// also keeps the warning before leaving unsaved typing (portal.js only sees the forms
// present at load).
(function () {
  "use strict";

  var dirty = new WeakSet();

  function exchangeForm(element) {
    return element && element.closest ? element.closest("form[data-echange]") : null;
  }

  document.addEventListener("input", function (event) {
    var form = exchangeForm(event.target);
    if (form) { dirty.add(form); }
  });
  document.addEventListener("change", function (event) {
    var form = exchangeForm(event.target);
    if (form) { dirty.add(form); }
  });
  document.addEventListener("submit", function (event) {
    var form = exchangeForm(event.target);
    if (form) { dirty.delete(form); }
  });
  window.addEventListener("beforeunload", function (event) {
    var unsaved = Array.prototype.some.call(
      document.querySelectorAll("form[data-echange]"),
      function (form) { return dirty.has(form); }
    );
    if (unsaved) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;
    var form = config ? exchangeForm(config.elt) : null;
    if (!form) { return; }
    var slot = form.querySelector("[data-upload-error]");
    if (event.detail.xhr.status !== 413 || !slot) { return; }
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    event.detail.target = slot;
    event.detail.swapOverride = "innerHTML";
  });
})();
