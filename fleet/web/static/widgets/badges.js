// Badges and chips: an alarm's status and overdue flag, a camera's health.

import {t, named} from "../i18n.js";
import {h} from "../ui.js";

export function statusBadge(status) {
  return h("span", {class: "badge st-" + (status || "none")}, named("status", status || "none"));
}

export function overdueBadge(overdue) {
  if (!overdue) return null;
  return h("span", {class: "badge overdue", title: named("overdue", overdue)}, named("overdue", overdue));
}

/** A camera's health chip: online, picture. */
export function cameraChip(c, withId) {
  const gwDown = c.gateway_online === false;
  const ok = !gwDown && c.online && (c.picture === "ok" || !c.picture);
  const state = gwDown ? t("cam.gwOffline") : !c.online ? t("cam.offline") : named("pic", c.picture || "unknown");
  return h("span", {class: "chip " + (ok ? "ok" : !c.online || gwDown ? "off" : "warn"), title: state,
    dataset: {cameraChip: c.camera_id}},
  withId ? h("b", {}, c.camera_id) : null, withId && c.area ? " " + named("area", c.area) : null,
  withId ? " · " : null, state);
}

/**
 * A gateway's update state from its heartbeat's "ota" (wire.OTAStatus):
 * an update under way, or how the last one ended; null when it has none
 * to tell. data-ota-state is the state (idle, downloading, …).
 */
export function otaLine(hb) {
  const o = hb && hb.ota;
  if (!o) return null;
  let text = "", cls = "muted";
  if (o.state && o.state !== "idle") {
    text = t("ota.state." + o.state, {p: o.progress || 0, v: o.target || ""});
    cls = "warn";
  } else if (o.last && o.last.outcome) {
    text = t("ota.last." + o.last.outcome, {v: o.last.version || "", r: o.last.reason || ""});
    cls = o.last.outcome === "confirmed" ? "muted" : "bad";
  }
  if (!text) return null;
  return h("span", {class: "ota-state small " + cls, dataset: {otaState: o.state || "idle"}}, text);
}
