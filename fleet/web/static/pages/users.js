// #/users: the admin's user list (GET /api/v1/users), adding a user with
// a role, its canteens or districts and a password (POST), deleting one
// (DELETE /api/v1/users/{id}).

import {t, named} from "../i18n.js";
import {api, qs} from "../api.js";
import {h, fill, fmtTime} from "../ui.js";
import {empty, toast} from "../widgets/feedback.js";
import {select, field, act, twoStep} from "../widgets/form.js";
import {table} from "../widgets/table.js";
import {go} from "../app.js";

const roles = ["admin", "regulator", "operator", "parent"];

export async function render(ctx) {
  const role = ctx.query.get("role") || "";
  const res = await api("/users" + qs({role}), {signal: ctx.signal});
  const users = res.users || [];
  const rSel = select({"aria-label": t("users.role")}, [["", t("users.role") + t("app.colon") + t("app.all")], ...roles.map(r => [r, named("role", r)])], role);
  rSel.addEventListener("change", () => go("/users" + qs({role: rSel.value})));
  const list = h("div", {class: "table-wrap card"});
  const err = h("p", {class: "form-error", role: "alert"});
  if (!users.length) fill(list, empty(t("users.empty")));
  else {
    fill(list, table({}, [t("users.login"), t("users.name"), t("users.role"), t("users.col.scope"), t("users.col.created"), ""],
      users.map(u => h("tr", {dataset: {user: u.id}},
        h("th", {scope: "row"}, u.id), h("td", {}, u.name || ""), h("td", {}, named("role", u.role)),
        h("td", {class: "small wrap"}, [...(u.canteens || []), ...(u.districts || [])].join(", ") || t("app.none")),
        h("td", {class: "nowrap"}, fmtTime(u.created_at)),
        h("td", {}, u.id === ctx.me.id ? null : twoStep(t("app.delete"), t("app.confirmDelete"), async () => {
          await api("/users/" + encodeURIComponent(u.id), {method: "DELETE"});
          ctx.rerender();
        }, err)))), {wrap: false}));
  }
  ctx.root.append(h("div", {id: "users"},
    h("div", {class: "page-head"}, h("h1", {}, t("users.title")), h("div", {class: "filters"}, rSel)),
    addForm(ctx), err, list));
}

function addForm(ctx) {
  const id = h("input", {name: "id", required: true, autocapitalize: "none", spellcheck: "false", autocomplete: "off"});
  const name = h("input", {name: "name"});
  const role = select({name: "role"}, roles.map(r => [r, named("role", r)]), "regulator");
  const canteens = h("input", {name: "canteens", autocapitalize: "none", spellcheck: "false"});
  const districts = h("input", {name: "districts", autocapitalize: "none", spellcheck: "false"});
  const password = h("input", {name: "password", type: "password", minlength: "8", autocomplete: "new-password"});
  const cField = field(t("users.canteens"), canteens);
  const dField = field(t("users.districts"), districts);
  const sync = () => {
    cField.hidden = !(role.value === "operator" || role.value === "parent");
    dField.hidden = role.value !== "regulator";
  };
  role.addEventListener("change", sync);
  sync();
  const err = h("p", {class: "form-error", role: "alert"});
  const save = h("button", {type: "submit", class: "btn primary"}, t("users.add"));
  const split = s => s.split(/[,，;；\s]+/).map(x => x.trim()).filter(Boolean);
  act(save, async () => {
    const body = {id: id.value.trim(), name: name.value.trim(), role: role.value, password: password.value};
    if (!cField.hidden) body.canteens = split(canteens.value);
    if (!dField.hidden) body.districts = split(districts.value);
    const u = await api("/users", {method: "POST", body});
    toast(t("users.created", {id: u.id || body.id}), "ok");
    ctx.rerender();
  }, err);
  return h("details", {class: "card"}, h("summary", {}, t("users.add")),
    h("form", {class: "grid-form"}, field(t("users.login"), id), field(t("users.name"), name), field(t("users.role"), role),
      cField, dField, field(t("users.password"), password), h("div", {class: "form-actions"}, save, err)));
}
