// #/canteens: the canteen registry in the principal's scope (GET
// /api/v1/canteens), searchable; who may manage canteens (admins) also
// registers canteens (POST /api/v1/canteens) and imports a CSV (POST
// /api/v1/canteens/import).

import {t, named, categories} from "../i18n.js";
import {api, qs, errorText} from "../api.js";
import {h, fill} from "../ui.js";
import {empty, toast} from "../widgets/feedback.js";
import {select, act} from "../widgets/form.js";
import {go} from "../app.js";
import {can} from "../me.js";
import {canteenForm} from "../widgets/canteen-form.js";

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
