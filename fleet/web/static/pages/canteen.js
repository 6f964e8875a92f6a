// #/canteen/{id}: one canteen: its details, its required areas with the
// cameras mapped to each, the live grid (WHEP), its recent alarms. Who may
// map cameras (its operator, admins) maps them (PUT /api/v1/cameras/{id})
// and sets the parents' viewing windows; who manages canteens edits it.
// Its gateways are listed, and who may enrol gateways for it makes
// one-time enrolment codes here (widgets/enrol.js). Each camera's audience
// (staff, parents, everyone: the public kitchen pages) is set with its
// mapping; the public notice (公示) is shown and edited, field by field
// as the API allows, by widgets/publicity.js.

import {t, named} from "../i18n.js";
import {api, qs, soft} from "../api.js";
import {can, inScope} from "../me.js";
import {h, fill, weekText} from "../ui.js";
import {section, empty, toast, errorBox} from "../widgets/feedback.js";
import {field, act} from "../widgets/form.js";
import {cameraChip} from "../widgets/badges.js";
import {grid, keyOf} from "../live.js";
import {alarmList} from "../widgets/alarms.js";
import {viewingEditor, viewingSummary} from "../widgets/viewing.js";
import {canteenForm} from "../widgets/canteen-form.js";
import {gatewayList, enrolSection} from "../widgets/enrol.js";
import {publicityBox} from "../widgets/publicity.js";

const defaultAreas = ["rough_processing", "cooking", "washing"];

// Who may watch a camera (public kitchens): staff only, parents, everyone.
const audiences = ["private", "parents", "everyone"];
const audienceOf = x => x.audience || (x.public ? "parents" : "private");
const audienceBadge = x => {
  const a = audienceOf(x);
  return h("span", {class: "badge " + (a === "everyone" ? "info" : a === "parents" ? "ok" : "off"), dataset: {audience: a}},
    t("cam.audience." + a));
};

