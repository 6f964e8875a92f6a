// #/complaints: the complaint tickets (投诉举报) of one's scope (GET
// /api/v1/complaints): a regulator's queue of the district's tickets,
// open ones first by default; an operator sees those about its canteens.

import {t} from "../i18n.js";
import {api, qs} from "../api.js";
import {h, fmtTime} from "../ui.js";
import {empty} from "../widgets/feedback.js";
import {select} from "../widgets/form.js";
import {table} from "../widgets/table.js";
import {go} from "../app.js";
import {categoryName, loadCategories, stateBadge} from "../widgets/complaints.js";

export async function render(ctx) {
  const open = ctx.query.has("open") ? ctx.query.get("open") : "1";
  const openSel = select({id: "cp-f-open", "aria-label": t("cpq.filter")},
    [["1", t("cpq.open")], ["", t("app.all")]], open);
  openSel.addEventListener("change", () => go("/complaints?open=" + openSel.value));
  await loadCategories(ctx.signal);
  const res = await api("/complaints" + qs({open: open || undefined, limit: 200}), {signal: ctx.signal});
  const cs = res.complaints || [];
  const body = h("tbody", {id: "complaints-body"});
  body.addEventListener("click", ev => {
    const tr = ev.target.closest("tr[data-href]");
    if (tr && !ev.target.closest("a")) location.hash = tr.dataset.href;
  });
  for (const c of cs) {
    const href = "#/complaint/" + c.id;
    body.append(h("tr", {class: "clickable", dataset: {href, complaint: String(c.id)}},
      h("td", {}, h("a", {href}, fmtTime(c.received_at))),
      h("td", {}, c.canteen_name || c.canteen_id, h("div", {class: "muted small"}, c.district)),
      h("td", {}, categoryName(c.category)),
      h("td", {class: "c-text"}, c.text.length > 60 ? c.text.slice(0, 60) + "…" : c.text),
      h("td", {}, stateBadge(c.state), c.overdue ? h("span", {class: "badge bad"}, t("cpq.overdue." + c.overdue)) : null),
      h("td", {}, fmtTime(c.state === "received" ? c.accept_due : c.reply_due))));
  }
  if (!cs.length) body.append(h("tr", {}, h("td", {colspan: 6}, empty(t("cpq.empty")))));
  ctx.root.append(h("div", {id: "complaints"},
    h("div", {class: "page-head"}, h("h1", {}, t("cpq.title")), h("div", {class: "filters"}, openSel)),
    table({class: "complaints-table"}, ["received", "canteen", "category", "text", "state", "due"].map(k => t("cpq.col." + k)), body)));
}
