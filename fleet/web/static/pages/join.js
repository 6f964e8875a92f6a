// #/join: a parent redeems an invite code (POST /api/v1/invites/redeem)
// and is signed in to the school's page. #/join?code=… fills the code.
// #/join?link=… is a school's join link (a poster's QR code): the page
// names the school (POST /api/v1/join/check), asks only for a name and
// signs this device in (POST /api/v1/join); no login, no password.

import {t} from "../i18n.js";
import {api, errorText} from "../api.js";
import {h} from "../ui.js";
import {field} from "../widgets/form.js";
import {signedIn} from "../app.js";

export async function render(ctx) {
  if (ctx.query.get("link")) return renderLink(ctx, ctx.query.get("link"));
  const code = h("input", {id: "join-code", name: "code", autocomplete: "one-time-code", autocapitalize: "characters",
    spellcheck: "false", required: true, value: ctx.query.get("code") || ""});
  const login = h("input", {id: "join-login", name: "login", autocomplete: "username", autocapitalize: "none",
    spellcheck: "false", required: true});
  const name = h("input", {id: "join-name", name: "name", autocomplete: "nickname", placeholder: t("join.namePh"), required: true});
  const password = h("input", {id: "join-password", name: "password", type: "password", autocomplete: "new-password",
    minlength: "8", required: true});
  const err = h("p", {id: "join-error", class: "form-error", role: "alert"});
  const submit = h("button", {id: "join-submit", type: "submit", class: "btn primary wide"}, t("join.submit"));
  const form = h("form", {class: "auth-form", novalidate: true},
    field(t("join.code"), code), field(t("join.login"), login), field(t("join.name"), name),
    field(t("join.password"), password), err, submit,
    h("p", {class: "auth-alt"}, h("a", {href: "#/login"}, t("join.back"))));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    err.textContent = "";
    if (!code.value.trim() || !login.value.trim() || !name.value.trim() || !password.value) {
      err.textContent = t("join.required");
      return;
    }
    if (password.value.length < 8) { err.textContent = t("join.short"); return; }
    submit.disabled = true;
    submit.textContent = t("join.busy");
    try {
      const user = await api("/invites/redeem", {method: "POST", quiet401: true, body: {code: code.value.trim(),
        login: login.value.trim(), name: name.value.trim(), password: password.value}});
      signedIn(user);
    } catch (e) {
      err.textContent = e.code === "bad_invite" ? t("join.bad") : errorText(e);
    } finally {
      submit.disabled = false;
      submit.textContent = t("join.submit");
    }
  });
  ctx.root.append(h("div", {class: "auth"},
    h("div", {class: "auth-card card"}, h("h1", {}, t("join.title")), h("p", {class: "muted"}, t("join.subtitle")), form)));
}

// The join link form: the school, a name, one button.
async function renderLink(ctx, link) {
  const card = h("div", {class: "auth-card card", id: "join-link"}, h("h1", {}, t("join.linkTitle")));
  ctx.root.append(h("div", {class: "auth"}, card));
  let info;
  try {
    info = await api("/join/check", {method: "POST", quiet401: true, body: {link}, signal: ctx.signal});
  } catch (e) {
    card.append(h("p", {id: "join-error", class: "form-error", role: "alert"},
      e.code === "bad_join_link" ? t("join.linkBad") : errorText(e)),
    h("p", {class: "auth-alt"}, h("a", {href: "#/login"}, t("join.back"))));
    return;
  }
  const name = h("input", {id: "join-name", name: "name", autocomplete: "nickname", maxlength: "100",
    placeholder: t("join.namePh"), required: true});
  const err = h("p", {id: "join-error", class: "form-error", role: "alert"});
  const submit = h("button", {id: "join-submit", type: "submit", class: "btn primary wide"}, t("join.linkSubmit"));
  const form = h("form", {class: "auth-form", novalidate: true},
    field(t("join.name"), name, t("join.nameHelp")), err, submit);
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    err.textContent = "";
    if (!name.value.trim()) { err.textContent = t("join.required"); return; }
    submit.disabled = true;
    try {
      const user = await api("/join", {method: "POST", quiet401: true, body: {link, name: name.value.trim()}});
      signedIn(user);
    } catch (e) {
      err.textContent = e.code === "bad_join_link" ? t("join.linkBad") : errorText(e);
    } finally {
      submit.disabled = false;
    }
  });
  card.append(h("p", {id: "join-school", class: "join-school"}, h("b", {}, info.canteen_name),
    info.class ? h("span", {class: "badge"}, t("join.class", {c: info.class})) : null),
  h("p", {class: "muted"}, t("join.linkSubtitle")), form,
  h("p", {class: "muted small"}, t("join.linkDevice")));
}
