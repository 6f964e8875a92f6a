// BrightKitchen web UI: hash routes, the session, the header and the
// navigation, shown by the permissions GET /api/v1/me lists (never by
// role names). Pages live in pages/*.js and export render(ctx); ctx
// carries the page's root element, the route's parameter and query, the
// signed-in principal (as /me gives it), an AbortSignal for its fetches
// and onLeave() for what must stop when the page is left (videos, timers,
// charts). What several pages show is in widgets/.

import {t, setLang, lang} from "./i18n.js";
import {api, onUnauthorized, aborted} from "./api.js";
import {h, fill} from "./ui.js";
import {errorBox, loading, toast} from "./widgets/feedback.js";
import {stopAll} from "./live.js";
import {can} from "./me.js";
import {loadTypes} from "./types.js";
import * as login from "./pages/login.js";
import * as join from "./pages/join.js";
import * as dashboard from "./pages/dashboard.js";
import * as canteens from "./pages/canteens.js";
import * as canteen from "./pages/canteen.js";
import * as review from "./pages/review.js";
import * as alarm from "./pages/alarm.js";
import * as my from "./pages/my.js";
import * as gateways from "./pages/gateways.js";
import * as gatewayPage from "./pages/gateway.js";
import * as parent from "./pages/parent.js";
import * as audit from "./pages/audit.js";
import * as users from "./pages/users.js";
import * as releases from "./pages/releases.js";
import * as rollout from "./pages/rollout.js";
import * as pushPage from "./pages/push.js";
// Complaints (投诉举报).
import * as complaintsPage from "./pages/complaints.js";
import * as complaintPage from "./pages/complaint.js";
import * as posterPage from "./pages/poster.js";

/**
 * Routes: the page module and the permission (GET /api/v1/me) that opens
 * it; none: public.
 */
const routes = {
  login: {page: login},
  join: {page: join},
  dashboard: {page: dashboard, perm: "dashboard.view"},
  canteens: {page: canteens, perm: "canteens.list"},
  canteen: {page: canteen, perm: "canteens.list"},
  review: {page: review, perm: "alarms.view"},
  alarm: {page: alarm, perm: "alarms.view"},
  my: {page: my, perm: "canteen.work"},
  gateways: {page: gateways, perm: "gateways.list"},
  gateway: {page: gatewayPage, perm: "gateways.list"},
  parent: {page: parent, perm: "parent.view"},
  audit: {page: audit, perm: "audit.view"},
  users: {page: users, perm: "users.add"},
  releases: {page: releases, perm: "releases.manage"},
  rollout: {page: rollout, perm: "releases.manage"},
  push: {page: pushPage, perm: "push.subscribe"},
  // Complaints (投诉举报).
  complaints: {page: complaintsPage, perm: "complaints.view"},
  complaint: {page: complaintPage, perm: "complaints.view"},
  poster: {page: posterPage, perm: "complaints.poster"},
};

/**
 * The navigation in order: a principal sees the pages its permissions
 * open, and the first of them is its home.
 */
const navOrder = ["dashboard", "my", "review", "complaints", "canteens", "gateways", "releases", "audit", "push", "users", "parent"];

function mayOpen(me, name) {
  const def = routes[name];
  return !!def && (!def.perm || can(me, def.perm));
}

function navOf(me) { return me ? navOrder.filter(n => mayOpen(me, n)) : []; }

/** The first page of the signed-in principal. */
export function home(me) { return navOf(me)[0] || "login"; }

/** The navigation label of a page: who only answers alarms sees "alarms". */
function navLabel(me, name) {
  return name === "review" && !can(me, "alarms.review") ? "nav.alarms" : "nav." + name;
}

const state = {me: null, seq: 0, leave: [], abort: null, current: ""};


/** Sets the signed-in user (after a login) and goes to target or home. */
export function signedIn(user) {
  state.me = user;
  let target = "";
  try { target = sessionStorage.getItem("bk.after") || ""; sessionStorage.removeItem("bk.after"); } catch (e) { /* none */ }
  const r = parse(target);
  if (r && routes[r.name] && routes[r.name].perm && mayOpen(user, r.name)) go(target.slice(1));
  else go("/" + home(user));
}

