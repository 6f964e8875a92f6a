// #/rollout/{id}: one rollout (GET /api/v1/rollouts/{id}): its version,
// target, stages and state (with why it paused), the actions its state
// allows (pause, resume, next stage, abort: POST …/{action}), and each
// target gateway: its stage, the version it runs now, its state in the
// rollout (pending, sent, downloading, installing, trial, confirmed,
// rolled back, failed, skipped) with the detail, the download's progress
// from its heartbeat. Refreshed every 2 s while the rollout is on.

import {t} from "../i18n.js";
import {api, aborted, errorText} from "../api.js";
import {h, fill, fmtTime} from "../ui.js";
import {toast, section} from "../widgets/feedback.js";
import {act, twoStep} from "../widgets/form.js";
import {table} from "../widgets/table.js";
import {stateBadge, countsText} from "./releases.js";

export async function render(ctx) {
  const path = "/rollouts/" + encodeURIComponent(ctx.param);
  const head = h("div", {class: "page-head"});
  const info = h("div", {id: "rollout-info", class: "card"});
  const actions = h("div", {class: "row", id: "rollout-actions"});
  const err = h("p", {class: "form-error", role: "alert"});
  const list = h("div", {id: "rollout-targets"});
  let timer = 0;
  const draw = v => {
    const r = v.rollout;
    document.body.dataset.rolloutState = r.state;
    fill(head, h("h1", {}, t("ro.title", {v: r.version}), " ", stateBadge(r.state)));
    const target = r.target.all ? t("ro.target.all") : r.target.district ? t("ro.target.district") + t("app.colon") + r.target.district :
      r.target.category ? t("ro.target.category") + t("app.colon") + r.target.category : (r.target.gateways || []).join(", ");
    fill(info, h("dl", {class: "facts"},
      h("dt", {}, t("ro.target")), h("dd", {}, target),
      h("dt", {}, t("ro.stages")), h("dd", {id: "rollout-stage", dataset: {stage: String(r.stage)}},
        (r.stages || []).map((p, i) => h("span", {class: i + 1 === r.stage ? "badge ok" : i + 1 < r.stage ? "badge" : "badge off"}, p + "%")),
        " ", t("ro.stageOf", {s: r.stage, n: r.stages.length, p: r.stages[r.stage - 1]})),
      h("dt", {}, t("ro.advance")), h("dd", {}, t("ro.advance." + r.advance), r.force ? " · " + t("ro.force") : ""),
      h("dt", {}, t("ro.maxFailures")), h("dd", {}, String(r.max_failures)),
      h("dt", {}, t("ro.col.progress")), h("dd", {}, countsText(r.counts || {})),
      h("dt", {}, t("ro.col.at")), h("dd", {}, fmtTime(r.created_at), " · ", r.created_by),
      r.reason ? h("dt", {}, t("ro.reason")) : null, r.reason ? h("dd", {class: r.state === "paused" ? "bad" : "", id: "rollout-reason"}, r.reason) : null));
    const on = r.state === "running" || r.state === "paused";
    const btn = (action, cls) => {
      const b = h("button", {type: "button", class: "btn " + cls, dataset: {action}}, t("ro.act." + action));
      return act(b, async () => { draw(await api(path + "/" + action, {method: "POST"}).then(() => api(path))); toast(t("ro.done." + action), "ok"); }, err);
    };
    // The buttons are drawn again only when which of them apply changes,
    // not on each refresh (every 2 s while running): a click could land on
    // a button just replaced, and abort's "confirm?" would be reset.
    const next = on && r.stage < r.stages.length;
    const shows = r.state + (next ? " next" : "");
    if (actions.dataset.shows !== shows) {
      actions.dataset.shows = shows;
      fill(actions,
        r.state === "running" ? btn("pause", "") : null,
        r.state === "paused" ? btn("resume", "primary") : null,
        next ? btn("next", "primary") : null,
        on ? twoStep(t("ro.act.abort"), t("ro.abortConfirm"), async () => { await api(path + "/abort", {method: "POST"}); draw(await api(path)); }, err) : null);
    }
    fill(list, table({class: "rollout-targets"}, ["gateway", "stage", "version", "state", "detail", "updated"].map(k => t("ro.tcol." + k)),
      (v.targets || []).map(x => h("tr", {dataset: {gateway: x.gateway_id, state: x.state, version: x.version || ""}},
        h("th", {scope: "row"}, h("a", {href: "#/gateway/" + encodeURIComponent(x.gateway_id)}, x.gateway_id),
          h("span", {class: "badge " + (x.online ? "ok" : "off") + " small"}, x.online ? t("gw.online") : t("gw.offline"))),
        h("td", {class: "num"}, x.stage || "–"),
        h("td", {class: "target-version"}, x.version || t("app.none"), x.from_version && x.from_version !== x.version ? h("div", {class: "muted small"}, t("ro.from", {v: x.from_version})) : null),
        h("td", {}, h("span", {class: "badge " + targetClass(x.state), dataset: {targetState: x.state}}, t("ro.t." + x.state)),
          x.state === "downloading" && x.progress ? h("div", {class: "muted small"}, x.progress + "%") : null),
        h("td", {class: "small wrap"}, x.detail || ""),
        h("td", {class: "nowrap"}, fmtTime(x.updated_at))))));
    clearTimeout(timer);
    if (on || (v.targets || []).some(x => ["sent", "downloading", "installing", "trial"].includes(x.state))) timer = setTimeout(refresh, 2000);
  };
  const refresh = async () => {
    try { draw(await api(path, {signal: ctx.signal})); } catch (e) {
      if (!aborted(e)) { toast(errorText(e), "bad"); timer = setTimeout(refresh, 5000); }
    }
  };
  ctx.onLeave(() => { clearTimeout(timer); delete document.body.dataset.rolloutState; });
  const v = await api(path, {signal: ctx.signal});
  ctx.root.append(h("div", {id: "rollout", dataset: {rollout: ctx.param}},
    h("p", {}, h("a", {href: "#/releases"}, "← " + t("rel.title"))), head, info,
    section(t("ro.actions"), {}, actions, err), section(t("ro.targets"), {}, list)));
  draw(v);
}

function targetClass(s) {
  return {confirmed: "ok", skipped: "off", failed: "bad", rolled_back: "bad", stalled: "bad", pending: ""}[s] ?? "warn";
}
