// Every visible string of the UI, in Chinese (the default) and English:
// the dictionaries are data, one JSON file per language under i18n/
// (fleet/web's TestModules checks that both have the same keys and that
// every key the code asks for exists). Names that come from the server
// (the violation types of fleet/wire) are registered with setNames.
// t(key, params) looks a key up in the chosen language, then in Chinese,
// and fills {name} placeholders from params. The choice is kept in
// localStorage.

import zh from "./i18n/zh-CN.json" with {type: "json"};
import en from "./i18n/en.json" with {type: "json"};

const dicts = {zh, en};
const storeKey = "bk.lang";

function initial() {
  try {
    const v = localStorage.getItem(storeKey);
    if (v === "zh" || v === "en") return v;
  } catch (e) { /* storage disabled */ }
  return "zh";
}

let current = initial();

/** The language in use: "zh" or "en". */
export function lang() { return current; }

/** The BCP 47 tag of the language in use, for Intl and <html lang>. */
export function locale() { return current === "en" ? "en-GB" : "zh-CN"; }

/** Switches the language and remembers it. */
export function setLang(l) {
  current = l === "en" ? "en" : "zh";
  try { localStorage.setItem(storeKey, current); } catch (e) { /* storage disabled */ }
  document.documentElement.lang = locale();
}

/** Whether key has a text. */
export function has(key) { return key in dicts[current] || key in zh; }

/** The text of key, with {name} filled from params. */
export function t(key, params) {
  let s = dicts[current][key];
  if (s === undefined) s = zh[key];
  if (s === undefined) return key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

const families = new Map();

/**
 * Registers the names of a family's codes given by the server: entries
 * [{id, zh, en}] (GET /api/v1/violation-types for "vt").
 */
export function setNames(family, entries) {
  families.set(family, new Map((entries || []).map(e => [e.id, e])));
}

/**
 * The name of a code in a family ("vt", "status", "area"…): the server's
 * name (setNames), the dictionary's, or the code itself.
 */
export function named(family, code) {
  if (code === undefined || code === null || code === "") return "";
  const e = families.has(family) && families.get(family).get(code);
  if (e) return (current === "en" ? e.en : e.zh) || String(code);
  const k = family + "." + code;
  return has(k) ? t(k) : String(code);
}

/** Canteen categories of docs/SPEC.md §4. */
export const categories = ["school", "kindergarten", "hospital", "elder_care", "scenic", "construction", "central_kitchen", "other"];

/** Alarm statuses, in workflow order. */
export const statuses = ["new", "confirmed", "rectifying", "closed", "dismissed"];

document.documentElement.lang = locale();
