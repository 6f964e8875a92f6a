// What the complaint pages share: the categories' names (GET
// /api/v1/complaint-categories, loaded once) and a ticket state's badge.

import {t, lang} from "../i18n.js";
import {api} from "../api.js";
import {h} from "../ui.js";

let categories = null;

/** Loads the categories once. */
export async function loadCategories(signal) {
  if (!categories) categories = (await api("/complaint-categories", {signal})).categories || [];
}

/** A category's name in the language in use. */
export function categoryName(id) {
  const c = (categories || []).find(x => x.id === id);
  return c ? (lang() === "en" ? c.en : c.zh) : id;
}

const kinds = {received: "warn", accepted: "info", handled: "info", replied: "ok", rejected: "muted"};

/** A ticket state's badge. */
export function stateBadge(state) {
  return h("span", {class: "badge " + (kinds[state] || "")}, t("cp.state." + state));
}
