// The review of a bulk deposit: after a refused confirmation, focus goes to the summary
// of the errors, whose links lead to each file at fault.
(function () {
  "use strict";
  var summary = document.getElementById("resume-erreurs");
  if (summary) { summary.focus(); }
})();
