// Small DOM and formatting helpers: building elements, times, rates,
// weeks. The widgets the pages share (forms, tables, badges, alarm lists…)
// are in widgets/.

import {t, locale, lang} from "./i18n.js";

const boolProps = new Set(["disabled", "checked", "hidden", "multiple", "selected", "muted", "autoplay",
  "playsInline", "required", "readOnly", "open", "defaultMuted"]);

/**
 * Builds an element. props: class, text, dataset {…}, on {event: fn},
 * value, boolean properties, and any other attribute. Children may be
 * nodes, strings, numbers, arrays or null.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false && !boolProps.has(k)) continue;
    if (k === "class") el.className = Array.isArray(v) ? v.filter(Boolean).join(" ") : v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.entries(v).forEach(([dk, dv]) => { if (dv !== undefined && dv !== null) el.dataset[dk] = dv; });
    else if (k === "on") Object.entries(v).forEach(([ev, fn]) => el.addEventListener(ev, fn));
    else if (k === "value") el.value = v;
    else if (boolProps.has(k)) el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * Makes nodes (elements) el's children, in order, without taking out a
 * node that is already in el and stays: fill would detach it and put it
 * back, and a detached input loses its focus (the user typing in it) and,
 * for a test driving the page, its DOM node id.
 */
export function place(el, nodes) {
  const want = new Set(nodes);
  for (const c of [...el.childNodes]) if (!want.has(c)) c.remove();
  let at = el.firstChild;
  for (const n of nodes) {
    if (n === at) at = at.nextSibling;
    else el.insertBefore(n, at);
  }
  return el;
}

// ---- time ----

const weekdayIndex = {Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6};
const partFormats = new Map();

/** The calendar parts of a time in a time zone (the browser's without tz). */
export function parts(v, tz) {
  const d = v instanceof Date ? v : new Date(v);
  if (isNaN(d)) return null;
  const key = tz || "";
  let f = partFormats.get(key);
  if (!f) {
    const o = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", weekday: "short"};
    try { f = new Intl.DateTimeFormat("en-US", tz ? Object.assign({timeZone: tz}, o) : o); } catch (e) {
      f = new Intl.DateTimeFormat("en-US", o);
    }
    partFormats.set(key, f);
  }
  const p = {};
  for (const x of f.formatToParts(d)) p[x.type] = x.value;
  return {y: +p.year, m: +p.month, d: +p.day, H: p.hour === "24" ? "00" : p.hour, M: p.minute, wd: weekdayIndex[p.weekday] ?? 0,
    ymd: `${p.year}-${p.month}-${p.day}`};
}

/** Whether v is a real time (not empty, not Go's zero time). */
export function isTime(v) {
  if (!v) return false;
  const d = new Date(v);
  return !isNaN(d) && d.getUTCFullYear() > 1;
}

/** "2024-05-01 12:30", or "—". */
export function fmtTime(v, tz) {
  if (!isTime(v)) return t("app.none");
  const p = parts(v, tz);
  return `${p.ymd} ${p.H}:${p.M}`;
}

/** "3 minutes ago" in the language in use, or "—". */
export function fmtRel(v) {
  if (!isTime(v)) return t("app.none");
  const s = (new Date(v).getTime() - Date.now()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(locale(), {numeric: "auto"});
  const a = Math.abs(s);
  if (a < 45) return rtf.format(Math.round(s), "second");
  if (a < 45 * 60) return rtf.format(Math.round(s / 60), "minute");
  if (a < 22 * 3600) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

/** "今天 11:00", "明天 11:00", "周三 03-05 11:00" in time zone tz. */
export function fmtWhen(v, tz) {
  if (!isTime(v)) return t("app.none");
  const p = parts(v, tz), now = parts(new Date(), tz);
  const days = Math.round((Date.UTC(p.y, p.m - 1, p.d) - Date.UTC(now.y, now.m - 1, now.d)) / 86400000);
  const hm = `${p.H}:${p.M}`;
  if (days === 0) return t("time.today") + " " + hm;
  if (days === 1) return t("time.tomorrow") + " " + hm;
  return `${t("day." + p.wd)} ${p.ymd.slice(5)} ${hm}`;
}

/** A time element with the absolute time as its title. */
export function timeEl(v, rel) {
  return h("time", {datetime: isTime(v) ? v : null, title: isTime(v) ? fmtTime(v) : null}, rel ? fmtRel(v) : fmtTime(v));
}

// ---- rates ----

/** A {num, den} rate as "92.3%", or "—" when den is 0. */
export function pct(r) {
  if (!r || !r.den) return t("app.none");
  return (r.num / r.den * 100).toFixed(1) + "%";
}

/** A rate in percent for a chart, or null when den is 0. */
export function pctValue(r) {
  if (!r || !r.den) return null;
  return Math.round(r.num / r.den * 1000) / 10;
}

// ---- weeks (operating hours, viewing windows) ----

/** Display order of weekdays: Monday first (the data is Sunday first). */
export const weekOrder = [1, 2, 3, 4, 5, 6, 0];

function rangesText(rs) {
  if (rs.length === 1 && rs[0] === "00:00-24:00") return t("days.allDay");
  return rs.join(lang() === "zh" ? "、" : ", ");
}

/** "周一至周五 11:00-13:00；周六 09:00-10:00", or "" for an empty week. */
export function weekText(week) {
  const w = Array.from({length: 7}, (_, i) => (week && week[i]) || []);
  const groups = [];
  for (const d of weekOrder) {
    const key = w[d].join(",");
    const last = groups[groups.length - 1];
    if (last && last.key === key) last.days.push(d);
    else groups.push({key, days: [d], ranges: w[d]});
  }
  const out = [];
  for (const g of groups) {
    if (!g.key) continue;
    let name;
    if (g.days.length === 7) name = t("days.every");
    else if (g.days.length === 1) name = t("day." + g.days[0]);
    else if (g.days.length === 2) name = t("day." + g.days[0]) + t("days.sep") + t("day." + g.days[1]);
    else name = t("days.range", {a: t("day." + g.days[0]), b: t("day." + g.days[g.days.length - 1])});
    out.push(name + " " + rangesText(g.ranges));
  }
  return out.join(t("days.listSep"));
}

/** Whether s is a list of HH:MM-HH:MM ranges. */
export function parseRanges(s) {
  const rs = s.split(/[,，;；\s]+/).map(x => x.trim()).filter(Boolean);
  for (const r of rs) {
    if (!/^([01]\d|2[0-4]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/.test(r)) return null;
  }
  return rs;
}
