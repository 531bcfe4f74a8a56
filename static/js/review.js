// The review workspace (templates/preuves/review.html). A verdict posted by htmx comes
// back as the requirement's block: focus goes to its result (or to the error summary),
// the bulk tick of that requirement is kept, and the bulk action counts what is ticked
// and says it in its confirmation. Without this script every form still posts.
(function () {
  "use strict";

  var bulk = document.querySelector("form[data-bulk]");

  function ticked() {
    return Array.prototype.filter.call(
      document.querySelectorAll("input[name=exigences][form=lot]"),
      function (box) { return box.checked; }
    );
  }

  function choiceLabel() {
    var chosen = bulk && bulk.querySelector("input[name=verdict]:checked");
    var label = chosen && bulk.querySelector("label[for='" + chosen.id + "']");
    return label ? label.textContent.trim() : "";
  }

  function countTicked() {
    if (!bulk) { return; }
    var boxes = ticked();
    var count = boxes.length;
    bulk.querySelectorAll("[data-selected-count]").forEach(function (slot) {
      slot.textContent = String(count);
    });
    var slot = document.querySelector("#confirmer-lot [data-confirm-count]");
    if (slot) {
      var names = boxes.map(function (box) {
        var title = document.getElementById("exigence-" + box.value + "-titre");
        return title ? title.firstChild.textContent.trim() : box.value;
      });
      var choice = choiceLabel();
      slot.textContent = (choice ? "« " + choice + " » sur " : "Sur ") + count +
        " exigence" + (count > 1 ? "s" : "") + (count ? " : " + names.join(", ") : "") + ".";
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("input[name=exigences][form=lot]") ||
        (bulk && bulk.contains(target))) {
      countTicked();
    }
  });

  // A block about to be replaced: remember whether it was ticked for the bulk action.
  var wasTicked = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    var block = event.detail.target;
    if (!block || !block.classList || !block.classList.contains("portal-review-block")) { return; }
    var box = block.querySelector("input[name=exigences]");
    wasTicked[block.id] = Boolean(box && box.checked);
  });

  // The verdict filter's choices say their counts too: kept equal to the counts the
  // answer brought (without this script the page, reloaded, shows them right).
  function syncFilterCounts() {
    document.querySelectorAll("#review-counts [data-statut]").forEach(function (link) {
      var option = document.querySelector(
        "#filtre-statut option[value='" + link.getAttribute("data-statut") + "']"
      );
      if (option && option.hasAttribute("data-label")) {
        option.textContent = option.getAttribute("data-label") + " (" +
          link.getAttribute("data-count") + ")";
      }
    });
  }

  document.addEventListener("htmx:afterSettle", function () {
    syncFilterCounts();
    Object.keys(wasTicked).forEach(function (id) {
      var box = document.querySelector("#" + id + " input[name=exigences]");
      if (box) { box.checked = wasTicked[id]; }
    });
    wasTicked = {};
    var focus = document.querySelector("[data-focus-now]");
    if (focus) {
      focus.removeAttribute("data-focus-now");
      focus.focus({ preventScroll: false });
    }
    countTicked();
  });

  // « Aperçu » shows the file under its line, a second press hides it; without this
  // script the link opens the preview page.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-preview]");
    if (!link || typeof window.htmx !== "object") { return; }
    var slot = link.nextElementSibling;
    if (!slot || !slot.hasAttribute("data-preview-slot")) { return; }
    event.preventDefault();
    if (slot.firstElementChild) {
      slot.replaceChildren();
      link.setAttribute("aria-expanded", "false");
      return;
    }
    link.setAttribute("aria-expanded", "true");
    window.htmx.ajax("GET", link.getAttribute("href"), { target: slot, swap: "innerHTML" });
  });

  // A refused bulk action comes back as the page: its error summary takes the focus.
  var summary = document.querySelector("[data-focus-now]");
  if (summary) {
    summary.removeAttribute("data-focus-now");
    summary.focus();
  }
  countTicked();
})();
