// #/alarm/{id}: one alarm: the snapshot with the detection boxes drawn
// over it, its details, history and rectifications, and what the principal
// may do in its state (its permissions, GET /api/v1/me): a reviewer confirms or dismisses a new alarm (POST
// …/review) and accepts or rejects a rectification (POST …/decision); who
// rectifies answers a confirmed alarm with a note and a photo (POST
// …/rectification, multipart/form-data).

import {t, named} from "../i18n.js";
import {api, errorText} from "../api.js";
import {can} from "../me.js";
import {h, fill, fmtTime, isTime} from "../ui.js";
import {section, empty} from "../widgets/feedback.js";
import {statusBadge, overdueBadge} from "../widgets/badges.js";

const maxPhoto = 8 << 20;

export async function render(ctx) {
  const id = ctx.param;
  if (!/^\d+$/.test(id)) throw Object.assign(new Error(t("app.notFound")), {status: 404});
  const root = h("div", {id: "alarm", dataset: {id}});
  let v = await api("/violations/" + id, {signal: ctx.signal});
  const snapshot = loadSnapshot(v);
  const urls = [];
  ctx.onLeave(() => urls.forEach(u => URL.revokeObjectURL(u)));

  const draw = () => {
    root.dataset.id = String(v.id);
    root.dataset.status = v.status || "";
    const canvas = h("canvas", {id: "alarm-snapshot", width: "640", height: "360", class: "snapshot",
      role: "img", "aria-label": t("alarm.snapshot") + " · " + named("vt", v.type)});
    snapshot.then(img => paint(canvas, img, v)).catch(() => paint(canvas, null, v));
    fill(root,
      h("div", {class: "page-head"},
        h("h1", {}, named("vt", v.type), h("span", {class: "muted"}, " " + t("alarm.title", {id: v.id}))),
        h("div", {class: "badges"}, statusBadge(v.status), overdueBadge(v.overdue))),
      h("div", {class: "cols alarm-cols"},
        section(null, {class: "card snapshot-card"}, canvas,
          v.snapshot_dropped ? h("p", {class: "muted small"}, t("alarm.snapshotDropped")) : null,
          v.snapshot_expired ? h("p", {class: "muted small", id: "snapshot-expired"}, t("alarm.snapshotExpired")) : null,
          boxesLegend(v)),
        h("div", {class: "stack"}, section(t("alarm.details"), {}, facts(v)), actions(ctx, v, nv => { v = nv; draw(); }, urls))),
      section(t("alarm.history"), {}, history(v)),
      section(t("alarm.rectifications"), {}, rectifications(v)));
  };
  draw();
  ctx.root.append(root);
}

function loadSnapshot(v) {
  if (!v.has_snapshot) return Promise.resolve(null);
  return new Promise((res, rej) => {
    const img = new Image();
    img.onload = () => res(img);
    img.onerror = () => rej(new Error("snapshot"));
    img.src = "/api/v1/violations/" + v.id + "/snapshot";
  });
}

/** Draws the snapshot (or a placeholder) and the boxes onto canvas. */
function paint(canvas, img, v) {
  const g = canvas.getContext("2d");
  if (!img) {
    canvas.width = 640;
    canvas.height = 360;
    g.fillStyle = "#e8ecf1";
    g.fillRect(0, 0, 640, 360);
    g.fillStyle = "#6b7785";
    g.font = "20px system-ui, sans-serif";
    g.textAlign = "center";
    g.fillText(t("alarm.noSnapshot"), 320, 186);
    canvas.dataset.drawn = "placeholder";
    return;
  }
  const W = img.naturalWidth || 640, H = img.naturalHeight || 360;
  canvas.width = W;
  canvas.height = H;
  g.drawImage(img, 0, 0, W, H);
  const lw = Math.max(2, Math.round(W / 320));
  const font = Math.max(12, Math.round(W / 40));
  g.font = `${font}px system-ui, sans-serif`;
  g.textBaseline = "top";
  for (const b of v.boxes || []) {
    const x = clamp(b.x) * W, y = clamp(b.y) * H, w = clamp(b.w) * W, hh = clamp(b.h) * H;
    g.strokeStyle = "#ff3b30";
    g.lineWidth = lw;
    g.strokeRect(x, y, w, hh);
    const label = named("vt", b.label || v.type) + (b.score ? ` ${Math.round(b.score * 100)}%` : "");
    const tw = g.measureText(label).width + 8;
    const ty = y - font - 6 >= 0 ? y - font - 6 : y;
    g.fillStyle = "#ff3b30";
    g.fillRect(x - lw / 2, ty, tw, font + 6);
    g.fillStyle = "#fff";
    g.fillText(label, x + 4 - lw / 2, ty + 3);
  }
  canvas.dataset.drawn = "snapshot";
  canvas.dataset.boxes = String((v.boxes || []).length);
}

