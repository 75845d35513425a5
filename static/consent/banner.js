/*
 * The cookie banner of the group's other web sites, served by the Trust Center (issue 12, point 8).
 * Plain ES2017, no build step; it loads nothing but its configuration and its stylesheet, both from
 * the portal that serves it. A site includes it once:
 *
 *   <script src="https://<portal>/static/consent/banner.js" data-site="https://www.example.no" defer></script>
 *
 * (data-origin works too; without either, the page's own origin). Elements that may load only with
 * consent are marked as the sites mark them, and nothing of them loads until it is given:
 *
 *   <script data-category-consent="analytics" consent-src="/js/counter.js"></script>
 *   <iframe data-category-consent="marketing" consent-src="https://ads.example/frame" title="…"></iframe>
 *
 * A script gets a new <script> element with the src (so that it runs); an iframe or an image gets
 * its src. Any element with data-cookie-settings opens the banner again. The choice is kept in a
 * first-party cookie on the site (tc_consent: the random subject it is recorded under, and the
 * answers) and recorded in the portal's consent ledger. A browser that sends Global Privacy
 * Control (navigator.globalPrivacyControl) has refused analytics and marketing.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || !script.src) { return; }
  const PORTAL = new URL(script.src).origin;
  const SITE = script.getAttribute("data-site") || script.getAttribute("data-origin") || window.location.origin;
  const COOKIE = "tc_consent";
  const MAX_AGE_SECONDS = 183 * 24 * 3600;
  const CATEGORIES = ["functional", "analytics", "marketing"];
  const GPC_REFUSED = ["analytics", "marketing"];
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const ID = "tc-cookie-banner";

  let config = null;
  let configPromise = null;
  let gpc = navigator.globalPrivacyControl === true;
  let banner = null;
  let returnFocusTo = null;

  // --- The choice, in a first-party cookie --------------------------------------------------------

  function readStored() {
    const entry = document.cookie.split("; ").find((part) => part.startsWith(COOKIE + "="));
    if (!entry) { return null; }
    let value;
    try {
      value = JSON.parse(decodeURIComponent(entry.slice(COOKIE.length + 1)));
    } catch (error) {
      return null;
    }
    if (!value || typeof value !== "object" || !value.choices || typeof value.choices !== "object") { return null; }
    const choices = {};
    const versions = {};
    CATEGORIES.forEach((category) => {
      if (typeof value.choices[category] === "boolean") { choices[category] = value.choices[category]; }
      if (value.versions && Number.isInteger(value.versions[category])) { versions[category] = value.versions[category]; }
    });
    return {
      subject: typeof value.subject === "string" && UUID.test(value.subject) ? value.subject : null,
      choices: choices,
      versions: versions,
      recorded: value.recorded !== false,
    };
  }

  function store(stored) {
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + encodeURIComponent(JSON.stringify(stored)) +
      "; Path=/; Max-Age=" + MAX_AGE_SECONDS + "; SameSite=Lax" + secure;
  }

  function allowed(choices) {
    const result = {};
    CATEGORIES.forEach((category) => {
      result[category] = choices[category] === true && !(gpc && GPC_REFUSED.includes(category));
    });
    return result;
  }

  // --- What waits for consent ---------------------------------------------------------------------

  function activate(allowedCategories) {
    document.querySelectorAll("[data-category-consent][consent-src]").forEach((element) => {
      const category = element.getAttribute("data-category-consent");
      if (allowedCategories[category] !== true || element.hasAttribute("data-consent-activated")) { return; }
      element.setAttribute("data-consent-activated", "");
      const source = element.getAttribute("consent-src");
      if (element.tagName === "SCRIPT") {
        // A script element that was parsed without a src never runs: a new one with the src does.
        const runnable = document.createElement("script");
        Array.from(element.attributes).forEach((attribute) => {
          if (!["consent-src", "type", "data-consent-activated"].includes(attribute.name)) {
            runnable.setAttribute(attribute.name, attribute.value);
          }
        });
        runnable.src = source;
        element.parentNode.insertBefore(runnable, element.nextSibling);
      } else {
        element.setAttribute("src", source);
      }
    });
  }

  function removeCookiesOf(categories) {
    if (!config) { return; }
    const host = window.location.hostname.split(".");
    config.categories.forEach((category) => {
      if (!categories.includes(category.category)) { return; }
      category.cookies.forEach((cookie) => {
        // The cookie may have been set for this host or for a domain above it.
        for (let index = 0; index < Math.max(1, host.length - 1); index += 1) {
          const domain = host.slice(index).join(".");
          document.cookie = cookie.name + "=; Max-Age=0; Path=/; Domain=" + domain;
        }
        document.cookie = cookie.name + "=; Max-Age=0; Path=/";
      });
    });
  }

  // --- The portal ------------------------------------------------------------------------------------

  function loadConfig() {
    if (!configPromise) {
      const language = (document.documentElement.getAttribute("lang") || "en").trim();
      const url = PORTAL + "/api/v1/consent/cookies/config/?site=" + encodeURIComponent(SITE) +
        "&lang=" + encodeURIComponent(language || "en");
      configPromise = fetch(url, { mode: "cors", credentials: "omit" })
        .then((response) => {
          if (!response.ok) { throw new Error("the cookie banner's configuration: HTTP " + response.status); }
          return response.json();
        })
        .then((loaded) => {
          config = loaded;
          gpc = gpc || loaded.gpc === true;
          return loaded;
        });
    }
    return configPromise;
  }

  function record(stored) {
    return fetch(PORTAL + "/api/v1/consent/cookies/choice/", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        site: SITE,
        subject: stored.subject,
        choices: {
          functional: stored.choices.functional === true,
          analytics: stored.choices.analytics === true,
          marketing: stored.choices.marketing === true,
        },
      }),
    }).then((response) => {
      if (!response.ok) { throw new Error("the cookie choice was not recorded: HTTP " + response.status); }
      return response.json();
    }).then((answer) => {
      const recorded = { subject: answer.subject, choices: answer.choices, versions: answer.versions, recorded: true };
      store(recorded);
      return recorded;
    }).catch((error) => {
      // The choice holds on this site all the same; it is sent again on the next page.
      store(Object.assign({}, stored, { recorded: false }));
      console.warn(error.message);
      return stored;
    });
  }

  // --- The banner ------------------------------------------------------------------------------------

  function element(tag, attributes, text) {
    const made = document.createElement(tag);
    Object.keys(attributes || {}).forEach((name) => { made.setAttribute(name, attributes[name]); });
    if (text !== undefined) { made.textContent = text; }
    return made;
  }

  function needsAsking(stored, loaded) {
    if (!stored) { return loaded.categories.length > 0; }
    return loaded.categories.some((category) => {
      const answer = stored.choices[category.category];
      if (typeof answer !== "boolean") { return true; }
      return answer && category.fresh && (stored.versions[category.category] || 0) < category.version;
    });
  }

  function buildBanner(loaded, stored) {
    const texts = loaded.texts;
    const section = element("section", { id: ID, class: "tc-cookie-banner", "aria-labelledby": ID + "-title", lang: loaded.language });
    const inner = element("div", { class: "tc-cookie-banner__inner" });
    section.appendChild(inner);
    inner.appendChild(element("h2", { id: ID + "-title", class: "tc-cookie-banner__title", tabindex: "-1" }, texts.title));
    inner.appendChild(element("p", { class: "tc-cookie-banner__text" }, texts.intro));
    if (gpc) {
      inner.appendChild(element("p", { class: "tc-cookie-banner__gpc", id: ID + "-gpc" }, texts.gpc_note));
    }
    inner.appendChild(element("p", { class: "tc-cookie-banner__text tc-cookie-banner__small" }, texts.necessary));
    const form = element("form", { class: "tc-cookie-banner__form" });
    const fieldset = element("fieldset", { class: "tc-cookie-banner__categories" });
    fieldset.appendChild(element("legend", { class: "tc-cookie-banner__legend" }, texts.legend));
    loaded.categories.forEach((category) => {
      const refused = gpc && GPC_REFUSED.includes(category.category);
      const row = element("div", { class: "tc-cookie-banner__category" });
      const box = element("input", {
        type: "checkbox",
        id: ID + "-" + category.category,
        name: category.category,
        "aria-describedby": ID + "-" + category.category + "-text",
      });
      box.checked = !refused && stored !== null && stored.choices[category.category] === true;
      box.disabled = refused;
      row.appendChild(box);
      row.appendChild(element("label", { for: ID + "-" + category.category }, category.title));
      row.appendChild(element("p", { id: ID + "-" + category.category + "-text", class: "tc-cookie-banner__small" },
        category.description + (refused ? " " + texts.gpc_off : "")));
      fieldset.appendChild(row);
    });
    form.appendChild(fieldset);
    const buttons = element("div", { class: "tc-cookie-banner__buttons" });
    [["accept_all", texts.accept_all], ["reject_all", texts.reject_all], ["save", texts.save]].forEach((pair) => {
      buttons.appendChild(element("button", { type: "button", class: "tc-cookie-banner__button", "data-choice": pair[0] }, pair[1]));
    });
    form.appendChild(buttons);
    form.addEventListener("submit", (event) => { event.preventDefault(); });
    buttons.addEventListener("click", (event) => {
      const button = event.target.closest("[data-choice]");
      if (button) { choose(button.getAttribute("data-choice"), form); }
    });
    inner.appendChild(form);
    return section;
  }

  function showBanner(loaded, stored, focus) {
    if (banner) { banner.remove(); }
    if (!document.querySelector("link[data-tc-cookie-banner]")) {
      document.head.appendChild(element("link", {
        rel: "stylesheet", href: new URL("banner.css", script.src).href, "data-tc-cookie-banner": "",
      }));
    }
    banner = buildBanner(loaded, stored);
    document.body.insertBefore(banner, document.body.firstChild);
    if (focus) { banner.querySelector("h2").focus(); }
  }

  function hideBanner() {
    if (banner) { banner.remove(); banner = null; }
    if (returnFocusTo) { returnFocusTo.focus(); returnFocusTo = null; }
  }

  function choose(action, form) {
    const choices = {};
    config.categories.forEach((category) => {
      const refused = gpc && GPC_REFUSED.includes(category.category);
      let accepted = false;
      if (action === "accept_all") { accepted = true; }
      if (action === "save") { accepted = form.elements[category.category].checked; }
      choices[category.category] = accepted && !refused;
    });
    const before = readStored();
    const versions = {};
    config.categories.forEach((category) => { versions[category.category] = category.version; });
    const stored = { subject: before ? before.subject : null, choices: choices, versions: versions, recorded: false };
    store(stored);
    hideBanner();
    const withdrawn = before ? CATEGORIES.filter((category) => allowed(before.choices)[category] && !allowed(choices)[category]) : [];
    record(stored).then(() => {
      if (withdrawn.length) {
        // What already runs cannot be stopped: the page starts again without it.
        removeCookiesOf(withdrawn);
        window.location.reload();
      }
    });
    activate(allowed(choices));
  }

  function openSettings(trigger) {
    returnFocusTo = trigger || null;
    loadConfig().then((loaded) => { showBanner(loaded, readStored(), true); })
      .catch((error) => { console.warn(error.message); });
  }

  // --- On every page ---------------------------------------------------------------------------------

  function start() {
    let stored = readStored();
    if (stored) {
      activate(allowed(stored.choices));
      const refusedNow = GPC_REFUSED.filter((category) => gpc && stored.choices[category] === true);
      if (refusedNow.length || !stored.recorded) {
        // Global Privacy Control refuses what an earlier choice accepted: the ledger hears of it.
        refusedNow.forEach((category) => { stored.choices[category] = false; });
        record(stored);
      }
    }
    document.addEventListener("click", (event) => {
      const trigger = event.target.closest("[data-cookie-settings]");
      if (trigger) {
        event.preventDefault();
        openSettings(trigger);
      }
    });
    loadConfig().then((loaded) => {
      stored = readStored();
      if (needsAsking(stored, loaded)) { showBanner(loaded, stored, false); }
    }).catch((error) => { console.warn(error.message); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
