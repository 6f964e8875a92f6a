// A signed-in user's devices (GET /api/v1/me/devices): each session with
// its device, when it was last used and until when it lasts; this one is
// marked. Signing one out (DELETE /api/v1/me/devices/{id}) or all of
// them (DELETE /api/v1/me/devices; this one too, then the login page).

import {t} from "../i18n.js";
import {api} from "../api.js";
import {h, fill, fmtTime, fmtRel} from "../ui.js";
import {section, empty, errorBox, loading} from "./feedback.js";
import {twoStep} from "./form.js";
import {go} from "../app.js";

export function devicesSection(ctx) {
  const list = h("div", {id: "devices"}, loading());
  const err = h("p", {class: "form-error", role: "alert"});
  const load = async () => {
    try {
      const r = await api("/me/devices", {signal: ctx.signal});
      fill(list, deviceList(r.devices || [], load, err));
    } catch (e) {
      fill(list, errorBox(e));
    }
  };
  load().catch(() => {});
  const all = twoStep(t("dev.endAll"), t("dev.confirmAll"), async () => {
    await api("/me/devices", {method: "DELETE"});
    location.reload();
  }, err);
  all.id = "devices-end-all";
  return section(t("dev.title"), {id: "devices-card"}, h("p", {class: "help"}, t("dev.help")), list, err, h("div", {class: "row"}, all));
}

function deviceList(devices, reload, err) {
  if (!devices.length) return empty(t("dev.none"));
  return h("ul", {class: "plain-list"}, devices.map(d => h("li", {class: "row spread", dataset: {device: d.id, current: String(!!d.current)}},
    h("span", {}, h("b", {}, d.device || t("dev.unknown")), " ", d.current ? h("span", {class: "badge ok"}, t("dev.this")) : null,
      h("div", {class: "muted small"}, t("dev.seen", {at: fmtRel(d.last_seen)}) + " · " + t("my.inviteExpires", {at: fmtTime(d.expires_at)}))),
    h("span", {}, twoStep(t("dev.end"), t("dev.confirm"), async () => {
      await api("/me/devices/" + encodeURIComponent(d.id), {method: "DELETE"});
      if (d.current) go("/login");
      else await reload();
    }, err)))));
}
