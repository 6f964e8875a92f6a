// A canteen's public notice (公示) on its page: GET/PUT
// /api/v1/canteens/{id}/publicity. The answer names the fields the
// signed-in person may change (the operator: licence and person in
// charge; the district's regulator: grade and inspection; an admin: all);
// only those are inputs, and only they are sent.

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h, fill} from "../ui.js";
import {field, act} from "./form.js";
import {toast} from "./feedback.js";

const grades = ["A", "B", "C"];
const results = ["compliant", "basically_compliant", "non_compliant"];

/** The notice of canteen c, with its editor where allowed. */
export function publicityBox(c, signal) {
  const box = h("div", {class: "publicity", id: "publicity"});
  const draw = x => {
    const may = new Set(x.editable || []);
    const facts = h("dl", {class: "facts"},
      h("dt", {}, t("pub.licence")), h("dd", {}, x.licence_no || t("app.none")),
      h("dt", {}, t("pub.person")), h("dd", {}, x.person_in_charge || t("app.none")),
      h("dt", {}, t("pub.grade")), h("dd", {dataset: {grade: x.grade || ""}}, x.grade ? t("pub.grade." + x.grade) : t("pub.gradeNone")),
      h("dt", {}, t("pub.inspection")), h("dd", {}, x.inspection_result ? t("pub.insp." + x.inspection_result) + " · " + x.inspected_on : t("app.none")));
    const inputs = {};
    const text = (name, value) => (inputs[name] = h("input", {value: value || "", id: "pub-" + name}));
    const choice = (name, values, prefix, value) => (inputs[name] = h("select", {id: "pub-" + name},
      h("option", {value: ""}, t("app.none")), values.map(v => h("option", {value: v, selected: v === value}, t(prefix + v)))));
    const rows = [];
    if (may.has("licence_no")) rows.push(field(t("pub.licence"), text("licence_no", x.licence_no)));
    if (may.has("person_in_charge")) rows.push(field(t("pub.person"), text("person_in_charge", x.person_in_charge)));
    if (may.has("grade")) rows.push(field(t("pub.grade"), choice("grade", grades, "pub.grade.", x.grade)));
    if (may.has("inspection_result")) rows.push(field(t("pub.inspection"), choice("inspection_result", results, "pub.insp.", x.inspection_result)));
    if (may.has("inspected_on")) rows.push(field(t("pub.inspection"), (inputs.inspected_on = h("input", {type: "date", value: x.inspected_on || "", id: "pub-inspected_on"}))));
    let editor = null;
    if (rows.length) {
      const err = h("p", {class: "form-error", role: "alert"});
      const save = h("button", {type: "submit", class: "btn small primary", id: "pub-save"}, t("app.save"));
      act(save, async () => {
        const body = {};
        for (const [k, el] of Object.entries(inputs)) body[k] = el.value.trim();
        draw(await api("/canteens/" + encodeURIComponent(c.id) + "/publicity", {method: "PUT", body}));
        toast(t("app.saved"), "ok");
      }, err);
      editor = h("details", {class: "publicity-editor"}, h("summary", {}, t("pub.edit")),
        h("form", {}, rows, h("div", {class: "form-actions"}, save, err)));
    }
    fill(box, h("h3", {}, t("pub.notice")), facts, editor,
      h("p", {class: "small"}, h("a", {href: "/kitchens/" + encodeURIComponent(c.id), target: "_blank", rel: "noopener"}, t("pub.title"))));
  };
  api("/canteens/" + encodeURIComponent(c.id) + "/publicity", {signal}).then(draw).catch(() => {});
  return box;
}
