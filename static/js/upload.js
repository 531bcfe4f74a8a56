// Proof uploads: drag and drop, several files at once, a progress bar, a cancel button,
// and the proof's block replaced by the server's answer. Every step is said in the
// page's live region (annonce.js). Without this script the forms post normally.
(function () {
  "use strict";

  var announce = window.segurAnnonce || function () {};

  function formatMo(bytes) {
    return (bytes / 1048576).toLocaleString("fr-FR", { maximumFractionDigits: 1 }) + " Mo";
  }

  function names(files) {
    return files.map(function (file) { return "« " + file.name + " »"; }).join(", ");
  }

  function showError(form, message) {
    var box = form.querySelector("[data-upload-error]");
    box.textContent = message;
    box.hidden = !message;
    if (message) { announce(message, true); }
  }

  function busy(form, on) {
    form.querySelector("[data-send]").hidden = on;
    form.querySelector("[data-cancel]").hidden = !on;
    form.querySelector("[data-progress]").hidden = !on;
    form.toggleAttribute("data-busy", on);
  }

  function replaceItem(form, html, files) {
    var item = form.closest("[data-item]");
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var first = template.content.firstElementChild;
    if (!item || !first || !first.matches("[data-item]")) { return false; }
    var id = item.id;
    if (window.htmx) {
      // Through htmx, so that the checklist's line and counts sent along are swapped too.
      window.htmx.swap(item, html, { swapStyle: "outerHTML", swapDelay: 0, settleDelay: 0 });
    } else {
      item.replaceWith(first);
    }
    var fresh = document.getElementById(id);
    bind(fresh);
    var said = fresh.querySelector("[data-announce]");
    announce(said ? said.textContent : names(files) + " reçu(s) pour " + fresh.getAttribute("data-identifier") +
      " : vérification en cours (format, taille, antivirus).", true);
    // The head of the page counts the proofs again.
    document.body.dispatchEvent(new CustomEvent("depot-changed"));
    return true;
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
    var bar = form.querySelector("[data-progress] progress");
    var label = form.querySelector("[data-progress-label]");
    var cancel = form.querySelector("[data-cancel]");
    bar.value = 0;
    label.textContent = "Envoi : 0 %";
    busy(form, true);
    announce("Envoi de " + names(files) + " en cours.", false);
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
    // Between the last byte sent and the answer the server stores and hashes the files.
    request.upload.addEventListener("load", function () {
      bar.value = 100;
      label.textContent = "Envoi terminé : enregistrement et vérification en cours…";
      announce("Envoi terminé : enregistrement et vérification en cours.", false);
    });
    request.addEventListener("load", function () {
      busy(form, false);
      var html = request.getResponseHeader("Content-Type") || "";
      if (request.responseText && html.indexOf("text/html") === 0 && replaceItem(form, request.responseText, files)) {
        return;
      }
      var template = document.createElement("template");
      template.innerHTML = request.responseText || "";
      var message = template.content.textContent.trim();
      showError(form, message || "Le dépôt a échoué (" + request.status + ") : rechargez la page et réessayez.");
    });
    request.addEventListener("error", function () {
      busy(form, false);
      showError(form, "La connexion a été interrompue pendant l’envoi : rien n’a été enregistré, réessayez.");
    });
    request.addEventListener("abort", function () {
      busy(form, false);
      announce("Envoi annulé : rien n’a été enregistré.", true);
    });
    cancel.onclick = function () { request.abort(); };
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
        event.stopPropagation();
        input.files = event.dataTransfer.files;
        send(form);
      });
    });
  }

  // A file's check decided by the worker: its badge was swapped in by htmx.
  document.body.addEventListener("htmx:load", function (event) {
    var status = event.detail.elt;
    if (!status.matches || !status.matches(".fichier-statut")) { return; }
    var state = status.getAttribute("data-statut");
    if (state === "en_verification") { return; }
    announce("« " + status.getAttribute("data-nom") + " » : " + status.textContent.replace(/\s+/g, " ").trim(), false);
  });

  bind(document);
  // Blocks refreshed by htmx (a file's check decided, a file removed or reused) come
  // with new forms, and may have something to say.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    // An outerHTML swap leaves the old element detached: find its successor by id.
    var fresh = (target && target.id && document.getElementById(target.id)) || document;
    bind(fresh);
    var said = event.detail.requestConfig && event.detail.requestConfig.verb === "post" &&
      fresh.querySelector("[data-announce]");
    if (said) { announce(said.textContent, true); }
  });
  // Blocks opened in place by checklist.js.
  document.addEventListener("portal:contenu", function (event) { bind(event.detail.root); });
})();
