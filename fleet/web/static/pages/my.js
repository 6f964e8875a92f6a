// #/my: the canteen operator's home: notices (GET /api/v1/notices, mark
// read), the alarms to rectify, the canteens with their cameras' health and
// parent viewing windows, parent invites (POST /api/v1/canteens/{id}/invites)
// and the parents of a canteen (GET /api/v1/users?role=parent…, remove).

import {t, named} from "../i18n.js";
import {api, qs, aborted, soft} from "../api.js";
import {h, fill, fmtTime, fmtRel, isTime} from "../ui.js";
import {section, empty, toast, errorBox, loading} from "../widgets/feedback.js";
import {select, field, act, twoStep} from "../widgets/form.js";
import {cameraChip} from "../widgets/badges.js";
import {alarmList} from "../widgets/alarms.js";
import {inScope} from "../me.js";
import {viewingEditor, viewingSummary} from "../widgets/viewing.js";


export async function render(ctx) {
  const sig = {signal: ctx.signal};
  const [notices, todo, recent, list] = await Promise.all([
    soft(api("/notices", sig)),
    soft(api("/violations" + qs({alarms: 1, status: "confirmed", limit: 50}), sig)),
    soft(api("/violations" + qs({alarms: 1, limit: 10}), sig)),
    soft(api("/canteens", sig)),
  ]);
  let canteens = list.canteens;
  // The server scopes the list; the page shows only the principal's own.
  if (canteens) canteens = canteens.filter(c => inScope(ctx.me, c));
  if (!canteens) {
    canteens = (await Promise.all((ctx.me.canteens || []).map(id => soft(api("/canteens/" + encodeURIComponent(id), sig)))))
      .filter(c => c && !c.error);
  }
  const names = Object.fromEntries(canteens.map(c => [c.id, c.name || c.id]));

  ctx.root.append(h("div", {id: "my"},
    h("div", {class: "page-head"}, h("h1", {}, t("my.title"))),
    h("div", {class: "cols"},
      section(t("notice.title"), {id: "notices-card"}, noticeList(notices, names)),
      section(t("my.alarms"), {}, todo.error ? errorBox(todo.error) : alarmList(todo.violations, {empty: t("my.noAlarms"), id: "my-alarms"}))),
    section(t("my.canteens"), {}, canteens.length ? h("div", {class: "my-canteens"}, canteens.map(c => canteenCard(ctx, c))) :
      empty(t("my.noCanteens"))),
    canteens.length ? inviteSection(ctx, canteens) : null,
    section(t("my.recent"), {}, recent.error ? errorBox(recent.error) : alarmList(recent.violations, {empty: t("canteen.noAlarms")}))));
}

function noticeList(res, names) {
  if (res.error) return errorBox(res.error);
  const ns = res.notices || [];
  if (!ns.length) return empty(t("notice.empty"));
  return h("ul", {class: "notices", id: "notices"}, ns.map(n => {
    const unread = !isTime(n.read_at);
    const li = h("li", {class: "notice" + (unread ? " unread" : ""), dataset: {notice: String(n.id), violation: String(n.violation_id),
      kind: n.kind}});
    const read = unread ? h("button", {type: "button", class: "btn small ghost"}, t("notice.read")) : null;
    if (read) {
      act(read, async () => {
        await api("/notices/" + n.id + "/read", {method: "POST"});
        li.classList.remove("unread");
        read.remove();
        dispatchEvent(new Event("bk:notices"));
      });
    }
    fill(li,
      h("div", {class: "notice-head"}, unread ? h("span", {class: "dot", title: t("notice.unread")}) : null,
        h("b", {}, t("notice." + n.kind, {due: fmtTime(n.due_at)}))),
      h("div", {class: "muted small"}, [n.canteen_name || names[n.canteen_id] || n.canteen_id, named("vt", n.violation_type),
        fmtRel(n.at)].filter(Boolean).join(" · ")),
      n.text ? h("div", {class: "small"}, n.text) : null,
      h("div", {class: "row"}, n.gateway_id ?
        h("a", {class: "btn small", href: "#/gateway/" + encodeURIComponent(n.gateway_id)}, t("gw.open")) :
        h("a", {class: "btn small", href: "#/alarm/" + n.violation_id}, t("notice.open")), read));
    return li;
  }));
}

function canteenCard(ctx, c) {
  const chips = h("div", {class: "chips"}, loading());
  api("/canteens/" + encodeURIComponent(c.id) + "/cameras", {signal: ctx.signal}).then(r => {
    const cams = r.cameras || [];
    fill(chips, cams.length ? cams.map(x => cameraChip(x, true)) : h("span", {class: "muted"}, t("canteen.noCameras")));
  }).catch(e => { if (!aborted(e)) fill(chips, errorBox(e)); });
  const viewing = h("div", {class: "viewing"});
  const draw = v => fill(viewing, h("div", {}, h("span", {class: "muted"}, t("my.viewing") + t("app.colon")), viewingSummary(v)),
    viewingEditor(v, nv => draw(Object.assign({}, v, nv))));
  // The list has no viewing_open: ask the canteen itself.
  draw(c);
  api("/canteens/" + encodeURIComponent(c.id), {signal: ctx.signal}).then(draw).catch(() => {});
  return h("div", {class: "my-canteen card inner", dataset: {canteen: c.id}},
    h("div", {class: "row spread"}, h("b", {}, c.name || c.id),
      h("a", {class: "btn small", href: "#/canteen/" + encodeURIComponent(c.id)}, t("my.openCanteen")),
      h("a", {class: "btn small ghost", href: "#/poster/" + encodeURIComponent(c.id), dataset: {poster: c.id}}, t("poster.open"))),
    h("div", {class: "muted small"}, [named("cat", c.category), c.district, c.address].filter(Boolean).join(" · ")),
    h("h3", {}, t("my.cameras")), chips, viewing);
}

