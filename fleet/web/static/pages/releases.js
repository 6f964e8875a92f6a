// #/releases: an admin's releases and rollouts (docs/SPEC.md §4,
// "Releases and rollouts"). Upload a signed bundle (POST
// /api/v1/releases, the file as the body: the fleet verifies it and says
// why it refuses one), the releases stored (with the keys the fleet
// trusts), delete one; roll a version out (POST /api/v1/rollouts) to
// chosen gateways, all, a district or a category, in stages of
// percentages, with a failure limit, manual or automatic advance, forced
// or not; the rollouts with their counts, each opening #/rollout/{id}
// (pages/rollout.js).

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h, fill, fmtTime} from "../ui.js";
import {empty, toast, section} from "../widgets/feedback.js";
import {field, select, act, twoStep} from "../widgets/form.js";
import {table} from "../widgets/table.js";

export async function render(ctx) {
  const [rel, ros] = await Promise.all([
    api("/releases", {signal: ctx.signal}),
    api("/rollouts", {signal: ctx.signal}),
  ]);
  const releases = rel.releases || [];
  const err = h("p", {class: "form-error", role: "alert"});
  const relList = releases.length ? table({id: "release-list"}, ["version", "arch", "size", "key", "by", "at", "actions"].map(k => t("rel.col." + k)),
    releases.map(r => h("tr", {dataset: {release: r.id, version: r.version}},
      h("th", {scope: "row"}, r.version), h("td", {}, r.arch), h("td", {class: "num"}, mib(r.size)),
      h("td", {class: "mono small", title: r.id}, r.key_id), h("td", {}, r.created_by), h("td", {class: "nowrap"}, fmtTime(r.created_at)),
      h("td", {}, twoStep(t("app.delete"), t("app.confirmDelete"), async () => {
        await api("/releases/" + encodeURIComponent(r.id), {method: "DELETE"});
        ctx.rerender();
      }, err))))) : empty(t("rel.empty"));
  const keys = (rel.keys || []).map(k => k.id).join(", ");
  ctx.root.append(h("div", {id: "releases"},
    h("div", {class: "page-head"}, h("h1", {}, t("rel.title"))),
    section(t("rel.releases"), {id: "release-section"},
      h("p", {class: "muted small"}, keys ? t("rel.keys", {k: keys}) : t("rel.noKeys"), " · ", t("rel.max", {n: mib(rel.max_bundle || 0)})),
      uploadForm(ctx), err, relList),
    section(t("rel.newRollout"), {id: "rollout-new"}, rolloutForm(ctx, releases)),
    section(t("rel.rollouts"), {id: "rollout-section"}, rolloutList(ros.rollouts || []))));
}

function mib(n) {
  if (n < 1048576) return Math.max(1, Math.round(n / 1024)) + " KiB";
  return (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MiB";
}

function uploadForm(ctx) {
  const file = h("input", {type: "file", name: "bundle", accept: ".tar,.gz,.tgz,application/gzip,application/x-tar"});
  const err = h("p", {class: "form-error", role: "alert", id: "upload-error"});
  const btn = h("button", {type: "submit", class: "btn primary", id: "upload"}, t("rel.upload"));
  act(btn, async () => {
    const f = file.files && file.files[0];
    if (!f) throw new Error(t("rel.pick"));
    const r = await api("/releases", {method: "POST", blob: f, type: "application/octet-stream"});
    toast(t("rel.uploaded", {v: r.version, a: r.arch}), "ok");
    ctx.rerender();
  }, err);
  return h("form", {class: "row upload-form"}, field(t("rel.bundle"), file), btn, err);
}

function rolloutForm(ctx, releases) {
  const versions = [...new Set(releases.map(r => r.version))];
  if (!versions.length) return empty(t("rel.uploadFirst"));
  const version = select({name: "version"}, versions.map(v => [v, v + " (" + releases.filter(r => r.version === v).map(r => r.arch).join(", ") + ")"]), versions[0]);
  const kind = select({name: "target"}, ["gateways", "all", "district", "category"].map(k => [k, t("ro.target." + k)]), "gateways");
  const value = h("input", {name: "value", autocapitalize: "none", spellcheck: "false", placeholder: t("ro.valuePh")});
  const stages = h("input", {name: "stages", value: "10,50,100", autocapitalize: "none"});
  const maxFail = h("input", {name: "max_failures", type: "number", min: "0", value: "0", class: "narrow"});
  const advance = select({name: "advance"}, [["manual", t("ro.advance.manual")], ["auto", t("ro.advance.auto")]], "manual");
  const force = h("input", {name: "force", type: "checkbox"});
  const valueField = field(t("ro.value"), value);
  const sync = () => { valueField.hidden = kind.value === "all"; };
  kind.addEventListener("change", sync);
  sync();
  const err = h("p", {class: "form-error", role: "alert", id: "rollout-error"});
  const btn = h("button", {type: "submit", class: "btn primary", id: "rollout-create"}, t("ro.create"));
  act(btn, async () => {
    const target = {};
    const v = value.value.trim();
    if (kind.value === "all") target.all = true;
    else if (kind.value === "gateways") target.gateways = v.split(/[,，;；\s]+/).filter(Boolean);
    else target[kind.value] = v;
    const body = {version: version.value, target, force: force.checked, advance: advance.value,
      max_failures: Number(maxFail.value) || 0,
      stages: stages.value.split(/[,，\s]+/).filter(Boolean).map(Number)};
    const r = await api("/rollouts", {method: "POST", body});
    toast(t("ro.created"), "ok");
    location.hash = "#/rollout/" + encodeURIComponent(r.id);
  }, err);
  return h("form", {class: "grid-form"}, field(t("ro.version"), version), field(t("ro.target"), kind), valueField,
    field(t("ro.stages"), stages, t("ro.stagesHelp")), field(t("ro.maxFailures"), maxFail), field(t("ro.advance"), advance),
    h("label", {class: "field check"}, force, h("span", {}, t("ro.force"))), h("div", {class: "form-actions"}, btn, err));
}

/** The rollouts, each with its state and counts, linking to its page. */
export function rolloutList(list) {
  if (!list.length) return empty(t("ro.empty"));
  return table({id: "rollout-list"}, ["id", "version", "state", "stage", "progress", "at"].map(k => t("ro.col." + k)),
    list.map(r => h("tr", {dataset: {rollout: r.id, state: r.state}},
      h("th", {scope: "row"}, h("a", {href: "#/rollout/" + encodeURIComponent(r.id)}, r.id.slice(-8))),
      h("td", {}, r.version), h("td", {}, stateBadge(r.state)),
      h("td", {}, t("ro.stageOf", {s: r.stage, n: (r.stages || []).length, p: (r.stages || [])[r.stage - 1] ?? ""})),
      h("td", {class: "small"}, countsText(r.counts || {})), h("td", {class: "nowrap"}, fmtTime(r.created_at)))));
}

export function stateBadge(s) {
  const cls = {running: "ok", paused: "warn", done: "ok", aborted: "off"}[s] || "";
  return h("span", {class: "badge " + cls, dataset: {state: s}}, t("ro.state." + s));
}

export function countsText(c) {
  return Object.entries(c).filter(([, n]) => n).map(([k, n]) => t("ro.t." + k) + " " + n).join(" · ");
}
