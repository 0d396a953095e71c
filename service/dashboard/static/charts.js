/* Results charts, drawn with the vendored uPlot from the figures the page embeds as JSON.
 * Each variant keeps one colour across charts; interval bands are that colour, translucent. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var COLOURS = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207",
    "#be185d", "#4d7c0f", "#334155"];
  var plots = [];
  // Up to this many points a chart marks each one and its interval bar; denser ones read as lines.
  var SPARSE = 24;

  function fmt(format, digits) {
    if (format === "percent") return function (v) { return v == null ? "—" : (v * 100).toFixed(digits) + " %"; };
    return function (v) { return v == null ? "—" : Math.round(v).toLocaleString("en-US"); };
  }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  // A phone-width chart gets the sparser x ticks (dashboard/charts.py's time_axis).
  function xTicks(chart, width) { return chart.xaxis[width < 560 ? "narrow" : "wide"]; }

  function build(el, chart) {
    // The axes come worked out (dashboard/charts.py): for y a range that holds every value
    // and band, ticks at a round step and the precision that keeps their labels distinct;
    // for x the periods' range (hours at first, then days) and ticks labelled to match.
    var y = chart.axis, show = fmt(chart.format, 2), tick = fmt(chart.format, y ? y.digits : 0), legend = [];
    var hourly = chart.periods.indexOf("hour") >= 0;
    var series = [{ label: hourly ? "Hour (UTC)" : "Day", value: function (u, v) {
      return v == null ? "—" : new Date(v * 1000).toISOString().slice(0, hourly ? 16 : 10).replace("T", " "); } }];
    var columns = [chart.x], bands = [], whiskers = [], sparse = chart.x.length <= SPARSE;
    chart.series.forEach(function (s, i) {
      var colour = COLOURS[(chart.format === "count" ? Math.floor(i / 2) : i + (el.getAttribute("data-chart") === "lift" ? 1 : 0)) % COLOURS.length];
      // Every point of a sparse chart is drawn, so a single hour or day is a visible dot.
      series.push({ label: s.label, stroke: colour, width: 2, dash: s.dash ? [6, 4] : undefined,
        value: function (u, v) { return show(v); }, spanGaps: true, points: sparse ? { show: true, size: 7, fill: colour } : { size: 5 } });
      legend.push([s.label, colour, s.dash]);
      columns.push(s.values);
      if (s.low && s.high) {
        var lo = columns.length, hi = lo + 1;
        series.push({ label: s.label + " low", stroke: alpha(colour, 0.35), width: 1, value: function (u, v) { return show(v); }, spanGaps: true, points: { show: false } });
        series.push({ label: s.label + " high", stroke: alpha(colour, 0.35), width: 1, value: function (u, v) { return show(v); }, spanGaps: true, points: { show: false } });
        columns.push(s.low, s.high);
        bands.push({ series: [hi, lo], fill: alpha(colour, 0.15) });
        whiskers.push([s.low, s.high, colour]);
      }
    });
    var yAxis = { size: 80, values: function (u, ticks) {
      var labels = ticks.map(tick);
      el.setAttribute("data-y-labels", JSON.stringify(labels));
      return labels;
    } };
    if (y) yAxis.splits = function () { return y.ticks; };
    var xAxis = {
      splits: function (u) { return xTicks(chart, u.width).ticks; },
      values: function (u, ticks) {
        var mine = xTicks(chart, u.width), labels = ticks.map(function (t) {
          var at = mine.ticks.indexOf(t);
          return at < 0 ? "" : mine.labels[at];
        });
        el.setAttribute("data-x-labels", JSON.stringify(labels));
        return labels;
      },
      size: 50
    };
    // The shaded area between the bounds has no width at a single point and no height where
    // the bounds meet; so each interval of a sparse chart, and any interval thinner than
    // 4 px, is also a translucent bar at least 4 px tall. data-bands: intervals shown.
    function drawWhiskers(u) {
      var ctx = u.ctx, ratio = window.devicePixelRatio || 1, wide = 4 * ratio, least = 4 * ratio, shown = 0;
      ctx.save();
      whiskers.forEach(function (w) {
        ctx.fillStyle = alpha(w[2], 0.3);
        chart.x.forEach(function (x, i) {
          if (w[0][i] == null || w[1][i] == null) return;
          shown += 1;
          var cx = u.valToPos(x, "x", true), top = u.valToPos(w[1][i], "y", true), bottom = u.valToPos(w[0][i], "y", true);
          if (!sparse && bottom - top >= least) return;  // the shaded band shows it
          var height = Math.max(least, bottom - top), mid = (top + bottom) / 2;
          ctx.fillRect(cx - wide / 2, mid - height / 2, wide, height);
        });
      });
      ctx.restore();
      el.setAttribute("data-bands", String(shown));
    }
    var opts = {
      width: Math.max(280, el.clientWidth),
      height: 260,
      series: series,
      bands: bands,
      // Half a period either side, so a single hour or day is a point mid-chart.
      scales: { x: { time: true, auto: false, range: [chart.xaxis.min, chart.xaxis.max] },
        y: y ? { auto: false, range: [y.min, y.max] } : { auto: true } },
      axes: [xAxis, yAxis],
      hooks: { draw: [drawWhiskers] },
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
