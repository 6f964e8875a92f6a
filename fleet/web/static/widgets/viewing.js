// The editor of a school's parent viewing windows (PUT
// /api/v1/canteens/{id}/viewing), shared by the canteen page and the
// operator's page.

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h, weekText, weekOrder, parseRanges} from "../ui.js";
import {toast} from "./feedback.js";
import {field, act} from "./form.js";

/** The summary line of a canteen's viewing windows and whether open now. */
export function viewingSummary(c) {
  const text = weekText(c.viewing_windows);
  return h("span", {class: "viewing-summary"},
    h("span", {class: "badge " + (c.viewing_open ? "ok" : "off")}, t(c.viewing_open ? "canteen.viewingOpen" : "canteen.viewingClosed")),
    " ", text || t("canteen.notSet"));
}

/**
 * A form for c's viewing windows; onSaved(canteenView) after a save.
 * Returns a <details> that opens to the form.
 */
export function viewingEditor(c, onSaved) {
  const week = Array.from({length: 7}, (_, i) => ((c.viewing_windows || [])[i] || []).slice());
  const inputs = [];
  const rows = weekOrder.map(d => {
    const input = h("input", {value: week[d].join(", "), placeholder: "11:00-13:00", inputmode: "numeric",
      "aria-label": t("day." + d), dataset: {day: String(d)}});
    inputs[d] = input;
    return h("label", {class: "day-row"}, h("span", {class: "day-name"}, t("day." + d)), input);
  });
  const max = h("input", {type: "number", min: "0", max: "10000", value: String(c.max_parent_viewers || 0), id: "max-parents"});
  const err = h("p", {class: "form-error", role: "alert"});
  const save = h("button", {type: "submit", class: "btn primary", id: "viewing-save"}, t("app.save"));
  const lunch = h("button", {type: "button", class: "btn small ghost"}, t("canteen.presetLunch"));
  lunch.addEventListener("click", () => inputs.forEach((el, d) => { el.value = d >= 1 && d <= 5 ? "11:00-13:00" : ""; }));
  const clear = h("button", {type: "button", class: "btn small ghost"}, t("canteen.presetClear"));
  clear.addEventListener("click", () => inputs.forEach(el => { el.value = ""; }));
  act(save, async () => {
    const out = [];
    for (let d = 0; d < 7; d++) {
      const rs = parseRanges(inputs[d].value);
      if (!rs) { err.textContent = t("canteen.badRange", {day: t("day." + d)}); inputs[d].focus(); return; }
      out[d] = rs;
    }
    const v = await api("/canteens/" + encodeURIComponent(c.id) + "/viewing", {method: "PUT",
      body: {viewing_windows: out, max_parent_viewers: Number(max.value) || 0}});
    toast(t("app.saved"), "ok");
    if (onSaved) onSaved(v);
  }, err);
  return h("details", {class: "viewing-editor"}, h("summary", {}, t("canteen.editViewing")),
    h("form", {class: "viewing-form"}, h("p", {class: "help"}, t("canteen.viewingHelp")),
      h("div", {class: "row"}, lunch, clear), rows,
      field(t("canteen.maxParents"), max, t("canteen.maxParentsHelp")),
      h("div", {class: "form-actions"}, save, err)));
}
