// The public complaint form (投诉举报), /complain?canteen={id} (optionally
// &camera={gateway}:{camera}&at={RFC 3339}), and a ticket followed by its
// code, /complain?ticket={code}. No login. Before filing, the page solves
// the fleet's proof-of-work challenge (sha256.js) while its visitor
// types; the fleet spends it with the ticket. A signed-in parent's
// session cookie goes along, so the ticket records who filed it.
// For tests: document.body.dataset.state is "ready" once the form can be
// sent, "filed" after, "ticket" on a ticket's page.

import {t, lang, setLang} from "./i18n.js";
import {h, fill, fmtTime} from "./ui.js";
import {leadingZeros} from "./sha256.js";

const q = new URLSearchParams(location.search);
const main = document.getElementById("main");
document.documentElement.lang = lang() === "en" ? "en-GB" : "zh-CN";

async function call(path, init) {
  const r = await fetch(path, Object.assign({credentials: "same-origin", headers: {"Accept": "application/json"}}, init));
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = new Error((data && data.error) || r.statusText);
    err.code = (data && data.code) || "http_" + r.status;
    err.status = r.status;
    throw err;
  }
  return data;
}

function langButton() {
  return h("button", {type: "button", class: "btn small ghost", id: "cp-lang",
    on: {click: () => { setLang(lang() === "zh" ? "en" : "zh"); location.reload(); }}}, t("app.lang"));
}

function page(title, ...body) {
  document.title = title;
  fill(main, h("header", {class: "cp-head"}, h("h1", {}, title), langButton()), ...body);
}

function errorText(e) {
  const key = "cp.err." + e.code;
  const s = t(key);
  return s === key ? e.message : s;
}

/** Finds a nonce for the challenge, yielding to the page every 4096 tries. */
async function solve(ch, signal) {
  for (let i = 0; ; i++) {
    if (leadingZeros(ch.token + ":" + i) >= ch.bits) return String(i);
    if ((i & 4095) === 4095) {
      await new Promise(res => setTimeout(res, 0));
      if (signal.aborted) throw new Error("aborted");
    }
  }
}

let categories = [];
function categoryName(id) {
  const c = categories.find(x => x.id === id);
  return c ? (lang() === "en" ? c.en : c.zh) : id;
}

async function loadCategories() {
  const r = await call("/api/v1/complaint-categories");
  categories = r.categories || [];
}

async function formPage(canteen) {
  let work = null; // {challenge, nonce: Promise}
  let abort = new AbortController();
  async function newWork() {
    abort.abort();
    abort = new AbortController();
    const r = await call("/api/v1/complaints/challenge?canteen=" + encodeURIComponent(canteen), {method: "POST"});
    const w = {challenge: r.challenge, canteen: r.canteen};
    w.nonce = solve(r.challenge, abort.signal);
    w.nonce.catch(() => {});
    return w;
  }
  try {
    await loadCategories();
    work = await newWork();
  } catch (e) {
    page(t("cp.title"), h("p", {class: "error-box", id: "cp-error"}, errorText(e)));
    return;
  }
  const cat = h("select", {id: "cp-category", required: true},
    ...categories.map(c => h("option", {value: c.id}, lang() === "en" ? c.en : c.zh)));
  const text = h("textarea", {id: "cp-text", rows: 6, maxlength: 2000, required: true, placeholder: t("cp.textHint")});
  const contact = h("input", {id: "cp-contact", maxlength: 100, autocomplete: "tel", placeholder: t("cp.contactHint")});
  const photo = h("input", {id: "cp-photo", type: "file", accept: "image/jpeg,image/png"});
  const err = h("p", {class: "error-box", id: "cp-error", hidden: true});
  const btn = h("button", {type: "submit", class: "btn", id: "cp-submit"}, t("cp.submit"));
  const camera = q.get("camera") || "", at = q.get("at") || "";
  const about = [];
  if (camera) about.push(h("p", {class: "muted"}, t("cp.camera", {camera}) + (at ? " · " + fmtTime(at) : "")));
  const form = h("form", {id: "cp-form", class: "cp-form"},
    h("label", {}, t("cp.category"), cat),
    h("label", {}, t("cp.text"), text),
    h("label", {}, t("cp.photo"), photo),
    h("label", {}, t("cp.contact"), contact),
    h("p", {class: "muted"}, t("cp.privacy")),
    err, btn);
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    err.hidden = true;
    btn.disabled = true;
    btn.textContent = t("cp.sending");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const nonce = await work.nonce;
        const fd = new FormData();
        fd.append("canteen", canteen);
        fd.append("category", cat.value);
        fd.append("text", text.value);
        fd.append("contact", contact.value);
        if (camera) fd.append("camera", camera);
        if (at) fd.append("at", at);
        fd.append("challenge", work.challenge.token);
        fd.append("nonce", nonce);
        if (photo.files && photo.files[0]) fd.append("photo", photo.files[0]);
        const r = await call("/api/v1/complaints", {method: "POST", body: fd});
        filed(r);
        return;
      } catch (e) {
        if ((e.code === "challenge_used" || e.code === "bad_challenge") && attempt === 0) {
          try { work = await newWork(); continue; } catch (e2) { e = e2; }
        }
        err.textContent = errorText(e);
        err.hidden = false;
        btn.disabled = false;
        btn.textContent = t("cp.submit");
        if (e.code === "challenge_used" || e.code === "bad_challenge") work = await newWork().catch(() => work);
        return;
      }
    }
  });
  page(t("cp.title"), h("p", {class: "cp-canteen", id: "cp-canteen"}, work.canteen.name || work.canteen.id), ...about, form, followBox());
  document.body.dataset.state = "ready";
}

