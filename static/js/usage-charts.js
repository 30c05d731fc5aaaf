// Draws the usage charts with uPlot (static/vendor/uplot). No inline script (CSP): each chart's
// data is in a <script type="application/json"> that Django's json_script wrote, named by the
// figure's data-chart attribute. Without JavaScript the figure's table shows the same numbers.
//
// A chart's data: {kind: "stacked" | "lines", unit, granularity: "hour" | "day",
//                  x: [epoch seconds of each bucket's start], series: [{label, values}]}
(function () {
  "use strict";

  const COLOURS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#862e9c", "#0b7285", "#c92a2a", "#5c940d", "#868e96"];
  const HEIGHT = 240;

  function utc(ts) {
    return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
  }

  function number(value, unit) {
    if (value == null) return "–";
    const text = (unit === "ms" && value < 10 ? Math.round(value * 10) / 10 : Math.round(value)).toLocaleString("en");
    return unit === "ms" ? text + " ms" : text;
  }

  const HOUR = uPlot.fmtDate("{HH}:00");
  const DAY = uPlot.fmtDate("{MM}-{DD}");

  // Axis labels in UTC and 24 h time: hours as 14:00 (the day's date at midnight), days as 12-04.
  function timeLabels(granularity) {
    return (u, ticks) => ticks.map((ts) => {
      const d = utc(ts);
      if (granularity === "day") return DAY(d);
      return d.getHours() === 0 ? DAY(d) : HOUR(d);
    });
  }

  // Counts step by whole numbers (never 0.2 requests); milliseconds may not.
  const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];

  // Stacked bars: each series is drawn as the running total up to it, the top of the stack
  // first, so later (lower) series paint over the earlier ones; the legend shows each
  // series' own value, not the running total.
  function stacked(spec) {
    const totals = [];
    let running = spec.x.map(() => 0);
    spec.series.forEach((s) => {
      running = running.map((v, i) => v + (s.values[i] || 0));
      totals.push(running);
    });
    const order = spec.series.map((_, i) => i).reverse();
    return {
      data: [spec.x, ...order.map((i) => totals[i])],
      series: order.map((i) => ({
        label: spec.series[i].label,
        fill: COLOURS[i % COLOURS.length],
        stroke: COLOURS[i % COLOURS.length],
        width: 0,
        points: {show: false},
        paths: uPlot.paths.bars({size: [0.8, 40], gap: 1}),
        value: (u, v, si, idx) => (idx == null ? "–" : number(spec.series[i].values[idx], spec.unit)),
      })),
    };
  }

  function lines(spec) {
    return {
      data: [spec.x, ...spec.series.map((s) => s.values)],
      series: spec.series.map((s, i) => ({
        label: s.label,
        stroke: COLOURS[i % COLOURS.length],
        width: 2,
        spanGaps: false,
        points: {show: spec.x.length < 60},
        value: (u, v) => number(v, spec.unit),
      })),
    };
  }

  function draw(figure) {
    const source = document.getElementById(figure.getAttribute("data-chart"));
    const canvas = figure.querySelector(".usage-chart-canvas");
    if (!source || !canvas || typeof uPlot === "undefined") return;
    const spec = JSON.parse(source.textContent);
    const built = spec.kind === "stacked" ? stacked(spec) : lines(spec);
    const width = () => Math.max(200, canvas.clientWidth);
    const options = {
      width: width(),
      height: HEIGHT,
      tzDate: utc,
      legend: {live: true},
      cursor: {y: false, points: {show: spec.kind !== "stacked"}},
      scales: {x: {time: true}, y: {range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1]}},
      axes: [
        {values: timeLabels(spec.granularity), space: 48},
        {size: 52, space: 28, incrs: spec.unit === "ms" ? undefined : COUNT_STEPS,
         values: (u, ticks) => ticks.map((t) => (Math.round(t * 10) / 10).toLocaleString("en"))},
      ],
      series: [{label: spec.granularity === "day" ? "Day (UTC)" : "Hour (UTC)",
                value: (u, ts) => (ts == null ? "–" : uPlot.fmtDate(
                  spec.granularity === "day" ? "{YYYY}-{MM}-{DD}" : "{YYYY}-{MM}-{DD} {HH}:00")(utc(ts)))},
               ...built.series],
    };
    // Until the pointer is over the chart, the legend shows the latest bucket with data.
    const latest = spec.x.map((_, i) => i).filter((i) => spec.series.some((s) => s.values[i] != null && s.values[i] !== 0)).pop();
    const showLatest = (u) => { if (latest != null && u.cursor.idx == null) u.setLegend({idx: latest}); };
    options.hooks = {ready: [showLatest], setCursor: [showLatest]};
    const plot = new uPlot(options, built.data, canvas);
    figure.classList.add("drawn");
    new ResizeObserver(() => plot.setSize({width: width(), height: HEIGHT})).observe(canvas);
  }

  function drawAll() {
    document.querySelectorAll("figure[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
