/* Results charts, drawn with the vendored uPlot from the figures the page embeds as JSON.
 * Each variant keeps one colour across charts; interval bands are that colour, translucent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var COLOURS = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207",
    "#be185d", "#4d7c0f", "#334155"];
  var plots = [];

  function fmt(format, digits) {
    if (format === "percent") return function (v) { return v == null ? "—" : (v * 100).toFixed(digits) + " %"; };
    return function (v) { return v == null ? "—" : Math.round(v).toLocaleString("en-US"); };
  }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  function build(el, chart) {
    // The y axis comes worked out (dashboard/charts.py's axis): a range that holds every value
    // and band, ticks at a round step and the precision that keeps their labels distinct.
    var y = chart.axis, show = fmt(chart.format, 2), tick = fmt(chart.format, y ? y.digits : 0), legend = [];
    var series = [{ label: "Day", value: function (u, v) { return v == null ? "—" : new Date(v * 1000).toISOString().slice(0, 10); } }];
    var columns = [chart.x], bands = [];
    chart.series.forEach(function (s, i) {
      var colour = COLOURS[(chart.format === "count" ? Math.floor(i / 2) : i + (el.getAttribute("data-chart") === "lift" ? 1 : 0)) % COLOURS.length];
      series.push({ label: s.label, stroke: colour, width: 2, dash: s.dash ? [6, 4] : undefined,
        value: function (u, v) { return show(v); }, spanGaps: true, points: { size: 7 } });
      legend.push([s.label, colour, s.dash]);
      columns.push(s.values);
      if (s.low && s.high) {
        var lo = columns.length, hi = lo + 1;
        series.push({ label: s.label + " low", stroke: alpha(colour, 0.35), width: 1, value: function (u, v) { return show(v); }, spanGaps: true });
        series.push({ label: s.label + " high", stroke: alpha(colour, 0.35), width: 1, value: function (u, v) { return show(v); }, spanGaps: true });
        columns.push(s.low, s.high);
        bands.push({ series: [hi, lo], fill: alpha(colour, 0.15) });
      }
    });
    var yAxis = { values: function (u, ticks) { return ticks.map(tick); }, size: 80 };
    if (y) yAxis.splits = function () { return y.ticks; };
    var opts = {
      width: Math.max(280, el.clientWidth),
      height: 260,
      series: series,
      bands: bands,
      // Half a day either side, so a single day is a point in the middle, not a year-wide axis.
      scales: { x: { time: true, auto: false, range: [chart.x[0] - 43200, chart.x[chart.x.length - 1] + 43200] },
        y: y ? { auto: false, range: [y.min, y.max] } : { auto: true } },
      axes: [{}, yAxis],
      legend: { show: false }
    };
    var plot = new uPlot(opts, columns, el);
    // Our own legend: one entry per line, without the interval bounds uPlot would list.
    var list = document.createElement("ul");
    list.className = "legend";
    legend.forEach(function (item) {
      var li = document.createElement("li"), swatch = document.createElement("span");
      swatch.className = "swatch" + (item[2] ? " dashed" : "");
      swatch.style.borderColor = item[1];
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(item[0]));
      list.appendChild(li);
    });
    el.appendChild(list);
    el.setAttribute("data-rendered", "true");
    plots.push([plot, el]);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (el) {
    var chart = data[el.getAttribute("data-chart")];
    if (chart && chart.x.length && chart.series.length && window.uPlot) build(el, chart);
  });
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      plots.forEach(function (p) { p[0].setSize({ width: Math.max(280, p[1].clientWidth), height: 260 }); });
    }, 150);
  });
})();
