// The lineage graph (lineage.html): cytoscape laid out left to right by dagre, from the JSON
// of the page's graph route. Clicking (or Enter on the list) a node opens its lineage.
"use strict";
(function () {
  var box = document.getElementById("lineage-graph");
  if (!box || !window.cytoscape) return;
  var COLOURS = { version: "#0b57a4", run: "#1a6b2f", link: "#7a4d00", hidden: "#9aa3ad" };
  fetch(box.dataset.graphUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) throw new Error("lineage: " + r.status);
      return r.json();
    })
    .then(function (graph) {
      var cy = window.cytoscape({
        container: box,
        elements: graph,
        wheelSensitivity: 0.3,
        maxZoom: 1.6,
        minZoom: 0.05,
        textureOnViewport: graph.nodes.length > 150,
        hideEdgesOnViewport: graph.nodes.length > 150,
        style: [
          { selector: "node", style: {
              "background-color": function (n) { return COLOURS[n.data("kind")] || "#555"; },
              "label": "data(label)", "font-size": 11, "color": "#1b1f24",
              "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "ellipsis",
              "text-max-width": 160, "width": 18, "height": 18,
              "shape": function (n) { return n.data("kind") === "run" ? "ellipse" : "round-rectangle"; } } },
          { selector: "node[?root]", style: { "border-width": 4, "border-color": "#ffbf47", "width": 24, "height": 24 } },
          { selector: "node[kind = 'hidden']", style: { "shape": "diamond", "color": "#555e68" } },
          { selector: "edge", style: {
              "width": 1.5, "line-color": "#9aa3ad", "target-arrow-color": "#9aa3ad",
              "target-arrow-shape": "triangle", "curve-style": "bezier",
              "label": "data(kind)", "font-size": 9, "color": "#555e68", "text-rotation": "autorotate" } },
        ],
        layout: { name: window.cytoscapeDagre ? "dagre" : "breadthfirst", rankDir: "LR",
                  nodeSep: 25, rankSep: 90, animate: false, fit: true, padding: 20 },
      });
      cy.on("tap", "node", function (event) {
        var url = event.target.data("url");
        if (url) window.location.assign(url);
      });
      cy.on("mouseover", "node", function (event) {
        box.style.cursor = event.target.data("url") ? "pointer" : "default";
      });
      cy.on("mouseout", "node", function () { box.style.cursor = "default"; });
      box.dataset.ready = "true";
      window.cairnLineage = cy; // for tests and the console
    })
    .catch(function (err) {
      box.textContent = "The graph could not be drawn (" + err.message + "); the list below has every node.";
    });
})();
