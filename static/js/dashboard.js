// The dashboard's charts, drawn by Chart.js from the numbers the page gives in the
// "dashboard-charts" JSON (the same as its tables). Without JavaScript the tables remain.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart === "undefined") { return; }
  JSON.parse(source.textContent).forEach(function (chart) {
    var canvas = document.getElementById(chart.id);
    if (!canvas) { return; }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (dataset) {
          return { label: dataset.label, data: dataset.data, backgroundColor: dataset.colour };
        })
      },
      options: {
        indexAxis: "y",
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: chart.stacked, beginAtZero: true, ticks: { precision: 0 } },
          y: { stacked: chart.stacked }
        }
      }
    });
  });
})();
