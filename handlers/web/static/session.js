// Warn before the dashboard signs someone out for being idle, and let them stay
// (WCAG 2.2.1). Without JavaScript the footer states the limit instead.
(function () {
  "use strict";
  var body = document.body;
  var idle = Number(body.getAttribute("data-idle-seconds"));
  var token = body.getAttribute("data-csrf-token");
  if (!idle || !token) { return; }
  var warnBefore = 120;
  var warning = document.getElementById("timeout-warning");
  var stay = document.getElementById("timeout-stay");
  var message = document.getElementById("timeout-message");
  var warnTimer, endTimer;

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warning.hidden = true;
    warnTimer = setTimeout(function () {
      warning.hidden = false;
      stay.focus();
    }, (idle - warnBefore) * 1000);
    endTimer = setTimeout(function () {
      // The words come in the page's own language.
      message.textContent = warning.getAttribute("data-signed-out");
      stay.hidden = true;
    }, idle * 1000);
  }

  stay.addEventListener("click", function () {
    var form = new URLSearchParams();
    form.set("csrf_token", token);
    fetch("/keep-alive", { method: "POST", body: form, credentials: "same-origin" })
      .then(function (response) {
        if (response.ok) { schedule(); } else { window.location.assign("/sign-in"); }
      });
  });
  schedule();
})();
