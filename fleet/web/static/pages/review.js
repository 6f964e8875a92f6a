// #/review: the alarm queue (GET /api/v1/violations?alarms=1…), with
// filters by type, status, canteen and overdue kept in the route's query.
// Who reviews starts on the alarms to review (status new), who only
// rectifies on those to rectify (confirmed).

import {t, named, statuses} from "../i18n.js";
import {can} from "../me.js";
import {violationTypes} from "../types.js";
import {api, qs} from "../api.js";
import {h, fill, fmtTime} from "../ui.js";
import {empty} from "../widgets/feedback.js";
import {select, act} from "../widgets/form.js";
import {statusBadge, overdueBadge} from "../widgets/badges.js";
import {table} from "../widgets/table.js";
import {go} from "../app.js";
import {dueOf} from "../widgets/alarms.js";

const pageSize = 50;

export async function render(ctx) {
  const q = ctx.query;
  const reviewer = can(ctx.me, "alarms.review");
  const filter = {
    type: q.get("type") || "",
    status: q.has("status") ? q.get("status") : (reviewer ? "new" : "confirmed"),
    canteen_id: q.get("canteen_id") || "",
    overdue: q.get("overdue") || "",
  };
  const typeSel = select({id: "f-type", "aria-label": t("review.type")},
    [["", t("review.type") + t("app.colon") + t("app.all")], ...violationTypes().map(v => [v, named("vt", v)])], filter.type);
  const statusSel = select({id: "f-status", "aria-label": t("review.status")},
    [["", t("review.status") + t("app.colon") + t("app.all")], ...statuses.map(s => [s, named("status", s)])], filter.status);
  const overdueSel = select({id: "f-overdue", "aria-label": t("review.overdue")},
    [["", t("review.overdue") + t("app.colon") + t("app.all")], ["any", t("overdue.any")], ["review", t("overdue.review")],
      ["rectification", t("overdue.rectification")]], filter.overdue);
  const canteenIn = h("input", {id: "f-canteen", type: "search", placeholder: t("review.canteen"), "aria-label": t("review.canteen"),
    value: filter.canteen_id, list: "canteen-ids", autocapitalize: "none", spellcheck: "false"});
  const ids = h("datalist", {id: "canteen-ids"});
  (ctx.me.canteens || []).forEach(c => ids.append(h("option", {value: c})));
  const apply = () => {
    // status is always in the query: "status=" is every status.
    const p = new URLSearchParams();
    if (typeSel.value) p.set("type", typeSel.value);
    p.set("status", statusSel.value);
    if (canteenIn.value.trim()) p.set("canteen_id", canteenIn.value.trim());
    if (overdueSel.value) p.set("overdue", overdueSel.value);
    go("/review?" + p);
  };
  [typeSel, statusSel, overdueSel].forEach(el => el.addEventListener("change", apply));
  canteenIn.addEventListener("change", apply);

  const body = h("tbody");
  body.addEventListener("click", ev => {
    const tr = ev.target.closest("tr[data-href]");
    if (tr && !ev.target.closest("a")) location.hash = tr.dataset.href;
  });
  const count = h("span", {class: "muted"});
  const moreBox = h("div", {class: "more"});
  let rows = 0;
  const load = async beforeID => {
    const res = await api("/violations" + qs(Object.assign({alarms: 1, limit: pageSize, before_id: beforeID}, filter)), {signal: ctx.signal});
    const vs = res.violations || [];
    if (!beforeID) body.replaceChildren();
    for (const v of vs) body.append(row(v));
    rows += vs.length;
    count.textContent = t("review.count", {n: rows});
    fill(moreBox);
    if (!rows) body.append(h("tr", {}, h("td", {colspan: 6}, empty(t("review.empty")))));
    if (vs.length === pageSize) {
      const more = h("button", {type: "button", class: "btn"}, t("app.more"));
      act(more, () => load(vs[vs.length - 1].id));
      moreBox.append(more);
    }
  };
  await load(0);
  // New alarms arrive all the time: reload the first page every minute
  // unless more pages were opened.
  const timer = setInterval(() => {
    if (!document.hidden && rows <= pageSize) { rows = 0; load(0).catch(() => {}); }
  }, 60e3);
  ctx.onLeave(() => clearInterval(timer));
  const quick = !reviewer ? null : h("div", {class: "quick row"},
    [["new", "", "status.new"], ["rectifying", "", "review.toDecide"], ["", "any", "overdue.any"]].map(([st, od, key]) =>
      h("a", {class: "btn small" + (filter.status === st && filter.overdue === od && !filter.type && !filter.canteen_id ? " active" : ""),
        href: "#/review?" + new URLSearchParams(Object.assign({status: st}, od ? {overdue: od} : {}))}, t(key))));
  const refresh = h("button", {type: "button", class: "btn small ghost"}, t("app.refresh"));
  act(refresh, () => { rows = 0; return load(0); });

  ctx.root.append(h("div", {id: "review"},
    h("div", {class: "page-head"}, h("h1", {}, t(reviewer ? "review.title" : "review.titleOperator")),
      h("div", {class: "filters"}, typeSel, statusSel, overdueSel, canteenIn, ids, refresh, count)),
    quick,
    table({class: "alarms-table"}, ["time", "type", "canteen", "camera", "status", "due"].map(k => t("review.col." + k)), body),
    moreBox));
}

function row(v) {
  const href = "#/alarm/" + v.id;
  const due = dueOf(v);
  return h("tr", {class: "clickable", dataset: {href}},
    h("td", {class: "c-time"}, h("a", {href, dataset: {alarm: String(v.id)}}, fmtTime(v.started_at))),
    h("td", {class: "c-type"}, named("vt", v.type)),
    h("td", {class: "c-canteen"}, v.canteen_name || v.canteen_id, v.district ? h("div", {class: "muted small"}, v.district) : null),
    h("td", {class: "c-camera muted"}, v.camera_id),
    h("td", {class: "c-status"}, statusBadge(v.status), " ", overdueBadge(v.overdue)),
    h("td", {class: "c-due" + (due && v.overdue ? " bad" : "")}, due ? fmtTime(due) : t("app.none")));
}
