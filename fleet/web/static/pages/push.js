// #/push: the instant push (SPEC §4 "Instant push"). Three sections: the
// channels the principal may see with its subscription to each (kinds,
// violation types, lowest severity, an SMS phone; PUT/DELETE
// /api/v1/push/subscriptions/{channel}); adding a channel (a user their
// own 企业微信 or 钉钉 robot; an admin any kind and scope, with the robots'
// base URL and the SMS template; POST /api/v1/push/channels); and the
// delivery log of the principal's scope (GET /api/v1/push/deliveries).
// Secrets are never shown: the API answers "••••" for them.

import {t, named} from "../i18n.js";
import {api, qs} from "../api.js";
import {h, fmtTime} from "../ui.js";
import {empty, section, toast} from "../widgets/feedback.js";
import {select, field, act, twoStep} from "../widgets/form.js";
import {table} from "../widgets/table.js";
import {can} from "../me.js";

export async function render(ctx) {
  const [chs, subs, log] = await Promise.all([
    api("/push/channels", {signal: ctx.signal}),
    // A token has no subscriptions of its own (400 not_a_user).
    api("/push/subscriptions", {signal: ctx.signal, quiet401: true}).catch(e => { if (e.name === "AbortError") throw e; return {subscriptions: []}; }),
    api("/push/deliveries" + qs({limit: 100, state: ctx.query.get("state") || ""}), {signal: ctx.signal}),
  ]);
  const mine = new Map((subs.subscriptions || []).map(s => [s.channel_id, s]));
  const admin = !!chs.may_share;
  ctx.root.append(h("div", {id: "push"},
    h("div", {class: "page-head"}, h("h1", {}, t("push.title"))),
    h("p", {class: "muted"}, t("push.intro")),
    section(t("push.channels"), {id: "push-channels"}, channelList(ctx, chs, mine)),
    section(t("push.add"), {id: "push-add"}, addForm(ctx, chs, admin)),
    section(t("push.log"), {id: "push-log"}, logTable(ctx, log.deliveries || []))));
}

function scopeText(c) {
  return named("pushScope", c.scope) + (c.scope_id ? " · " + c.scope_id : "");
}

function channelList(ctx, chs, mine) {
  const list = chs.channels || [];
  if (!list.length) return empty(t("push.noChannels"));
  return h("div", {class: "stack"}, list.map(c => channelCard(ctx, chs, c, mine.get(c.id))));
}

function channelCard(ctx, chs, c, sub) {
  const kinds = h("div", {class: "checks"}, (chs.item_kinds || []).map(k => h("label", {class: "check"},
    h("input", {type: "checkbox", name: "kind", value: k, checked: !sub || !sub.kinds.length || sub.kinds.includes(k)}),
    " " + named("pushKind", k))));
  const sev = select({name: "min_severity"}, (chs.severities || []).map(s => [s, named("severity", s)]), (sub && sub.min_severity) || "low");
  const types = h("input", {name: "types", value: sub ? (sub.types || []).join(", ") : "", placeholder: t("push.typesPh"),
    autocapitalize: "none", spellcheck: "false"});
  const phone = c.kind === "sms" ? h("input", {name: "phone", type: "tel", value: (sub && sub.phone) || ""}) : null;
  const err = h("p", {class: "form-error", role: "alert"});
  const save = h("button", {type: "button", class: "btn primary small", dataset: {subscribe: c.id}},
    sub ? t("push.update") : t("push.subscribe"));
  act(save, async () => {
    const body = {kinds: [...kinds.querySelectorAll("input:checked")].map(i => i.value),
      types: types.value.split(/[,，\s]+/).map(s => s.trim()).filter(Boolean), min_severity: sev.value};
    if (body.kinds.length === (chs.item_kinds || []).length) body.kinds = [];
    if (phone) body.phone = phone.value.trim();
    await api("/push/subscriptions/" + encodeURIComponent(c.id), {method: "PUT", body});
    toast(t("push.subscribed"), "ok");
    ctx.rerender();
  }, err);
  const off = sub ? twoStep(t("push.unsubscribe"), t("app.confirmRemove"), async () => {
    await api("/push/subscriptions/" + encodeURIComponent(c.id), {method: "DELETE"});
    ctx.rerender();
  }, err) : null;
  const mayDelete = (chs.editable || []).includes(c.id);
  const del = mayDelete ? twoStep(t("app.delete"), t("app.confirmDelete"), async () => {
    await api("/push/channels/" + encodeURIComponent(c.id), {method: "DELETE"});
    ctx.rerender();
  }, err) : null;
  const secrets = Object.entries(c.config || {}).filter(([k, v]) => typeof v === "string" && v && k !== "format" && k !== "body_format")
    .map(([k, v]) => h("code", {class: "small", dataset: {cfg: k}}, k + "=" + v));
  return h("div", {class: "card inner", dataset: {channel: c.id, subscribed: sub ? "1" : "0"}},
    h("div", {class: "row-between"}, h("strong", {}, c.name || c.id),
      h("span", {class: "badge"}, named("pushChannel", c.kind)), h("span", {class: "muted small"}, scopeText(c))),
    h("div", {class: "muted small wrap"}, secrets),
    h("form", {class: "grid-form"}, field(t("push.kinds"), kinds), field(t("push.types"), types, t("push.typesHelp")),
      field(t("push.minSeverity"), sev), phone ? field(t("push.phone"), phone) : null,
      h("div", {class: "form-actions"}, save, off, del, err)));
}

