// Assignment from an agency list (templates/pilotage/liste.html): the confirmation
// modal says how many dossiers go to whom before the form is sent. Without this
// script the modal (or the form, without the design system's script) still works; it
// only does not name them.
(function () {
  "use strict";
  var slot = document.querySelector("#confirmer-attribution [data-confirm-count]");
  var select = document.querySelector("#attribution select[name=instructeur]");
  if (!slot || !select) { return; }

  function describe() {
    var boxes = document.querySelectorAll("input[name=candidatures][form=attribution]:checked");
    var count = boxes.length;
    var option = select.options[select.selectedIndex];
    var who = select.value && option ? option.textContent.trim() : "";
    if (!count) {
      slot.textContent = "Aucun dossier n’est coché : cochez les dossiers à attribuer dans le tableau.";
    } else if (!who) {
      slot.textContent = count + " dossier" + (count > 1 ? "s cochés" : " coché") +
        ", mais aucun instructeur choisi.";
    } else {
      slot.textContent = count + " dossier" + (count > 1 ? "s" : "") + " à attribuer à " + who + ".";
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target === select || event.target.matches("input[name=candidatures]")) { describe(); }
  });
  describe();
})();
