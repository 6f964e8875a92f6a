// Live video, the UI's one player (the pages' camera grids and the player
// page, player.js). WHEP first: a recvonly peer connection, a non-trickle
// offer (ICE gathering completes first) POSTed to /whep/{camera} as
// application/sdp with the session cookie (or a bearer token), the answer
// applied, the Location DELETEd when the viewer leaves.
// HLS is the fallback (issue 15): where the browser has no
// RTCPeerConnection, or WHEP has shown no frame whepTimeout after its
// request, the player POSTs /hls/{camera} (the same checks and caps) and
// plays the session's playlist with the vendored hls.js (static/vendor/
// hls.min.js, loaded on first use; low-latency mode) where the browser has
// Media Source Extensions, else natively (Safari, WeChat on iOS); the
// session's URL is DELETEd when the viewer leaves. Once fallen back, a
// player stays on HLS. opts.hls forces it: "1" (HLS, hls.js or native as
// above), "js" (hls.js), "native".
// Failures are retried with backoff (1 s doubling to 15 s); a picture that
// stops for 20 s while "connected" starts over.

import {t, named} from "./i18n.js";
import {h} from "./ui.js";

/** How long WHEP may take to show a first frame before HLS is tried (ms). */
export const whepTimeout = 8000;

const playing = new Set();

/** The players running now (for the cap on simultaneous videos). */
export function running() { return playing.size; }

/** Stops every player (on pagehide). */
export function stopAll() { for (const p of [...playing]) p.stop(); }

addEventListener("pagehide", stopAll);

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise(res => {
    const timer = setTimeout(res, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); res(); }
    });
  });
}

let hlsScript = null;

/** Loads the vendored hls.js once (a classic script: window.Hls). */
export function loadHls() {
  if (window.Hls) return Promise.resolve(window.Hls);
  if (!hlsScript) {
    hlsScript = new Promise((res, rej) => {
      const el = document.createElement("script");
      el.src = "/static/vendor/hls.min.js";
      el.onload = () => window.Hls ? res(window.Hls) : rej(new Error("hls.js did not load"));
      el.onerror = () => { hlsScript = null; rej(new Error("hls.js did not load")); };
      document.head.append(el);
    });
  }
  return hlsScript;
}

/** Whether the browser can play HLS through hls.js (Media Source Extensions). */
function hasMSE() { return !!(window.ManagedMediaSource || window.MediaSource); }

/** Whether the browser plays HLS by itself (Safari, WeChat on iOS). */
function hasNativeHLS(video) { return !!video.canPlayType("application/vnd.apple.mpegurl"); }

/**
 * Plays one camera into a <video>. opts: token, a bearer token to send
 * (else the session cookie authenticates); anonymous, send neither (a
 * camera published to everyone, public kitchen pages); hls, to force HLS
 * ("1", "js", "native"); callbacks onState(kind, text) with kind
 * connecting / playing / retrying / stopped / refused, onFrame() when the
 * first frame is decoded, onRefused(code, message, status) for a
 * 401/403/429 answer. postedAt is when the last WHEP or HLS request was
 * sent (performance.now()); mode is "whep" or "hls"; hls the hls.js
 * instance playing (null on WHEP or native HLS).
 */
export class Player {
  constructor(video, camera, opts = {}) {
    this.video = video;
    this.camera = camera;
    this.opts = opts;
    this.pc = null;
    this.hls = null;
    this.cur = null; // the current connection: the peer connection or the HLS session
    this.resource = null;
    this.retry = 1000;
    this.timer = 0;
    this.fallback = 0;
    this.active = false;
    this.lastFrames = 0;
    this.lastTime = -1;
    this.stalled = 0;
    this.watch = 0;
    this.postedAt = 0;
    this.mode = opts.hls || typeof RTCPeerConnection === "undefined" ? "hls" : "whep";
    this.auth = opts.token ? {"Authorization": "Bearer " + opts.token} : {};
    // anonymous: no session cookie either (the public kitchen pages).
    this.creds = opts.anonymous ? "omit" : "same-origin";
  }

