// The checklist of the dossier: a line opens in place to show its proof's files and
// upload form (the same block as the proof's own page, fetched once), and focus moves
// into it. Without this script each line is a link to that page.
(function () {
  "use strict";

  function open(link) {
    var line = link.closest(".portal-check");
    var panel = line.querySelector(".portal-check__panel");
    if (panel) {
      var shown = panel.hidden;
      panel.hidden = !shown;
      link.setAttribute("aria-expanded", String(shown));
      if (shown) { panel.firstElementChild.focus(); }
      return;
    }
    link.setAttribute("aria-busy", "true");
    fetch(link.href, { headers: { "X-Fragment": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        panel = document.createElement("div");
        panel.className = "portal-check__panel";
        panel.id = "panneau-" + line.id;
        panel.innerHTML = html;
        line.appendChild(panel);
        link.setAttribute("aria-controls", panel.id);
        link.setAttribute("aria-expanded", "true");
        if (window.htmx) { window.htmx.process(panel); }
        document.dispatchEvent(new CustomEvent("portal:contenu", { detail: { root: panel } }));
        var block = panel.firstElementChild;
        block.setAttribute("tabindex", "-1");
        block.focus();
      })
      .catch(function () {
        window.location.href = link.href;
      })
      .finally(function () { link.removeAttribute("aria-busy"); });
  }

  // Links that open in place say whether they are open.
  document.querySelectorAll("a[data-open]").forEach(function (link) {
    link.setAttribute("aria-expanded", "false");
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-open]");
    if (link) {
      event.preventDefault();
      open(link);
      return;
    }
    // « Prochaine preuve manquante » opens that line when it is on the page.
    var next = event.target.closest("a[data-open-line]");
    if (!next) { return; }
    var line = document.getElementById("ligne-" + next.getAttribute("data-open-line"));
    var opener = line && line.querySelector("a[data-open]");
    if (!opener) { return; }
    event.preventDefault();
    line.scrollIntoView({ block: "start" });
    var panel = line.querySelector(".portal-check__panel");
    if (panel && !panel.hidden) {
      panel.firstElementChild.focus();
    } else {
      open(opener);
    }
  });
})();
