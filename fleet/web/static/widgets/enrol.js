// The canteen page's gateways: the canteen's gateways with their state
// (GET /api/v1/gateways, filtered to the canteen), and, for who may enrol
// gateways there (its operator, admins), one-time enrolment codes: make one
// (POST …/enrolment-codes), shown once with the command an installer
// types on the gateway, the codes made and their state, revoke an unused
// one (DELETE …/enrolment-codes/{id}).

import {t} from "../i18n.js";
import {api, soft} from "../api.js";
import {h, fill, fmtTime, fmtRel, isTime} from "../ui.js";
import {section, empty, errorBox, loading} from "./feedback.js";
import {select, act, twoStep} from "./form.js";

// gatewayList draws the canteen's gateways into a section; refresh
// redraws it (the page calls it with its camera refresh).
export function gatewayList(canteenID, signal) {
  const box = h("div", {id: "gateways"}, loading());
  const refresh = async () => {
    const r = await soft(api("/gateways", {signal}));
    if (r.error) { fill(box, errorBox(r.error)); return; }
    const gws = (r.gateways || []).filter(g => g.canteen_id === canteenID);
    fill(box, gws.length ? h("ul", {class: "plain-list"}, gws.map(g => h("li", {dataset: {gateway: g.id, online: String(!!g.online)}},
      h("b", {}, g.id), " ",
      h("span", {class: "badge " + (g.online ? "ok" : "bad")}, g.online ? t("gw.online") : t("gw.offline")),
      h("div", {class: "muted small"}, [g.version, isTime(g.last_seen) ? t("gw.col.seen") + t("app.colon") + fmtRel(g.last_seen) : null,
        t("gw.col.cameras") + t("app.colon") + (g.cameras || []).length].filter(Boolean).join(" · "))))) :
      empty(t("canteen.noGateways")));
  };
  return {el: section(t("canteen.gateways"), {id: "gateways-card"}, box), refresh};
}

// enrolSection is the enrolment codes of a canteen.
export function enrolSection(canteenID, signal) {
  const enc = encodeURIComponent(canteenID);
  const name = h("input", {id: "enrol-name", maxlength: "64", placeholder: t("enrol.name"), "aria-label": t("enrol.name"),
    autocomplete: "off", spellcheck: "false"});
  const ttl = select({id: "enrol-ttl", "aria-label": t("enrol.ttl")},
    [[1, t("my.hours", {n: 1})], [24, t("my.hours", {n: 24})], [72, t("my.daysN", {n: 3})], [168, t("my.daysN", {n: 7})]], 24);
  const create = h("button", {type: "button", id: "enrol-create", class: "btn primary"}, t("enrol.create"));
  const err = h("p", {class: "form-error", role: "alert"});
  const result = h("div", {class: "invite-result", "aria-live": "polite"});
  const list = h("div", {id: "enrol-codes"});
  const load = async () => {
    const r = await soft(api("/canteens/" + enc + "/enrolment-codes", {signal}));
    fill(list, r.error ? errorBox(r.error) : codeList(r.codes || [], load));
  };
  act(create, async () => {
    const r = await api("/canteens/" + enc + "/enrolment-codes", {method: "POST",
      body: {gateway_name: name.value.trim(), ttl_h: Number(ttl.value)}});
    const cmd = `bk-gateway enrol --fleet ${location.origin} --code ${r.code}`;
    fill(result, h("div", {class: "invite-box"},
      h("div", {class: "muted small"}, t("enrol.code")),
      h("div", {id: "enrol-code", class: "invite-code", dataset: {codeId: r.id}}, r.code),
      h("div", {class: "muted small"}, t("my.inviteExpires", {at: fmtTime(r.expires_at)}),
        r.gateway_name ? " · " + t("enrol.for", {name: r.gateway_name}) : ""),
      h("div", {class: "muted small"}, t("enrol.how")),
      h("code", {id: "enrol-command", class: "small"}, cmd)));
    name.value = "";
    load().catch(() => {});
  }, err);
  load().catch(() => {});
  return section(t("enrol.title"), {id: "enrol-card"}, h("p", {class: "help"}, t("enrol.help")),
    h("div", {class: "row"}, name, ttl, create), err, result, h("h3", {}, t("enrol.codes")), list);
}

function codeList(codes, reload) {
  if (!codes.length) return empty(t("enrol.none"));
  return h("ul", {class: "plain-list"}, codes.map(c => {
    const err = h("span", {class: "form-error"});
    const badge = {valid: "ok", used: "off", expired: "bad", revoked: "bad"}[c.status] || "off";
    return h("li", {class: "row spread", dataset: {codeId: c.id, status: c.status}},
      h("span", {},
        h("span", {class: "badge " + badge}, c.status === "used" ? t("enrol.used", {gw: c.gateway_id}) : t("enrol.status." + c.status)),
        c.gateway_name ? [" ", t("enrol.for", {name: c.gateway_name})] : null,
        h("div", {class: "muted small"}, fmtTime(c.created_at) + " · " + c.created_by + " · " +
          t("my.inviteExpires", {at: fmtTime(c.expires_at)}))),
      c.status === "valid" ? h("span", {}, twoStep(t("enrol.revoke"), t("enrol.confirmRevoke"), async () => {
        await api("/canteens/" + encodeURIComponent(c.canteen_id) + "/enrolment-codes/" + encodeURIComponent(c.id), {method: "DELETE"});
        await reload();
      }, err), err) : null);
  }));
}
