// Report charts drawn with Apache ECharts (vendored) from each chart's data-chart attribute.
// Progressive enhancement only: the same numbers are in the table beneath every chart.
(function () {
  if (typeof echarts === "undefined") return;
  var yuan = function (fen) {
    return "¥" + (fen / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  };
  var short = function (fen) {
    var y = fen / 100;
    if (Math.abs(y) >= 1e8) return (y / 1e8).toFixed(1) + "亿";
    if (Math.abs(y) >= 1e4) return (y / 1e4).toFixed(1) + "万";
    return y.toFixed(0);
  };
  function option(spec) {
    // richText tooltips draw on the canvas: no inline styles for the CSP to refuse.
    var tooltip = { renderMode: "richText", trigger: spec.type === "pie" ? "item" : "axis",
                    valueFormatter: yuan };
    if (spec.type === "pie") {
      return {
        tooltip: tooltip, legend: { type: "scroll", bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], name: spec.series[0].name,
          data: spec.labels.map(function (label, i) { return { name: label, value: spec.series[0].data[i] }; }),
          label: { formatter: "{b}\n{d}%" } }]
      };
    }
    var horizontal = spec.type === "hbar";
    var category = { type: "category", data: spec.labels, axisLabel: { interval: 0, width: 90, overflow: "truncate" } };
    var value = { type: "value", axisLabel: { formatter: short } };
    return {
      tooltip: tooltip, legend: { top: 0 },
      grid: { left: horizontal ? 110 : 60, right: 20, top: 30, bottom: horizontal ? 30 : 60 },
      xAxis: horizontal ? value : category, yAxis: horizontal ? category : value,
      series: spec.series.map(function (s) {
        return { name: s.name, type: spec.type === "line" ? "line" : "bar", data: s.data, smooth: true };
      })
    };
  }
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    var spec = JSON.parse(el.getAttribute("data-chart"));
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(spec));
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
