// Enhancements only: every page works without this file.
(function () {
  "use strict";
  // The receipt page asks before it is left, except through its own forms: the code cannot be
  // shown again. (The proof download stays on the page, so the guard comes back after it.)
  if (!document.querySelector("[data-receipt]")) { return; }
  var submitting = false;
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      submitting = true;
      setTimeout(function () { submitting = false; }, 2000);
    });
  });
  window.addEventListener("beforeunload", function (event) {
    if (!submitting) { event.preventDefault(); event.returnValue = ""; }
  });
})();
