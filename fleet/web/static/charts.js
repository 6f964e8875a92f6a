// Charts with the vendored Apache ECharts (static/vendor/echarts.min.js,
// loaded by index.html as a classic script: window.echarts). Each chart
// resizes with the window and is disposed when its page is left.

import {t} from "./i18n.js";
import {h} from "./ui.js";

const palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"];

/** Whether ECharts is loaded. */
export function available() { return typeof window.echarts === "object" && !!window.echarts.init; }

/**
 * Draws option into el and resolves when the first frame is rendered.
 * Returns {chart, ready, dispose}; without ECharts, a note in el.
 */
export function draw(el, option) {
  if (!available()) {
    el.replaceChildren(h("p", {class: "empty"}, t("dash.noCharts")));
    return {chart: null, ready: Promise.resolve(), dispose() {}, set() {}};
  }
  const chart = window.echarts.init(el, null, {renderer: "canvas"});
  const ready = new Promise(res => {
    const timer = setTimeout(res, 1000);
    chart.on("finished", () => { clearTimeout(timer); res(); });
  });
  chart.setOption(Object.assign({animation: false, color: palette, textStyle: {fontFamily: "inherit"}}, option));
  const onResize = () => chart.resize();
  addEventListener("resize", onResize);
  return {
    chart, ready,
    set(o) { chart.setOption(o, {replaceMerge: ["series", "xAxis", "yAxis"]}); },
    dispose() { removeEventListener("resize", onResize); chart.dispose(); },
  };
}

const pctAxis = {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}};

function tooltipPct(params) {
  const ps = Array.isArray(params) ? params : [params];
  const lines = [ps[0] ? ps[0].axisValueLabel : ""];
  for (const p of ps) lines.push(`${p.marker}${p.seriesName}: ${p.value === null || p.value === undefined ? "—" : p.value + "%"}`);
  return lines.join("<br>");
}

/** A line chart of percent series over days: series [{name, data}]. */
export function pctLines(days, series) {
  return {
    grid: {left: 44, right: 16, top: 40, bottom: 28},
    legend: {top: 4, type: "scroll"},
    tooltip: {trigger: "axis", formatter: tooltipPct},
    xAxis: {type: "category", data: days.map(d => d.slice(5)), boundaryGap: false},
    yAxis: pctAxis,
    series: series.map(s => ({name: s.name, type: "line", data: s.data, connectNulls: false, symbolSize: 6,
      smooth: false})),
  };
}

/** A bar chart of counts per category, stacked where series share a stack. */
export function bars(categories, series) {
  return {
    grid: {left: 40, right: 16, top: 40, bottom: 28, containLabel: true},
    legend: {top: 4, type: "scroll"},
    tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
    xAxis: {type: "category", data: categories, axisLabel: {interval: 0, rotate: categories.length > 6 ? 30 : 0}},
    yAxis: {type: "value", minInterval: 1},
    series: series.map(s => ({name: s.name, type: "bar", stack: s.stack, data: s.data, barMaxWidth: 28})),
  };
}
