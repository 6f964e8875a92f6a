// #/poster/{canteen}: the dining-hall poster of a canteen's complaint
// form, to print: the canteen's name, the QR code (GET
// /api/v1/canteens/{id}/complaint-qr.png) pointing at
// /complain?canteen={id}, and the address written out. Printing hides
// the app's header (app.css, @media print).

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h} from "../ui.js";

export async function render(ctx) {
  const id = ctx.param;
  const enc = encodeURIComponent(id);
  const c = await api("/canteens/" + enc, {signal: ctx.signal});
  const url = location.origin + "/complain?canteen=" + enc;
  const print = h("button", {type: "button", class: "btn no-print", id: "poster-print", on: {click: () => window.print()}}, t("poster.print"));
  ctx.root.append(h("div", {id: "poster", class: "poster"},
    h("h1", {}, t("poster.title")),
    h("p", {class: "poster-canteen"}, c.name || c.id),
    h("img", {id: "poster-qr", class: "poster-qr", alt: url, src: "/api/v1/canteens/" + enc + "/complaint-qr.png"}),
    h("p", {class: "poster-hint"}, t("poster.hint")),
    h("p", {class: "poster-url"}, url),
    print));
}
