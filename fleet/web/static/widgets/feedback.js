// Widgets for what a page says about itself: a card section, an empty
// list, loading, an error with a retry, a toast.

import {t} from "../i18n.js";
import {errorText} from "../api.js";
import {h} from "../ui.js";

/** A titled card section. */
export function section(title, props, ...children) {
  return h("section", Object.assign({class: "card"}, props || {}), title ? h("h2", {}, title) : null, ...children);
}

/** A muted message for an empty list. */
export function empty(text) { return h("p", {class: "empty"}, text); }

/** A spinner line. */
export function loading() { return h("p", {class: "loading", role: "status"}, t("app.loading")); }

/** An error box with an optional retry. */
export function errorBox(e, retry) {
  return h("div", {class: "error-box", role: "alert"}, h("span", {}, t("app.error", {msg: errorText(e)})),
    retry ? h("button", {type: "button", class: "btn small", on: {click: retry}}, t("app.retry")) : null);
}

let toastTimer = 0;
/** A short message at the bottom of the screen. */
export function toast(msg, kind) {
  let el = document.getElementById("toast");
  if (!el) {
    el = h("div", {id: "toast", role: "status", "aria-live": "polite"});
    document.body.append(el);
  }
  el.textContent = msg;
  el.className = "show " + (kind || "");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = ""; }, 4000);
}
