/* ECharts helpers shared by the compare and run pages: theme from the system, resizing. */
"use strict";
(function () {
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const charts = new Map();  // element -> option builder

  function draw(element, option) {
    let chart = echarts.getInstanceByDom(element);
    if (!chart) chart = echarts.init(element, dark.matches ? "dark" : null, { renderer: "canvas" });
    chart.setOption(Object.assign({ backgroundColor: "transparent", animation: false }, option), true);
    charts.set(element, option);
    return chart;
  }

  dark.addEventListener("change", () => {
    for (const [element, option] of charts) {
      const old = echarts.getInstanceByDom(element);
      if (old) old.dispose();
      draw(element, option);
    }
  });
  window.addEventListener("resize", () => {
    for (const element of charts.keys()) { const c = echarts.getInstanceByDom(element); if (c) c.resize(); }
  });

  function asNumber(value) {
    if (value === null || value === undefined || value === "") return null;
    const n = typeof value === "number" ? value : Number(value);
    return Number.isFinite(n) ? n : null;
  }

  window.MPCharts = { draw, asNumber };
})();