  state(kind, text) { if (this.opts.onState) this.opts.onState(kind, text || ""); }

  /** Starts (or restarts) playing. */
  start() {
    this.active = true;
    playing.add(this);
    clearInterval(this.watch);
    this.watch = setInterval(() => { this.check().catch(() => {}); }, 5000);
    this.connect().catch(e => this.again(e && e.message));
  }

  /** Stops playing and releases the server's session. */
  stop() {
    this.active = false;
    playing.delete(this);
    clearTimeout(this.timer);
    clearInterval(this.watch);
    this.close();
    this.video.srcObject = null;
    this.state("stopped", t("cam.stopped"));
  }

  close() {
    clearTimeout(this.fallback);
    this.cur = null;
    if (this.resource) {
      fetch(this.resource, {method: "DELETE", credentials: this.creds, headers: this.auth, keepalive: true}).catch(() => {});
      this.resource = null;
    }
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.close();
    }
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (this.video.getAttribute("src")) {
      this.video.removeAttribute("src");
      this.video.load();
    }
  }

  connect() { return this.mode === "hls" ? this.connectHLS() : this.connectWHEP(); }

  /**
   * Answers a refusal (401/403/429) of a WHEP or HLS request: a viewer cap
   * is tried again in 30 s, anything else stops the player. True if r was
   * one.
   */
  async refused(r) {
    if (r.status !== 401 && r.status !== 403 && r.status !== 429) return false;
    const e = await r.json().catch(() => ({}));
    const code = e.code || (r.status === 429 ? "rate_limited" : "forbidden");
    this.close();
    if (r.status === 429) {
      // A viewer cap: someone will leave; try again later.
      this.timer = setTimeout(() => this.connect().catch(err => this.again(err && err.message)), 30000);
    } else {
      this.active = false;
      playing.delete(this);
      clearInterval(this.watch);
    }
    this.state("refused", code === "forbidden" || code === "unauthorized" ? t("cam.refused") : named("err", code));
    if (this.opts.onRefused) this.opts.onRefused(code, e.error || "", r.status);
    return true;
  }

  async connectWHEP() {
    clearTimeout(this.timer);
    this.close();
    if (!this.active) return;
    this.state("connecting", t("cam.connecting"));
    const pc = new RTCPeerConnection();
    this.pc = pc;
    this.cur = pc;
    this.lastFrames = 0;
    this.stalled = 0;
    pc.addTransceiver("video", {direction: "recvonly"});
    pc.ontrack = e => {
      if (this.pc !== pc) return;
      this.video.srcObject = e.streams[0] || new MediaStream([e.track]);
      const p = this.video.play();
      if (p) p.catch(() => {});
      this.waitFrame(pc);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === "connected") { this.retry = 1000; this.state("playing", t("cam.playing")); }
      if (pc.connectionState === "failed" || pc.connectionState === "closed") this.again(pc.connectionState);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    if (this.pc !== pc) return;
    this.postedAt = performance.now();
    const r = await fetch("/whep/" + encodeURIComponent(this.camera), {method: "POST", credentials: this.creds,
      headers: Object.assign({"Content-Type": "application/sdp"}, this.auth), body: pc.localDescription.sdp});
    if (this.pc !== pc) {
      // Stopped meanwhile: give the session back.
      if (r.status === 201 && r.headers.get("Location")) {
        fetch(new URL(r.headers.get("Location"), location.href).href, {method: "DELETE", credentials: this.creds,
          headers: this.auth, keepalive: true}).catch(() => {});
      }
      return;
    }
    if (await this.refused(r)) return;
    if (r.status !== 201) {
      const e = await r.json().catch(() => ({}));
      throw new Error(e.error || ("HTTP " + r.status));
    }
    this.resource = new URL(r.headers.get("Location"), location.href).href;
    await pc.setRemoteDescription({type: "answer", sdp: await r.text()});
    // No picture in time (UDP blocked, a proxy that speaks no WebRTC):
    // fall back to HLS for good.
    this.fallback = setTimeout(() => {
      if (this.pc !== pc || this.video.videoWidth) return;
      this.mode = "hls";
      this.connect().catch(e => this.again(e && e.message));
    }, whepTimeout);
  }

  async connectHLS() {
    clearTimeout(this.timer);
    this.close();
    if (!this.active) return;
    this.state("connecting", t("cam.connecting"));
    const sess = {};
    this.cur = sess;
    this.lastTime = -1;
    this.stalled = 0;
    const force = this.opts.hls;
    const useJS = force === "js" || (force !== "native" && hasMSE());
    if (!useJS && !hasNativeHLS(this.video)) throw new Error(t("cam.unsupported"));
    const Hls = useJS ? await loadHls() : null;
    if (this.cur !== sess) return;
    this.postedAt = performance.now();
    const r = await fetch("/hls/" + encodeURIComponent(this.camera), {method: "POST", credentials: this.creds,
      headers: this.auth});
    const loc = r.status === 201 ? r.headers.get("Location") : "";
    if (this.cur !== sess) {
      if (loc) fetch(new URL(loc.replace(/\/index\.m3u8$/, ""), location.href).href, {method: "DELETE",
        credentials: this.creds, headers: this.auth, keepalive: true}).catch(() => {});
      return;
    }
    if (await this.refused(r)) return;
    if (r.status !== 201 || !loc) {
      const e = await r.json().catch(() => ({}));
      throw new Error(e.error || ("HTTP " + r.status));
    }
    const url = new URL(loc, location.href).href;
    this.resource = url.replace(/\/index\.m3u8$/, "");
    const v = this.video;
    v.srcObject = null;
    if (Hls) {
      // LL-HLS: hls.js follows the parts, PART-HOLD-BACK behind live.
      const hls = new Hls({lowLatencyMode: true, enableWorker: false, backBufferLength: 10,
        manifestLoadingMaxRetry: 2, levelLoadingMaxRetry: 4, fragLoadingMaxRetry: 4});
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_, d) => {
        if (d.fatal && this.hls === hls) this.again(d.details || d.type);
      });
      hls.loadSource(url);
      hls.attachMedia(v);
    } else {
      v.src = url;
    }
    const p = v.play();
    if (p) p.catch(() => {});
    this.waitFrame(sess);
  }

  waitFrame(conn) {
    const v = this.video;
    const done = () => {
      if (this.cur !== conn || !v.videoWidth) return false;
      this.retry = 1000;
      if (this.mode === "hls") this.state("playing", t("cam.playing"));
      if (this.opts.onFrame) this.opts.onFrame();
      return true;
    };
    if (v.requestVideoFrameCallback) {
      const cb = () => { if (this.cur === conn && !done()) v.requestVideoFrameCallback(cb); };
      v.requestVideoFrameCallback(cb);
    } else {
      const on = () => { if (done() || this.cur !== conn) { v.removeEventListener("timeupdate", on); v.removeEventListener("resize", on); } };
      v.addEventListener("timeupdate", on);
      v.addEventListener("resize", on);
    }
  }

  again(why) {
    if (!this.active) return;
    this.close();
    this.state("retrying", t("cam.retrying") + (why ? " " + why : ""));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect().catch(e => this.again(e && e.message)), this.retry);
    this.retry = Math.min(this.retry * 2, 15000);
  }

  /**
   * How far behind live the picture is (ms), from the playlist's program
   * date-time (hls.js only; NaN otherwise).
   */
  latency() {
    const d = this.hls && this.hls.playingDate;
    return d ? Date.now() - d.getTime() : NaN;
  }

  async check() {
    if (this.mode === "hls") {
      if (!this.cur || !this.resource) return;
      const now = this.video.currentTime;
      if (now === this.lastTime && !this.video.paused) {
        if (++this.stalled >= 4) { this.stalled = 0; this.again(); }
      } else {
        this.stalled = 0;
      }
      this.lastTime = now;
      return;
    }
    const pc = this.pc;
    if (!pc || pc.connectionState !== "connected") return;
    const stats = await pc.getStats();
    let frames = 0;
    stats.forEach(s => { if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded || 0; });
    if (pc !== this.pc) return;
    if (frames === this.lastFrames) {
      if (++this.stalled >= 4) { this.stalled = 0; this.again(); }
    } else {
      this.stalled = 0;
    }
    this.lastFrames = frames;
  }
}

