// A run's history charts (run.html): one uPlot line chart per numeric metric, against _step,
// from the JSON of the page's metrics route.
"use strict";
(function () {
  var box = document.getElementById("charts");
  if (!box || !window.uPlot) return;
  fetch(box.dataset.metricsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) throw new Error("metrics: " + r.status);
      return r.json();
    })
    .then(function (data) {
      box.textContent = "";
      var names = Object.keys(data.series);
      if (!names.length) {
        var p = document.createElement("p");
        p.className = "muted";
        p.textContent = "No numeric history logged.";
        box.appendChild(p);
        return;
      }
      var width = Math.max(280, Math.min(box.clientWidth, 560) - 10);
      names.forEach(function (name) {
        var figure = document.createElement("figure");
        figure.className = "chart";
        figure.dataset.metric = name;
        box.appendChild(figure);
        new window.uPlot({
          title: name,
          width: width,
          height: 220,
          scales: { x: { time: false } },
          axes: [{ label: "step" }, {}],
          series: [{ label: "step" }, { label: name, stroke: "#0b57a4", width: 2, spanGaps: true }],
        }, [data.steps, data.series[name]], figure);
      });
      if (data.omitted.length) {
        var more = document.createElement("p");
        more.className = "muted";
        more.textContent = "Not charted: " + data.omitted.join(", ");
        box.appendChild(more);
      }
      box.dataset.ready = "true";
    })
    .catch(function (err) {
      box.textContent = "The charts could not be drawn (" + err.message + ").";
    });
})();
