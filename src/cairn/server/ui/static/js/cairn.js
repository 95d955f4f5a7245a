// Cairn's own script for every page. No inline scripts anywhere (the CSP forbids them).
"use strict";
(function () {
  // Every write htmx sends carries the session's CSRF token (forms also carry it as a field).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });
  // After htmx swaps in a new folder of files, move focus to it for keyboard and screen
  // reader users, as a page load would.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "files") {
      var heading = document.getElementById("files-title");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
    }
  });
})();
