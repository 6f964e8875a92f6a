// #/login: a login and a password, POST /api/v1/login, then the role's
// first page.

import {t} from "../i18n.js";
import {api, errorText} from "../api.js";
import {h} from "../ui.js";
import {field} from "../widgets/form.js";
import {signedIn} from "../app.js";

export async function render(ctx) {
  const login = h("input", {id: "login", name: "login", autocomplete: "username", autocapitalize: "none",
    spellcheck: "false", required: true});
  const password = h("input", {id: "password", name: "password", type: "password", autocomplete: "current-password", required: true});
  const err = h("p", {id: "login-error", class: "form-error", role: "alert"});
  const submit = h("button", {id: "login-submit", type: "submit", class: "btn primary wide"}, t("login.submit"));
  const form = h("form", {class: "auth-form", novalidate: true},
    field(t("login.login"), login), field(t("login.password"), password), err, submit,
    h("p", {class: "auth-alt"}, h("a", {href: "#/join"}, t("login.join"))));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    err.textContent = "";
    if (!login.value.trim() || !password.value) { err.textContent = t("login.required"); return; }
    submit.disabled = true;
    submit.textContent = t("login.busy");
    try {
      const user = await api("/login", {method: "POST", body: {login: login.value.trim(), password: password.value}, quiet401: true});
      signedIn(user);
    } catch (e) {
      if (e.code === "bad_credentials" || e.status === 401) err.textContent = t("login.bad");
      else if (e.status === 429) err.textContent = e.retryAfter ? t("login.limited", {s: e.retryAfter}) : t("err.rate_limited");
      else err.textContent = errorText(e);
      password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = t("login.submit");
    }
  });
  ctx.root.append(h("div", {class: "auth"},
    h("div", {class: "auth-card card"},
      h("h1", {}, t("login.title")), h("p", {class: "muted"}, t("login.subtitle")), form)));
  login.focus();
}
