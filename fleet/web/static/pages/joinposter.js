// #/joinposter/{id}?token=…: the printable poster of a join link its maker
// just made: the school, the class, the QR code (GET
// /api/v1/join-links/{id}/qr.png), the URL and how to join. The token
// rides in the page's fragment, never sent to a server but by the QR
// code's own request.

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h, fmtTime} from "../ui.js";
import {qrSrc} from "../widgets/joinlinks.js";

export async function render(ctx) {
  const token = ctx.query.get("token") || "";
  const l = await api("/join-links/" + encodeURIComponent(ctx.param), {signal: ctx.signal});
  const c = await api("/canteens/" + encodeURIComponent(l.canteen_id), {signal: ctx.signal});
  const url = location.origin + "/#/join?link=" + encodeURIComponent(token);
  const print = h("button", {type: "button", class: "btn primary no-print", id: "join-poster-print"}, t("jposter.print"));
  print.addEventListener("click", () => window.print());
  ctx.root.append(h("div", {id: "join-poster", class: "jposter"},
    h("h1", {}, c.name || c.id),
    l.class ? h("p", {class: "jposter-class"}, t("join.class", {c: l.class})) : null,
    h("p", {class: "jposter-lead"}, t("jposter.lead")),
    h("img", {id: "join-poster-qr", class: "jposter-qr", src: qrSrc(l.id, token), alt: t("jl.qr"), width: "320", height: "320"}),
    h("ol", {class: "jposter-steps"}, h("li", {}, t("jposter.step1")), h("li", {}, t("jposter.step2")), h("li", {}, t("jposter.step3"))),
    h("p", {class: "jposter-url small break"}, url),
    h("p", {class: "muted small"}, t("my.inviteExpires", {at: fmtTime(l.expires_at)})),
    h("p", {class: "muted small"}, t("parent.hint")),
    print));
}
