// The order page follows the order's event stream and redraws its live part from the server's own
// HTML (the same template the page was drawn with), without reloading. Without JavaScript, or
// without EventSource, the page shows the state as it was drawn and a reload shows the next.
(function () {
  "use strict";
  var live = document.getElementById("order-live");
  if (!live || !window.EventSource || !window.fetch || live.dataset.finished === "true") {
    return;
  }
  var finalStatuses = (live.dataset.final || "").split(" ");
  var source = new EventSource(live.dataset.events);
  var timer = null;
  var redrawing = false;
  var again = false;

  function redraw() {
    if (live.dataset.finished === "true") { return; }  // drawn in its final state: nothing changes any more
    if (redrawing) { again = true; return; }
    redrawing = true;
    fetch(live.dataset.fragment, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) {
          live.innerHTML = html;
          var status = document.getElementById("order-status");
          if (status && finalStatuses.indexOf(status.dataset.status) >= 0) {
            live.dataset.finished = "true";
            source.close();
          }
        }
      })
      .catch(function () { /* the next event redraws */ })
      .then(function () {
        redrawing = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer === null) {
      timer = window.setTimeout(function () { timer = null; redraw(); }, 150);
    }
  }

  ["status", "logs", "task", "product"].forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      if (kind === "status") {
        try {
          if (finalStatuses.indexOf(JSON.parse(event.data).status) >= 0) { source.close(); }
        } catch (ignored) { /* redraw all the same */ }
      }
      schedule();
    });
  });
}());