function addForm(ctx, chs, admin) {
  const kinds = admin ? (chs.kinds || []) : ["wecom", "dingtalk"];
  const kind = select({name: "kind"}, kinds.map(k => [k, named("pushChannel", k)]), "wecom");
  const name = h("input", {name: "name", required: true});
  const scope = select({name: "scope"}, ["all", "canteen", "district", "user"].map(s => [s, named("pushScope", s)]), "canteen");
  const scopeID = h("input", {name: "scope_id", autocapitalize: "none", spellcheck: "false"});
  const inputs = {
    key: h("input", {name: "key", autocomplete: "off", spellcheck: "false"}),
    access_token: h("input", {name: "access_token", autocomplete: "off", spellcheck: "false"}),
    secret: h("input", {name: "secret", autocomplete: "off", spellcheck: "false"}),
    format: select({name: "format"}, [["markdown", "Markdown"], ["text", t("push.formatText")]], "markdown"),
    base_url: h("input", {name: "base_url", type: "url", placeholder: "https://…"}),
    url: h("input", {name: "url", type: "url", placeholder: "https://…"}),
    method: select({name: "method"}, [["POST", "POST"], ["GET", "GET"]], "POST"),
    headers: h("textarea", {name: "headers", rows: 2, placeholder: "Authorization: Bearer …"}),
    body: h("textarea", {name: "body", rows: 3, maxlength: 4096, placeholder: '{"to":"{{phone}}","msg":"{{text}}"}'}),
    body_format: select({name: "body_format"}, [["json", "JSON"], ["form", "form"], ["text", "text"]], "json"),
    success_status: h("input", {name: "success_status", type: "number", min: 0, max: 599}),
    success_contains: h("input", {name: "success_contains"}),
  };
  const fields = {};
  for (const [k, el] of Object.entries(inputs)) fields[k] = field(t("push.cfg." + k), el);
  const show = {
    wecom: ["key", "format", "base_url"], dingtalk: ["access_token", "secret", "format", "base_url"],
    sms: ["url", "method", "headers", "body", "body_format", "success_status", "success_contains"], webhook: ["url", "secret"],
  };
  const scopeFields = [field(t("push.scope"), scope), field(t("push.scopeID"), scopeID)];
  const sync = () => {
    for (const [k, f] of Object.entries(fields)) f.hidden = !show[kind.value].includes(k) || (!admin && k === "base_url");
    scopeFields[1].hidden = scope.value === "all" || scope.value === "user";
  };
  kind.addEventListener("change", sync);
  scope.addEventListener("change", sync);
  sync();
  const err = h("p", {class: "form-error", role: "alert"});
  const save = h("button", {type: "submit", class: "btn primary", id: "push-add-submit"}, t("push.addSubmit"));
  act(save, async () => {
    const config = {};
    for (const k of show[kind.value]) {
      if (!admin && k === "base_url") continue;
      const v = inputs[k].value.trim();
      if (!v) continue;
      if (k === "success_status") config[k] = Number(v);
      else if (k === "headers") {
        config.headers = {};
        for (const line of v.split("\n")) {
          const i = line.indexOf(":");
          if (i > 0) config.headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
      } else config[k] = v;
    }
    const body = {kind: kind.value, name: name.value.trim(), config};
    if (admin) {
      body.scope = scope.value;
      body.scope_id = scope.value === "user" ? ctx.me.id : scope.value === "all" ? "" : scopeID.value.trim();
    }
    await api("/push/channels", {method: "POST", body});
    toast(t("push.added"), "ok");
    ctx.rerender();
  }, err);
  return h("form", {class: "grid-form", id: "push-add-form"}, field(t("push.kind"), kind), field(t("push.name"), name),
    admin ? scopeFields : h("p", {class: "muted small"}, t("push.ownOnly")),
    Object.values(fields), h("div", {class: "form-actions"}, save, err));
}

function logTable(ctx, ds) {
  const state = ctx.query.get("state") || "";
  const filter = select({"aria-label": t("push.state")}, [["", t("push.state") + t("app.colon") + t("app.all")],
    ...["pending", "sent", "failed"].map(s => [s, named("pushState", s)])], state);
  filter.addEventListener("change", () => { location.hash = "#/push" + qs({state: filter.value}); });
  const rows = ds.map(d => h("tr", {dataset: {delivery: String(d.id), state: d.state}},
    h("td", {class: "nowrap"}, fmtTime(d.committed_at)),
    h("td", {}, d.item && d.item.violation_id && can(ctx.me, "alarms.view")
      ? h("a", {href: "#/alarm/" + d.item.violation_id}, named("pushKind", d.kind) + " #" + d.item.violation_id)
      : named("pushKind", d.kind), h("div", {class: "muted small"}, d.canteen_id)),
    h("td", {}, d.channel_name || d.channel_id, h("div", {class: "muted small"}, named("pushChannel", d.channel_kind) +
      (d.recipient ? " · " + d.recipient : ""))),
    h("td", {}, h("span", {class: "badge " + ({sent: "ok", failed: "bad"}[d.state] || "warn")}, named("pushState", d.state))),
    h("td", {class: "num"}, String(d.tries)),
    h("td", {class: "detail", dataset: {error: d.last_error ? "1" : "0"}}, d.last_error || ""),
    h("td", {class: "nowrap"}, d.sent_at ? fmtTime(d.sent_at) : d.next_at ? t("push.next", {at: fmtTime(d.next_at)}) : "")));
  return [h("div", {class: "filters"}, filter), rows.length ? table({class: "push-log"},
    ["committed", "item", "channel", "state", "tries", "error", "sent"].map(k => t("push.col." + k)), rows) : empty(t("push.noLog"))];
}
