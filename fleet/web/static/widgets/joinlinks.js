// Join links on the operator's page (#/my): make a school's reusable
// link for parents (POST /api/v1/canteens/{id}/join-links) with a class
// label, a cap and a lifetime; its URL, QR code and poster are shown once,
// as only then is its token known; the list shows each link's
// redemptions used of its cap, and revokes one (POST
// /api/v1/join-links/{id}/revoke; the parents who joined stay).

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h, fill, fmtTime} from "../ui.js";
import {section, empty, toast, errorBox, loading} from "./feedback.js";
import {select, field, act, twoStep} from "./form.js";

/** The poster's route for a link just made. */
export function posterHref(id, token) {
  return "#/joinposter/" + encodeURIComponent(id) + "?token=" + encodeURIComponent(token);
}

/** The QR code of a link just made (PNG, its maker's only). */
export function qrSrc(id, token) {
  return "/api/v1/join-links/" + encodeURIComponent(id) + "/qr.png?token=" + encodeURIComponent(token);
}

/** The section for the schools among canteens (or null if none). */
export function joinLinkSection(ctx, canteens) {
  const schools = canteens.filter(c => c.category === "school" || c.category === "kindergarten");
  if (!schools.length) return null;
  const cSel = select({id: "jl-canteen", "aria-label": t("my.canteen")}, schools.map(c => [c.id, c.name || c.id]), schools[0].id);
  const cls = h("input", {id: "jl-class", maxlength: "100", placeholder: t("jl.classPh")});
  const cap = h("input", {id: "jl-cap", type: "number", min: "1", max: "10000", value: "50", "aria-label": t("jl.cap")});
  const ttl = select({id: "jl-ttl", "aria-label": t("my.inviteTtl")},
    [[168, t("my.daysN", {n: 7})], [720, t("my.daysN", {n: 30})], [2160, t("my.daysN", {n: 90})], [8760, t("my.daysN", {n: 365})]], 720);
  const create = h("button", {type: "button", id: "jl-create", class: "btn primary"}, t("jl.create"));
  const err = h("p", {class: "form-error", role: "alert"});
  const result = h("div", {class: "invite-result", "aria-live": "polite"});
  const list = h("div", {id: "jl-list"});
  const load = async () => {
    const id = cSel.value;
    fill(list, loading());
    try {
      const r = await api("/canteens/" + encodeURIComponent(id) + "/join-links", {signal: ctx.signal});
      if (cSel.value === id) fill(list, linkList(r.links || [], load));
    } catch (e) {
      fill(list, errorBox(e));
    }
  };
  act(create, async () => {
    const r = await api("/canteens/" + encodeURIComponent(cSel.value) + "/join-links", {method: "POST",
      body: {class: cls.value.trim(), cap: Number(cap.value), ttl_h: Number(ttl.value)}});
    const copy = h("button", {type: "button", class: "btn small ghost"}, t("jl.copy"));
    copy.addEventListener("click", () => {
      if (navigator.clipboard) navigator.clipboard.writeText(r.url).then(() => toast(t("jl.copied"), "ok"), () => toast(r.url));
      else toast(r.url);
    });
    fill(result, h("div", {class: "invite-box join-link-box", dataset: {link: r.link.id}},
      h("div", {class: "muted small"}, t("jl.once")),
      h("img", {class: "qr", src: qrSrc(r.link.id, r.token), alt: t("jl.qr"), width: "160", height: "160"}),
      h("div", {}, h("a", {id: "jl-url", href: r.url, class: "small break"}, r.url)),
      h("div", {class: "muted small"}, t("jl.summary", {cap: r.link.cap, at: fmtTime(r.link.expires_at)}),
        r.link.class ? " · " + t("join.class", {c: r.link.class}) : ""),
      h("div", {class: "row"}, copy, h("a", {id: "jl-poster", class: "btn small", href: posterHref(r.link.id, r.token),
        target: "_blank", rel: "noopener"}, t("jl.poster")))));
    cls.value = "";
    await load();
  }, err);
  cSel.addEventListener("change", () => { fill(result); load().catch(() => {}); });
  load().catch(() => {});
  return section(t("jl.title"), {id: "join-links-card"}, h("p", {class: "help"}, t("jl.help")),
    schools.length > 1 ? field(t("my.canteen"), cSel) : null,
    h("div", {class: "row"}, field(t("jl.class"), cls), field(t("jl.cap"), cap), field(t("my.inviteTtl"), ttl), create),
    err, result, h("h3", {}, t("jl.list")), list);
}

function linkList(links, reload) {
  if (!links.length) return empty(t("jl.none"));
  const now = Date.now();
  return h("ul", {class: "plain-list"}, links.map(l => {
    const revoked = !!l.revoked_at;
    const expired = !revoked && new Date(l.expires_at).getTime() < now;
    const full = !revoked && !expired && l.used >= l.cap;
    const state = revoked ? "revoked" : expired ? "expired" : full ? "full" : "valid";
    const err = h("span", {class: "form-error"});
    return h("li", {class: "row spread", dataset: {link: l.id, state}},
      h("span", {},
        h("b", {}, l.class ? t("join.class", {c: l.class}) : t("jl.school")), " ",
        h("span", {class: "badge " + (state === "valid" ? "ok" : state === "full" ? "warn" : "off")}, t("jl.state." + state)), " ",
        h("span", {class: "jl-used"}, t("jl.used", {used: l.used, cap: l.cap})),
        h("div", {class: "muted small"}, fmtTime(l.created_at) + " · " + t("my.inviteExpires", {at: fmtTime(l.expires_at)}))),
      revoked ? null : h("span", {}, twoStep(t("jl.revoke"), t("jl.confirmRevoke"), async () => {
        await api("/join-links/" + encodeURIComponent(l.id) + "/revoke", {method: "POST"});
        await reload();
      }, err), err));
  }));
}
