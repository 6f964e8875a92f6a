// #/dashboard: the regulator's overview. GET /api/v1/dashboard (counts,
// districts, the last 7 days' rates), GET /api/v1/violations (the overdue
// alarms), GET /api/v1/coverage when another period is chosen. Filters
// are in the route's query: #/dashboard?district=…&category=….

import {t, named, categories} from "../i18n.js";
import {api, qs, aborted, soft} from "../api.js";
import {h, fill, pct, pctValue, fmtTime} from "../ui.js";
import {section, empty, errorBox} from "../widgets/feedback.js";
import {select} from "../widgets/form.js";
import {statusBadge, overdueBadge} from "../widgets/badges.js";
import {table} from "../widgets/table.js";
import {draw, pctLines, bars} from "../charts.js";
import {go} from "../app.js";

function ymd(d) {
  const p = n => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function period(days) {
  const to = new Date();
  const from = new Date(to.getFullYear(), to.getMonth(), to.getDate() - (days - 1));
  return {from: ymd(from), to: ymd(to)};
}

function stat(key, label, value, sub) {
  return h("div", {class: "stat card"}, h("div", {class: "stat-label"}, label),
    h("div", {class: "stat-value", dataset: {stat: key}}, String(value ?? 0)),
    sub ? h("div", {class: "stat-sub"}, sub) : null);
}

function rateCard(key, r) {
  return h("div", {class: "stat rate card", dataset: {rate: key}}, h("div", {class: "stat-label"}, t("rate." + key)),
    h("div", {class: "stat-value"}, pct(r)),
    h("div", {class: "stat-sub"}, r && r.den ? `${r.num} / ${r.den}` : t("dash.noData")));
}

function rateCell(r) {
  return h("td", {class: "num", title: r && r.den ? `${r.num} / ${r.den}` : null}, pct(r));
}

export async function render(ctx) {
  const district = ctx.query.get("district") || "";
  const category = ctx.query.get("category") || "";
  const filter = {district, category};
  const [d, overdue] = await Promise.all([
    api("/dashboard" + qs(filter), {signal: ctx.signal}),
    soft(api("/violations" + qs({alarms: 1, overdue: "any", limit: 20}), {signal: ctx.signal})),
  ]);
  const a = d.alarms || {};
  const gw = d.gateways || {}, cam = d.cameras || {};
  const cov = d.coverage || {};
  const total = cov.total || {};
  const districts = d.districts || [];

  // Filters and exports.
  const districtNames = [...new Set([...(d.scope && Array.isArray(d.scope.districts) ? d.scope.districts.filter(x => x !== "*") : []),
    ...districts.map(x => x.district), district].filter(Boolean))].sort();
  const dSel = select({id: "dash-district", "aria-label": t("dash.district")},
    [["", t("dash.district") + t("app.colon") + t("app.all")], ...districtNames.map(x => [x, x])], district);
  const cSel = select({id: "dash-category", "aria-label": t("dash.category")},
    [["", t("dash.category") + t("app.colon") + t("app.all")], ...categories.map(c => [c, named("cat", c)])], category);
  const onFilter = () => go("/dashboard" + qs({district: dSel.value, category: cSel.value}));
  dSel.addEventListener("change", onFilter);
  cSel.addEventListener("change", onFilter);
  const pSel = select({id: "dash-period", "aria-label": t("dash.period")},
    [[7, t("dash.days", {n: 7})], [30, t("dash.days", {n: 30})], [90, t("dash.days", {n: 90})]], 7);
  const exports = h("div", {class: "exports"}, h("span", {class: "muted"}, t("dash.exports")));
  const setExports = days => {
    const p = period(days);
    const cq = Object.assign({}, filter, p);
    exports.replaceChildren(h("span", {class: "muted"}, t("dash.exports") + t("app.colon")),
      h("a", {href: "/api/v1/coverage" + qs(Object.assign({format: "csv"}, cq)), download: "", dataset: {export: "coverage-csv"}}, t("dash.exportCoverageCsv")),
      h("a", {href: "/api/v1/coverage" + qs(Object.assign({format: "xlsx"}, cq)), download: "", dataset: {export: "coverage-xlsx"}}, t("dash.exportCoverageXlsx")),
      h("a", {href: "/api/v1/violations" + qs({alarms: 1, since: p.from, format: "csv"}), download: "", dataset: {export: "alarms-csv"}}, t("dash.exportAlarmsCsv")),
      h("a", {href: "/api/v1/violations" + qs({alarms: 1, since: p.from, format: "xlsx"}), download: "", dataset: {export: "alarms-xlsx"}}, t("dash.exportAlarmsXlsx")));
  };
  setExports(7);

  const rateTitle = h("h2", {}, t("dash.rates", {n: 7}));
  const rates = h("div", {class: "stats rates"});
  const fillRates = tot => fill(rates, ["built", "online", "camera_online", "handling", "rectification", "reply", "reply_on_time"].map(k => rateCard(k, tot[k])));
  fillRates(total);

  const covEl = h("div", {id: "chart-coverage", class: "chart", role: "img", "aria-label": t("dash.chartCoverage")});
  const ratesEl = h("div", {id: "chart-rates", class: "chart", role: "img", "aria-label": t("dash.chartRates")});
  const distEl = h("div", {id: "chart-districts", class: "chart", role: "img", "aria-label": t("dash.chartDistricts")});

  const groupBody = h("tbody");
  const fillGroups = groups => fill(groupBody, (groups || []).length ? groups.map(g => h("tr", {},
    h("td", {}, named("cat", g.category), h("span", {class: "muted"}, " / " + g.district)),
    ["built", "online", "camera_online", "handling", "rectification", "reply", "reply_on_time"].map(k => rateCell((g.total || {})[k])))) :
    h("tr", {}, h("td", {colspan: 8, class: "empty"}, t("dash.noData"))));
  fillGroups(cov.groups);

  const num = {class: "num"};
  const distTable = districts.length ? table({id: "district-table"}, [t("dash.col.district"), [t("dash.col.canteens"), num],
    [t("dash.col.gateways"), num], [t("dash.col.cameras"), num], [t("dash.col.rate"), num]],
  districts.map(x => h("tr", {dataset: {district: x.district}},
      h("th", {scope: "row"}, h("a", {href: "#/dashboard" + qs({district: x.district, category})}, x.district)),
      h("td", {class: "num"}, x.canteens), h("td", {class: "num"}, `${x.gateways_online} / ${x.gateways_total}`),
      h("td", {class: "num"}, `${x.cameras_healthy} / ${x.cameras_total}`),
      h("td", {class: "num"}, pct({num: x.cameras_healthy, den: x.cameras_total})))), {card: false}) : empty(t("dash.noDistricts"));

  let overdueBox;
  if (overdue.error) overdueBox = errorBox(overdue.error);
  else if (!(overdue.violations || []).length) overdueBox = empty(t("dash.noOverdue"));
  else {
    overdueBox = h("ul", {class: "alarm-list", id: "overdue-list"}, overdue.violations.map(v => h("li", {},
      h("a", {href: "#/alarm/" + v.id, dataset: {alarm: String(v.id)}, class: "alarm-row"},
        h("span", {class: "alarm-type"}, named("vt", v.type)),
        h("span", {class: "alarm-where"}, v.canteen_name || v.canteen_id, v.district ? h("span", {class: "muted"}, " · " + v.district) : null),
        h("span", {class: "alarm-when muted"}, fmtTime(v.started_at)),
        h("span", {class: "alarm-badges"}, statusBadge(v.status), overdueBadge(v.overdue))))));
  }

  const overdueTotal = (a.overdue_review || 0) + (a.overdue_rectification || 0);
  ctx.root.append(h("div", {id: "dash"},
    h("div", {class: "page-head"}, h("h1", {}, t("dash.title")), h("div", {class: "filters"}, dSel, cSel, pSel)),
    exports,
    h("div", {class: "stats"},
      stat("canteens", t("dash.canteens"), d.canteens),
      stat("gateways_online", t("dash.gateways"), gw.online, t("dash.ofTotal", {n: gw.total || 0})),
      stat("cameras_healthy", t("dash.cameras"), cam.healthy, t("dash.camerasOf", {n: cam.total || 0, o: cam.online || 0})),
      stat("alarms_new", t("dash.alarmsNew"), a.new, t("dash.alarmsOf", {c: a.confirmed || 0, r: a.rectifying || 0})),
      stat("overdue", t("dash.overdue"), overdueTotal, t("dash.overdueOf", {a: a.overdue_review || 0, b: a.overdue_rectification || 0}))),
    h("section", {class: "rates-block"}, rateTitle, rates),
    h("div", {class: "charts"},
      section(t("dash.chartCoverage"), {}, covEl),
      section(t("dash.chartRates"), {}, ratesEl),
      section(t("dash.chartDistricts"), {class: "card wide"}, distEl)),
    h("div", {class: "cols"},
      section(t("dash.districtTable"), {}, distTable),
      section(t("dash.overdueList"), {}, overdueBox)),
    section(t("dash.groupTable"), {}, table({}, [t("dash.col.group"),
      ...["built", "online", "camera_online", "handling", "rectification", "reply", "reply_on_time"].map(k => [t("rate." + k), {class: "num"}])],
    groupBody, {card: false}))));

  // Charts: drawn once the page is in the document, so they have a size.
  const days = cov.days || [];
  const covOption = ds => pctLines(ds.map(x => x.day), [
    {name: t("rate.online"), data: ds.map(x => pctValue(x.online))},
    {name: t("rate.cameraOnlineLong"), data: ds.map(x => pctValue(x.camera_online))}]);
  const ratesOption = ds => pctLines(ds.map(x => x.day), [
    {name: t("rate.handling"), data: ds.map(x => pctValue(x.handling))},
    {name: t("rate.rectification"), data: ds.map(x => pctValue(x.rectification))},
    {name: t("rate.reply"), data: ds.map(x => pctValue(x.reply))}]);
  const charts = [
    draw(covEl, covOption(days)),
    draw(ratesEl, ratesOption(days)),
    draw(distEl, bars(districts.map(x => x.district), [
      {name: t("dash.gwOnline"), stack: "gw", data: districts.map(x => x.gateways_online)},
      {name: t("dash.gwOffline"), stack: "gw", data: districts.map(x => x.gateways_total - x.gateways_online)},
      {name: t("dash.camHealthy"), stack: "cam", data: districts.map(x => x.cameras_healthy)},
      {name: t("dash.camBad"), stack: "cam", data: districts.map(x => x.cameras_total - x.cameras_healthy)}])),
  ];
  ctx.onLeave(() => charts.forEach(c => c.dispose()));

  pSel.addEventListener("change", async () => {
    const n = Number(pSel.value);
    setExports(n);
    rateTitle.textContent = t("dash.rates", {n});
    pSel.disabled = true;
    try {
      const rep = await api("/coverage" + qs(Object.assign({}, filter, period(n))), {signal: ctx.signal});
      const ds = rep.days || [];
      fillRates(rep.total || {});
      fillGroups(rep.groups);
      charts[0].set(covOption(ds));
      charts[1].set(ratesOption(ds));
    } catch (e) {
      if (!aborted(e)) rates.replaceChildren(errorBox(e));
    } finally {
      pSel.disabled = false;
    }
  });

  // A dashboard left open on a wall screen stays current.
  const timer = setInterval(() => { if (!document.hidden) ctx.rerender(); }, 5 * 60e3);
  ctx.onLeave(() => clearInterval(timer));

  await Promise.all(charts.map(c => c.ready));
  if (!ctx.alive()) return;
  document.body.dataset.ready = "dashboard";
  window.bkFirstPaint = performance.now();
}
