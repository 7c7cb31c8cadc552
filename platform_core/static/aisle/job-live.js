/* The job change form's live progress panel: refetch it every 3 s while the job is active, reload
   the page once it is not. The panel's URL comes from data-job-progress-url on its container (a
   static file, not an inline script, for the Content-Security-Policy). */
(function () {
  "use strict";
  function start() {
    var box = document.querySelector("[data-job-progress-url]");
    if (!box) { return; }
    var url = box.dataset.jobProgressUrl;
    function refresh() {
      var panel = document.getElementById("job-live");
      if (!panel || panel.dataset.active !== "1") { return; }
      fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          panel.outerHTML = html;
          var fresh = document.getElementById("job-live");
          if (fresh && fresh.dataset.active === "1") { setTimeout(refresh, 3000); } else { window.location.reload(); }
        })
        .catch(function () { setTimeout(refresh, 5000); });
    }
    setTimeout(refresh, 3000);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
