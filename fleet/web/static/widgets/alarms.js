// Pieces several pages show: alarm lists.

import {t, named} from "../i18n.js";
import {h, fmtTime, isTime} from "../ui.js";
import {empty} from "./feedback.js";
import {statusBadge, overdueBadge} from "./badges.js";

/** The deadline that matters in an alarm's state, or "". */
export function dueOf(v) {
  if (v.status === "new" && isTime(v.review_due)) return v.review_due;
  if (v.status === "confirmed" && isTime(v.rectify_due)) return v.rectify_due;
  return "";
}

/** A list of alarms, each a link [data-alarm] to #/alarm/{id}. */
export function alarmList(vs, opts = {}) {
  if (!vs || !vs.length) return empty(opts.empty || t("review.empty"));
  return h("ul", {class: "alarm-list", id: opts.id || null}, vs.map(v => {
    const due = dueOf(v);
    return h("li", {}, h("a", {href: "#/alarm/" + v.id, class: "alarm-row", dataset: {alarm: String(v.id), status: v.status}},
      h("span", {class: "alarm-type"}, named("vt", v.type)),
      h("span", {class: "alarm-where"}, opts.canteen === false ? v.camera_id :
        [v.canteen_name || v.canteen_id, v.camera_id].filter(Boolean).join(" · ")),
      h("span", {class: "alarm-when muted"}, fmtTime(v.started_at),
        due ? h("span", {}, " · " + t("review.col.due") + " " + fmtTime(due)) : null),
      h("span", {class: "alarm-badges"}, statusBadge(v.status), overdueBadge(v.overdue))));
  }));
}