function filed(r) {
  const link = "/complain?ticket=" + encodeURIComponent(r.code);
  page(t("cp.filedTitle"),
    h("p", {}, t("cp.filed")),
    h("p", {class: "cp-code", id: "cp-code"}, r.code),
    h("p", {class: "muted"}, t("cp.keepCode", {due: fmtTime(r.reply_due)})),
    h("p", {}, h("a", {href: link, id: "cp-follow"}, t("cp.follow"))));
  document.body.dataset.state = "filed";
}

function followBox() {
  const input = h("input", {id: "cp-ticket-code", placeholder: "XXXX-XXXX-XXXX", maxlength: 20});
  return h("form", {class: "cp-lookup", on: {submit: ev => {
    ev.preventDefault();
    location.href = "/complain?ticket=" + encodeURIComponent(input.value.trim());
  }}}, h("label", {}, t("cp.lookup"), input), h("button", {type: "submit", class: "btn ghost"}, t("cp.lookupGo")));
}

async function ticketPage(code) {
  let c;
  try {
    await loadCategories();
    c = await call("/api/v1/complaints/lookup", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({code})});
  } catch (e) {
    page(t("cp.ticketTitle"), h("p", {class: "error-box", id: "cp-error"}, errorText(e)), followBox());
    document.body.dataset.state = "ticket";
    return;
  }
  const rows = [
    [t("cp.canteen"), c.canteen_name],
    [t("cp.category"), categoryName(c.category)],
    [t("cp.received"), fmtTime(c.received_at)],
    [t("cp.replyDue"), fmtTime(c.reply_due)],
  ];
  const answer = [];
  if (c.reply) answer.push(h("h2", {}, t("cp.reply")), h("p", {class: "cp-reply", id: "cp-reply"}, c.reply),
    h("p", {class: "muted"}, fmtTime(c.replied_at)));
  if (c.reject_reason) answer.push(h("h2", {}, t("cp.rejected")), h("p", {class: "cp-reply", id: "cp-reply"}, c.reject_reason));
  page(t("cp.ticketTitle"),
    h("p", {}, t("cp.stateIs"), " ", h("strong", {id: "cp-state", "data-state": c.state}, t("cp.state." + c.state))),
    h("dl", {class: "cp-facts"}, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", {}, t("cp.yourText")), h("p", {class: "cp-text"}, c.text),
    ...answer);
  document.body.dataset.state = "ticket";
}

const ticket = q.get("ticket"), canteen = q.get("canteen");
if (ticket) ticketPage(ticket);
else if (canteen) formPage(canteen);
else page(t("cp.title"), h("p", {}, t("cp.noCanteen")), followBox());
