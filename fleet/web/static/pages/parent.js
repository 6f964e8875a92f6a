// #/parent: a parent's view of the school's kitchen: the public cameras
// live, only inside the school's viewing windows (GET
// /api/v1/canteens/{id}: viewing_open, viewing_until, viewing_next), and
// outside them no video at all, only when it opens. A WHEP refusal
// (403 outside_window, 429 parent_cap) is shown in #live-error.

import {t, named} from "../i18n.js";
import {api, aborted} from "../api.js";
import {h, fill, weekText, fmtWhen, isTime} from "../ui.js";
import {empty} from "../widgets/feedback.js";
import {cameraChip} from "../widgets/badges.js";
import {grid} from "../live.js";

const hour = 3600e3;

export async function render(ctx) {
  const root = h("div", {id: "parent"});
  ctx.root.append(root);
  const school = (ctx.me.canteens || [])[0];
  if (!school) {
    root.append(h("div", {class: "card"}, empty(t("parent.noSchool"))));
    return;
  }
  const enc = encodeURIComponent(school);
  let c = await api("/canteens/" + enc, {signal: ctx.signal});
  const liveError = h("p", {id: "live-error", class: "live-error", role: "alert", hidden: true});
  const body = h("div", {class: "parent-body"});
  const windowsText = () => {
    const w = weekText(c.viewing_windows);
    return w ? t("parent.windows", {w}) : t("parent.noWindows");
  };
  const windowsEl = h("p", {class: "muted"});
  fill(root,
    h("div", {class: "page-head"}, h("h1", {}, c.name || c.id)),
    windowsEl,
    liveError, body,
    h("p", {class: "muted small hint"}, t("parent.hint")),
    // Complaints: the form, as this parent (the session goes along).
    h("p", {}, h("a", {id: "parent-complain", class: "btn ghost", href: "/complain?canteen=" + enc}, t("parent.complain"))));

  let live = null, timer = 0;
  ctx.onLeave(() => { clearTimeout(timer); if (live) live.stop(); });
  const later = (fn, ms) => { clearTimeout(timer); timer = setTimeout(fn, Math.max(1000, Math.min(ms, hour))); };
  const recheck = async () => {
    try {
      const nc = await api("/canteens/" + enc, {signal: ctx.signal});
      if (!ctx.alive()) return;
      const changed = !!nc.viewing_open !== !!c.viewing_open;
      c = nc;
      if (changed || !c.viewing_open) { await show(); return; }
    } catch (e) {
      if (aborted(e)) return;
    }
    schedule();
  };
  // Re-check when the window opens or closes, and every minute meanwhile.
  const schedule = () => {
    const edge = c.viewing_open ? c.viewing_until : c.viewing_next;
    const ms = isTime(edge) ? new Date(edge).getTime() - Date.now() + 1000 : hour;
    later(recheck, Math.min(ms, 60e3));
  };

  const closed = () => {
    if (live) { live.stop(); live = null; }
    fill(body, h("div", {id: "viewing-closed", class: "card closed"},
      h("div", {class: "closed-icon", "aria-hidden": "true"}, "⏰"),
      h("p", {class: "closed-title"}, t("parent.closed")),
      h("p", {}, windowsText()),
      isTime(c.viewing_next) ? h("p", {class: "next"}, t("parent.next", {at: fmtWhen(c.viewing_next, c.tz)})) : null));
  };

  const show = async () => {
    windowsEl.textContent = windowsText();
    if (!c.viewing_open) { windowsEl.hidden = true; closed(); schedule(); return; }
    windowsEl.hidden = false;
    const r = await api("/canteens/" + enc + "/cameras", {signal: ctx.signal});
    if (!ctx.alive()) return;
    const cams = (r.cameras || []).filter(x => x.public !== false);
    liveError.hidden = true;
    if (live) live.stop();
    live = null;
    if (!cams.length) {
      fill(body, empty(t("parent.noCameras")));
    } else {
      live = grid(cams, {
        caption: x => h("b", {}, x.area ? named("area", x.area) : x.camera_id),
        chip: x => cameraChip(x, false),
        onRefused: code => {
          liveError.hidden = false;
          liveError.textContent = code === "outside_window" ? t("parent.outside") :
            code === "parent_cap" ? t("parent.cap") : named("err", code);
          if (code === "outside_window") {
            c = Object.assign({}, c, {viewing_open: false});
            show().then(recheck).catch(() => {});
          }
        },
      });
      fill(body, isTime(c.viewing_until) ? h("p", {class: "open-until"}, h("span", {class: "badge ok"}, t("cam.playing")), " ",
        t("parent.openUntil", {at: fmtWhen(c.viewing_until, c.tz)})) : null, live.el);
    }
    schedule();
  };
  await show();
}
