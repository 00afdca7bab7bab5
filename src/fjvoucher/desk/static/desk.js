// The workbench's only script: tell the server this tab is open, and move the merge's progress bars.
"use strict";
(function () {
  var HEARTBEAT_MS = 15000;
  function beat() { fetch("/heartbeat", {method: "POST", credentials: "same-origin"}).catch(function () {}); }
  if (!document.getElementById("stopped")) {
    setInterval(beat, HEARTBEAT_MS);
  }

  var progress = document.getElementById("progress");
  if (!progress || progress.dataset.running !== "1") { return; }
  // A stage waiting on LibreOffice (a whole batch converts at once) shows the moving, indeterminate bar:
  // it never claims pages that are not done, and the clerk sees it is working.
  var WAIT_MS = 1000, last = {};
  function show(status) {
    var now = Date.now();
    ["docx", "pdf"].forEach(function (stage) {
      var s = status.stages[stage], bar = document.getElementById("bar-" + stage),
          count = document.getElementById("count-" + stage);
      if (!s || !bar) { return; }
      var key = s.done + "/" + s.total;
      if (!last[stage] || last[stage].key !== key) { last[stage] = {key: key, at: now}; }
      var waiting = status.running && (s.total === 0 || s.done < s.total) && now - last[stage].at > WAIT_MS;
      if (waiting) { bar.removeAttribute("value"); } else { bar.max = s.total || 1; bar.value = s.done; }
      count.textContent = (s.total ? s.done + "/" + s.total : "…") + " " + count.dataset.unit;
    });
    document.getElementById("elapsed").textContent = status.elapsed.toFixed(1);
  }
  function poll() {
    fetch("/merge/status", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      show(s);
      if (s.running) { setTimeout(poll, 500); } else { window.location.reload(); }
    }).catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
