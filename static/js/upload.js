// Proof uploads: drag and drop, several files at once, a progress bar, and the proof's
// block replaced by the server's answer. Without this script the forms post normally.
(function () {
  "use strict";

  function formatMo(bytes) {
    return (bytes / 1048576).toLocaleString("fr-FR", { maximumFractionDigits: 1 }) + " Mo";
  }

  function showError(form, message) {
    var box = form.querySelector("[data-upload-error]");
    box.textContent = message;
    box.hidden = !message;
  }

  function replaceItem(form, html) {
    var item = form.closest("[data-item]");
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (!item || !fresh) { return; }
    item.replaceWith(fresh);
    if (window.htmx) { window.htmx.process(fresh); }
    bind(fresh);
    // The head of the page counts the proofs again.
    document.body.dispatchEvent(new CustomEvent("depot-changed"));
  }

  function send(form) {
    var input = form.querySelector("input[type=file]");
    var files = Array.prototype.slice.call(input.files || []);
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    if (!files.length) { showError(form, "Choisissez au moins un fichier."); return; }
    var tooBig = files.filter(function (file) { return file.size > maxBytes; });
    if (tooBig.length) {
      showError(form, "« " + tooBig[0].name + " » dépasse la taille maximale de ce type de preuve (" +
        form.getAttribute("data-max-label") + ") : choisissez un autre fichier.");
      return;
    }
    showError(form, "");
    var total = files.reduce(function (sum, file) { return sum + file.size; }, 0);
    var progress = form.querySelector("[data-progress]");
    var bar = progress.querySelector("progress");
    var label = progress.querySelector("[data-progress-label]");
    progress.hidden = false;
    bar.value = 0;
    label.textContent = "Envoi : 0 %";
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Upload", "1");
    request.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    request.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) { return; }
      var percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      label.textContent = "Envoi : " + percent + " % — " + formatMo(Math.min(event.loaded, total)) +
        " sur " + formatMo(total);
    });
    request.addEventListener("load", function () {
      if (request.responseText && request.getResponseHeader("Content-Type").indexOf("text/html") === 0) {
        replaceItem(form, request.responseText);
      } else {
        showError(form, "Le dépôt a échoué (" + request.status + ") : rechargez la page et réessayez.");
      }
    });
    request.addEventListener("error", function () {
      progress.hidden = true;
      showError(form, "La connexion a été interrompue pendant l’envoi : réessayez.");
    });
    request.send(new FormData(form));
  }

  function bind(root) {
    root.querySelectorAll("form[data-upload]").forEach(function (form) {
      if (form.dataset.bound) { return; }
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        send(form);
      });
      var zone = form.querySelector("[data-dropzone]");
      var input = form.querySelector("input[type=file]");
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) {
          event.preventDefault();
          zone.classList.add("portal-dropzone--over");
        });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("portal-dropzone--over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        input.files = event.dataTransfer.files;
        send(form);
      });
    });
  }

  bind(document);
  // Blocks refreshed by htmx (a file's check decided) come with new forms.
  document.body.addEventListener("htmx:afterSwap", function (event) { bind(event.target.parentNode || document); });
})();
