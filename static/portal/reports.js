// The report's charts, drawn with uPlot (static/vendor/uplot) from the page's own JSON
// (#report-data): the same numbers as the tables beside them. No request of its own.
(function () {
  "use strict";
  var source = document.getElementById("report-data");
  if (!source || typeof uPlot === "undefined") return;
  var data = JSON.parse(source.textContent);
  var COLOURS = ["#2454d6", "#12a150", "#d92d20", "#b54708", "#7a5af8"];
  var UNITS = { percent: " %", seconds: " s", count: "", number: "" };
  var charts = [];

  function tick(kind) {
    return function (u, splits) {
      return splits.map(function (v) { return v == null ? "" : (Math.round(v * 10) / 10) + UNITS[kind]; });
    };
  }

  function options(chart, width) {
    var opts = {
      width: width, height: width < 420 ? 200 : 230,
      series: [{ label: data.time ? (data.by === "hour" ? "Hour" : "Day") : data.by }],
      axes: [{}, { values: tick(chart.kind), size: 56 }],
      scales: { x: { time: data.time } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    if (data.time) {
      // Days and hours in the client's zone, whatever the browser's.
      opts.tzDate = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), data.zone); };
      if (data.x.length === 1) {
        // One day (or hour) alone: a range around it, not uPlot's years either side.
        var half = data.by === "hour" ? 1800 : 43200;
        opts.scales.x.range = function () { return [data.x[0] - half, data.x[0] + half]; };
      }
    } else {
      opts.scales.x.range = function () { return [-0.5, Math.max(0.5, data.x.length - 0.5)]; };
      opts.axes[0] = { values: function (u, splits) {
        return splits.map(function (i) { return Number.isInteger(i) && data.labels[i] != null ? data.labels[i] : ""; });
      }, incrs: [1], rotate: 0 };
      opts.series[0].value = function (u, i) { return i == null ? "" : data.labels[Math.round(i)] || ""; };
    }
    chart.series.forEach(function (s, n) {
      var one = { label: s.label, stroke: COLOURS[n % COLOURS.length], width: 2, spanGaps: false,
                  value: function (u, v) { return v == null ? "—" : v + UNITS[chart.kind]; } };
      if (!data.time) {
        // Agents, campaigns, clients are no line: a dot per row and series.
        one.paths = function () { return null; };
        one.points = { show: true, size: 9, fill: COLOURS[n % COLOURS.length] };
      }
      opts.series.push(one);
    });
    return opts;
  }

  document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
    var chart = data.charts.find(function (c) { return c.id === el.dataset.chart; });
    if (!chart) return;
    var x = data.time ? data.x : data.x.map(function (i, n) { return n; });
    var series = chart.series.map(function (s) { return s.values; });
    var width = Math.max(260, el.clientWidth || 320);
    var plot = new uPlot(options(chart, width), [x].concat(series), el);
    el.dataset.drawn = "1";
    charts.push({ el: el, plot: plot });
  });

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (c) {
        var width = Math.max(260, c.el.clientWidth || 320);
        c.plot.setSize({ width: width, height: width < 420 ? 200 : 230 });
      });
    }, 150);
  });
})();