function clamp(x) { return Math.min(1, Math.max(0, Number(x) || 0)); }

function boxesLegend(v) {
  const bs = v.boxes || [];
  if (!bs.length) return null;
  return h("p", {class: "muted small"}, t("alarm.boxes") + t("app.colon"),
    bs.map(b => named("vt", b.label || v.type) + (b.score ? ` ${Math.round(b.score * 100)}%` : "")).join(t("days.sep")));
}

function facts(v) {
  const row = (k, val) => val === null || val === undefined || val === "" ? null : [h("dt", {}, t(k)), h("dd", {}, val)];
  return h("dl", {class: "facts"},
    row("alarm.type", named("vt", v.type) + (named("vt", v.type) !== v.type ? ` (${v.type})` : "")),
    row("alarm.score", v.score ? Math.round(v.score * 100) + "%" : null),
    row("alarm.canteen", h("a", {href: "#/canteen/" + encodeURIComponent(v.canteen_id)}, v.canteen_name || v.canteen_id)),
    row("canteen.district", v.district),
    row("alarm.camera", v.camera_id),
    row("alarm.gateway", v.gateway_id),
    row("alarm.started", fmtTime(v.started_at)),
    isTime(v.ended_at) ? row("alarm.ended", fmtTime(v.ended_at)) : null,
    row("alarm.received", fmtTime(v.received_at) + (v.historical ? " · " + t("alarm.historical") : "")),
    row("alarm.status", h("span", {}, statusBadge(v.status), " ", overdueBadge(v.overdue))),
    isTime(v.review_due) ? row("alarm.reviewDue", h("span", {class: v.overdue === "review" ? "bad" : ""}, fmtTime(v.review_due))) : null,
    isTime(v.reviewed_at) ? row("alarm.reviewed", `${v.reviewed_by || ""} ${fmtTime(v.reviewed_at)}`) : null,
    v.review_note ? row("alarm.reviewNote", v.review_note) : null,
    isTime(v.rectify_due) ? row("alarm.rectifyDue", h("span", {class: v.overdue === "rectification" ? "bad" : ""}, fmtTime(v.rectify_due))) : null,
    isTime(v.closed_at) ? row("alarm.closedAt", fmtTime(v.closed_at)) : null);
}

function history(v) {
  const hs = v.history || [];
  if (!hs.length) return [h("ol", {id: "history", class: "timeline", hidden: true}), empty(t("alarm.noHistory"))];
  return h("ol", {id: "history", class: "timeline"}, hs.map(e => h("li", {dataset: {action: e.action}},
    h("time", {datetime: e.at}, fmtTime(e.at)), " ",
    h("b", {}, named("hist", e.action)), " ",
    e.from || e.to ? h("span", {}, named("status", e.from), " → ", statusBadge(e.to)) : null, " ",
    h("span", {class: "muted"}, e.actor),
    e.note ? h("div", {class: "note"}, e.note) : null)));
}

function rectifications(v) {
  const rs = v.rectifications || [];
  if (!rs.length) return empty(t("alarm.noRectifications"));
  return h("ul", {class: "rects", id: "rectifications"}, rs.map(r => {
    const photo = `/api/v1/violations/${v.id}/rectifications/${r.id}/photo`;
    return h("li", {class: "rect", dataset: {rect: String(r.id)}},
      r.has_photo !== false ? h("a", {href: photo, target: "_blank", rel: "noopener", class: "thumb"},
        h("img", {src: photo, alt: t("alarm.photo"), loading: "lazy"})) : null,
      r.photo_expired ? h("p", {class: "muted small"}, t("alarm.photoExpired")) : null,
      h("div", {},
        h("p", {class: "note"}, r.note || ""),
        h("p", {class: "muted small"}, t("alarm.submittedBy", {who: r.submitted_by || "", at: fmtTime(r.submitted_at)})),
        r.decision ? h("p", {class: r.decision === "accepted" ? "ok" : "bad"},
          t("alarm.decidedBy", {who: r.decided_by || "", at: fmtTime(r.decided_at), decision: t("alarm.decision." + r.decision)}),
          r.decision_note ? t("app.colon") + r.decision_note : "") : null));
  }));
}

