// The player page, /live/{camera}#token=…: one camera, full window,
// played by live.js's Player (the one WHEP player of the UI) with the
// bearer token from the URL fragment, which never reaches the server in a
// request line or a log; without a token, the session cookie. It shows
// the camera and its state and starts again when it was stopped and the
// page is shown again. For tests and diagnostics: window.bkPeer() is the
// current peer connection, window.bkFirstFrameMs the time from the WHEP
// (or HLS) request to the first decoded frame, window.bkMode() "whep" or
// "hls", window.bkLatencyMs() how far behind live an hls.js picture is.
// #hls=1 (or js, native) in the fragment forces HLS (live.js's opts.hls).

import {t, named} from "./i18n.js";
import {Player} from "./live.js";

const camera = decodeURIComponent(location.pathname.replace(/^\/live\//, ""));
const frag = new URLSearchParams(location.hash.slice(1));
const token = frag.get("token") || "";
const forceHLS = frag.get("hls") || "";
const video = document.getElementById("video");
const stateEl = document.getElementById("state");
const titleEl = document.getElementById("title");
const msg = document.getElementById("msg");

function show(text, cls) { stateEl.textContent = text; stateEl.className = cls || ""; }

titleEl.textContent = t("player.camera", {id: camera});
document.title = t("player.title") + " · " + camera;

/** The camera's name and state (GET /api/v1/cameras/{camera}). */
async function info() {
  try {
    const r = await fetch("/api/v1/cameras/" + encodeURIComponent(camera), {credentials: "same-origin",
      headers: token ? {"Authorization": "Bearer " + token} : {}});
    if (!r.ok) return;
    const c = await r.json();
    titleEl.textContent = t("player.camera", {id: c.camera_id}) + (c.area ? " · " + named("area", c.area) : "");
    if (!c.online) show(t("player.offline"), "bad");
  } catch (e) { /* the state line says enough */ }
}

const player = new Player(video, camera, {
  token,
  hls: forceHLS,
  onState(kind, text) {
    if (kind === "connecting") window.bkFirstFrameMs = undefined;
    if (kind === "playing") msg.textContent = "";
    if (kind === "retrying") info();
    show(text, kind === "playing" ? "ok" : kind === "connecting" ? "" : "bad");
  },
  onFrame() {
    if (player.postedAt) window.bkFirstFrameMs = performance.now() - player.postedAt;
  },
  onRefused(code, message) { msg.textContent = message; },
});

window.bkPeer = () => player.pc;
window.bkMode = () => player.mode;
window.bkLatencyMs = () => player.latency();
document.addEventListener("visibilitychange", () => { if (!document.hidden && !player.active) player.start(); });
info();
player.start();
