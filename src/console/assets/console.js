// calproxy console: progressive enhancement only; every page works without it.
"use strict";

(function () {
  // Sign-in: report the browser's time zone so times are shown in it.
  document.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
    try {
      input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      input.value = "";
    }
  });

  // Copy buttons next to read-only fields.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      var done = function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      };
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          button.textContent = "Press Ctrl+C";
        });
      } else {
        button.textContent = "Press Ctrl+C";
      }
    });
  });

  // The "why busy" panel: move the keyboard focus to it.
  var why = document.getElementById("why");
  if (why && location.hash === "#why") { why.focus(); }

  // Connections: follow running syncs, reload when one ends.
  var bars = document.querySelectorAll("[data-progress-for]");
  var running = Array.prototype.some.call(bars, function (b) { return !b.hidden; });
  if (running) {
    var poll = function () {
      fetch("/connections/progress", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var still = false;
          data.connections.forEach(function (c) {
            var el = document.querySelector('[data-progress-for="' + c.id + '"]');
            if (!el) { return; }
            if (!c.running) { return; }
            still = true;
            var bar = el.querySelector("progress");
            bar.max = Math.max(c.calendars_total, 1);
            bar.value = c.calendars_done;
            el.querySelector(".progress-text").textContent = (c.listed
              ? c.calendars_done + " of " + c.calendars_total + " calendars, "
              : "listing calendars, ") + c.events_fetched + " events fetched";
          });
          if (still) { setTimeout(poll, 1000); } else { location.replace("/connections"); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }

  // Traffic: new exchanges appear while the page is open.
  var table = document.querySelector("table[data-live]");
  if (table) {
    var body = table.querySelector("tbody");
    var cursor = table.getAttribute("data-cursor") || "0";
    var live = table.getAttribute("data-live");
    var tick = function () {
      var sep = live.indexOf("?") >= 0 ? "&" : "?";
      fetch(live + sep + "after=" + encodeURIComponent(cursor), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data) {
            cursor = String(data.cursor);
            if (data.rows) {
              var t = document.createElement("template");
              t.innerHTML = data.rows;
              body.appendChild(t.content);
            }
          }
          setTimeout(tick, 2000);
        })
        .catch(function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 2000);
  }
})();
