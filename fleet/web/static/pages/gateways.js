// #/gateways: the fleet (GET /api/v1/gateways): each gateway online or
// not, last seen, firmware version (and its update state: under way, or
// how the last ended), canteen, spool depth from its last
// heartbeat, and its cameras' health. Who may manage gateways (admins)
// binds a gateway to a canteen (PUT /api/v1/gateways/{id}) and pings it
// (POST /api/v1/gateways/{id}/commands, then the command's status until
// the gateway answers). Each gateway's id opens its page (#/gateway/{id},
// pages/gateway.js) with the remote operations. Refreshed every 30 s.

import {t} from "../i18n.js";
import {api, aborted, errorText} from "../api.js";
import {h, fill, timeEl, isTime} from "../ui.js";
import {empty, toast} from "../widgets/feedback.js";
import {act} from "../widgets/form.js";
import {cameraChip, otaLine} from "../widgets/badges.js";
import {table} from "../widgets/table.js";
import {can} from "../me.js";

export async function render(ctx) {
  const [res, cl] = await Promise.all([
    api("/gateways", {signal: ctx.signal}),
    api("/canteens", {signal: ctx.signal}).catch(e => { if (aborted(e)) throw e; return {canteens: []}; }),
  ]);
  const names = Object.fromEntries((cl.canteens || []).map(c => [c.id, c.name || c.id]));
  const manage = can(ctx.me, "gateways.manage");
  const summary = h("span", {class: "muted", id: "gw-summary"});
  const body = h("tbody");
  const list = h("div", {class: "gw-list"});
  const draw = gws => {
    gws = gws.slice().sort((a, b) => Number(!!a.online) - Number(!!b.online) || a.id.localeCompare(b.id));
    summary.textContent = t("gw.summary", {o: gws.filter(g => g.online).length, n: gws.length});
    if (!gws.length) { fill(list, empty(t("gw.empty"))); return; }
    fill(body, gws.map(g => row(g, names, manage, refresh)));
    fill(list, table({class: "gw-table"}, ["id", "state", "canteen", "version", "seen", "spool", "cameras"].map(k => t("gw.col." + k)), body));
  };
  const refresh = async () => {
    try {
      const r = await api("/gateways", {signal: ctx.signal});
      draw(r.gateways || []);
    } catch (e) {
      if (!aborted(e)) toast(errorText(e), "bad");
    }
  };
  draw(res.gateways || []);
  const timer = setInterval(refresh, 30000);
  ctx.onLeave(() => clearInterval(timer));
  const again = h("button", {type: "button", class: "btn small ghost"}, t("app.refresh"));
  act(again, refresh);
  ctx.root.append(h("div", {id: "gateways"},
    h("div", {class: "page-head"}, h("h1", {}, t("gw.title")), h("div", {class: "filters"}, summary, again)),
    list));
}

function heartbeat(g) {
  let hb = g.last_heartbeat;
  if (typeof hb === "string") {
    try { hb = JSON.parse(hb); } catch (e) { hb = null; }
  }
  return hb && typeof hb === "object" ? hb : null;
}

