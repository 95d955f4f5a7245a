// Previews (highlighting, masks), sortable tables, for the pages in previews.py and compare.py.
// A file, not inline code: the CSP allows no inline scripts.
"use strict";
(function () {
  // Highlight code blocks (text, JSON, YAML...) with the vendored highlight.js; large blocks
  // stay plain, so a big file does not freeze the page.
  function highlight() {
    if (!window.hljs) return;
    document.querySelectorAll("pre code[data-lang]").forEach(function (el) {
      if (el.dataset.lang !== "plaintext" && el.textContent.length < 200000) {
        window.hljs.highlightElement(el);
      }
    });
  }

  // Sortable tables: a header's button sorts by that column (numbers as numbers), again to
  // reverse. Sorts by a cell's data-sort when it has one (an image cell sorts by its path).
  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      var button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var cell = row.cells[col];
          if (!cell) return "";
          return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var numeric = x !== "" && y !== "" && isFinite(x) && isFinite(y);
          var cmp = numeric ? Number(x) - Number(y) : x.localeCompare(y);
          return asc ? cmp : -cmp;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  // A segmentation mask is a PNG of class ids (0 = nothing): drawn in one colour per class.
  var PALETTE = [[230, 25, 75], [60, 180, 75], [67, 99, 216], [245, 130, 49],
                 [145, 30, 180], [66, 212, 244], [240, 50, 230], [154, 99, 36]];
  function drawMask(canvas) {
    var img = new Image();
    img.onload = function () {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      var ctx = canvas.getContext("2d");
      ctx.drawImage(img, 0, 0);
      var data = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var px = data.data;
      for (var i = 0; i < px.length; i += 4) {
        var id = px[i];
        if (id === 0) { px[i + 3] = 0; continue; }
        var c = PALETTE[id % PALETTE.length];
        px[i] = c[0]; px[i + 1] = c[1]; px[i + 2] = c[2]; px[i + 3] = 255;
      }
      ctx.putImageData(data, 0, 0);
      canvas.dataset.drawn = "true";
    };
    img.src = canvas.dataset.maskSrc;
  }

  function start() {
    highlight();
    document.querySelectorAll("table.sortable").forEach(sortable);
    document.querySelectorAll("canvas.mask[data-mask-src]").forEach(drawMask);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
