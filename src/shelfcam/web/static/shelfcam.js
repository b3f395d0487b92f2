// shelfcam admin UI: keep "3 min ago" times current, and drop a timeline row that a live
// update delivered twice. No other behaviour lives here (htmx does the rest).
(function () {
  "use strict";
  function ago(seconds) {
    var s = Math.round(Math.abs(seconds));
    var text;
    if (s < 5) { return "just now"; }
    if (s < 60) { text = s + " s"; }
    else if (s < 3600) { text = Math.floor(s / 60) + " min"; }
    else if (s < 172800) { text = Math.floor(s / 3600) + " h"; }
    else { text = Math.floor(s / 86400) + " d"; }
    return seconds > 0 ? text + " ago" : "in " + text;
  }
  function refresh() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(t)) { el.textContent = ago((now - t) / 1000); }
    });
  }
  function dedupe() {
    var seen = {};
    document.querySelectorAll("#events > li.event").forEach(function (li) {
      if (seen[li.id]) { li.remove(); } else { seen[li.id] = true; }
    });
  }
  document.addEventListener("htmx:afterSettle", function () { dedupe(); refresh(); });
  setInterval(refresh, 30000);
})();
