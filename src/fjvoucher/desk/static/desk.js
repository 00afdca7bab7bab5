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
  function show(status) {
    ["docx", "pdf"].forEach(function (stage) {
      var s = status.stages[stage], bar = document.getElementById("bar-" + stage),
          count = document.getElementById("count-" + stage);
      if (!s || !bar) { return; }
      bar.max = s.total || 1;
      bar.value = s.done;
      count.textContent = s.done + "/" + s.total + " " + count.dataset.unit;
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
