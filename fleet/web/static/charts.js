// Charts with the vendored Apache ECharts (static/vendor/echarts.min.js,
// a classic script: window.echarts), loaded on the first chart drawn:
// only the dashboard has charts, and running ECharts' 1.1 MB costs a
// fresh page more than the rest of the UI (about 0.9 s of a core on the
// test machine). Its versioned URL comes from index.html's
// <meta name="bk-echarts">. Each chart resizes with the window and is
// disposed when its page is left.

import {t} from "./i18n.js";
import {h} from "./ui.js";

const palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f"];
const replaceMerge = {replaceMerge: ["series", "xAxis", "yAxis"]};

/** Whether ECharts is loaded. */
function available() { return typeof window.echarts === "object" && !!window.echarts.init; }

let loading = null;

/** Loads ECharts once; resolves whether it is available. A failed load is tried again by the next call. */
function load() {
  if (available()) return Promise.resolve(true);
  if (!loading) {
    loading = new Promise(res => {
      const meta = document.querySelector('meta[name="bk-echarts"]');
      const el = document.createElement("script");
      el.src = meta ? meta.content : "/static/vendor/echarts.min.js";
      el.onload = () => res(available());
      el.onerror = () => { loading = null; el.remove(); res(false); };
      document.head.append(el);
    });
  }
  return loading;
}

/**
 * Draws option into el once ECharts has loaded. Returns {chart, ready,
 * set, dispose} at once: ready resolves when the first frame is rendered
 * (or el shows a note that charts are unavailable); set before that
 * replaces what is drawn first.
 */
export function draw(el, option) {
  let chart = null, onResize = null, disposed = false, later = null;
  const ready = load().then(ok => {
    if (disposed) return;
    if (!ok) {
      el.replaceChildren(h("p", {class: "empty"}, t("dash.noCharts")));
      return;
    }
    chart = window.echarts.init(el, null, {renderer: "canvas"});
    const rendered = new Promise(res => {
      const timer = setTimeout(res, 1000);
      chart.on("finished", () => { clearTimeout(timer); res(); });
    });
    chart.setOption(Object.assign({animation: false, color: palette, textStyle: {fontFamily: "inherit"}}, option));
    if (later) chart.setOption(later, replaceMerge);
    onResize = () => chart.resize();
    addEventListener("resize", onResize);
    return rendered;
  });
  return {
    get chart() { return chart; },
    ready,
    set(o) { if (chart) chart.setOption(o, replaceMerge); else later = o; },
    dispose() {
      disposed = true;
      if (onResize) removeEventListener("resize", onResize);
      if (chart) chart.dispose();
    },
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
