// The regulator dashboard's charts, drawn with the vendored Chart.js (static/vendor/chart.umd.min.js).
// Loaded as a file: the page passes the figures in <script type="application/json" id="dashboard-charts">
// (escaped by the template), never as inline code, so that the Content-Security-Policy can forbid inline
// scripts. Every chart repeats a table printed under it, which is what a reader without JavaScript gets.
// Each chart spec: {canvas, kind: "bar" | "line" | "funnel", labels, series: [{label, values}], axis}.
// A value of null is a group too small to show (fewer than 3 enterprises): the bar is left out.
(function () {
  "use strict";

  const COLOURS = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b45309", "#0e7490"];

  function configFor(spec) {
    const horizontal = spec.kind === "funnel";
    const datasets = spec.series.map((series, index) => ({
      label: series.label,
      data: series.values,
      backgroundColor: COLOURS[index % COLOURS.length],
      borderColor: COLOURS[index % COLOURS.length],
      spanGaps: false,
      tension: 0.2,
    }));
    const valueAxis = { beginAtZero: true, title: { display: Boolean(spec.axis), text: spec.axis || "" } };
    return {
      type: spec.kind === "line" ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: datasets.length > 1 } },
        scales: horizontal ? { x: valueAxis } : { y: valueAxis },
      },
    };
  }

  function draw() {
    const source = document.getElementById("dashboard-charts");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    const specs = JSON.parse(source.textContent);
    specs.forEach((spec) => {
      const canvas = document.getElementById(spec.canvas);
      if (!canvas) {
        return;
      }
      new window.Chart(canvas, configFor(spec));
      canvas.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
