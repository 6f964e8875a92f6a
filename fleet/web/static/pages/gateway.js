// #/gateway/{id}: one gateway and its remote operations (docs/SPEC.md §4,
// "Remote operations"). Everyone who may list gateways sees its state,
// its version and update state, its open gateway alarms (offline, disk,
// temperature), its cameras and its command history with each command's state and progress; who may
// operate it (gateways.operate: an admin, the canteen's operator) also
// restarts the service, reboots the board, takes a snapshot of a camera,
// probes it or edits its config (a form: area, public, stream URL,
// transport, name), asks for the last megabytes of its log and downloads
// the logs it uploaded. Refreshed every 3 s while a command runs, else 15 s.

import {t} from "../i18n.js";
import {api, aborted, errorText} from "../api.js";
import {h, fill, place, timeEl, isTime} from "../ui.js";
import {section, empty, toast} from "../widgets/feedback.js";
import {act, twoStep, select} from "../widgets/form.js";
import {cameraChip, otaLine} from "../widgets/badges.js";
import {table} from "../widgets/table.js";
import {can} from "../me.js";

const final = s => s === "ok" || s === "failed";

function heartbeatOf(g) {
  let hb = g.last_heartbeat;
  if (typeof hb === "string") {
    try { hb = JSON.parse(hb); } catch (e) { hb = null; }
  }
  return hb && typeof hb === "object" ? hb : null;
}

