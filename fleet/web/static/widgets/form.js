// Form widgets: a labelled field, a select, a button wired to an async
// action, a button that asks once more.

import {errorText, aborted} from "../api.js";
import {h} from "../ui.js";
import {toast} from "./feedback.js";

/** A labelled form field. */
export function field(label, input, help) {
  return h("label", {class: "field"}, h("span", {class: "field-label"}, label), input,
    help ? h("small", {class: "help"}, help) : null);
}

/** A select of options [value, text]; the first may be ["", t("app.all")]. */
export function select(props, options, selected) {
  return h("select", props, options.map(([v, text]) => h("option", {value: v, selected: String(v) === String(selected ?? "")}, text)));
}

/**
 * Wires a button to an async action: disabled while it runs; its error
 * goes to errEl (or a toast). Never lets a rejection escape.
 */
export function act(btn, fn, errEl) {
  btn.addEventListener("click", async ev => {
    ev.preventDefault();
    if (btn.disabled) return;
    btn.disabled = true;
    if (errEl) errEl.textContent = "";
    try {
      await fn(ev);
    } catch (e) {
      if (aborted(e)) return;
      if (errEl) errEl.textContent = errorText(e);
      else toast(errorText(e), "bad");
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

/** A button that asks once more before it runs fn. */
export function twoStep(label, confirmLabel, fn, errEl) {
  const btn = h("button", {type: "button", class: "btn small danger"}, label);
  let armed = false, timer = 0;
  btn.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      btn.textContent = confirmLabel;
      timer = setTimeout(() => { armed = false; btn.textContent = label; }, 4000);
      return;
    }
    clearTimeout(timer);
    armed = false;
    btn.disabled = true;
    try { await fn(); } catch (e) {
      if (!aborted(e)) { if (errEl) errEl.textContent = errorText(e); else toast(errorText(e), "bad"); }
    } finally { btn.disabled = false; btn.textContent = label; }
  });
  return btn;
}