/** Goes to a hash route ("/alarm/3"). */
export function go(path) {
  const hash = "#" + path;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parse(hash) {
  const m = /^#\/([a-z]+)(?:\/([^?]*))?(?:\?(.*))?$/.exec(hash || "");
  if (!m) return null;
  let param = "";
  try { param = m[2] ? decodeURIComponent(m[2]) : ""; } catch (e) { param = m[2]; }
  return {name: m[1], param, query: new URLSearchParams(m[3] || "")};
}

function leave() {
  const fns = state.leave;
  state.leave = [];
  if (state.abort) state.abort.abort();
  state.abort = null;
  for (const fn of fns) {
    try { fn(); } catch (e) { console.warn("leave", e); }
  }
}

function header() {
  const top = document.getElementById("top");
  const u = state.me;
  const items = navOf(u);
  const langBtn = h("button", {type: "button", id: "lang", class: "btn small ghost", title: t("app.langTitle"),
    lang: lang() === "zh" ? "en" : "zh"}, t("app.lang"));
  langBtn.addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    document.title = t("app.title");
    route();
  });
  const right = h("div", {class: "top-right"},
    u ? h("span", {class: "who", title: u.id || ""}, u.name || u.id || "", h("small", {}, t("role." + u.role))) : null,
    langBtn,
    u ? h("button", {type: "button", id: "logout", class: "btn small ghost", on: {click: logout}}, t("app.logout")) : null);
  const nav = h("nav", {class: "nav", "aria-label": t("app.nav")}, items.map(n => h("a", {href: "#/" + n, dataset: {nav: n},
    class: n === navActive(state.current) ? "active" : null},
  t(navLabel(u, n)))));
  fill(top, h("a", {class: "brand", href: u ? "#/" + home(u) : "#/login"}, h("span", {class: "logo", "aria-hidden": "true"}, "明"),
    h("span", {}, t("app.brand"))), items.length ? nav : null, right);
}

/**
 * The unread notices of who works a canteen, as a count on "my" in the
 * navigation (a[data-nav=my] .count[data-unread]); refreshed on every
 * page, every minute and when a page reads one (the "bk:notices" event).
 */
let unreadTimer = 0;
async function unread() {
  const u = state.me;
  if (!can(u, "canteen.work")) return;
  if (!unreadTimer) unreadTimer = setInterval(unread, 60000);
  let n;
  try {
    const r = await api("/notices?unread=1", {quiet401: true});
    n = (r.notices || []).length;
  } catch (e) { return; }
  const a = document.querySelector('#top a[data-nav="my"]');
  if (!a) return;
  let b = a.querySelector(".count");
  if (!n) { if (b) b.remove(); return; }
  if (!b) { b = h("span", {class: "count"}); a.append(b); }
  b.textContent = n > 99 ? "99+" : String(n);
  b.dataset.unread = String(n);
  b.title = t("notice.unreadN", {n});
}
addEventListener("bk:notices", () => unread());

function navActive(name) {
  return {canteen: "canteens", alarm: "review", rollout: "releases"}[name] || name;
}

async function logout() {
  try { await api("/logout", {method: "POST", quiet401: true}); } catch (e) { /* ended anyway */ }
  stopAll();
  state.me = null;
  go("/login");
}

onUnauthorized(() => {
  if (!state.me) return;
  state.me = null;
  toast(t("err.unauthorized"), "bad");
  try { sessionStorage.setItem("bk.after", location.hash); } catch (e) { /* none */ }
  go("/login");
});

/** Renders the route of location.hash. */
export async function route() {
  const seq = ++state.seq;
  leave();
  const body = document.body;
  delete body.dataset.page;
  delete body.dataset.ready;
  const main = document.getElementById("main");
  const r = parse(location.hash);
  if (!r || !routes[r.name]) {
    location.replace("#/" + (state.me ? home(state.me) : "login"));
    return;
  }
  const def = routes[r.name];
  if (def.perm && !state.me) {
    fill(main, loading());
    try {
      state.me = await api("/me", {quiet401: true});
    } catch (e) {
      if (seq !== state.seq) return;
      if (e.status === 401) {
        try { sessionStorage.setItem("bk.after", location.hash); } catch (x) { /* none */ }
        location.replace("#/login");
        return;
      }
      state.current = r.name;
      header();
      fill(main, errorBox(e, () => route()));
      body.dataset.page = r.name;
      return;
    }
    if (seq !== state.seq) return;
  }
  if (def.perm && !mayOpen(state.me, r.name)) {
    location.replace("#/" + home(state.me));
    return;
  }
  if (def.perm) {
    try { await loadTypes(); } catch (e) { console.warn("violation types", e); }
    if (seq !== state.seq) return;
  }
  state.current = r.name;
  header();
  unread();
  const navKey = navLabel(state.me, navActive(r.name));
  document.title = (r.name === "login" ? t("login.title") : r.name === "join" ? t("join.title") : t(navKey)) + " · " + t("app.brand");
  const ctrl = new AbortController();
  state.abort = ctrl;
  const root = h("div", {class: "page page-" + r.name});
  fill(main, root);
  const ctx = {
    root, param: r.param, query: r.query, me: state.me, signal: ctrl.signal,
    alive: () => seq === state.seq,
    onLeave(fn) { if (seq === state.seq) state.leave.push(fn); else fn(); },
    rerender: () => { if (seq === state.seq) route(); },
  };
  try {
    await def.page.render(ctx);
  } catch (e) {
    if (seq !== state.seq || aborted(e)) return;
    console.warn("render", r.name, e);
    if (e.status === 401) return;
    root.append(e.status === 403 ? h("div", {class: "error-box", role: "alert"}, t("app.forbidden")) : errorBox(e, () => route()));
  }
  if (seq === state.seq) body.dataset.page = r.name;
}

addEventListener("hashchange", () => route());
addEventListener("unhandledrejection", ev => {
  if (aborted(ev.reason)) ev.preventDefault();
});
document.title = t("app.title");
route();