export async function render(ctx) {
  const id = ctx.param;
  const base = "/gateways/" + encodeURIComponent(id);
  const operate = can(ctx.me, "gateways.operate");
  const [gl, al] = await Promise.all([
    api("/gateways", {signal: ctx.signal}),
    api("/gateway-alarms", {signal: ctx.signal}).catch(e => { if (aborted(e)) throw e; return {alarms: []}; }),
  ]);
  const g = (gl.gateways || []).find(x => x.id === id);
  if (!g) {
    ctx.root.append(h("div", {id: "gateway"}, h("h1", {}, id), empty(t("gwp.none"))));
    return;
  }
  const head = h("div", {class: "page-head"});
  const alarmsEl = h("div", {id: "gw-alarms"});
  const camsEl = h("div", {id: "gw-cameras"});
  const opsOut = h("div", {id: "op-result", class: "op-result", role: "status"});
  const histBody = h("tbody");
  const histEl = h("div", {id: "cmd-history"});
  const logsEl = h("div", {id: "gw-logs"});

  const drawHead = (g, as) => {
    fill(head, h("h1", {}, t("gwp.title", {id: g.id}),
      h("span", {class: "badge " + (g.online ? "ok" : "off"), id: "gw-state", dataset: {online: String(!!g.online)}},
        g.online ? t("gw.online") : t("gw.offline"))),
    h("div", {class: "muted"}, g.canteen_id ? h("a", {href: "#/canteen/" + encodeURIComponent(g.canteen_id)}, g.canteen_id) : t("gw.unbound"),
      " · ", h("span", {id: "gw-version"}, g.version || t("app.none")), " · ", t("gw.col.seen"), " ",
      isTime(g.last_seen) ? timeEl(g.last_seen, true) : t("app.none")),
    otaLine(heartbeatOf(g)));
    const mine = as.filter(a => a.gateway_id === g.id);
    fill(alarmsEl, mine.map(a => h("div", {class: "bad", dataset: {gwAlarm: a.kind}},
      t("gwa." + a.kind), ": ", a.detail, " (", timeEl(a.raised_at, true), ")")));
    const cams = g.cameras || [];
    // A row stays as it is, in place, while its form is open (the refresh
    // every few seconds must not throw away what the user is typing, nor
    // take the focus from it) or while what it shows is unchanged (a
    // button replaced under the pointer loses the click).
    const rows = new Map([...camsEl.querySelectorAll(".cam-ops")].map(r => [r.dataset.camera, r]));
    place(camsEl, cams.length ? cams.map(c => {
      const r = rows.get(c.camera_id);
      return r && (r.querySelector("form") || r.dataset.shows === rowShows(c, g)) ? r : camRow(c, g);
    }) : [empty(t("app.none"))]);
  };

  // One command: sent, then its state read until it is final (at most
  // 2 minutes); onDone gets the final command.
  const run = async (name, args, onDone) => {
    const c = await api(base + "/commands", {method: "POST", body: {name, args}});
    showResult(name, {status: "sent"});
    await refreshHistory();
    for (let i = 0; i < 240; i++) {
      await new Promise(r => setTimeout(r, 500));
      if (ctx.signal.aborted) return;
      const x = await api(base + "/commands/" + encodeURIComponent(c.cmd_id), {signal: ctx.signal});
      showResult(name, x);
      if (final(x.status)) {
        await refreshHistory();
        if (onDone) await onDone(x);
        return;
      }
    }
  };
  const showResult = (name, c) => {
    opsOut.dataset.cmd = name;
    opsOut.dataset.status = c.status;
    fill(opsOut, h("b", {}, t("cmd." + name)), " ", statusBadge(c.status), " ", c.detail && name !== "camera.probe" ? c.detail : "");
  };

  const camRow = (c, g) => {
    const row = h("div", {class: "row cam-ops", dataset: {camera: c.camera_id, shows: rowShows(c, g)}},
      cameraChip(Object.assign({gateway_online: g.online}, c), true));
    if (!operate) return row;
    const snap = h("button", {type: "button", class: "btn small", dataset: {op: "snapshot"}}, t("cmd.snapshot"));
    act(snap, () => run("snapshot", {camera_id: c.camera_id}, async x => {
      if (x.status !== "ok") return;
      let res = {};
      try { res = JSON.parse(x.detail); } catch (e) { return; }
      const img = h("img", {class: "snapshot", alt: t("cmd.snapshot") + " " + c.camera_id, id: "snapshot-img",
        dataset: {event: res.event_id}});
      // The picture reaches the fleet through the spool, a moment after
      // the command's answer: try again until it is there.
      let tries = 0;
      img.addEventListener("error", () => {
        if (++tries < 30 && !ctx.signal.aborted) setTimeout(() => { img.src = src + "?try=" + tries; }, 1000);
      });
      img.addEventListener("load", () => { img.dataset.loaded = "true"; });
      const src = "/api/v1" + base + "/snapshots/" + encodeURIComponent(res.event_id);
      img.src = src;
      opsOut.append(h("div", {}, img));
    }));
    const probe = h("button", {type: "button", class: "btn small ghost", dataset: {op: "probe"}}, t("cmd.camera.probe"));
    act(probe, () => run("camera.probe", {camera_id: c.camera_id}, async x => {
      if (x.status !== "ok") return;
      let hs = [];
      try { hs = JSON.parse(x.detail) || []; } catch (e) { hs = []; }
      opsOut.append(table({class: "probe", id: "probe-result"}, ["camera", "online", "picture", "fps", "kbps", "age"].map(k => t("probe." + k)),
        h("tbody", {}, hs.map(p => h("tr", {}, h("td", {}, p.camera_id), h("td", {}, p.online ? t("gw.online") : t("gw.offline")),
          h("td", {}, p.picture || ""), h("td", {class: "num"}, (p.fps || 0).toFixed(1)), h("td", {class: "num"}, Math.round(p.kbps || 0)),
          h("td", {class: "num"}, p.last_frame_age_ms ?? "")))) ));
    }));
    const edit = h("button", {type: "button", class: "btn small ghost", dataset: {op: "camera.config"}}, t("camcfg.edit"));
    edit.addEventListener("click", () => {
      const open = row.querySelector("form");
      if (open) { open.remove(); return; }
      row.append(cameraForm(c, args => run("camera.config", args), refresh));
    });
    row.append(snap, probe, edit);
    return row;
  };

  let running = false;
  const refreshHistory = async () => {
    const r = await api(base + "/commands?limit=30", {signal: ctx.signal});
    const cs = r.commands || [];
    running = cs.some(c => !final(c.status));
    fill(histEl, cs.length ? table({class: "cmd-table"}, ["at", "name", "args", "status", "detail"].map(k => t("cmdh." + k)),
      fill(histBody, cs.map(c => h("tr", {dataset: {cmd: c.name, cmdId: c.cmd_id, status: c.status}},
        h("td", {}, timeEl(c.created_at, true)), h("td", {}, t("cmd." + c.name)),
        h("td", {class: "wrap small muted"}, c.args ? JSON.stringify(c.args) : ""),
        h("td", {}, statusBadge(c.status)), h("td", {class: "wrap small"}, c.detail || ""))))) : empty(t("cmdh.empty")));
  };
  const refreshLogs = async () => {
    if (!operate) return;
    const r = await api(base + "/logs", {signal: ctx.signal});
    const us = r.uploads || [];
    fill(logsEl, us.length ? h("ul", {class: "logs"}, us.map(u => h("li", {dataset: {upload: u.id}},
      timeEl(u.created_at, true), " · ", u.requested_by || "", " · ",
      isTime(u.uploaded_at) ? h("a", {href: "/api/v1" + base + "/logs/" + encodeURIComponent(u.id), download: id + "-" + u.id + ".log.gz",
        class: "log-download"}, t("logs.download", {kb: Math.max(1, Math.round(u.bytes / 1024))})) : h("span", {class: "muted"}, t("logs.waiting"))))) :
      empty(t("logs.empty")));
  };
  const refresh = async () => {
    try {
      const [gl, al] = await Promise.all([api("/gateways", {signal: ctx.signal}),
        api("/gateway-alarms", {signal: ctx.signal}).catch(e => { if (aborted(e)) throw e; return {alarms: []}; })]);
      const ng = (gl.gateways || []).find(x => x.id === id);
      if (ng) drawHead(ng, al.alarms || []);
      await Promise.all([refreshHistory(), refreshLogs()]);
    } catch (e) {
      if (!aborted(e)) toast(errorText(e), "bad");
    }
  };

  let ops = null;
  if (operate) {
    const ping = h("button", {type: "button", class: "btn small ghost", dataset: {op: "ping"}}, t("cmd.ping"));
    act(ping, () => run("ping", undefined));
    const restart = twoStep(t("cmd.restart"), t("gwp.confirm"), () => run("restart", undefined));
    restart.dataset.op = "restart";
    const reboot = twoStep(t("cmd.reboot"), t("gwp.confirm"), () => run("reboot", undefined));
    reboot.dataset.op = "reboot";
    const mb = select({id: "logs-mb", "aria-label": t("logs.size")}, [[1, "1 MB"], [4, "4 MB"], [16, "16 MB"], [32, "32 MB"]], 4);
    const logs = h("button", {type: "button", class: "btn small", dataset: {op: "logs.upload"}}, t("cmd.logs.upload"));
    act(logs, () => run("logs.upload", {max_bytes: Number(mb.value) << 20}, refreshLogs));
    ops = section(t("gwp.ops"), {id: "gw-ops"}, h("div", {class: "row"}, ping, restart, reboot, mb, logs), h("p", {class: "muted small"}, t("gwp.opsHelp")));
  }
  drawHead(g, al.alarms || []);
  ctx.root.append(h("div", {id: "gateway", dataset: {gateway: id}}, head, alarmsEl,
    ops,
    section(t("gw.col.cameras"), {}, camsEl),
    section(t("gwp.result"), {}, opsOut),
    section(t("cmdh.title"), {}, histEl),
    operate ? section(t("logs.title"), {}, logsEl) : null));
  await Promise.all([refreshHistory(), refreshLogs()]);
  let timer = 0;
  const tick = async () => {
    await refresh();
    if (!ctx.signal.aborted) timer = setTimeout(tick, running ? 3000 : 15000);
  };
  timer = setTimeout(tick, 3000);
  ctx.onLeave(() => clearTimeout(timer));
}

