// #/audit: the audit log (GET /api/v1/audit), newest first, filtered by
// actor, action, canteen and dates (kept in the route's query), paged
// with before_id.

import {t, named} from "../i18n.js";
import {api, qs} from "../api.js";
import {h, fill, fmtTime, isTime} from "../ui.js";
import {empty} from "../widgets/feedback.js";
import {field, act} from "../widgets/form.js";
import {table} from "../widgets/table.js";
import {go} from "../app.js";

const pageSize = 100;
const actions = ["login", "review", "rectification", "decision", "live_view", "user_add", "user_delete",
  "invite_add", "invite_redeem", "viewing_set", "camera_map", "gateway_bind",
  // Join links and device sessions (issue 15 item 4).
  "join_link_add", "join_link_revoke", "join", "device_end", "user_disable", "user_enable"];

export async function render(ctx) {
  const q = ctx.query;
  const filter = {actor: q.get("actor") || "", action: q.get("action") || "", canteen_id: q.get("canteen_id") || "",
    since: q.get("since") || "", until: q.get("until") || ""};
  const actor = h("input", {value: filter.actor, placeholder: "user:…", autocapitalize: "none", spellcheck: "false"});
  const action = h("select", {}, h("option", {value: ""}, t("app.all")),
    [...new Set(actions.concat(filter.action ? [filter.action] : []))].map(a => h("option", {value: a, selected: a === filter.action},
      named("act", a))));
  const canteen = h("input", {value: filter.canteen_id, autocapitalize: "none", spellcheck: "false"});
  const since = h("input", {type: "date", value: filter.since});
  const until = h("input", {type: "date", value: filter.until});
  const apply = h("button", {type: "submit", class: "btn"}, t("app.filter"));
  const form = h("form", {class: "filters wrap"}, field(t("audit.actor"), actor), field(t("audit.action"), action),
    field(t("audit.canteen"), canteen), field(t("audit.since"), since), field(t("audit.until"), until), apply);
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    go("/audit" + qs({actor: actor.value.trim(), action: action.value, canteen_id: canteen.value.trim(), since: since.value,
      until: until.value}));
  });

  const body = h("tbody");
  const more = h("div", {class: "more"});
  let n = 0;
  const load = async before => {
    const res = await api("/audit" + qs(Object.assign({limit: pageSize, before_id: before}, filter)), {signal: ctx.signal});
    const es = res.entries || [];
    for (const e of es) body.append(row(e));
    n += es.length;
    fill(more);
    if (!n) body.append(h("tr", {}, h("td", {colspan: 6}, empty(t("audit.empty")))));
    if (es.length === pageSize) {
      const b = h("button", {type: "button", class: "btn"}, t("app.more"));
      act(b, () => load(es[es.length - 1].id));
      more.append(b);
    }
  };
  await load(0);
  ctx.root.append(h("div", {id: "audit"},
    h("div", {class: "page-head"}, h("h1", {}, t("audit.title"))), form,
    table({class: "audit-table"}, ["at", "actor", "action", "outcome", "target", "detail"].map(k => t("audit.col." + k)), body),
    more));
}

function row(e) {
  const outcome = e.outcome || "ok";
  const target = [
    e.canteen_id ? h("a", {href: "#/canteen/" + encodeURIComponent(e.canteen_id)}, e.canteen_id) : null,
    e.camera_id ? h("span", {}, " " + e.camera_id) : null,
    e.violation_id ? h("a", {href: "#/alarm/" + e.violation_id, dataset: {alarm: String(e.violation_id)}}, " #" + e.violation_id) : null,
  ];
  const span = isTime(e.from) || isTime(e.to) ? h("div", {class: "muted small"}, fmtTime(e.from) + " → " + fmtTime(e.to)) : null;
  return h("tr", {dataset: {entry: String(e.id)}},
    h("td", {class: "nowrap"}, fmtTime(e.at)),
    h("td", {}, e.actor, e.role ? h("div", {class: "muted small"}, named("role", e.role)) : null),
    h("td", {}, named("act", e.action)),
    h("td", {}, h("span", {class: "badge " + (outcome === "ok" ? "ok" : "bad")}, named("audit", outcome))),
    h("td", {}, target, span),
    h("td", {class: "detail"}, e.detail || ""));
}