function inviteSection(ctx, canteens) {
  const cSel = select({id: "invite-canteen", "aria-label": t("my.canteen")}, canteens.map(c => [c.id, c.name || c.id]), canteens[0].id);
  const label = h("input", {id: "invite-label", maxlength: "100", placeholder: t("my.inviteLabel")});
  const ttl = select({id: "invite-ttl", "aria-label": t("my.inviteTtl")},
    [[24, t("my.hours", {n: 24})], [72, t("my.daysN", {n: 3})], [168, t("my.daysN", {n: 7})], [720, t("my.daysN", {n: 30})]], 72);
  const create = h("button", {type: "button", id: "invite-create", class: "btn primary"}, t("my.inviteCreate"));
  const err = h("p", {class: "form-error", role: "alert"});
  const result = h("div", {class: "invite-result", "aria-live": "polite"});
  const invites = h("div", {id: "invites"});
  const parents = h("div", {id: "parents"});
  const loadLists = async () => {
    const id = cSel.value;
    fill(invites, loading());
    fill(parents, loading());
    const enc = encodeURIComponent(id);
    const [inv, us] = await Promise.all([
      soft(api("/canteens/" + enc + "/invites", {signal: ctx.signal})),
      soft(api("/users" + qs({role: "parent", canteen_id: id}), {signal: ctx.signal})),
    ]);
    if (cSel.value !== id) return;
    fill(invites, inv.error ? errorBox(inv.error) : inviteList(inv.invites || []));
    fill(parents, us.error ? errorBox(us.error) : parentList(us.users || [], loadLists));
  };
  act(create, async () => {
    const r = await api("/canteens/" + encodeURIComponent(cSel.value) + "/invites", {method: "POST",
      body: {label: label.value.trim(), ttl_h: Number(ttl.value)}});
    const link = location.origin + location.pathname + "#/join?code=" + encodeURIComponent(r.code);
    const copy = h("button", {type: "button", class: "btn small ghost"}, t("my.inviteLink"));
    copy.addEventListener("click", () => {
      if (navigator.clipboard) navigator.clipboard.writeText(link).then(() => toast(link, "ok"), () => toast(link));
      else toast(link);
    });
    fill(result, h("div", {class: "invite-box"},
      h("div", {class: "muted small"}, t("my.inviteCode")),
      h("div", {id: "invite-code", class: "invite-code"}, r.code),
      h("div", {class: "muted small"}, t("my.inviteExpires", {at: fmtTime(r.expires_at)}), r.label ? " · " + r.label : ""),
      h("div", {class: "row"}, h("a", {href: link, class: "small"}, link), copy)));
    label.value = "";
    loadLists().catch(() => {});
  }, err);
  cSel.addEventListener("change", () => { fill(result); loadLists().catch(() => {}); });
  loadLists().catch(() => {});
  return h("div", {class: "cols"},
    section(t("my.invite"), {id: "invite-card"}, h("p", {class: "help"}, t("my.inviteHelp")),
      canteens.length > 1 ? field(t("my.canteen"), cSel) : null,
      h("div", {class: "row"}, label, ttl, create), err, result,
      h("h3", {}, t("my.invites")), invites),
    section(t("my.parents"), {id: "parents-card"}, parents));
}

function inviteList(list) {
  if (!list.length) return empty(t("my.noInvites"));
  const now = Date.now();
  return h("ul", {class: "plain-list"}, list.map(i => {
    const used = !!i.used_by;
    const expired = !used && new Date(i.expires_at).getTime() < now;
    return h("li", {},
      h("b", {}, i.label || t("app.none")), " ",
      h("span", {class: "badge " + (used ? "off" : expired ? "bad" : "ok")},
        used ? t("my.inviteUsed", {who: i.used_by}) : expired ? t("my.inviteExpired") : t("my.inviteValid")),
      h("div", {class: "muted small"}, fmtTime(i.created_at) + " · " + t("my.inviteExpires", {at: fmtTime(i.expires_at)})));
  }));
}

function parentList(users, reload) {
  if (!users.length) return empty(t("my.noParents"));
  return h("ul", {class: "plain-list"}, users.map(u => {
    const err = h("span", {class: "form-error"});
    return h("li", {class: "row spread", dataset: {user: u.id}},
      h("span", {}, h("b", {}, u.name || u.id), " ", h("span", {class: "muted"}, u.id),
        h("div", {class: "muted small"}, fmtTime(u.created_at))),
      h("span", {}, twoStep(t("app.remove"), t("app.confirmRemove"), async () => {
        await api("/users/" + encodeURIComponent(u.id), {method: "DELETE"});
        await reload();
      }, err), err));
  }));
}