/**
 * The form of one camera's config (camera.config): area and public as
 * they are, the stream's URL, transport and name only when filled in;
 * the gateway checks the whole config before it applies it. send runs the
 * command; once it is final the form closes and closed (the page's
 * refresh) redraws the row, which a refresh keeps while the form is open.
 */
function cameraForm(c, send, closed) {
  const area = h("input", {name: "area", value: c.area || "", class: "narrow", autocapitalize: "none", spellcheck: "false"});
  const pub = h("input", {type: "checkbox", name: "public", checked: !!c.public});
  const url = h("input", {name: "url", placeholder: t("camcfg.keep"), autocapitalize: "none", spellcheck: "false"});
  const transport = select({name: "transport"}, [["", t("camcfg.keep")], ["auto", "auto"], ["tcp", "TCP"], ["udp", "UDP"]], "");
  const name = h("input", {name: "name", placeholder: t("camcfg.keep")});
  const err = h("span", {class: "bad small", role: "alert"});
  const save = h("button", {type: "submit", class: "btn small"}, t("camcfg.save"));
  const form = h("form", {class: "cam-form", dataset: {cameraForm: c.camera_id}, on: {submit: e => e.preventDefault()}},
    h("label", {}, t("camcfg.area"), " ", area), h("label", {}, pub, " ", t("camcfg.public")),
    h("label", {}, t("camcfg.url"), " ", url), h("label", {}, t("camcfg.transport"), " ", transport),
    h("label", {}, t("camcfg.name"), " ", name), save, err);
  act(save, async () => {
    const args = {camera_id: c.camera_id, area: area.value.trim(), public: pub.checked};
    if (url.value.trim()) args.url = url.value.trim();
    if (transport.value) args.transport = transport.value;
    if (name.value.trim()) args.name = name.value.trim();
    if (args.url && !/^rtsps?:\/\//.test(args.url)) throw new Error(t("camcfg.badUrl"));
    await send(args);
    form.remove();
    if (closed) await closed();
  }, err);
  return form;
}

// What a camera's row shows and its form starts from: the row is drawn
// again when this changes, not for each heartbeat's frame rate.
function rowShows(c, g) {
  return JSON.stringify([c.camera_id, !!c.online, c.picture || "", c.area || "", !!c.public, !!g.online]);
}

function statusBadge(s) {
  const cls = s === "ok" ? "ok" : s === "failed" ? "bad" : "st-new";
  return h("span", {class: "badge " + cls, dataset: {cmdStatus: s}}, t("cmds." + s));
}