function row(g, names, manage, refresh) {
  const hb = heartbeat(g);
  const spool = hb && hb.spool;
  const cams = (g.cameras || []).map(c => Object.assign({gateway_online: g.online}, c));
  let canteenCell;
  if (manage) {
    const input = h("input", {value: g.canteen_id || "", placeholder: t("gw.bindPh"), "aria-label": t("gw.bindPh"),
      class: "narrow", autocapitalize: "none", spellcheck: "false"});
    const bind = h("button", {type: "button", class: "btn small ghost"}, t("gw.bind"));
    act(bind, async () => {
      await api("/gateways/" + encodeURIComponent(g.id), {method: "PUT", body: {canteen_id: input.value.trim()}});
      toast(t("app.saved"), "ok");
      await refresh();
    });
    canteenCell = h("td", {}, g.canteen_id ? h("a", {href: "#/canteen/" + encodeURIComponent(g.canteen_id)}, names[g.canteen_id] || g.canteen_id) :
      h("span", {class: "muted"}, t("gw.unbound")), h("div", {class: "row"}, input, bind));
  } else {
    canteenCell = h("td", {}, g.canteen_id ? h("a", {href: "#/canteen/" + encodeURIComponent(g.canteen_id)}, names[g.canteen_id] || g.canteen_id) :
      h("span", {class: "muted"}, t("gw.unbound")));
  }
  const q = hb && Array.isArray(hb.quarantined) && hb.quarantined.length ? hb.quarantined.join(", ") : "";
  return h("tr", {dataset: {gateway: g.id, online: String(!!g.online)}},
    h("th", {scope: "row"}, h("a", {href: "#/gateway/" + encodeURIComponent(g.id), class: "gw-link"}, g.id)),
    h("td", {}, h("span", {class: "badge " + (g.online ? "ok" : "off")}, g.online ? t("gw.online") : t("gw.offline")),
      manage ? pingButton(g) : null),
    canteenCell,
    h("td", {class: "gw-version"}, g.version || t("app.none"), otaLine(hb),
      g.config_version ? h("div", {class: "muted small"}, t("gw.config", {v: g.config_reported_version || 0}) +
        (g.config_reported_version !== g.config_version ? ` / ${g.config_version}` : "")) : null,
      g.config_error ? h("div", {class: "bad small"}, t("gw.configErr", {e: g.config_error})) : null),
    h("td", {}, isTime(g.last_seen) ? timeEl(g.last_seen, true) : t("app.none")),
    h("td", {class: "num"}, spool ? t("gw.spool", {n: spool.depth ?? 0}) : t("app.none"),
      spool && (spool.dropped_snapshots || spool.dropped_records) ?
        h("div", {class: "bad small"}, t("gw.dropped", {n: (spool.dropped_snapshots || 0) + (spool.dropped_records || 0)})) : null,
      spool && spool.disk_full ? h("div", {class: "bad small"}, t("gw.diskFull")) : null,
      spool && spool.write_errors ? h("div", {class: "bad small"}, t("gw.writeErrors", {n: spool.write_errors})) : null),
    h("td", {class: "wrap"}, cams.length ? h("div", {class: "chips"}, cams.map(c => cameraChip(c, true))) : t("app.none"),
      q ? h("div", {class: "bad small"}, t("gw.quarantined", {p: q})) : null));
}


/**
 * An admin's round trip to a gateway: a "ping" command over MQTT, its
 * status read until the gateway answers ok or failed (at most 10 s). The
 * result: .ping-result[data-result=ok|failed|timeout].
 */
function pingButton(g) {
  const out = h("span", {class: "muted small ping-result", role: "status"});
  const btn = h("button", {type: "button", class: "btn small ghost", dataset: {ping: g.id}}, t("gw.ping"));
  const base = "/gateways/" + encodeURIComponent(g.id) + "/commands";
  const show = (result, text) => { out.dataset.result = result; out.textContent = text; };
  act(btn, async () => {
    delete out.dataset.result;
    out.textContent = t("gw.pinging");
    const started = performance.now();
    const c = await api(base, {method: "POST", body: {name: "ping", ttl_s: 30}});
    let status = c.status;
    for (let i = 0; i < 40; i++) {
      await new Promise(r => setTimeout(r, 250));
      const x = await api(base + "/" + encodeURIComponent(c.cmd_id));
      status = x.status;
      if (status === "ok") return show("ok", t("gw.pong", {ms: Math.round(performance.now() - started)}));
      if (status === "failed") return show("failed", t("gw.pingFailed", {e: x.detail || status}));
    }
    show("timeout", t("gw.pingTimeout", {s: status}));
  }, out);
  return h("div", {class: "row ping"}, btn, out);
}
