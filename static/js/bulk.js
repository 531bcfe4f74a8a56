// Bulk deposit (preuves.views_lots): files or ZIP archives dropped on the dossier or on
// one of its sections are sent in groups small enough for the proxy, with one progress
// bar and a cancel button, then the editor reviews how they were matched. Without this
// script the form posts every file at once.
(function () {
  "use strict";

  var announce = window.segurAnnonce || function () {};
  var form = document.querySelector("form[data-bulk]");
  if (!form) { return; }
  var MO = 1048576;
  // One request: one archive, or loose files up to the largest proof (50 Mo).
  var FILE_MAX = 50 * MO;
  var ZIP_MAX = 500 * MO;
  var GROUP_FILES = 20;
  var input = form.querySelector("input[type=file]");
  var section = form.querySelector("select[name=section]");
  var bar = form.querySelector("[data-progress] progress");
  var label = form.querySelector("[data-progress-label]");
  var errorBox = form.querySelector("[data-upload-error]");
  var send = form.querySelector("[data-send]");
  var cancel = form.querySelector("[data-cancel]");
  var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var current = null;

  function isZip(file) { return /\.zip$/i.test(file.name); }

  function formatMo(bytes) {
    return (bytes / MO).toLocaleString("fr-FR", { maximumFractionDigits: 1 }) + " Mo";
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
    if (message) { announce(message, true); }
  }

  function busy(on) {
    send.hidden = on;
    cancel.hidden = !on;
    form.querySelector("[data-progress]").hidden = !on;
    input.disabled = on;
  }

  function groups(files) {
    var result = [];
    var group = [];
    var size = 0;
    files.forEach(function (file) {
      if (isZip(file)) { result.push([file]); return; }
      if (group.length && (group.length >= GROUP_FILES || size + file.size > FILE_MAX)) {
        result.push(group);
        group = [];
        size = 0;
      }
      group.push(file);
      size += file.size;
    });
    if (group.length) { result.push(group); }
    return result;
  }

  function post(url, data, onProgress) {
    return new Promise(function (resolve, reject) {
      var request = new XMLHttpRequest();
      current = request;
      request.open("POST", url);
      request.setRequestHeader("X-Upload", "1");
      request.setRequestHeader("X-CSRFToken", token);
      if (onProgress) {
        request.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) { onProgress(event.loaded); }
        });
      }
      request.addEventListener("load", function () {
        var answer = {};
        try { answer = JSON.parse(request.responseText || "{}"); } catch (ignored) { answer = {}; }
        if (request.status >= 200 && request.status < 300) { resolve(answer); return; }
        reject(new Error(answer.erreur || "L’envoi a été refusé (" + request.status + ") : rien n’a été déposé."));
      });
      request.addEventListener("error", function () {
        reject(new Error("La connexion a été interrompue pendant l’envoi : rien n’a été déposé, réessayez."));
      });
      request.addEventListener("abort", function () { reject(new Error("annule")); });
      request.send(data);
    });
  }

  function start(files) {
    showError("");
    if (!files.length) { showError("Choisissez les fichiers, ou une archive ZIP, à déposer."); return; }
    var tooBig = files.filter(function (file) { return file.size > (isZip(file) ? ZIP_MAX : FILE_MAX); })[0];
    if (tooBig) {
      showError("« " + tooBig.name + " » dépasse la taille permise (une preuve : 50 Mo ; une archive ZIP : 500 Mo).");
      return;
    }
    var total = files.reduce(function (sum, file) { return sum + file.size; }, 0);
    var sent = 0;
    var lot = null;
    busy(true);
    bar.value = 0;
    label.textContent = "Envoi de " + files.length + " fichier(s) : 0 %";
    announce("Envoi de " + files.length + " fichier(s) en cours.", false);
    var opening = new FormData();
    opening.append("section", section ? section.value : "");
    var chain = post(form.action, opening).then(function (answer) { lot = answer; });
    groups(files).forEach(function (group) {
      chain = chain.then(function () {
        var data = new FormData();
        group.forEach(function (file) { data.append("files", file, file.name); });
        var before = sent;
        var size = group.reduce(function (sum, file) { return sum + file.size; }, 0);
        return post(lot.fichiers, data, function (loaded) {
          var percent = total ? Math.round(((before + Math.min(loaded, size)) / total) * 100) : 100;
          bar.value = percent;
          label.textContent = "Envoi de " + files.length + " fichier(s) : " + percent + " % — " +
            formatMo(before + Math.min(loaded, size)) + " sur " + formatMo(total);
          if (loaded >= size) { label.textContent += " ; lecture des noms en cours…"; }
        }).then(function () { sent += size; });
      });
    });
    chain.then(function () {
      bar.value = 100;
      label.textContent = "Fichiers reçus : ouverture de la correspondance proposée…";
      announce("Fichiers reçus : vérifiez la correspondance proposée.", false);
      window.location.assign(lot.revue);
    }).catch(function (error) {
      busy(false);
      var cancelled = error.message === "annule";
      if (lot) {
        var data = new FormData();
        post(lot.abandon, data).catch(function () { return null; });
      }
      if (cancelled) {
        announce("Envoi annulé : rien n’a été déposé.", true);
      } else {
        showError(error.message);
      }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    start(Array.prototype.slice.call(input.files || []));
  });
  cancel.addEventListener("click", function () {
    if (current) { current.abort(); }
  });

  function dropTarget(zone, sectionKey) {
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        if (!event.dataTransfer || Array.prototype.indexOf.call(event.dataTransfer.types, "Files") < 0) { return; }
        event.preventDefault();
        zone.classList.add("portal-dropzone--over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("portal-dropzone--over"); });
    });
    zone.addEventListener("drop", function (event) {
      if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
      event.preventDefault();
      if (section) { section.value = sectionKey; }
      start(Array.prototype.slice.call(event.dataTransfer.files));
    });
  }

  dropTarget(form.querySelector("[data-dropzone]"), "");
  document.querySelectorAll("[data-drop-section]").forEach(function (zone) {
    dropTarget(zone, zone.getAttribute("data-drop-section"));
  });
  // « Déposer plusieurs fichiers dans … »: the chooser, then the upload at once.
  var pendingSection = null;
  document.querySelectorAll("[data-bulk-section]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      pendingSection = button.getAttribute("data-bulk-section");
      input.click();
    });
  });
  input.addEventListener("change", function () {
    if (pendingSection === null) { return; }
    if (section) { section.value = pendingSection; }
    pendingSection = null;
    start(Array.prototype.slice.call(input.files || []));
  });
})();
