// The portal's cookie banner, enhanced: the choice is sent without leaving the page, so that
// nothing typed in the page's own form is lost. Without this file the banner's form posts and
// comes back to the page (consent/cookie_views.py), which is how it works without JavaScript.
(function () {
  "use strict";
  const banner = document.getElementById("cookie-banner");
  if (!banner || !window.fetch) { return; }
  const form = banner.querySelector("form.cookie-choice");
  form.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (!button || form.dataset.sending === "yes") { return; }
    event.preventDefault();
    form.dataset.sending = "yes";
    const body = new FormData(form);
    body.append(button.name, button.value);
    // The answer is a redirect back to this page; its cookie is all that is needed of it.
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "manual" })
      .then(function (response) {
        if (response.type !== "opaqueredirect" && !response.ok) { throw new Error(String(response.status)); }
        const saved = document.createElement("p");
        saved.className = "container py-2 mb-0 small";
        saved.setAttribute("role", "status");
        saved.textContent = banner.getAttribute("data-saved-text");
        banner.replaceChildren(saved);
        banner.removeAttribute("aria-labelledby");
        banner.setAttribute("aria-label", banner.getAttribute("data-title"));
      })
      .catch(function () {
        // The page's own answer says what went wrong (too many choices, say): send it the plain way.
        form.dataset.sending = "no";
        form.requestSubmit ? form.requestSubmit(button) : form.submit();
      });
  });
})();