/** The actions the principal may take in the alarm's state. */
function actions(ctx, v, update, urls) {
  const err = h("p", {id: "alarm-error", class: "form-error", role: "alert"});
  const body = [];
  const send = async (btns, path, opts) => {
    err.textContent = "";
    btns.forEach(b => { b.disabled = true; });
    try {
      const nv = await api("/violations/" + v.id + path, Object.assign({method: "POST"}, opts));
      update(nv && nv.status ? nv : await api("/violations/" + v.id));
    } catch (e) {
      err.textContent = errorText(e);
      btns.forEach(b => { b.disabled = false; });
    }
  };
  const reviewer = can(ctx.me, "alarms.review");
  if (reviewer && v.status === "new") {
    const note = h("textarea", {id: "review-note", rows: "2", maxlength: "2000", placeholder: t("alarm.reviewNotePh")});
    const confirm = h("button", {type: "button", id: "confirm", class: "btn primary"}, t("alarm.confirm"));
    const dismiss = h("button", {type: "button", id: "dismiss", class: "btn"}, t("alarm.dismiss"));
    confirm.addEventListener("click", () => send([confirm, dismiss], "/review", {body: {verdict: "confirmed", note: note.value.trim()}}));
    dismiss.addEventListener("click", () => send([confirm, dismiss], "/review", {body: {verdict: "dismissed", note: note.value.trim()}}));
    body.push(note, h("div", {class: "row"}, confirm, dismiss));
  }
  if (can(ctx.me, "alarms.rectify") && v.status === "confirmed") {
    const note = h("textarea", {id: "rect-note", rows: "3", maxlength: "2000", placeholder: t("alarm.rectNotePh"),
      "aria-label": t("alarm.rectNote")});
    const photo = h("input", {id: "rect-photo", type: "file", accept: "image/*", capture: "environment"});
    const preview = h("img", {class: "preview", alt: "", hidden: true});
    photo.addEventListener("change", () => {
      const f = photo.files[0];
      if (!f) { preview.hidden = true; return; }
      const u = URL.createObjectURL(f);
      urls.push(u);
      preview.src = u;
      preview.hidden = false;
    });
    const submit = h("button", {type: "button", id: "rect-submit", class: "btn primary"}, t("alarm.rectSubmit"));
    submit.addEventListener("click", async () => {
      err.textContent = "";
      const f = photo.files[0];
      if (!f) { err.textContent = t("alarm.rectNeedPhoto"); return; }
      submit.disabled = true;
      let file;
      try {
        file = await preparePhoto(f);
      } catch (e) {
        err.textContent = t("alarm.rectBadPhoto");
        submit.disabled = false;
        return;
      }
      const form = new FormData();
      form.append("note", note.value.trim());
      form.append("photo", file, file.name || "photo.jpg");
      await send([submit], "/rectification", {form});
    });
    body.push(h("label", {class: "field"}, h("span", {class: "field-label"}, t("alarm.rectNote")), note),
      h("label", {class: "field"}, h("span", {class: "field-label"}, t("alarm.rectPhoto")), photo), preview, submit);
  }
  if (reviewer && v.status === "rectifying") {
    const note = h("textarea", {id: "decision-note", rows: "2", maxlength: "2000", placeholder: t("alarm.decisionNotePh")});
    const accept = h("button", {type: "button", id: "accept", class: "btn primary"}, t("alarm.accept"));
    const reject = h("button", {type: "button", id: "reject", class: "btn danger"}, t("alarm.reject"));
    accept.addEventListener("click", () => send([accept, reject], "/decision", {body: {decision: "accepted", note: note.value.trim()}}));
    reject.addEventListener("click", () => send([accept, reject], "/decision", {body: {decision: "rejected", note: note.value.trim()}}));
    body.push(note, h("div", {class: "row"}, accept, reject));
  }
  if (!body.length) body.push(h("p", {class: "muted"}, t("alarm.noAction")));
  return section(t("alarm.actions"), {class: "card actions", id: "alarm-actions"}, body, err);
}

/**
 * The photo as the API takes it: a JPEG or PNG of at most 8 MiB. Anything
 * else the browser can decode (a huge camera photo, HEIC, WebP) is scaled
 * to 2560 px at most and sent as a JPEG.
 */
async function preparePhoto(f) {
  if ((f.type === "image/jpeg" || f.type === "image/png") && f.size <= maxPhoto) return f;
  const bmp = await createImageBitmap(f);
  const scale = Math.min(1, 2560 / Math.max(bmp.width, bmp.height));
  const c = document.createElement("canvas");
  c.width = Math.max(1, Math.round(bmp.width * scale));
  c.height = Math.max(1, Math.round(bmp.height * scale));
  c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
  const blob = await new Promise(res => c.toBlob(res, "image/jpeg", 0.85));
  if (!blob || blob.size > maxPhoto) throw new Error("photo");
  return new File([blob], "rectification.jpg", {type: "image/jpeg"});
}
