// The form that registers or edits a canteen, shared by the canteen list
// (register) and a canteen's page (edit).

import {t, named, categories} from "../i18n.js";
import {api} from "../api.js";
import {h} from "../ui.js";
import {toast} from "./feedback.js";
import {select, field, act} from "./form.js";

/**
 * The form that registers a canteen (c null) or edits c. POST
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