export async function render(ctx) {
  const id = ctx.param;
  const enc = encodeURIComponent(id);
  const [c, camRes, alarms] = await Promise.all([
    api("/canteens/" + enc, {signal: ctx.signal}),
    api("/canteens/" + enc + "/cameras", {signal: ctx.signal}),
    soft(api("/violations" + qs({canteen_id: id, alarms: 1, limit: 20}), {signal: ctx.signal})),
  ]);
  let cams = camRes.cameras || [];
  const me = ctx.me;
  const canEdit = can(me, "cameras.map") && can(me, "canteens.viewing") && inScope(me, c);
  const required = c.required_areas && c.required_areas.length ? c.required_areas : defaultAreas;

  // Areas and the cameras mapped to them.
  const areasEl = h("ul", {class: "areas", id: "areas"});
  const drawAreas = () => {
    const items = required.map(area => {
      const mine = cams.filter(x => x.area === area);
      return h("li", {class: "area " + (mine.length ? "mapped" : "unmapped"), dataset: {area, mapped: String(mine.length > 0)}},
        h("span", {class: "area-name"}, named("area", area)),
        mine.length ? h("span", {class: "chips"}, mine.map(x => cameraChip(x, true))) :
          h("span", {class: "badge bad"}, t("canteen.unmapped")));
    });
    const others = cams.filter(x => !required.includes(x.area));
    if (others.length) {
      items.push(h("li", {class: "area other"}, h("span", {class: "area-name"}, t("canteen.otherCams")),
        h("span", {class: "chips"}, others.map(x => cameraChip(x, true)))));
    }
    fill(areasEl, items);
  };
  drawAreas();

  // The live grid; captions are kept to update them after a mapping.
  let live = null;
  const captions = new Map();
  const caption = cam => {
    const el = h("span", {class: "tile-caption"});
    const set = x => fill(el, h("b", {}, x.area ? named("area", x.area) : t("cam.areaNone")), " ",
      h("span", {class: "muted"}, x.camera_id), " ",
      audienceBadge(x),
      x.public_viewers ? h("span", {class: "muted small public-viewers"}, " " + t("cam.publicViewers", {n: x.public_viewers})) : null);
    set(cam);
    captions.set(keyOf(cam), set);
    return el;
  };
  const refreshCams = async () => {
    const r = await api("/canteens/" + enc + "/cameras", {signal: ctx.signal});
    cams = r.cameras || [];
    drawAreas();
    if (live) live.update(cams);
    for (const x of cams) { const set = captions.get(keyOf(x)); if (set) set(x); }
  };
  const editForm = cam => {
    const known = [...new Set([...required, ...cams.map(x => x.area)].filter(Boolean))];
    const area = h("select", {"aria-label": t("cam.area")},
      h("option", {value: ""}, t("cam.areaNone")),
      known.map(a => h("option", {value: a, selected: a === cam.area}, named("area", a) + (named("area", a) !== a ? ` (${a})` : ""))),
      h("option", {value: "__other"}, t("cam.areaOther")));
    const other = h("input", {placeholder: t("cam.area"), hidden: true, "aria-label": t("cam.areaOther")});
    area.addEventListener("change", () => { other.hidden = area.value !== "__other"; if (!other.hidden) other.focus(); });
    const aud = h("select", {"aria-label": t("cam.audience"), class: "cam-audience"},
      audiences.map(a => h("option", {value: a, selected: a === audienceOf(cam)}, t("cam.audience." + a))));
    const err = h("p", {class: "form-error", role: "alert"});
    const save = h("button", {type: "submit", class: "btn small primary"}, t("app.save"));
    act(save, async () => {
      const a = area.value === "__other" ? other.value.trim() : area.value;
      await api("/cameras/" + encodeURIComponent(keyOf(cam)), {method: "PUT", body: {area: a, audience: aud.value}});
      toast(t("app.saved"), "ok");
      await refreshCams();
    }, err);
    return h("details", {class: "cam-edit"}, h("summary", {}, t("cam.edit")),
      h("form", {class: "cam-form"}, field(t("cam.area"), h("span", {class: "row"}, area, other)),
        field(t("cam.audience"), aud), h("div", {class: "form-actions"}, save, err)));
  };
  const liveBox = h("div", {id: "live"});
  if (cams.length) {
    live = grid(cams, {caption, chip: x => cameraChip(x, false), extra: canEdit ? editForm : null});
    liveBox.append(live.el);
    ctx.onLeave(() => live.stop());
  } else {
    liveBox.append(empty(t("canteen.noCameras")));
  }

  // Details and the viewing windows.
  const viewingBox = h("div", {class: "viewing"});
  const drawViewing = v => fill(viewingBox, h("div", {}, h("span", {class: "muted"}, t("canteen.viewing") + t("app.colon")), viewingSummary(v)),
    v.max_parent_viewers ? h("div", {class: "muted small"}, t("canteen.maxParents") + t("app.colon") + v.max_parent_viewers) : null,
    canEdit ? viewingEditor(v, nv => drawViewing(Object.assign({}, v, nv))) : null);
  drawViewing(c);
  const hours = c.operating_hours;
  const details = h("dl", {class: "facts"},
    h("dt", {}, t("canteen.id")), h("dd", {}, c.id),
    h("dt", {}, t("canteen.category")), h("dd", {}, named("cat", c.category)),
    h("dt", {}, t("canteen.district")), h("dd", {}, c.district || t("app.none")),
    h("dt", {}, t("canteen.address")), h("dd", {}, c.address || t("app.none")),
    h("dt", {}, t("canteen.hours")), h("dd", {}, weekText(hours) || t("canteen.notSet")),
    c.tz ? [h("dt", {}, t("canteen.tz")), h("dd", {}, c.tz)] : null);

  const gws = can(me, "gateways.list") ? gatewayList(c.id, ctx.signal) : null;
  if (gws) gws.refresh().catch(() => {});
  const canEnrol = can(me, "gateways.enrol") && inScope(me, c);

  ctx.root.append(h("div", {id: "canteen", dataset: {id: c.id}},
    h("div", {class: "page-head"}, h("h1", {}, c.name || c.id,
      c.active === false ? h("span", {class: "badge off"}, t("canteens.inactive")) : null),
      // Complaints: the dining-hall poster.
      can(me, "complaints.poster") ? h("a", {class: "btn small ghost", href: "#/poster/" + encodeURIComponent(c.id), id: "canteen-poster"}, t("poster.open")) : null),
    h("div", {class: "cols"},
      section(null, {}, details, viewingBox, publicityBox(c, ctx.signal)),
      section(t("canteen.areaTitle"), {}, areasEl)),
    can(ctx.me, "canteens.manage") ? h("details", {class: "card", id: "canteen-edit"}, h("summary", {}, t("canteen.edit")),
      canteenForm(c, () => ctx.rerender())) : null,
    section(t("canteen.live"), {class: "card live-card"}, liveBox),
    gws || canEnrol ? h("div", {class: "cols"}, gws ? gws.el : null, canEnrol ? enrolSection(c.id, ctx.signal) : null) : null,
    section(t("canteen.alarms"), {}, alarms.error ? errorBox(alarms.error) :
      alarmList(alarms.violations, {canteen: false, empty: t("canteen.noAlarms")}))));

  // Camera health changes: refresh the chips and areas every 30 s.
  const timer = setInterval(() => {
    refreshCams().catch(() => {});
    if (gws) gws.refresh().catch(() => {});
  }, 30000);
  ctx.onLeave(() => clearInterval(timer));
}
