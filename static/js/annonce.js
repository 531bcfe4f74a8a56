// The dossier's announcements: one live region (#depot-annonce) that is on the page
// before anything is said in it, so that screen readers read what lands there.
(function () {
  "use strict";

  // message: what to say; focus: true after the user's own action (the result of an
  // upload), false for what happens on its own (a check decided by the worker).
  window.segurAnnonce = function (message, focus) {
    var region = document.getElementById("depot-annonce");
    if (!region || !message) { return; }
    // Emptied first, so that the same sentence twice is still read.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
      region.classList.add("portal-annonce--active");
      if (focus) { region.focus(); }
    }, 60);
  };
})();
