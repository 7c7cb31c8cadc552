/* The experiment form's variant rows: each strategy list offers only the strategies of the surface
   chosen above (options carry data-surface). A saved experiment's lists are narrowed by the
   server already; this narrows a new one's as its surface is chosen, including rows added later
   (a static file, not an inline script, for the Content-Security-Policy). */
(function () {
  "use strict";
  function narrow() {
    var surface = document.getElementById("id_surface");
    if (!surface) { return; }
    var lists = document.querySelectorAll('select[name^="variants-"][name$="-strategy"]');
    lists.forEach(function (list) {
      Array.prototype.forEach.call(list.options, function (option) {
        var other = option.dataset.surface && surface.value && option.dataset.surface !== surface.value;
        option.hidden = !!other;
        option.disabled = !!other;
        if (other && option.selected) { list.value = ""; }
      });
    });
  }
  function start() {
    var surface = document.getElementById("id_surface");
    if (!surface) { return; }
    surface.addEventListener("change", narrow);
    document.addEventListener("formset:added", narrow);
    narrow();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