/**
 * A camera's fleet-wide key, "gateway:camera" (camera ids are unique per
 * gateway only); what /whep and PUT /cameras take.
 */
export function keyOf(cam) {
  return cam.key || (cam.gateway_id ? cam.gateway_id + ":" + cam.camera_id : cam.camera_id);
}

/**
 * A camera tile: [data-camera] with a <video muted playsinline autoplay>,
 * a caption and a state line; data-playing="true" once a frame is shown.
 * extra are nodes put under the caption (chips, buttons).
 */
export function tile(cam, caption, extra) {
  const video = h("video", {muted: true, autoplay: true, playsinline: true, disablepictureinpicture: true});
  video.setAttribute("muted", "");
  video.setAttribute("autoplay", "");
  const stateEl = h("span", {class: "live-state"}, t("cam.stopped"));
  const el = h("figure", {class: "tile", dataset: {camera: cam.camera_id, key: keyOf(cam)}},
    h("div", {class: "video-box"}, video, stateEl),
    h("figcaption", {}, caption, extra));
  return {el, video, stateEl};
}

/** At most this many videos play at once on a page. */
export const maxVideos = 9;

/**
 * A grid of camera tiles. The first maxVideos cameras start at once (the
 * online ones first); each tile has a watch / stop toggle. opts:
 * caption(cam) → node, extra(cam) → nodes, chip(cam) → node,
 * onRefused(code, msg, status), autostart (default true), toggle
 * (default true). Returns {el, stop(), update(cams)}.
 */
