// #/canteens: the canteen registry in the principal's scope (GET
// /api/v1/canteens), searchable; who may manage canteens (admins) also
// registers canteens (POST /api/v1/canteens) and imports a CSV (POST
// /api/v1/canteens/import).

import {t, named, categories} from "../i18n.js";
import {api, qs, errorText} from "../api.js";
import {h, fill} from "../ui.js";
import {empty, toast} from "../widgets/feedback.js";
import {select, field, act} from "../widgets/form.js";
import {go} from "../app.js";
import {can} from "../me.js";

const page = 200;

export async function render(ctx) {
  const category = ctx.query.get("category") || "";
  const district = ctx.query.get("district") || "";
  const res = await api("/canteens" + qs({category, district}), {signal: ctx.signal});
  const all = (res.canteens || []).slice().sort((a, b) => (a.district + a.name).localeCompare(b.district + b.name, "zh"));

  const search = h("input", {type: "search", id: "canteen-search", placeholder: t("canteens.search"), "aria-label": t("canteens.search")});
  const cSel = select({"aria-label": t("canteen.category")}, [["", t("canteen.category") + t("app.colon") + t("app.all")],
    ...categories.map(c => [c, named("cat", c)])], category);
  const districts = [...new Set(all.map(c => c.district).concat(district ? [district] : []))].sort();
  const dSel = select({"aria-label": t("canteen.district")}, [["", t("canteen.district") + t("app.colon") + t("app.all")],
    ...districts.map(d => [d, d])], district);
  const onFilter = () => go("/canteens" + qs({category: cSel.value, district: dSel.value}));
  cSel.addEventListener("change", onFilter);
  dSel.addEventListener("change", onFilter);

  const list = h("div", {class: "canteen-list", id: "canteen-list"});
  const count = h("span", {class: "muted"});
  let shown = page;
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const match = q ? all.filter(c => [c.id, c.name, c.address, c.district].some(x => (x || "").toLowerCase().includes(q))) : all;
    count.textContent = t("canteens.count", {n: match.length});
    if (!match.length) { fill(list, empty(t("canteens.empty"))); return; }
    fill(list, match.slice(0, shown).map(c => h("a", {class: "canteen-item card", href: "#/canteen/" + encodeURIComponent(c.id),
      dataset: {canteen: c.id}},
    h("div", {class: "canteen-item-head"}, h("b", {}, c.name || c.id),
      c.active === false ? h("span", {class: "badge off"}, t("canteens.inactive")) : null),
    h("div", {class: "muted"}, [named("cat", c.category), c.district, c.id].filter(Boolean).join(" · ")),
    c.address ? h("div", {class: "muted small"}, c.address) : null)),
    match.length > shown ? h("button", {type: "button", class: "btn", on: {click: () => { shown += page; draw(); }}}, t("app.more")) : null);
  };
  search.addEventListener("input", () => { shown = page; draw(); });
  draw();

  ctx.root.append(h("div", {id: "canteens"},
    h("div", {class: "page-head"}, h("h1", {}, t("canteens.title")), h("div", {class: "filters"}, search, cSel, dSel, count)),
    can(ctx.me, "canteens.manage") ? adminTools() : null,
    list));
}

function adminTools() {
  const form = canteenForm(null, c => go("/canteen/" + encodeURIComponent(c.id)));
  const file = h("input", {type: "file", accept: ".csv,text/csv"});
  const ierr = h("div", {class: "form-error", role: "alert"});
  const imp = h("button", {type: "button", class: "btn"}, t("canteens.import"));
  act(imp, async () => {
    if (!file.files.length) return;
    try {
      const r = await api("/canteens/import", {method: "POST", blob: file.files[0], type: "text/csv"});
      toast(t("canteens.imported", {n: r.imported}), "ok");
      go("/canteens");
    } catch (e) {
      if (e.code === "bad_rows" && e.data && e.data.rows) {
        fill(ierr, h("p", {}, errorText(e)), h("ul", {}, e.data.rows.slice(0, 50).map(r => h("li", {}, t("canteens.badRows", r)))));
        return;
      }
      throw e;
    }
  }, ierr);
  return h("div", {class: "admin-tools"},
    h("details", {class: "card"}, h("summary", {}, t("canteens.add")), form),
    h("details", {class: "card"}, h("summary", {}, t("canteens.import")), h("p", {class: "muted small"}, t("canteens.importHelp")),
      h("div", {class: "row"}, file, imp), ierr));
}

/**
 * The form that registers a canteen (c null) or edits c (admin). POST
 * /api/v1/canteens stores the whole record, so what the form does not
 * show (viewing windows, parent cap, zone) is sent as it is. Hours are
 * one list of ranges for every day; a canteen whose days differ keeps
 * them unless the field is filled in. onSaved(canteen) after a save.
 */
export function canteenForm(c, onSaved) {
  const v = x => (x == null ? "" : String(x));
  const id = h("input", {name: "id", required: true, autocapitalize: "none", spellcheck: "false", value: c ? c.id : "",
    readonly: !!c});
  const name = h("input", {name: "name", required: true, value: c ? v(c.name) : ""});
  const cat = select({name: "category"}, categories.map(x => [x, named("cat", x)]), c ? c.category : "school");
  const district = h("input", {name: "district", required: true, value: c ? v(c.district) : ""});
  const address = h("input", {name: "address", value: c ? v(c.address) : ""});
  const areas = h("input", {name: "required_areas", placeholder: "rough_processing, cooking, washing",
    value: c && c.required_areas ? c.required_areas.join(", ") : ""});
  const week = c ? c.operating_hours || [] : [];
  const uniform = week.length === 7 && week.every(d => JSON.stringify(d || []) === JSON.stringify(week[0] || []));
  const initial = !c ? "06:00-20:00" : uniform ? (week[0] || []).join(", ") : "";
  const hours = h("input", {name: "hours", value: initial, placeholder: c && !uniform ? t("canteen.hoursVary") : ""});
  const active = c ? h("input", {type: "checkbox", name: "active", checked: c.active !== false}) : null;
  const err = h("p", {class: "form-error", role: "alert"});
  const save = h("button", {type: "submit", class: "btn primary", id: c ? "canteen-save" : "canteen-add"}, t("app.save"));
  const form = h("form", {class: "grid-form", id: c ? "canteen-form" : null}, field(t("canteen.id"), id), field(t("canteen.name"), name),
    field(t("canteen.category"), cat), field(t("canteen.district"), district), field(t("canteen.address"), address),
    field(t("canteen.areas"), areas, t("canteen.areasHelp")), field(t("canteen.hours"), hours, t("canteen.hoursHelp")),
    active ? h("label", {class: "check"}, active, " ", t("canteen.active")) : null,
    h("div", {class: "form-actions"}, save, err));
  act(save, async () => {
    const list = areas.value.split(/[,，;；\s]+/).map(x => x.trim()).filter(Boolean);
    const rs = hours.value.split(/[,，;；\s]+/).map(x => x.trim()).filter(Boolean);
    const body = {id: id.value.trim(), name: name.value.trim(), category: cat.value, district: district.value.trim(),
      address: address.value.trim(), active: active ? active.checked : true,
      operating_hours: !c || hours.value.trim() !== initial ? Array.from({length: 7}, () => rs) : week};
    if (list.length) body.required_areas = list;
    if (c) Object.assign(body, {tz: c.tz, viewing_windows: c.viewing_windows, max_parent_viewers: c.max_parent_viewers});
    const saved = await api("/canteens", {method: "POST", body});
    toast(t("app.saved"), "ok");
    onSaved(Object.assign({id: body.id}, saved));
  }, err);
  return form;
}
