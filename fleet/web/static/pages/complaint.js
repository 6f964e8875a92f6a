// #/complaint/{id}: one complaint ticket with its history. A regulator
// accepts, records the handling, replies or rejects it (POST
// /api/v1/complaints/{id}/{action}); the canteen's operator adds its
// account (…/account). The filer's contact is shown to regulators only
// (the API leaves it out for others).

import {t} from "../i18n.js";
import {can} from "../me.js";
import {api} from "../api.js";
import {h, fill, fmtTime} from "../ui.js";
import {act} from "../widgets/form.js";
import {categoryName, loadCategories, stateBadge} from "../widgets/complaints.js";

export async function render(ctx) {
  const id = ctx.param;
  await loadCategories(ctx.signal);
  const root = h("div", {id: "complaint"});
  ctx.root.append(root);
  const show = c => {
    const facts = [
      ["canteen", (c.canteen_name || c.canteen_id) + " · " + c.district],
      ["category", categoryName(c.category)],
      ["received", fmtTime(c.received_at)],
      ["acceptDue", fmtTime(c.accept_due)],
      ["replyDue", fmtTime(c.reply_due)],
    ];
    if (c.camera) facts.push(["camera", c.camera + (c.concerns_at ? " · " + fmtTime(c.concerns_at) : "")]);
    if (c.contact) facts.push(["contact", c.contact]);
    if (c.filed_by) facts.push(["filedBy", c.filed_by]);
    const err = h("p", {class: "error-box", hidden: true});
    const actions = [];
    const note = h("textarea", {id: "cp-note", rows: 3, maxlength: 2000, placeholder: t("cpd.noteHint")});
    const step = (action, label, needNote) => {
      const b = h("button", {type: "button", class: "btn" + (action === "reject" ? " danger" : ""), id: "cp-" + action}, t(label));
      act(b, async () => {
        if (needNote && !note.value.trim()) throw new Error(t("cpd.needNote"));
        show(await api("/complaints/" + id + "/" + action, {method: "POST", body: {note: note.value}}));
      }, err);
      return b;
    };
    if (can(ctx.me, "complaints.handle") && (c.state !== "replied" && c.state !== "rejected")) {
      const btns = [];
      if (c.state === "received") btns.push(step("accept", "cpd.accept", false));
      if (c.state === "accepted") btns.push(step("handle", "cpd.handle", true));
      if (c.state === "accepted" || c.state === "handled") btns.push(step("reply", "cpd.reply", true));
      if (c.state === "received" || c.state === "accepted") btns.push(step("reject", "cpd.reject", true));
      actions.push(h("div", {class: "card"}, h("h2", {}, t("cpd.actions")), note, h("div", {class: "row"}, btns), err));
    }
    if (can(ctx.me, "complaints.account") && c.state !== "replied" && c.state !== "rejected") {
      const acc = h("textarea", {id: "cp-account", rows: 3, maxlength: 2000}, c.operator_account || "");
      const b = h("button", {type: "button", class: "btn", id: "cp-account-save"}, t("cpd.accountSave"));
      act(b, async () => show(await api("/complaints/" + id + "/account", {method: "POST", body: {text: acc.value}})), err);
      actions.push(h("div", {class: "card"}, h("h2", {}, t("cpd.account")), acc, b, err));
    }
    const answers = [];
    if (c.handling_note) answers.push(h("h3", {}, t("cpd.handling")), h("p", {}, c.handling_note));
    if (c.operator_account) answers.push(h("h3", {}, t("cpd.account")), h("p", {id: "cp-account-text"}, c.operator_account));
    if (c.reply) answers.push(h("h3", {}, t("cpd.replyText")), h("p", {id: "cp-reply-text"}, c.reply));
    if (c.reject_reason) answers.push(h("h3", {}, t("cpd.rejectReason")), h("p", {id: "cp-reply-text"}, c.reject_reason));
    fill(root,
      h("div", {class: "page-head"}, h("h1", {}, t("cpd.title", {id: c.id})), h("span", {id: "cp-state", "data-state": c.state}, stateBadge(c.state))),
      h("div", {class: "card"},
        h("dl", {class: "facts"}, ...facts.flatMap(([k, v]) => [h("dt", {}, t("cpd." + k)), h("dd", {}, v)])),
        h("p", {class: "cp-text"}, c.text),
        c.has_photo ? h("img", {class: "cp-photo", alt: t("cpd.photo"), src: "/api/v1/complaints/" + c.id + "/photo"}) : null,
        c.photo_expired ? h("p", {id: "cp-photo-expired", class: "muted small"}, t("cpd.photoExpired")) : null,
        ...answers),
      ...actions,
      h("div", {class: "card"}, h("h2", {}, t("cpd.history")),
        h("ul", {class: "history"}, (c.history || []).map(e =>
          h("li", {}, fmtTime(e.at), " · ", e.actor, " · ", t("cpd.action." + e.action), e.note ? " — " + e.note : "")))));
  };
  show(await api("/complaints/" + encodeURIComponent(id), {signal: ctx.signal}));
}