export function grid(cams, opts = {}) {
  const el = h("div", {class: "live-grid"});
  const tiles = new Map();
  const sorted = [...cams].sort((a, b) => Number(!!b.online) - Number(!!a.online));
  for (const cam of sorted) {
    const chipBox = h("span", {class: "chip-box"}, opts.chip ? opts.chip(cam) : null);
    const btn = opts.toggle === false ? null : h("button", {type: "button", class: "btn small ghost"}, t("cam.watch"));
    const tl = tile(cam, opts.caption ? opts.caption(cam) : cam.camera_id,
      h("span", {class: "tile-extra"}, chipBox, btn, opts.extra ? opts.extra(cam) : null));
    const x = {cam, tile: tl, chipBox, btn, player: null};
    const setBtn = on => { if (btn) btn.textContent = on ? t("cam.stop") : t("cam.watch"); };
    x.player = new Player(tl.video, keyOf(cam), {
      onState: (kind, text) => {
        tl.stateEl.textContent = text;
        tl.stateEl.dataset.kind = kind;
        if (kind !== "playing" && kind !== "connecting") delete tl.el.dataset.playing;
        setBtn(x.player && x.player.active);
      },
      onFrame: () => { tl.el.dataset.playing = "true"; tl.stateEl.textContent = t("cam.playing"); tl.stateEl.dataset.kind = "playing"; },
      onRefused: opts.onRefused,
    });
    if (btn) {
      btn.addEventListener("click", () => {
        if (x.player.active) { x.player.stop(); setBtn(false); return; }
        if (running() >= maxVideos) { tl.stateEl.textContent = t("cam.cap", {n: maxVideos}); return; }
        x.player.start();
        setBtn(true);
      });
    }
    tiles.set(keyOf(cam), x);
    el.append(tl.el);
  }
  if (opts.autostart !== false) {
    let n = running();
    for (const x of tiles.values()) {
      if (n >= maxVideos) break;
      x.player.start();
      n++;
    }
  }
  return {
    el,
    tiles,
    stop() { for (const x of tiles.values()) x.player.stop(); },
    update(list) {
      for (const cam of list) {
        const x = tiles.get(keyOf(cam));
        if (!x) continue;
        x.cam = cam;
        if (opts.chip) x.chipBox.replaceChildren(opts.chip(cam));
      }
    },
  };
}
